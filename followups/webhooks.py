"""Follow-up events out as webhooks, signed per the Standard Webhooks spec.

- Fan-out: every FollowUpEvent gets one WebhookDelivery per subscribed active
  endpoint, inserted by one set-based statement in the event's own transaction
  (the sweep's statement for engine transitions, `_event` for people's
  changes), so an event is never lost and never fanned out twice (unique
  endpoint + event).
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
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.core.mail import mail_admins
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core.encryption import decrypt_text, encrypt_text
from followups.models import (
    WEBHOOK_EVENT_TYPES,
    FollowUp,
    FollowUpEvent,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

# Deliveries claimed per batch: a batch's POSTs run one after another, and a
# lease longer than a batch's worst case (timeout x size) keeps two workers apart.
SEND_BATCH_SIZE = 100


def _setting(name: str, default):
    return getattr(settings, name, default)


# --- endpoints -------------------------------------------------------------------


@dataclass
class IssuedEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once


def webhook_endpoint_create(
    *,
    url: str,
    event_types: list[str] | None = None,
    api_client=None,
    created_by=None,
    description: str = "",
) -> IssuedEndpoint:
    unknown = sorted(set(event_types or []) - set(WEBHOOK_EVENT_TYPES.values()))
    if unknown:
        from django.core.exceptions import ValidationError

        raise ValidationError({"event_types": [f"Unknown event types: {', '.join(unknown)}."]})
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    endpoint = WebhookEndpoint(
        url=url,
        event_types=sorted(set(event_types or [])),
        api_client=api_client,
        created_by=created_by,
        description=description,
        secret_encrypted=encrypt_text(secret),
    )
    endpoint.full_clean()
    endpoint.save()
    return IssuedEndpoint(endpoint=endpoint, secret=secret)


# --- signing ---------------------------------------------------------------------


def webhook_sign(*, secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


# --- fan-out (inside the event's transaction) -----------------------------------


def _fan_out_sql(source: str) -> str:
    """INSERT one delivery per (event in `source`, subscribed active endpoint).

    `source` yields (id, kind) of the events; event types are mapped in SQL.
    """
    delivery = WebhookDelivery._meta.db_table
    endpoint = WebhookEndpoint._meta.db_table
    mapping = ", ".join(f"('{kind}', '{name}')" for kind, name in WEBHOOK_EVENT_TYPES.items())
    return f"""
    INSERT INTO {delivery} (endpoint_id, event_id, event_type, webhook_id, status, attempts,
        next_attempt_at, last_status_code, last_error, created_at, delivered_at)
    SELECT e.id, ev.id, t.name, 'msg_' || replace(gen_random_uuid()::text, '-', ''), 'pending',
        0, %(now)s, NULL, '', %(now)s, NULL
    FROM ({source}) ev
    JOIN (VALUES {mapping}) AS t(kind, name) ON t.kind = ev.kind
    JOIN {endpoint} e ON e.is_active
        AND (e.event_types = '[]'::jsonb OR e.event_types ? t.name)
    ON CONFLICT DO NOTHING
    """  # noqa: S608 (table names from _meta and fixed event names; values are parameters)


def webhook_fan_out(*, event_ids: list[int], now: datetime) -> None:
    """Deliveries for these events, in the caller's transaction."""
    if not event_ids:
        return
    table = FollowUpEvent._meta.db_table
    sql = _fan_out_sql(f"SELECT id, kind FROM {table} WHERE id = ANY(%(ids)s)")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": list(event_ids), "now": now})


def sweep_fan_out_cte() -> str:
    """The sweep statement's CTE: deliveries for the events it inserted (CTE `inserted`)."""
    return "webhooked AS (" + _fan_out_sql("SELECT id, kind FROM inserted") + ")"  # noqa: S608


# --- the payload -----------------------------------------------------------------


def _payload(delivery: WebhookDelivery) -> dict:
    event = delivery.event
    followup: FollowUp = event.followup
    return {
        "type": delivery.event_type,
        "timestamp": event.occurred_at.isoformat(),
        "data": {
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
        },
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


def _post(http: httpx.Client, delivery: WebhookDelivery, secret: str) -> tuple[int | None, str]:
    body = json.dumps(_payload(delivery), separators=(",", ":")).encode()
    timestamp = int(timezone.now().timestamp())
    headers = {
        "content-type": "application/json",
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_sign(
            secret=secret, webhook_id=delivery.webhook_id, timestamp=timestamp, body=body
        ),
    }
    try:
        response = http.post(delivery.endpoint.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}"


def _disable(endpoint: WebhookEndpoint, *, now: datetime) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, disabled_at=now)
    WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED, next_attempt_at=None
    )
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
    deliveries = (
        WebhookDelivery.objects.filter(pk__in=ids)
        .select_related("endpoint", "event__followup")
        .order_by("pk")
    )
    timeout = _setting("WEBHOOK_TIMEOUT_SECONDS", 5)
    secrets_by_endpoint: dict[int, str] = {}
    acknowledged: dict[int, list[int]] = {}
    # One connection pool per batch; a receiver that never answers costs `timeout`.
    with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False) as http:
        for delivery in deliveries:
            secret = secrets_by_endpoint.get(delivery.endpoint_id)
            if secret is None:
                secret = decrypt_text(delivery.endpoint.secret_encrypted)
                secrets_by_endpoint[delivery.endpoint_id] = secret
            status_code, error = _post(http, delivery, secret)
            if error:
                _record(delivery.pk, status_code, error, now)
            else:
                acknowledged.setdefault(status_code, []).append(delivery.pk)
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


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Stop sending to it; its delivery log goes with it."""
    endpoint.delete()
