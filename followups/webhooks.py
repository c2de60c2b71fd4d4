"""Follow-up events out as webhooks, signed per the Standard Webhooks spec.

- Outbox: the transaction that makes events (a sweep batch, a person's change)
  also writes ONE narrow `WebhookOutbox` row holding their ids, and none when
  no endpoint is active, so the sweep's work does not grow with the number of
  endpoints (benchmarks/webhooks.py).
- Fan-out: `webhook_fan_out`, run by the sender's task, claims outbox rows with
  FOR UPDATE SKIP LOCKED, inserts one `WebhookDelivery` per (event, subscribed
  active endpoint) with one INSERT ... SELECT and deletes the rows, in one
  statement: an event is never lost (the row commits with it) and never fanned
  out twice (the row goes with the deliveries; `webhook_id`, derived from event
  and endpoint, is unique besides).
- Delivery: `webhook_deliveries_send` claims due rows with FOR UPDATE SKIP
  LOCKED, leases them, and POSTs each outside any transaction with a short
  timeout; the sweep itself never waits on a receiver. At least once: a
  receiver may see an event again after a crash, always with the same
  `webhook-id`, so it keeps it once.
- Retries back off exponentially (WEBHOOK_RETRY_BASE_SECONDS doubling, at most
  WEBHOOK_RETRY_MAX_SECONDS apart). An endpoint whose every delivery has failed
  for WEBHOOK_DISABLE_AFTER_DAYS days is disabled, its pending deliveries
  marked failed, and the admins are e-mailed. A replay sends a delivery again
  with its original `webhook-id`.

Signature: `webhook-signature: v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`
with the secret's bytes (the base64 after `whsec_`).
"""

import base64
import functools
import hashlib
import hmac
import json
import logging
import secrets
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import mail_admins
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.encryption import decrypt_text, encrypt_text
from core.models import ApiClient
from followups.models import (
    INTERACTION_WEBHOOK_EVENT_TYPES,
    WEBHOOK_EVENT_TYPE_NAMES,
    WEBHOOK_EVENT_TYPES,
    FollowUp,
    FollowUpEvent,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookOutbox,
)
from interactions.events import interaction_event_subscriptions_set
from interactions.models import Interaction, InteractionEventKind, InteractionEventOutbox

logger = logging.getLogger(__name__)

# Deliveries claimed per batch: a batch's POSTs run WEBHOOK_SEND_CONCURRENCY at a
# time, and a lease longer than a batch's worst case (timeout x size, as if one at
# a time) keeps two workers apart.
SEND_BATCH_SIZE = 100


def _setting(name: str, default):
    return getattr(settings, name, default)


# --- endpoints -------------------------------------------------------------------


@dataclass
class IssuedEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once


def _event_types_check(event_types: list[str], api_client: ApiClient | None) -> list[str]:
    """The subscribed names, sorted; ValidationError naming `event_types` when one is
    unknown or the client may not read what it asks for."""
    names = sorted(set(event_types))
    unknown = sorted(set(names) - set(WEBHOOK_EVENT_TYPE_NAMES))
    if unknown:
        raise ValidationError({"event_types": [f"Unknown event types: {', '.join(unknown)}."]})
    interaction_names = sorted(set(names) & set(INTERACTION_WEBHOOK_EVENT_TYPES.values()))
    if (
        interaction_names
        and api_client is not None
        and not api_client.has_scopes([ApiClient.Scope.INTERACTIONS_READ])
    ):
        raise ValidationError(
            {
                "event_types": [
                    f"{', '.join(interaction_names)} need the scope "
                    f"{ApiClient.Scope.INTERACTIONS_READ}, which this API client lacks."
                ]
            }
        )
    return names


@transaction.atomic
def webhook_endpoint_create(
    *,
    url: str,
    event_types: list[str] | None = None,
    api_client=None,
    created_by=None,
    description: str = "",
) -> IssuedEndpoint:
    names = _event_types_check(event_types or [], api_client)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    endpoint = WebhookEndpoint(
        url=url,
        event_types=names,
        api_client=api_client,
        created_by=created_by,
        description=description,
        secret_encrypted=encrypt_text(secret),
    )
    endpoint.full_clean()
    endpoint.save()
    webhook_subscriptions_refresh()
    return IssuedEndpoint(endpoint=endpoint, secret=secret)


# What an admin may change on an endpoint (its secret never: register a new one).
ENDPOINT_EDITABLE_FIELDS = ("url", "description", "event_types", "api_client", "is_active")


@transaction.atomic
def webhook_endpoint_update(*, endpoint: WebhookEndpoint, changes: dict) -> WebhookEndpoint:
    """Change the fields named in `changes`; turning it active again is a re-enable."""
    unknown = set(changes) - set(ENDPOINT_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in unknown})
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    was_active = endpoint.is_active
    for name, value in changes.items():
        setattr(endpoint, name, value)
    endpoint.event_types = _event_types_check(endpoint.event_types or [], endpoint.api_client)
    if endpoint.is_active and not was_active:
        endpoint.disabled_at = endpoint.failing_since = None
    endpoint.full_clean()
    endpoint.save()
    webhook_subscriptions_refresh()
    return endpoint


# Serialises the refreshes: each reads the endpoints after the previous one committed.
_SUBSCRIPTIONS_LOCK = int.from_bytes(
    hashlib.sha256(b"rapport.webhook-subscriptions").digest()[:8], "big", signed=True
)


def webhook_subscriptions_refresh() -> None:
    """Tell the interaction floor which of its event kinds an active endpoint
    subscribes to (interactions/events.py records only those).

    Called in every change of endpoints, and by the sender's task each tick
    (so a change made around the services heals within seconds). API client
    scopes are not looked at here but at the fan-out, so a client granted
    `interactions:read` later misses nothing in between.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SUBSCRIPTIONS_LOCK])
        wanted: set[str] = set()
        active = WebhookEndpoint.objects.filter(is_active=True)
        for names in active.values_list("event_types", flat=True):
            subscribed = set(names) or set(WEBHOOK_EVENT_TYPE_NAMES)  # empty: everything
            wanted |= {
                kind for kind, name in INTERACTION_WEBHOOK_EVENT_TYPES.items() if name in subscribed
            }
        interaction_event_subscriptions_set(kinds=wanted)


# --- signing ---------------------------------------------------------------------


def webhook_sign(*, secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


# --- the outbox (inside the event's transaction) --------------------------------


def _outbox_insert_sql(events: str) -> str:
    """INSERT one outbox row holding the ids `events` yields (its column `id`), and
    none when it yields nothing or no endpoint is active: the sweep's work does
    not grow with the number of endpoints, and without endpoints nothing is written."""
    outbox = WebhookOutbox._meta.db_table
    endpoint = WebhookEndpoint._meta.db_table
    return f"""
    INSERT INTO {outbox} (event_ids, created_at)
    SELECT array_agg(ev.id ORDER BY ev.id), %(now)s FROM ({events}) ev
    HAVING count(*) > 0 AND EXISTS (SELECT 1 FROM {endpoint} WHERE is_active)
    """  # noqa: S608 (table names from _meta; values are parameters)


def webhook_outbox_add(*, event_ids: list[int], now: datetime) -> None:
    """Queue these follow-up events for the fan-out, in the caller's transaction."""
    if not event_ids:
        return
    sql = _outbox_insert_sql("SELECT unnest(%(ids)s::bigint[]) AS id")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": list(event_ids), "now": now})


def sweep_outbox_cte() -> str:
    """The sweep statement's CTE: one outbox row for the events it inserted (CTE `inserted`)."""
    return "webhook_outbox AS (" + _outbox_insert_sql("SELECT id FROM inserted") + ")"  # noqa: S608


# --- fan-out (off the sweep: the sender's task) -----------------------------------


def _event_type_values(mapping: dict[str, str]) -> str:
    return ", ".join(f"('{kind}', '{name}')" for kind, name in mapping.items())


def _fan_out_sql(*, outbox: str, claimed: str, subjects: str, subject_column: str) -> str:
    """Claim outbox rows (SKIP LOCKED), insert one delivery per (event, subscribed
    active endpoint whose client may read it) and delete the rows, in one
    statement: a row is fanned out once, by whoever claimed it, or not at all
    when the transaction fails. The unique `webhook_id` (event and endpoint)
    makes a repeat a no-op all the same.

    `claimed` selects the claimed rows' columns; `subjects`, per claimed row
    `c`, yields each event's `subject_id` (the delivery's `subject_column`),
    `event_type`, `occurred_at` and `webhook_prefix` (the endpoint's id ends it).
    """
    delivery = WebhookDelivery._meta.db_table
    endpoint = WebhookEndpoint._meta.db_table
    client = ApiClient._meta.db_table
    return f"""
    WITH claimed AS (
        SELECT {claimed} FROM {outbox} ORDER BY id LIMIT %(batch)s FOR UPDATE SKIP LOCKED
    ),
    removed AS (
        DELETE FROM {outbox} o USING claimed c WHERE o.id = c.id RETURNING o.id
    ),
    inserted AS (
        INSERT INTO {delivery} (endpoint_id, {subject_column}, event_type, occurred_at,
            webhook_id, status, attempts, next_attempt_at, last_status_code, last_error,
            created_at, delivered_at)
        SELECT e.id, ev.subject_id, ev.event_type, ev.occurred_at, ev.webhook_prefix || e.id,
            'pending', 0, %(now)s, NULL, '', %(now)s, NULL
        FROM claimed c
        CROSS JOIN LATERAL ({subjects}) ev
        JOIN {endpoint} e ON e.is_active
            AND (e.event_types = '[]'::jsonb OR e.event_types ? ev.event_type)
        LEFT JOIN {client} a ON a.id = e.api_client_id
        WHERE e.api_client_id IS NULL OR (a.is_active AND a.scopes ? %(scope)s)
        ON CONFLICT DO NOTHING
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM removed), (SELECT count(*) FROM inserted)
    """  # noqa: S608 (table names from _meta and fixed event names; values are parameters)


def _followup_fan_out_sql() -> str:
    event = FollowUpEvent._meta.db_table
    return _fan_out_sql(
        outbox=WebhookOutbox._meta.db_table,
        claimed="id, event_ids",
        subject_column="event_id",
        subjects=f"""
            SELECT f.id AS subject_id, t.name AS event_type, f.occurred_at,
                'msg_f' || f.id || 'e' AS webhook_prefix
            FROM unnest(c.event_ids) AS x(id)
            JOIN {event} f ON f.id = x.id
            JOIN (VALUES {_event_type_values(WEBHOOK_EVENT_TYPES)}) AS t(kind, name)
                ON t.kind = f.kind
        """,  # noqa: S608 (a table name from _meta and fixed event names)
    )


def _interaction_fan_out_sql() -> str:
    interaction = Interaction._meta.db_table
    return _fan_out_sql(
        outbox=InteractionEventOutbox._meta.db_table,
        claimed="id, kind, interaction_ids, occurred_at",
        subject_column="interaction_id",
        # Interactions gone since (never, but for a test's flush) are skipped.
        subjects=f"""
            SELECT i.id AS subject_id, t.name AS event_type, c.occurred_at,
                'msg_i' || c.id || 'n' || i.id || 'e' AS webhook_prefix
            FROM unnest(c.interaction_ids) AS x(id)
            JOIN {interaction} i ON i.id = x.id
            JOIN (VALUES {_event_type_values(INTERACTION_WEBHOOK_EVENT_TYPES)}) AS t(kind, name)
                ON t.kind = c.kind
        """,  # noqa: S608 (a table name from _meta and fixed event names)
    )


# Outbox rows per fan-out statement: a sweep's row holds up to its batch (500
# events), a sync's up to 1,000 interactions, so 20 rows x 3 endpoints is at
# most 60,000 deliveries in one short transaction that locks only the outbox
# rows it claimed.
FAN_OUT_BATCH_SIZE = 20


@dataclass
class FanOut:
    outbox_rows: int = 0
    deliveries: int = 0
    is_drained: bool = True  # False: a statement took a full batch, more may wait


def webhook_fan_out(*, now: datetime | None = None, batch_size: int = FAN_OUT_BATCH_SIZE) -> FanOut:
    """Turn one batch of each outbox (follow-up events, interaction events) into
    deliveries: at least once, never twice. One transaction per outbox."""
    now = now or timezone.now()
    done = FanOut()
    for sql, scope in (
        (_followup_fan_out_sql(), ApiClient.Scope.FOLLOWUPS_READ),
        (_interaction_fan_out_sql(), ApiClient.Scope.INTERACTIONS_READ),
    ):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, {"now": now, "batch": batch_size, "scope": scope})
            rows, deliveries = cursor.fetchone()
        done.outbox_rows += rows
        done.deliveries += deliveries
        done.is_drained = done.is_drained and rows < batch_size
    return done


# --- the payload -----------------------------------------------------------------


def _followup_payload(delivery: WebhookDelivery) -> dict:
    event = delivery.event
    followup: FollowUp = event.followup
    return {
        "event_id": event.pk,
        "kind": event.kind,
        "level": event.level,
        "followup": {
            "id": followup.pk,
            "customer": followup.customer_id,
            "owner": followup.owner_id,
            "team": followup.team_id,
            "action": followup.action,
            "status": followup.status,
            "due_at": followup.due_at.isoformat(),
            "is_overdue": followup.is_overdue,
            "escalation_level": followup.escalation_level,
        },
        "details": event.details,
    }


def _interaction_payload(delivery: WebhookDelivery, followups: dict[int, dict]) -> dict:
    """Ids and categorical fields only, read when sent: never the notes, subject,
    numbers, addresses, recording or location (personal, and behind the API's
    scopes and erasure); a receiver that needs them reads the interaction by id."""
    interaction: Interaction = delivery.interaction
    data: dict = {
        "interaction": {
            "id": interaction.pk,
            "customer": interaction.customer_id,
            "rep": interaction.rep_id,
            "team": interaction.team_id,
            "channel": interaction.channel,
            "direction": interaction.direction,
            "occurred_at": interaction.occurred_at.isoformat(),
            "duration_seconds": interaction.duration_seconds,
            "category": interaction.category_id,
            "outcome": interaction.outcome,
            "matter": interaction.matter_id,
            "source": interaction.source,
            "external_id": interaction.external_id,
            "followups": followups.get(interaction.pk, {"promised": [], "kept": []}),
        }
    }
    if (
        delivery.event_type
        == INTERACTION_WEBHOOK_EVENT_TYPES[InteractionEventKind.FEEDBACK_RECEIVED]
    ):
        feedback = getattr(interaction, "feedback", None)  # the score, never the comment
        data["feedback"] = (
            {"score": feedback.score, "given_at": feedback.created_at.isoformat()}
            if feedback is not None
            else None
        )
    return data


# What the sender loads: the payloads' fields and no more (the notes and contact
# details of an interaction are never read here; fewer columns to decode, too).
_SENT_FIELDS = [
    "webhook_id",
    "event_type",
    "occurred_at",
    "endpoint__url",
    "endpoint__secret_encrypted",
    *(f"event__{name}" for name in ("kind", "level", "details", "followup_id")),
    *(
        f"event__followup__{name}"
        for name in (
            "customer_id",
            "owner_id",
            "team_id",
            "action",
            "status",
            "due_at",
            "is_overdue",
            "escalation_level",
        )
    ),
    *(
        f"interaction__{name}"
        for name in (
            "customer_id",
            "rep_id",
            "team_id",
            "channel",
            "direction",
            "occurred_at",
            "duration_seconds",
            "category_id",
            "outcome",
            "matter_id",
            "source",
            "external_id",
        )
    ),
    "interaction__feedback__score",
    "interaction__feedback__created_at",
]


def _followups_of(interaction_ids: set[int]) -> dict[int, dict]:
    """Interaction id -> the follow-ups promised in it and kept by it (one query)."""
    found: dict[int, dict] = {pk: {"promised": [], "kept": []} for pk in interaction_ids}
    if not interaction_ids:
        return found
    rows = (
        FollowUp.objects.filter(
            Q(origin_interaction_id__in=interaction_ids)
            | Q(kept_by_interaction_id__in=interaction_ids)
        )
        .order_by("pk")
        .values_list("pk", "origin_interaction_id", "kept_by_interaction_id")
    )
    for pk, origin_id, kept_by_id in rows:
        if origin_id in found:
            found[origin_id]["promised"].append(pk)
        if kept_by_id in found:
            found[kept_by_id]["kept"].append(pk)
    return found


def _payload(delivery: WebhookDelivery, followups: dict[int, dict]) -> dict:
    data = (
        _followup_payload(delivery)
        if delivery.event_id is not None
        else _interaction_payload(delivery, followups)
    )
    return {
        "type": delivery.event_type,
        "timestamp": delivery.occurred_at.isoformat(),
        "data": data,
    }


# --- sending ---------------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    base = _setting("WEBHOOK_RETRY_BASE_SECONDS", 30)
    ceiling = _setting("WEBHOOK_RETRY_MAX_SECONDS", 6 * 3600)
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), ceiling))


def _claim(now: datetime, batch_size: int) -> list[int]:
    timeout = _setting("WEBHOOK_TIMEOUT_SECONDS", 5)
    lease = timedelta(seconds=timeout * batch_size + 60)
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.filter(
                status=WebhookDelivery.Status.PENDING,
                next_attempt_at__lte=now,
                endpoint__is_active=True,
            )
            .order_by("next_attempt_at", "pk")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)[:batch_size]
        )
        if ids:
            # Leased: another worker skips them until the lease runs out (a crash
            # mid-batch means they go out again, same webhook-id).
            WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now + lease)
    return ids


@dataclass(frozen=True)
class _Outgoing:
    delivery_id: int
    url: str
    webhook_id: str
    secret: str
    body: bytes


# Of a receiver's answer only the status counts; a body up to this size is read
# so the connection can carry the next POST, a longer one closes it.
ANSWER_READ_MAX_BYTES = 64 * 1024


def _post(pool: urllib3.PoolManager, outgoing: _Outgoing) -> tuple[int | None, str]:
    timestamp = int(timezone.now().timestamp())
    headers = {
        "content-type": "application/json",
        "webhook-id": outgoing.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_sign(
            secret=outgoing.secret,
            webhook_id=outgoing.webhook_id,
            timestamp=timestamp,
            body=outgoing.body,
        ),
    }
    try:
        response = pool.request(
            "POST",
            outgoing.url,
            body=outgoing.body,
            headers=headers,
            redirect=False,
            preload_content=False,
        )
    except urllib3.exceptions.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    status_code = response.status
    try:
        remaining = response.length_remaining
        if remaining is not None and remaining <= ANSWER_READ_MAX_BYTES:
            response.drain_conn()
        else:
            response.close()  # unknown or long: not worth reading, the connection goes
    except urllib3.exceptions.HTTPError:
        response.close()
    finally:
        response.release_conn()
    if 200 <= status_code < 300:
        return status_code, ""
    return status_code, f"HTTP {status_code}"


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Certificates and host names verified; the store loaded once per process (30 ms a
    load, which had been paid per batch)."""
    return ssl.create_default_context()


def _post_all(outgoing: list[_Outgoing]) -> list[tuple[int | None, str]]:
    """POST each, WEBHOOK_SEND_CONCURRENCY at a time: a receiver's latency (or a
    timeout) is waited for alongside the others', not in turn.

    urllib3, not httpx: a POST costs half the CPU (benchmarks/webhooks.py); no
    retries (the delivery's own back-off decides), no redirects followed."""
    timeout = _setting("WEBHOOK_TIMEOUT_SECONDS", 5)
    concurrency = max(1, min(_setting("WEBHOOK_SEND_CONCURRENCY", 8), len(outgoing)))
    with urllib3.PoolManager(
        num_pools=64,
        maxsize=concurrency,  # connections kept per receiver: one per POST in flight
        retries=False,
        timeout=urllib3.Timeout(connect=timeout, read=timeout),
        ssl_context=_tls_context(),
    ) as pool:
        if concurrency == 1:
            return [_post(pool, item) for item in outgoing]
        with ThreadPoolExecutor(max_workers=concurrency) as threads:
            return list(threads.map(functools.partial(_post, pool), outgoing))


def _disable(endpoint: WebhookEndpoint, *, now: datetime) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, disabled_at=now)
    WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED, next_attempt_at=None
    )
    webhook_subscriptions_refresh()
    days = _setting("WEBHOOK_DISABLE_AFTER_DAYS", 5)
    transaction.on_commit(
        lambda: mail_admins(
            f"Webhook endpoint disabled: {endpoint.url}",
            f"Every delivery to {endpoint.url} (endpoint {endpoint.pk}) has failed since "
            f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC, {days} days or more, so it was "
            "disabled. Fix the receiver, re-enable the endpoint in the admin and replay "
            "the failed deliveries from its delivery log.",
            fail_silently=True,
        )
    )
    logger.warning("Webhook endpoint %s disabled after %s days of failures", endpoint.pk, days)


def webhook_deliveries_send(
    *, now: datetime | None = None, batch_size: int = SEND_BATCH_SIZE
) -> int:
    """Send one batch of due deliveries. Returns how many were attempted."""
    now = now or timezone.now()
    ids = _claim(now, batch_size)
    if not ids:
        return 0
    deliveries = list(
        WebhookDelivery.objects.filter(pk__in=ids)
        .select_related("endpoint", "event__followup", "interaction__feedback")
        .only(*_SENT_FIELDS)
        .order_by("pk")
    )
    followups = _followups_of({d.interaction_id for d in deliveries if d.interaction_id})
    secrets_by_endpoint: dict[int, str] = {}
    bodies: dict[tuple, bytes] = {}  # one payload per event, whatever the endpoints
    outgoing = []
    for delivery in deliveries:
        secret = secrets_by_endpoint.get(delivery.endpoint_id)
        if secret is None:
            secret = decrypt_text(delivery.endpoint.secret_encrypted)
            secrets_by_endpoint[delivery.endpoint_id] = secret
        key = (
            delivery.event_type,
            delivery.event_id,
            delivery.interaction_id,
            delivery.occurred_at,
        )
        body = bodies.get(key)
        if body is None:
            body = json.dumps(_payload(delivery, followups), separators=(",", ":")).encode()
            bodies[key] = body
        outgoing.append(
            _Outgoing(delivery.pk, delivery.endpoint.url, delivery.webhook_id, secret, body)
        )
    acknowledged: dict[int, list[int]] = {}
    for item, (status_code, error) in zip(outgoing, _post_all(outgoing), strict=True):
        if error:
            _record(item.delivery_id, status_code, error, now)
        else:
            acknowledged.setdefault(status_code, []).append(item.delivery_id)
    _record_acknowledged(acknowledged, now)
    return len(ids)


def _record_acknowledged(by_status: dict[int, list[int]], now: datetime) -> None:
    """The batch's 2xx answers in one UPDATE per status code (one transaction)."""
    if not by_status:
        return
    with transaction.atomic():
        endpoint_ids = set()
        for status_code, ids in by_status.items():
            # Still pending: a replay or a disable meanwhile keeps its own state.
            rows = WebhookDelivery.objects.filter(pk__in=ids, status=WebhookDelivery.Status.PENDING)
            endpoint_ids |= set(rows.values_list("endpoint_id", flat=True))
            rows.update(
                status=WebhookDelivery.Status.SENT,
                attempts=F("attempts") + 1,
                last_status_code=status_code,
                last_error="",
                delivered_at=now,
                next_attempt_at=None,
            )
        WebhookEndpoint.objects.filter(pk__in=endpoint_ids, failing_since__isnull=False).update(
            failing_since=None
        )


def _record(delivery_id: int, status_code: int | None, error: str, now: datetime) -> None:
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
            return  # replayed, or its endpoint disabled, meanwhile
        _apply(delivery, status_code, error, now)


def _apply(delivery: WebhookDelivery, status_code: int | None, error: str, now: datetime) -> None:
    endpoint = delivery.endpoint
    attempts = delivery.attempts + 1
    update = {"attempts": attempts, "last_status_code": status_code, "last_error": error}
    if not error:
        update |= {
            "status": WebhookDelivery.Status.SENT,
            "delivered_at": now,
            "next_attempt_at": None,
        }
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**update)
        if endpoint.failing_since is not None:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        return
    update["next_attempt_at"] = now + _backoff(attempts)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**update)
    failing_since = endpoint.failing_since
    if failing_since is None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=now)
        return
    if failing_since <= now - timedelta(days=_setting("WEBHOOK_DISABLE_AFTER_DAYS", 5)):
        _disable(endpoint, now=now)


@transaction.atomic
def webhook_delivery_replay(*, delivery: WebhookDelivery, now: datetime | None = None) -> None:
    """Send again (same webhook-id): a delivered event a receiver lost, or a failed one."""
    now = now or timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.PENDING, next_attempt_at=now
    )


@transaction.atomic
def webhook_endpoint_enable(*, endpoint: WebhookEndpoint) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=True, disabled_at=None, failing_since=None
    )
    webhook_subscriptions_refresh()


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Stop sending to it; its delivery log goes with it."""
    endpoint.delete()
    webhook_subscriptions_refresh()
