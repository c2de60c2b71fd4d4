"""Customer import: upload, dry run, run (every write of the spreadsheets app).

How a row becomes a customer:
- It is parsed and validated by the API's rules (spreadsheets.customer_rows:
  phonenumbers in the import's region, e-mail, time zone, BCP 47 language,
  quiet hours both or neither, field lengths). A bad row is reported with its
  line and nothing of it is written; the other rows go on.
- It is matched like the sync engine matches callers: by Rapport id (an
  exported file), then by normalised phone and e-mail (the oldest active
  customer holding the number), and, for a row without any phone or e-mail,
  by the exact full name. A row whose phone and e-mail point at two different
  customers is an error (merge them first), never a guess.
- A match gets the row's non-blank cells (a blank cell changes nothing) and
  any contact point, tag or note it does not have yet: "updated", or
  "matched" when nothing differs. Anything else is "created". Rows of one
  file naming the same person (same phone or e-mail) are one customer, so
  re-importing a file creates nothing new.

Writes are set-based: per batch of BATCH_ROWS rows one bulk INSERT of
customers, of contact points, of tags, of notes, of audit entries, one bulk
UPDATE of changed customers, all in one transaction with the checkpoint.
The run is resumable, not all-or-nothing: each committed batch stays, and a
run cut short continues after the last committed batch (no customer is ever
half-saved: a batch commits whole or not at all).
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core.audit import audit_record
from core.models import AuditEntry
from crm.models import (
    ContactPoint,
    Customer,
    ProfileFact,
    ProfileFactRevision,
    Tag,
    search_text,
)
from spreadsheets.bulk import insert_rows, reserve_ids
from spreadsheets.csvfile import CsvFileError, CsvTable, open_table
from spreadsheets.customer_rows import (
    PROFILE_FIELDS,
    CustomerRow,
    RowError,
    RowParser,
    check_mapping,
    quiet_hours_errors,
    suggest_mapping,
)
from spreadsheets.models import CustomerImport, ImportRow

User = get_user_model()

# Rows per transaction: about a second of work on two cores, so the checkpoint
# and the progress bar move every second, and a batch's lookups (one
# `value IN (...)` per kind) and bulk statements stay small.
BATCH_ROWS = 1000
MAX_FILE_BYTES = 50 * 1024 * 1024
STALLED_AFTER = timedelta(minutes=5)
VIA = "csv_import"

Outcome = ImportRow.Outcome


class ImportRefused(ValueError):
    """The file or the request cannot start (names what is wrong)."""


# --- upload and mapping -----------------------------------------------------------------


@transaction.atomic
def customer_import_upload(
    *,
    file_name: str,
    content: bytes,
    actor: User | None,
    region: str = "",
    time_zone: str = "",
) -> CustomerImport:
    if len(content) > MAX_FILE_BYTES:
        raise ImportRefused(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
    try:
        table = open_table(content)
    except CsvFileError as exc:
        raise ImportRefused(str(exc)) from exc
    customer_import = CustomerImport(
        created_by=actor if actor is not None and actor.is_authenticated else None,
        file_name=(file_name or "customers.csv")[:255],
        content=content,
        encoding=table.encoding,
        delimiter=table.delimiter,
        header=table.header,
        mapping=suggest_mapping(table.header),
        region=(region or settings.PHONE_DEFAULT_REGION).upper()[:2],
        time_zone=time_zone or settings.TIME_ZONE,
        rows_total=table.count(),
    )
    customer_import.full_clean(exclude=["created_by"])
    customer_import.save()
    return customer_import


@transaction.atomic
def customer_import_set_mapping(*, customer_import: CustomerImport, mapping: list[str]) -> None:
    if len(mapping) != len(customer_import.header):
        raise ImportRefused("Give one field (or none) for each column.")
    problems = check_mapping(mapping)
    if problems:
        raise ImportRefused(" ".join(problems))
    if customer_import.is_running:
        raise ImportRefused("The import is running; wait for it to finish.")
    if customer_import.status == CustomerImport.Status.EXPIRED:
        raise ImportRefused(EXPIRED_REFUSAL)
    customer_import.mapping = mapping
    customer_import.status = CustomerImport.Status.UPLOADED  # a new mapping needs a new dry run
    customer_import.save(update_fields=["mapping", "status", "updated_at"])


@transaction.atomic
def customer_import_start(*, customer_import_id: int, dry_run: bool) -> CustomerImport:
    """Put the import in the dry-run or run state (the task then processes it).

    A run continues from its checkpoint when it failed part-way (resume)."""
    customer_import = CustomerImport.objects.select_for_update().get(pk=customer_import_id)
    problems = check_mapping(customer_import.mapping)
    if problems:
        raise ImportRefused(" ".join(problems))
    Status, Phase = CustomerImport.Status, CustomerImport.Phase
    if customer_import.is_running and not customer_import_is_stalled(customer_import):
        raise ImportRefused("The import is already running.")
    # A failed run, or one whose worker vanished (stalled), goes on from its checkpoint.
    resume = (
        not dry_run
        and customer_import.phase == Phase.RUN
        and customer_import.status in (Status.FAILED, Status.IMPORTING)
    )
    if not dry_run and customer_import.status == Status.DONE:
        raise ImportRefused("This file is imported; upload it again to import it once more.")
    if customer_import.status == Status.EXPIRED:
        raise ImportRefused(EXPIRED_REFUSAL)
    customer_import.status = Status.CHECKING if dry_run else Status.IMPORTING
    if not dry_run and customer_import.phase == Phase.DRY_RUN and customer_import.rows_done:
        customer_import.dry_run_summary = _counts(customer_import)
    customer_import.phase = Phase.DRY_RUN if dry_run else Phase.RUN
    customer_import.message = ""
    customer_import.finished_at = None
    if not resume:
        _reset_phase(customer_import)
    customer_import.save()
    return customer_import


EXPIRED_REFUSAL = "This file was removed after its retention period; upload it again."


def customer_imports_expire(*, now: datetime | None = None) -> int:
    """Remove the file and the row details of imports untouched for IMPORT_RETENTION_DAYS.

    An uploaded file is personal data of everyone in it, and the rows that
    failed keep their cells and messages (which quote the values) for the error
    report; neither is tied to a customer an erasure request could find. So they
    are kept only for the retention period, whatever the import's state (a
    running import moves `updated_at` every batch, so one this old has stalled).
    The counts, the file name and who imported it stay. Returns how many imports
    expired.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.IMPORT_RETENTION_DAYS)
    with transaction.atomic():
        expiring = list(
            CustomerImport.objects.filter(updated_at__lt=cutoff)
            .exclude(status=CustomerImport.Status.EXPIRED)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        if not expiring:
            return 0
        ImportRow.objects.filter(customer_import__in=expiring).delete()
        CustomerImport.objects.filter(pk__in=expiring).update(
            status=CustomerImport.Status.EXPIRED,
            content=b"",
            message=(
                f"The file and the row details were removed after "
                f"{settings.IMPORT_RETENTION_DAYS} days; the counts are kept."
            ),
            updated_at=now,
        )
    return len(expiring)


def _reset_phase(customer_import: CustomerImport) -> None:
    """Start the current phase from the first row (the caller saves)."""
    customer_import.rows_done = 0
    customer_import.created_count = customer_import.updated_count = 0
    customer_import.matched_count = customer_import.error_count = 0
    ImportRow.objects.filter(customer_import=customer_import, phase=customer_import.phase).delete()


def customer_import_is_stalled(customer_import: CustomerImport) -> bool:
    """Running, but no batch committed for STALLED_AFTER: its task was lost
    (a batch takes about a second), so the user may resume it."""
    return customer_import.is_running and (
        customer_import.updated_at < timezone.now() - STALLED_AFTER
    )


def _counts(customer_import: CustomerImport) -> dict[str, int]:
    return {
        "rows": customer_import.rows_done,
        "created": customer_import.created_count,
        "updated": customer_import.updated_count,
        "matched": customer_import.matched_count,
        "errors": customer_import.error_count,
    }


# --- processing --------------------------------------------------------------------------


@dataclass(eq=False)
class _Known:
    """A customer as this run knows it: from the database, or created by an earlier row."""

    id: int | None
    profile: dict[str, Any]
    contacts: set[tuple[str, str, str]] = field(default_factory=set)
    primary_kinds: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)
    notes: set[str] = field(default_factory=set)
    last_activity_at: datetime | None = None
    is_new: bool = False
    line: int = 0
    first_line: int = 0  # the first line of this run naming this customer


@dataclass
class _Changes:
    """What one batch writes for one customer."""

    known: _Known
    fields: set[str] = field(default_factory=set)
    contacts: list[tuple[str, str, str, str, bool]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Batch:
    def __init__(self, known_by_key: dict[tuple, _Known], touched: dict[int, int]):
        self.known_by_key = known_by_key
        # Customer id -> the first line of this run that matched or created it.
        self.touched = touched
        self.changes: dict[int, _Changes] = {}  # id(known) -> changes
        self.rows: list[ImportRow] = []

    def changes_of(self, known: _Known) -> _Changes:
        return self.changes.setdefault(id(known), _Changes(known))


_DEFAULT_PROFILE = {
    name: Customer._meta.get_field(name).get_default()
    for name in PROFILE_FIELDS
    if name != "full_name"
}


def _lookup(batch: _Batch, parsed: list[CustomerRow]) -> None:
    """Load into batch.known_by_key every customer the batch's rows may match."""
    wanted_ids = {r.customer_id for r in parsed if r.customer_id} - {
        key[1] for key in batch.known_by_key if key[0] == "id"
    }
    by_kind: dict[str, set[str]] = {"phone": set(), "email": set()}
    names: set[str] = set()
    for row in parsed:
        keys = row.contact_keys()
        for kind, value in keys:
            if (kind, value) not in batch.known_by_key:
                by_kind[kind].add(value)
        if not keys and not row.customer_id and row.profile.get("full_name"):
            if ("name", row.profile["full_name"].casefold()) not in batch.known_by_key:
                names.add(row.profile["full_name"])
    found: dict[tuple, int] = {}
    if wanted_ids:
        from interactions.sync import _survivors  # merged ids resolve to their survivor

        for original, survivor in _survivors(wanted_ids).items():
            found[("id", original)] = survivor
    for kind, values in by_kind.items():
        if not values:
            continue
        rows = (
            ContactPoint.objects.filter(
                kind=kind, value__in=values, customer__merged_into__isnull=True
            )
            .order_by("customer_id")
            .values_list("value", "customer_id")
        )
        for value, customer_id in rows:
            found.setdefault((kind, value), customer_id)  # shared number: the oldest customer
    if names:
        candidates: dict[str, list[int]] = {}
        rows = Customer.objects.filter(
            merged_into__isnull=True, search_name__in={search_text(n) for n in names}
        ).values_list("full_name", "pk")
        for full_name, pk in rows:
            candidates.setdefault(full_name.casefold(), []).append(pk)
        for name in names:
            ids = candidates.get(name.casefold(), [])
            if len(ids) == 1:
                found[("name", name.casefold())] = ids[0]
            elif ids:
                found[("name", name.casefold())] = -1  # ambiguous: reported per row
    known_by_id = {k.id: k for k in batch.known_by_key.values() if k.id}
    to_load = {pk for pk in found.values() if pk > 0} - known_by_id.keys()
    known_by_id |= _load(to_load)
    for key, pk in found.items():
        batch.known_by_key[key] = known_by_id.get(pk) if pk > 0 else _AMBIGUOUS


_AMBIGUOUS = _Known(id=None, profile={})


def _load(ids: set[int]) -> dict[int, _Known]:
    if not ids:
        return {}
    loaded = {
        values.pop("pk"): values
        for values in Customer.objects.filter(pk__in=ids).values(
            "pk", *PROFILE_FIELDS, "last_activity_at"
        )
    }
    known = {
        pk: _Known(id=pk, profile=values, last_activity_at=values.pop("last_activity_at"))
        for pk, values in loaded.items()
    }
    for customer_id, kind, value, extension, is_primary in ContactPoint.objects.filter(
        customer_id__in=ids
    ).values_list("customer_id", "kind", "value", "extension", "is_primary"):
        known[customer_id].contacts.add((kind, value, extension))
        if is_primary:
            known[customer_id].primary_kinds.add(kind)
    for customer_id, name in Customer.tags.through.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "tag__name"
    ):
        known[customer_id].tags.add(name)
    for customer_id, text in ProfileFact.objects.filter(
        customer_id__in=ids, deleted_at__isnull=True
    ).values_list("customer_id", "text"):
        known[customer_id].notes.add(text)
    return known


def _describe(known: _Known) -> str:
    return f"customer #{known.id}" if known.id else f"the customer of line {known.line}"


def _apply(batch: _Batch, row: CustomerRow) -> tuple[str, _Known | None, list[str]]:
    """Decide what the row does and record it in the batch (nothing on error)."""
    keys: list[tuple] = []
    if row.customer_id:
        keys.append(("id", row.customer_id))
    keys += row.contact_keys()
    if not row.contact_keys() and not row.customer_id and row.profile.get("full_name"):
        keys.append(("name", row.profile["full_name"].casefold()))
    matches: list[tuple[tuple, _Known]] = [
        (key, batch.known_by_key[key]) for key in keys if batch.known_by_key.get(key) is not None
    ]
    if any(k is _AMBIGUOUS for _, k in matches):
        return (
            Outcome.ERROR,
            None,
            [
                "Several customers have this name and the row has no phone or e-mail to tell "
                "them apart: add one, or the Rapport ID."
            ],
        )
    distinct = list({id(k): k for _, k in matches}.values())
    if len(distinct) > 1:
        described = "; ".join(f"{key[1]} is {_describe(k)}" for key, k in matches)
        return (
            Outcome.ERROR,
            None,
            [
                f"The row names more than one existing customer ({described}): merge them, "
                "or fix the row."
            ],
        )
    if distinct:
        known = distinct[0]
        changed = {f for f, v in row.profile.items() if known.profile.get(f) != v}
    else:
        if not row.profile.get("full_name"):
            return Outcome.ERROR, None, ["Full name: a new customer needs a name."]
        known = _Known(id=None, profile=dict(_DEFAULT_PROFILE), is_new=True, line=row.line)
        changed = set(row.profile)
    earlier = known.first_line or batch.touched.get(known.id or 0, 0)
    if earlier:
        conflicts = _conflicts(known, row, changed)
        if conflicts:
            return (
                Outcome.ERROR,
                None,
                [
                    f"Line {earlier} is the same customer with a different {conflicts}: keep one "
                    "value (the first is kept; a blank cell changes nothing)."
                ],
            )
    merged = {**known.profile, **{f: row.profile[f] for f in changed}}
    errors = quiet_hours_errors(merged.get("quiet_hours_start"), merged.get("quiet_hours_end"))
    if errors:
        return Outcome.ERROR, None, errors
    new_contacts = []
    seen = set(known.contacts)
    primaries = set(known.primary_kinds)
    for kind, label, value, extension in row.contacts:
        if (kind, value, extension) in seen:
            continue
        seen.add((kind, value, extension))
        # The first phone and e-mail are primary, as with customer_create's shorthands;
        # an address is made primary by a person.
        is_primary = kind != "address" and kind not in primaries
        new_contacts.append((kind, label, value, extension, is_primary))
        if is_primary:
            primaries.add(kind)
    new_tags = [t for t in row.tags if t not in known.tags]
    new_notes = [n for n in dict.fromkeys(row.notes) if n not in known.notes]
    newer_activity = row.last_activity_at is not None and (
        known.last_activity_at is None or row.last_activity_at > known.last_activity_at
    )
    # Apply to what the run knows, so later rows of the file see it.
    known.profile = merged
    known.contacts = seen
    known.primary_kinds = primaries
    known.tags |= set(new_tags)
    known.notes |= set(new_notes)
    if newer_activity:
        known.last_activity_at = row.last_activity_at
        changed.add("last_activity_at")
    for key in keys:
        batch.known_by_key[key] = known
    known.first_line = known.first_line or earlier or row.line
    if known.is_new and not distinct:
        outcome = Outcome.CREATED
    elif changed or new_contacts or new_tags or new_notes:
        outcome = Outcome.UPDATED
    else:
        outcome = Outcome.MATCHED
    if outcome != Outcome.MATCHED:
        changes = batch.changes_of(known)
        changes.fields |= changed
        changes.contacts += new_contacts
        changes.tags += new_tags
        changes.notes += new_notes
    return outcome, known, []


def _conflicts(known: _Known, row: CustomerRow, changed: set[str]) -> str:
    """Fields a later row of the same file would change from a value already set.

    Duplicate rows of one person must agree, or each run would flip the
    customer between them and a re-import would never be "nothing changed";
    filling a blank (or a default) is not a conflict."""
    from spreadsheets.customer_rows import COLUMN_BY_TARGET

    names = [
        COLUMN_BY_TARGET[f].label
        for f in sorted(changed)
        if known.profile.get(f) not in ("", None, _DEFAULT_PROFILE.get(f))
    ]
    return ", ".join(names)


def _write(batch: _Batch, *, actor: User | None, import_id: int) -> None:
    """The batch's writes, set-based (spreadsheets.bulk: one INSERT per table)."""
    now = timezone.now()
    changes = list(batch.changes.values())
    created = [c for c in changes if c.known.id is None]
    updated = [c for c in changes if c.known.id is not None]

    def customer_values(known: _Known) -> dict[str, Any]:
        return {
            **known.profile,
            "last_activity_at": known.last_activity_at,
            "search_name": search_text(known.profile["full_name"], known.profile["preferred_name"]),
        }

    for change, pk in zip(created, reserve_ids(Customer, len(created)), strict=True):
        change.known.id = pk
    insert_rows(
        Customer, [{"id": c.known.id, **customer_values(c.known)} for c in created], now=now
    )
    if updated:
        fields = set().union(*(c.fields for c in updated))
        if fields & {"full_name", "preferred_name"}:
            fields.add("search_name")
        Customer.objects.bulk_update(
            [Customer(pk=c.known.id, updated_at=now, **customer_values(c.known)) for c in updated],
            sorted(fields | {"updated_at"}),
        )
    insert_rows(
        ContactPoint,
        [
            {
                "customer_id": c.known.id,
                "kind": kind,
                "label": label,
                "value": value,
                "extension": extension,
                "is_primary": is_primary,
            }
            for c in changes
            for kind, label, value, extension, is_primary in c.contacts
        ],
        now=now,
    )
    tag_names = {t for c in changes for t in c.tags}
    if tag_names:
        Tag.objects.bulk_create([Tag(name=n) for n in sorted(tag_names)], ignore_conflicts=True)
        tag_ids = dict(Tag.objects.filter(name__in=tag_names).values_list("name", "pk"))
        Customer.tags.through.objects.bulk_create(
            [
                Customer.tags.through(customer_id=c.known.id, tag_id=tag_ids[t])
                for c in changes
                for t in c.tags
            ],
            ignore_conflicts=True,
        )
    notes = [(c.known.id, text) for c in changes for text in c.notes]
    fact_ids = reserve_ids(ProfileFact, len(notes))
    actor_id = actor.pk if actor is not None else None
    insert_rows(
        ProfileFact,
        [
            {
                "id": pk,
                "customer_id": customer_id,
                "category": ProfileFact.Category.OTHER,
                "text": text,
                "recorded_by_id": actor_id,
                "recorded_at": now,
            }
            for pk, (customer_id, text) in zip(fact_ids, notes, strict=True)
        ],
        now=now,
    )
    insert_rows(
        ProfileFactRevision,
        [
            {
                "fact_id": pk,
                "action": ProfileFactRevision.Action.CREATED,
                "category": ProfileFact.Category.OTHER,
                "text": text,
                "is_pinned": False,
                "changed_by_id": actor_id,
                "changed_at": now,
            }
            for pk, (_, text) in zip(fact_ids, notes, strict=True)
        ],
        now=now,
    )
    label = actor.get_username()[:150] if actor is not None else ""
    insert_rows(
        AuditEntry,
        [
            {
                "occurred_at": now,
                "actor_id": actor_id,
                "actor_label": label,
                "action": "customer.created" if c.known.is_new else "customer.updated",
                "target_type": "customer",
                "target_id": str(c.known.id),
                "customer_id": c.known.id,
                # Field names only, never values (as crm.services does).
                "details": {
                    "via": VIA,
                    "import_id": import_id,
                    "fields": sorted(
                        c.fields
                        | ({"contact_points"} if c.contacts else set())
                        | ({"tags"} if c.tags else set())
                        | ({"facts"} if c.notes else set())
                    ),
                },
            }
            for c in changes
        ],
        now=now,
    )


def _import_lock_key(customer_import_id: int) -> int:
    digest = hashlib.sha256(f"rapport.customer-import:{customer_import_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def customer_import_process(
    *,
    customer_import_id: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> CustomerImport:
    """Process the import's current phase from its checkpoint to the end.

    Idempotent and safe to call twice at once (a redelivered task): a session
    advisory lock lets one process work on an import; the other returns."""
    key = _import_lock_key(customer_import_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        (locked,) = cursor.fetchone()
    if not locked:
        return CustomerImport.objects.get(pk=customer_import_id)
    try:
        return _process(customer_import_id, on_progress)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _process(customer_import_id: int, on_progress) -> CustomerImport:
    customer_import = CustomerImport.objects.select_related("created_by").get(pk=customer_import_id)
    if not customer_import.is_running:
        return customer_import
    dry_run = customer_import.phase == CustomerImport.Phase.DRY_RUN
    table = CsvTable(
        encoding=customer_import.encoding,
        delimiter=customer_import.delimiter,
        header=customer_import.header,
        text=open_table(bytes(customer_import.content)).text,
    )
    parser = RowParser(
        header=customer_import.header,
        mapping=customer_import.mapping,
        region=customer_import.region,
        time_zone=customer_import.time_zone,
    )
    actor = customer_import.created_by
    # The dry run remembers the whole file (nothing is written, so a later row's
    # duplicate is found here); the run forgets after each batch: it is committed.
    known_by_key: dict[tuple, _Known] = {}
    touched: dict[int, int] = {}
    if not dry_run and customer_import.rows_done:  # resuming: what the earlier batches did
        for customer_id, line in (
            ImportRow.objects.filter(customer_import=customer_import, phase=customer_import.phase)
            .exclude(customer_id=None)
            .order_by("line")
            .values_list("customer_id", "line")
        ):
            touched.setdefault(customer_id, line)
    skip = 0 if dry_run else customer_import.rows_done
    if dry_run and customer_import.rows_done:
        # A redelivered dry run starts over: it keeps the file's customers in
        # memory, so it cannot continue in the middle.
        with transaction.atomic():
            _reset_phase(customer_import)
            customer_import.save()
    pending: list = []
    try:
        for record in table.records(skip=skip):
            pending.append(record)
            if len(pending) == BATCH_ROWS:
                _run_batch(customer_import, parser, pending, known_by_key, touched, dry_run, actor)
                pending = []
                if not dry_run:
                    known_by_key = {}
                if on_progress:
                    on_progress(customer_import.rows_done, customer_import.rows_total)
        if pending:
            _run_batch(customer_import, parser, pending, known_by_key, touched, dry_run, actor)
            if on_progress:
                on_progress(customer_import.rows_done, customer_import.rows_total)
    except Exception as exc:
        CustomerImport.objects.filter(pk=customer_import.pk).update(
            status=CustomerImport.Status.FAILED,
            message=f"Stopped after {customer_import.rows_done} rows: {exc}"[:2000],
            updated_at=timezone.now(),
        )
        raise
    with transaction.atomic():
        customer_import.refresh_from_db()
        customer_import.status = (
            CustomerImport.Status.CHECKED if dry_run else CustomerImport.Status.DONE
        )
        customer_import.finished_at = timezone.now()
        if dry_run:
            customer_import.dry_run_summary = _counts(customer_import)
        else:
            # The file is personal data of everyone in it: once imported it is not
            # kept (the error rows' cells stay, for the error report).
            customer_import.content = b""
        customer_import.save()
        if not dry_run:
            audit_record(
                actor=actor,
                action="customer_import.completed",
                target_type="customer_import",
                target_id=customer_import.pk,
                details={"file_name": customer_import.file_name, **_counts(customer_import)},
            )
    return customer_import


def _run_batch(customer_import, parser, records, known_by_key, touched, dry_run, actor) -> None:
    with transaction.atomic():
        batch = _Batch(known_by_key, touched)
        parsed = [parser.parse(record.line, record.cells) for record in records]
        valid = [row for row in parsed if isinstance(row, CustomerRow)]
        if not dry_run:
            # Serialise with concurrent imports and the sync engine's automatic
            # customers (same lock keys) on every phone and e-mail of the batch,
            # then read: two writers never both create the customer of a number.
            from interactions.sync import _advisory_lock

            _advisory_lock(
                sorted(
                    {f"rapport.customer-autocreate:{v}" for r in valid for _, v in r.contact_keys()}
                )
            )
        _lookup(batch, valid)
        decisions = []
        for record, row in zip(records, parsed, strict=True):
            if isinstance(row, RowError):
                decisions.append((record, Outcome.ERROR, None, row.messages))
            else:
                decisions.append((record, *_apply(batch, row)))
        if not dry_run:
            _write(batch, actor=actor, import_id=customer_import.pk)
        counts = {outcome: 0 for outcome in Outcome.values}
        rows = []
        for record, outcome, known, messages in decisions:
            counts[outcome] += 1
            rows.append(
                {
                    "customer_import_id": customer_import.pk,
                    "phase": customer_import.phase,
                    "line": record.line,
                    "outcome": outcome,
                    "customer_id": known.id if known is not None else None,
                    "messages": messages,
                    "cells": record.cells if outcome == Outcome.ERROR else None,
                }
            )
        insert_rows(ImportRow, rows)
        for known in batch.known_by_key.values():
            if known.id and known.first_line:
                touched.setdefault(known.id, known.first_line)
        CustomerImport.objects.filter(pk=customer_import.pk).update(
            rows_done=F("rows_done") + len(records),
            created_count=F("created_count") + counts[Outcome.CREATED],
            updated_count=F("updated_count") + counts[Outcome.UPDATED],
            matched_count=F("matched_count") + counts[Outcome.MATCHED],
            error_count=F("error_count") + counts[Outcome.ERROR],
            updated_at=timezone.now(),
        )
    customer_import.rows_done += len(records)
    customer_import.created_count += counts[Outcome.CREATED]
    customer_import.updated_count += counts[Outcome.UPDATED]
    customer_import.matched_count += counts[Outcome.MATCHED]
    customer_import.error_count += counts[Outcome.ERROR]
