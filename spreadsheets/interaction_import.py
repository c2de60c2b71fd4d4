"""Import past interactions from CSV through the sync engine.

Each row becomes the sync API's JSON record and goes to
`interactions.sync.interaction_sync`, the same call as
POST /api/v1/interactions/sync/: the same customer matching (Rapport id,
normalised phone, e-mail), the same validation, the same upsert by
(source, external_id). A file without an id column gets a stable one per
row: a hash of the row's mapped values, so importing the file again updates
or leaves unchanged, never duplicates (and an identical row twice in one file
is one interaction).
"""

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from crm.phone import normalise_phone
from spreadsheets.csvfile import normalise_header, open_table, parse_datetime_value, read_cell

DEFAULT_SOURCE = "csv-import"
# The sync engine's own batch limit (interactions.sync.MAX_RECORDS).
BATCH_RECORDS = 1000

FIELDS = {
    # target: (header the export writes, synonyms)
    "source": ("Source", ("system",)),
    "external_id": ("External ID", ("id", "callid", "recordid", "reference")),
    "customer": ("Customer ID", ("customerid",)),
    "customer_phone": ("Customer phone", ("phone", "number", "phonenumber", "caller")),
    "customer_email": ("Customer e-mail", ("email", "emailaddress")),
    "customer_name": ("Customer name", ("name", "customer", "fullname")),
    "channel": ("Channel", ("type", "medium")),
    "direction": ("Direction", ("inout",)),
    "occurred_at": ("Time", ("date", "datetime", "when", "occurredat", "timestamp", "start")),
    "duration_seconds": ("Duration", ("durationseconds", "seconds", "length")),
    "outcome": ("Outcome", ("result",)),
    "category": ("Category", ("topic",)),
    "rep": ("Rep", ("agent", "user", "owner", "handledby")),
    "summary": ("Notes", ("note", "summary", "comments", "description")),
}
_SUGGEST: dict[str, str] = {}
for _target, (_label, _synonyms) in FIELDS.items():
    for _name in (_target, _label, *_synonyms):
        _SUGGEST.setdefault(normalise_header(_name), _target)

_CHANNELS = {"email": "email", "mail": "email", "call": "phone", "inperson": "in_person"}
_CHANNELS |= {"visit": "in_person", "text": "sms", "meeting": "in_person"}
_DIRECTIONS = {"in": "inbound", "incoming": "inbound", "out": "outbound", "outgoing": "outbound"}


def suggest_interaction_mapping(header: list[str]) -> list[str]:
    used: set[str] = set()
    mapping = []
    for name in header:
        target = _SUGGEST.get(normalise_header(name), "")
        if target in used:
            target = ""
        used.add(target)
        mapping.append(target)
    return mapping


@dataclass
class InteractionRowResult:
    line: int
    status: str  # created, updated, unchanged, error
    id: int | None = None
    messages: list[str] = field(default_factory=list)


@dataclass
class InteractionImportResult:
    header: list[str]
    mapping: list[str]
    rows: list[InteractionRowResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for row in self.rows if row.status == status)


def _duration(value: str) -> int:
    parts = value.split(":")
    if not all(p.strip().isdigit() for p in parts) or len(parts) > 3:
        raise ValueError(f"'{value}' is not a duration: write seconds (95) or 1:35.")
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + int(part)
    return seconds


def _record(
    cells: list[str],
    mapping: list[str],
    *,
    source: str,
    region: str,
    time_zone: str,
) -> dict | list[str]:
    """One row -> the sync API's JSON record, or messages naming what is wrong."""
    values: dict[str, str] = {}
    for index, target in enumerate(mapping):
        if target and index < len(cells) and read_cell(cells[index]):
            values[target] = read_cell(cells[index])
    errors: list[str] = []
    record: dict = {"source": values.get("source", source)}
    # The row's identity when the file has no id: its values, not its position,
    # so a re-ordered or appended file still matches.
    identity = json.dumps(sorted((k, v) for k, v in values.items() if k != "source"))
    record["external_id"] = values.get(
        "external_id", "row-" + hashlib.sha256(identity.encode()).hexdigest()[:32]
    )
    for name in ("customer_email", "customer_name", "outcome", "category", "rep", "summary"):
        if name in values:
            record[name] = values[name]
    if "outcome" in record:
        record["outcome"] = values["outcome"].strip().lower().replace(" ", "_")
    if "channel" in values:
        key = normalise_header(values["channel"])
        record["channel"] = _CHANNELS.get(key, values["channel"].lower().replace(" ", "_"))
    if "direction" in values:
        key = normalise_header(values["direction"])
        record["direction"] = _DIRECTIONS.get(key, values["direction"].lower())
    if "customer" in values:
        if not values["customer"].isdigit():
            errors.append(f"Customer ID: '{values['customer']}' is not a customer id.")
        else:
            record["customer"] = int(values["customer"])
    if "customer_phone" in values:
        try:
            record["customer_phone"] = normalise_phone(values["customer_phone"], region=region).e164
        except Exception as exc:  # noqa: BLE001 - Django's ValidationError
            errors.append(f"Customer phone: {' '.join(getattr(exc, 'messages', [str(exc)]))}")
    if "occurred_at" in values:
        try:
            record["occurred_at"] = parse_datetime_value(
                values["occurred_at"], time_zone=time_zone
            ).isoformat()
        except ValueError as exc:
            errors.append(f"Time: {exc}")
    if "duration_seconds" in values:
        try:
            record["duration_seconds"] = _duration(values["duration_seconds"])
        except ValueError as exc:
            errors.append(f"Duration: {exc}")
    return errors or record


def _messages(errors: dict[str, list[str]]) -> list[str]:
    labels = {target: label for target, (label, _) in FIELDS.items()}
    return [
        f"{labels.get(name, name)}: {message}"
        for name, messages in errors.items()
        for message in messages
    ]


def interactions_import(
    *,
    content: bytes,
    mapping: list[str] | None = None,
    source: str = DEFAULT_SOURCE,
    region: str = "",
    time_zone: str = "",
    creates_unmatched_customers: bool = False,
    dry_run: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> InteractionImportResult:
    """Import the file's interactions in batches of BATCH_RECORDS (each batch
    one sync call, one transaction). A dry run does the same work and rolls
    it back, so it reports exactly what the run would do."""
    from interactions.sync import interaction_sync

    table = open_table(content)
    mapping = mapping or suggest_interaction_mapping(table.header)
    result = InteractionImportResult(header=table.header, mapping=mapping)
    region = region or settings.PHONE_DEFAULT_REGION
    time_zone = time_zone or settings.TIME_ZONE
    total = table.count()
    for batch in _batches(table.records(), BATCH_RECORDS):
        lines, records, pending = [], [], []
        for record in batch:
            mapped = _record(
                record.cells, mapping, source=source, region=region, time_zone=time_zone
            )
            if isinstance(mapped, list):
                result.rows.append(InteractionRowResult(record.line, "error", messages=mapped))
            else:
                lines.append(record.line)
                records.append(mapped)
        if records:
            with transaction.atomic():
                synced = interaction_sync(
                    records=records, creates_unmatched_customers=creates_unmatched_customers
                )
                if dry_run:
                    transaction.set_rollback(True)
            for line, outcome in zip(lines, synced, strict=True):
                pending.append(
                    InteractionRowResult(
                        line,
                        outcome.status,
                        None if dry_run else outcome.id,
                        _messages(outcome.errors),
                    )
                )
        result.rows.extend(pending)
        result.rows.sort(key=lambda row: row.line)
        if on_progress:
            on_progress(len(result.rows), total)
    return result


def _batches(records: Iterator, size: int) -> Iterator[list]:
    batch = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
