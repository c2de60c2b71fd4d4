"""Batch upsert of interaction records by (source, external_id): the sync engine.

Used by POST /api/v1/interactions/sync/ and the Asterisk and Twilio sources
(through `interaction_sync` at the end of this module).

Guarantees:
- One result per item, in request order: created, updated, unchanged or error.
- A bad item never blocks the good ones: items are validated in Python first,
  and if the database still rejects the batch statement, each row is retried
  alone in a savepoint so only the offending one fails.
- No duplicates under concurrent replays: rows are written with
  `INSERT ... ON CONFLICT (source, external_id) WHERE external_id <> '' DO UPDATE
  ... WHERE (columns) IS DISTINCT FROM (new columns)`, matching the partial
  unique constraint. PostgreSQL locks a conflicting row even when the WHERE is
  false, and a concurrent insert of the same key waits for the first to commit,
  so "unchanged" is decided against committed data. Rows within a statement
  are sorted by key so concurrent batches take row locks in the same order.
- A record without a customer (unmatched caller) never clears a customer a rep
  assigned meanwhile.
- Automatically created customers (per-client setting) are serialised per
  phone/e-mail with transaction-scoped advisory locks taken in sorted order
  before any row is written, so concurrent batches create one customer each.
"""

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.serializer_fields import unknown_field_errors
from core.sql import insert_rows_from_values, recordset_select
from crm.models import ContactPoint, Customer
from crm.phone import normalise_email, try_normalise_phone
from crm.time_window import occurred_at_problem
from crm.validators import validate_recording_url
from interactions.events import interaction_events_record
from interactions.matters import (
    ReservedMatter,
    contact_opens_own_matter,
    interaction_matters_assign,
    matter_ids_reserve,
    matters_open_reserved,
)
from interactions.models import Interaction, InteractionCategory, InteractionEventKind
from interactions.sources.common import IngestRecord

MAX_RECORDS = 1000
# The fields a record may carry; any other is that record's error (never silently dropped).
RECORD_FIELDS = frozenset(
    {
        "source",
        "external_id",
        "channel",
        "direction",
        "occurred_at",
        "duration_seconds",
        "from_number",
        "to_number",
        "summary",
        "outcome",
        "category",
        "rep",
        "customer",
        "customer_phone",
        "customer_email",
        "customer_name",
    }
)
DEADLOCK_RETRIES = 3
_INT_MAX = 2**31 - 1


@dataclass
class SyncResult:
    index: int
    status: str
    id: int | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "status": self.status, "id": self.id, "errors": self.errors}


# --- validation of open JSON input ------------------------------------------------


def _string(record: dict, name: str, errors: dict, *, max_length: int, required: bool) -> str:
    value = record.get(name)
    if value is None or value == "":
        if required:
            errors[name] = ["This field is required."]
        return ""
    if not isinstance(value, str):
        errors[name] = ["Expected a string."]
        return ""
    if "\x00" in value:
        errors[name] = ["NUL characters are not allowed."]
        return ""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from JSON "\\ud800"
        errors[name] = ["Not valid Unicode text."]
        return ""
    if len(value) > max_length:
        errors[name] = [f"Ensure this field has no more than {max_length} characters."]
        return ""
    return value


def _field_max_length(name: str, default: int) -> int:
    try:
        return Interaction._meta.get_field(name).max_length or default
    except Exception:  # noqa: BLE001 - optional column not on the model yet
        return default


# Read once: a choices enum's `.values` builds a new list on every access, and a
# 1,000-record batch asked for them thousands of times.
_CHANNELS = frozenset(Interaction.Channel.values)
_DIRECTIONS = frozenset(Interaction.Direction.values)
_OUTCOMES = frozenset(Interaction.Outcome.values)
_NUMBER_MAX_LENGTH = {name: _field_max_length(name, 64) for name in ("from_number", "to_number")}
_CATEGORY_MAX_LENGTH = _field_max_length("category", 64)


def record_validate(raw: Any) -> IngestRecord | dict[str, list[str]]:
    """Arbitrary JSON -> IngestRecord, or field errors. Never raises."""
    if not isinstance(raw, dict):
        return {"non_field_errors": ["Expected an object."]}
    errors: dict[str, list[str]] = unknown_field_errors(raw, RECORD_FIELDS)
    source = _string(raw, "source", errors, max_length=64, required=True)
    external_id = _string(raw, "external_id", errors, max_length=255, required=True)
    channel = _string(raw, "channel", errors, max_length=16, required=True)
    if channel and channel not in _CHANNELS:
        errors["channel"] = [f"Expected one of {', '.join(Interaction.Channel.values)}."]
    direction = _string(raw, "direction", errors, max_length=16, required=True)
    if direction and direction not in _DIRECTIONS:
        errors["direction"] = [f"Expected one of {', '.join(Interaction.Direction.values)}."]
    occurred_at = None
    raw_time = raw.get("occurred_at")
    if raw_time is None:
        errors["occurred_at"] = ["This field is required."]
    elif not isinstance(raw_time, str):
        errors["occurred_at"] = ["Expected an ISO 8601 date-time string."]
    else:
        try:
            occurred_at = parse_datetime(raw_time)
        except ValueError:
            occurred_at = None
        if occurred_at is None:
            errors["occurred_at"] = ["Expected an ISO 8601 date-time, e.g. 2026-03-05T10:00:00Z."]
        elif timezone.is_naive(occurred_at):
            errors["occurred_at"] = ["Include a UTC offset or Z."]
            occurred_at = None
    duration = raw.get("duration_seconds", 0)
    if duration is None:
        duration = 0
    if isinstance(duration, bool) or not isinstance(duration, int):
        errors["duration_seconds"] = ["Expected a whole number of seconds."]
        duration = 0
    elif not 0 <= duration <= _INT_MAX:
        errors["duration_seconds"] = [f"Must be between 0 and {_INT_MAX}."]
    outcome = _string(raw, "outcome", errors, max_length=32, required=False)
    if outcome and outcome not in _OUTCOMES:
        errors["outcome"] = [f"Expected one of {', '.join(Interaction.Outcome.values)}."]
    from_number = _string(
        raw, "from_number", errors, max_length=_NUMBER_MAX_LENGTH["from_number"], required=False
    )
    to_number = _string(
        raw, "to_number", errors, max_length=_NUMBER_MAX_LENGTH["to_number"], required=False
    )
    summary = _string(raw, "summary", errors, max_length=20000, required=False)
    category = _string(raw, "category", errors, max_length=_CATEGORY_MAX_LENGTH, required=False)
    rep = _string(raw, "rep", errors, max_length=254, required=False)
    customer_id = raw.get("customer")
    if customer_id is not None and (
        isinstance(customer_id, bool)
        or not isinstance(customer_id, int)
        or not 0 < customer_id < 2**63
    ):
        errors["customer"] = ["Expected a customer id."]
        customer_id = None
    customer_phone = _string(raw, "customer_phone", errors, max_length=64, required=False)
    customer_email = _string(raw, "customer_email", errors, max_length=320, required=False)
    if customer_email:
        try:
            customer_email = normalise_email(customer_email)
        except Exception:  # noqa: BLE001 - Django's ValidationError
            errors["customer_email"] = ["Enter a valid e-mail address."]
    customer_name = _string(raw, "customer_name", errors, max_length=200, required=False)
    if errors:
        return errors
    return IngestRecord(
        source=source,
        external_id=external_id,
        channel=channel,
        direction=direction,
        occurred_at=occurred_at,
        duration_seconds=duration,
        from_number=from_number,
        to_number=to_number,
        summary=summary,
        outcome=outcome,
        category=category,
        rep=rep,
        customer_id=customer_id,
        customer_phone=customer_phone,
        customer_email=customer_email,
        customer_name=customer_name,
    )


def record_check(record: IngestRecord) -> IngestRecord | dict[str, list[str]]:
    """The rules every source's record must meet whatever its format (sync, CDR,
    Twilio): its time in the window (crm/time_window.py), its recording URL safe."""
    errors: dict[str, list[str]] = {}
    problem = occurred_at_problem(record.occurred_at)
    if problem:
        errors["occurred_at"] = [problem]
    if record.recording_url:
        try:
            validate_recording_url(record.recording_url)
        except ValidationError as exc:
            errors["recording_url"] = list(exc.messages)
    return errors or record


# --- resolving customers and reps in bulk -----------------------------------------


def _survivors(ids: set[int]) -> dict[int, int]:
    """Customer id -> id to use (a merged customer's survivor); unknown ids absent."""
    resolved: dict[int, int] = {}
    pending = {pk: pk for pk in ids}
    for _ in range(5):  # merges chain rarely; a bound keeps a bad loop from spinning
        if not pending:
            break
        rows = dict(
            Customer.objects.filter(pk__in=set(pending.values())).values_list(
                "pk", "merged_into_id"
            )
        )
        next_pending = {}
        for original, current in pending.items():
            if current not in rows:
                continue
            if rows[current] is None:
                resolved[original] = current
            else:
                next_pending[original] = rows[current]
        pending = next_pending
    return resolved


def _customers_by_contact(kind: str, values: set[str]) -> dict[str, int]:
    if not values:
        return {}
    found: dict[str, int] = {}
    rows = (
        ContactPoint.objects.filter(kind=kind, value__in=values, customer__merged_into__isnull=True)
        .order_by("customer_id")
        .values_list("value", "customer_id")
    )
    for value, customer_id in rows:
        found.setdefault(value, customer_id)  # several customers share it: the oldest
    return found


_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _customers_by_phone(
    valid: list[tuple[int, IngestRecord]],
) -> tuple[dict[str, int], dict[int, str]]:
    """E.164 value -> customer, and item index -> the E.164 value of its customer_phone.

    Phone systems mostly send E.164 already: such a string that is some contact
    point's stored value is that number, so it is looked up as it is; only the
    rest go through `phonenumbers` (parsing 1,000 numbers costs more than the
    batch's database work)."""
    wanted = {
        index: record.customer_phone
        for index, record in valid
        if record.customer_id is None and record.customer_phone
    }
    as_sent = {index: raw for index, raw in wanted.items() if _E164.fullmatch(raw)}
    by_phone = _customers_by_contact(ContactPoint.Kind.PHONE, set(as_sent.values()))
    phones = {index: raw for index, raw in as_sent.items() if raw in by_phone}
    for index, raw in wanted.items():
        if index in phones:
            continue
        normalised = try_normalise_phone(raw)
        if normalised is not None:  # client:alice, 1001: not a customer's number
            phones[index] = normalised.e164
    missing = set(phones.values()) - by_phone.keys()
    by_phone |= _customers_by_contact(ContactPoint.Kind.PHONE, missing)
    return by_phone, phones


def _reps(names: set[str]) -> dict[str, int]:
    if not names:
        return {}
    User = get_user_model()
    lowered = {name.lower() for name in names}
    found: dict[str, int] = {}
    rows = (
        User.objects.filter(is_active=True)
        .annotate(email_lower=Lower("email"))
        .filter(Q(username__in=names) | Q(email_lower__in=lowered))
        .order_by("pk")
        .values_list("pk", "username", "email_lower")
    )
    for pk, username, email in rows:
        found.setdefault(username, pk)
        if email:
            found.setdefault(email, pk)
    return found


def _advisory_lock(keys: list[str]) -> None:
    if not keys:
        return
    ids = [
        int.from_bytes(hashlib.sha256(k.encode()).digest()[:8], "big", signed=True) for k in keys
    ]
    with connection.cursor() as cursor:
        # One statement, locks taken in ascending order (the same order in every batch).
        cursor.execute(
            "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k ORDER BY k",
            [sorted(set(ids))],
        )


def _customers_create_unmatched(
    records: list[tuple[int, IngestRecord, str, str]],
) -> dict[str, int]:
    """Create one customer per unmatched phone/e-mail; returns contact value -> id."""
    from crm.services import customer_create

    wanted: dict[str, tuple[str, str, str]] = {}
    for _, record, phone, email in records:
        key = phone or email
        wanted.setdefault(key, (phone, email, record.customer_name))
    _advisory_lock([f"rapport.customer-autocreate:{key}" for key in wanted])
    # Re-read after the locks: a concurrent batch may have created them meanwhile.
    existing = _customers_by_contact(
        ContactPoint.Kind.PHONE, {p for p, _, _ in wanted.values() if p}
    )
    existing |= _customers_by_contact(
        ContactPoint.Kind.EMAIL, {e for _, e, _ in wanted.values() if e}
    )
    created: dict[str, int] = {}
    for key, (phone, email, name) in sorted(wanted.items()):
        if key in existing:
            created[key] = existing[key]
            continue
        customer = customer_create(
            full_name=(name or key)[:200],
            phones=[phone] if phone else [],
            emails=[email] if email else [],
        )
        created[key] = customer.pk
    return created


# --- writing -------------------------------------------------------------------------


@dataclass
class _Row:
    index: int
    values: dict[str, Any]


# Record fields a sync may set (attnames); other columns keep their values on update.
_SYNCED_ATTNAMES = [
    "customer_id",
    "channel",
    "direction",
    "occurred_at",
    "duration_seconds",
    "rep_id",
    "summary",
    "outcome",
    "from_number",
    "to_number",
    "category_id",
    "disposition",
    "recording_url",
]


def _model_attnames() -> set[str]:
    return {f.attname for f in Interaction._meta.concrete_fields}


def _upsert_statement(rows: list[_Row]) -> tuple[str, list[Any]]:
    """`INSERT ... SELECT FROM jsonb_to_recordset(rows)`, a short statement whatever the batch size.

    Columns and values are those of Django's own insert of the new rows
    (core.sql: no generated columns, db_default left to the database, `pre_save`
    and `get_db_prep_save`), so fields added to Interaction later need no change here.
    """
    quote = connection.ops.quote_name
    table = quote(Interaction._meta.db_table)
    insert = insert_rows_from_values(
        Interaction, [row.values for row in rows], connection=connection
    )
    select = recordset_select(insert, connection=connection)
    synced = [
        f for f in insert.fields if f.attname in rows[0].values and f.attname in _SYNCED_ATTNAMES
    ]
    customer_column = Interaction._meta.get_field("customer").column

    def new_value(column: str) -> str:
        if column == customer_column:
            # An unmatched record keeps whatever customer the row already has.
            return f"COALESCE(EXCLUDED.{quote(column)}, {table}.{quote(column)})"
        return f"EXCLUDED.{quote(column)}"

    synced_columns = [f.column for f in synced]
    assignments = ", ".join(f"{quote(c)} = {new_value(c)}" for c in synced_columns)
    old = ", ".join(f"{table}.{quote(c)}" for c in synced_columns)
    new = ", ".join(new_value(c) for c in synced_columns)
    # Only quoted column names and types are interpolated; values are parameters.
    sql = (
        f"INSERT INTO {table} ({', '.join(quote(c) for c in insert.columns)}) "  # noqa: S608
        f"SELECT {', '.join(select.expressions)} FROM {select.source} "
        f"ON CONFLICT ({quote('source')}, {quote('external_id')}) WHERE {quote('external_id')} <> '' "
        f"DO UPDATE SET {assignments}, {quote('updated_at')} = EXCLUDED.{quote('updated_at')} "
        f"WHERE ({old}) IS DISTINCT FROM ({new}) "
        f"RETURNING id, (xmax = 0) AS inserted, {quote('source')}, {quote('external_id')}"
    )
    return sql, select.params


def _ids_by_key(keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    table = connection.ops.quote_name(Interaction._meta.db_table)
    with connection.cursor() as cursor:
        # One probe of the unique (source, external_id) index per key, whatever the
        # statistics say: with stale ones (after a bulk load, or a new source) the
        # planner hashed every synced row instead, 220 ms a batch at 10M rows.
        cursor.execute(
            "SELECT t.id, t.source, t.external_id "  # noqa: S608 - the table name from _meta
            "FROM unnest(%s::text[], %s::text[]) AS k(source, external_id) "
            f"CROSS JOIN LATERAL (SELECT i.id, i.source, i.external_id FROM {table} i "
            "WHERE i.source = k.source AND i.external_id = k.external_id "
            "AND i.external_id <> '' LIMIT 1) t",  # LIMIT: the subquery stays a probe
            [[k[0] for k in keys], [k[1] for k in keys]],
        )
        return {(source, external_id): pk for pk, source, external_id in cursor.fetchall()}


def _write_rows(rows: list[_Row], results: dict[int, SyncResult]) -> None:
    """One round of rows with distinct keys: one statement, or row by row on a DB error."""
    if not rows:
        return
    rows = sorted(rows, key=lambda r: (r.values["source"], r.values["external_id"]))
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(*_upsert_statement(rows))
            returned = cursor.fetchall()
    except OperationalError:
        raise  # deadlocks and lost connections: the caller retries the batch
    except DatabaseError:
        if len(rows) == 1:
            results[rows[0].index] = SyncResult(
                rows[0].index,
                "error",
                errors={"non_field_errors": ["The database rejected this record."]},
            )
            return
        for row in rows:
            _write_rows([row], results)
        return
    by_key = {
        (source, external_id): (pk, inserted) for pk, inserted, source, external_id in returned
    }
    unchanged_keys = []
    for row in rows:
        key = (row.values["source"], row.values["external_id"])
        if key in by_key:
            pk, inserted = by_key[key]
            results[row.index] = SyncResult(row.index, "created" if inserted else "updated", pk)
        else:
            unchanged_keys.append((row, key))
    if unchanged_keys:
        ids = _ids_by_key([key for _, key in unchanged_keys])
        for row, key in unchanged_keys:
            results[row.index] = SyncResult(row.index, "unchanged", ids.get(key))


def _model_values(
    record: IngestRecord, customer_id: int | None, rep_id: int | None
) -> dict[str, Any]:
    names = _model_attnames()
    values: dict[str, Any] = {
        "source": record.source,
        "external_id": record.external_id,
        "customer_id": customer_id,
        "channel": record.channel,
        "direction": record.direction,
        "occurred_at": record.occurred_at,
        "duration_seconds": record.duration_seconds,
        "rep_id": rep_id,
        "summary": record.summary,
        "outcome": record.outcome,
    }
    for optional in ("from_number", "to_number", "disposition", "recording_url"):
        if optional in names:
            values[optional] = getattr(record, optional)
    # category is a ForeignKey to InteractionCategory.slug (H2): the column holds the slug.
    values["category_id"] = record.category or None
    return values


def interaction_records_upsert(
    *,
    items: list[IngestRecord | dict[str, list[str]]],
    creates_unmatched_customers: bool = False,
    on_written: Callable[[list[SyncResult]], None] | None = None,
) -> list[SyncResult]:
    """Upsert validated records (errors pass through); one result per item, in order.

    `on_written` runs in the same transaction (and is retried with it), so what
    follows from the rows (their matters) commits with them or not at all; so
    do their events (created: logged, updated: updated; one statement a batch)."""
    for attempt in range(DEADLOCK_RETRIES):
        try:
            with transaction.atomic():
                results = _upsert_once(items, creates_unmatched_customers)
                if on_written is not None:
                    on_written(results)
                _events_record(results)
                return results
        except OperationalError as exc:
            is_deadlock = getattr(getattr(exc, "__cause__", None), "sqlstate", "") in {
                "40P01",
                "40001",
            }
            if not is_deadlock or attempt == DEADLOCK_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _events_record(results: list[SyncResult]) -> None:
    interaction_events_record(
        events={
            InteractionEventKind.LOGGED: [r.id for r in results if r.status == "created" and r.id],
            InteractionEventKind.UPDATED: [r.id for r in results if r.status == "updated" and r.id],
        }
    )


def _upsert_once(items, creates_unmatched_customers: bool) -> list[SyncResult]:
    results: dict[int, SyncResult] = {}
    valid: list[tuple[int, IngestRecord]] = []
    for index, item in enumerate(items):
        if isinstance(item, IngestRecord):
            item = record_check(item)
        if isinstance(item, IngestRecord):
            valid.append((index, item))
        else:
            results[index] = SyncResult(index, "error", errors=item)
    survivors = _survivors({r.customer_id for _, r in valid if r.customer_id is not None})
    by_phone, phones = _customers_by_phone(valid)
    by_email = _customers_by_contact(
        ContactPoint.Kind.EMAIL, {r.customer_email for _, r in valid if r.customer_email}
    )
    reps = _reps({r.rep for _, r in valid if r.rep})
    # The category FK is checked at commit (deferred): reject unknown slugs per item here.
    categories = set(
        InteractionCategory.objects.filter(
            slug__in={r.category for _, r in valid if r.category}
        ).values_list("slug", flat=True)
    )
    resolved: list[tuple[int, IngestRecord, int | None, int | None]] = []
    unmatched: list[tuple[int, IngestRecord, str, str]] = []
    for index, record in valid:
        errors: dict[str, list[str]] = {}
        customer_id = None
        if record.customer_id is not None:
            customer_id = survivors.get(record.customer_id)
            if customer_id is None:
                errors["customer"] = [f"No customer with id {record.customer_id}."]
        else:
            phone = phones.get(index, "")
            customer_id = by_phone.get(phone) if phone else None
            if customer_id is None and record.customer_email:
                customer_id = by_email.get(record.customer_email)
            if (
                customer_id is None
                and (phone or record.customer_email)
                and creates_unmatched_customers
            ):
                unmatched.append((index, record, phone, record.customer_email if not phone else ""))
        rep_id = None
        if record.rep:
            rep_id = reps.get(record.rep) or reps.get(record.rep.lower())
            if rep_id is None:
                errors["rep"] = [f"No active user with username or e-mail {record.rep!r}."]
        if record.category and record.category not in categories:
            errors["category"] = [f"Unknown category {record.category!r}."]
        if errors:
            results[index] = SyncResult(index, "error", errors=errors)
            continue
        resolved.append((index, record, customer_id, rep_id))
    if unmatched:
        ok = {index for index, *_ in resolved}
        unmatched = [u for u in unmatched if u[0] in ok]
        created = _customers_create_unmatched(unmatched)
        new_ids = {index: created[phone or email] for index, _, phone, email in unmatched}
        resolved = [(i, r, new_ids.get(i, c), rep) for i, r, c, rep in resolved]
    # Rounds of distinct keys: a key repeated in one batch is applied in order.
    rounds: list[list[_Row]] = []
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for index, record, customer_id, rep_id in resolved:
        key = (record.source, record.external_id)
        position = seen[key]
        seen[key] += 1
        if position == len(rounds):
            rounds.append([])
        rounds[position].append(_Row(index, _model_values(record, customer_id, rep_id)))
    reserved = _matters_reserve(rounds[0]) if rounds else {}
    for batch in rounds:
        _write_rows(batch, results)
    _matters_insert_reserved(reserved, results)
    return [results[index] for index in range(len(items))]


def _matters_reserve(rows: list[_Row]) -> dict[int, _Row]:
    """Matter ids for the rows that, if new, open a matter of their own
    (interactions.matters.contact_opens_own_matter), so the rows are inserted
    already pointing at them instead of updated again afterwards (an UPDATE of
    `matter_id` rewrites every index entry of the row). Returns matter id -> row.
    """

    for row in rows:
        row.values["matter_id"] = None
    candidates = [
        row
        for row in rows
        if contact_opens_own_matter(
            customer_id=row.values["customer_id"], category_id=row.values.get("category_id")
        )
    ]
    if not candidates:
        return {}
    ids = matter_ids_reserve(count=len(candidates))
    for matter_id, row in zip(ids, candidates, strict=True):
        row.values["matter_id"] = matter_id
    return dict(zip(ids, candidates, strict=True))


def _matters_insert_reserved(reserved: dict[int, _Row], results: dict[int, SyncResult]) -> None:
    """Open the reserved matters whose rows were created (one statement)."""

    matters_open_reserved(
        matters=[
            ReservedMatter(
                matter_id=matter_id,
                interaction_id=results[row.index].id,
                customer_id=row.values["customer_id"],
                occurred_at=row.values["occurred_at"],
                outcome=row.values["outcome"],
            )
            for matter_id, row in reserved.items()
            if results[row.index].status == "created"
        ]
    )


def interaction_sync(*, records: list, creates_unmatched_customers: bool = False) -> list:
    """Batch upsert by (source, external_id); one SyncResult per record, in order.

    `records` is open JSON (each validated here); see interactions/sync.py for
    the guarantees (no duplicates under concurrent replays, bad items isolated).
    """

    def matters_assign(results: list) -> None:
        # New contacts join matters like logged ones (H2); a no-op for rows already in one.
        interaction_matters_assign(
            interaction_ids=[r.id for r in results if r.status == "created" and r.id]
        )

    return interaction_records_upsert(
        items=[record_validate(raw) for raw in records],
        creates_unmatched_customers=creates_unmatched_customers,
        on_written=matters_assign,
    )
