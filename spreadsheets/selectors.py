"""Reads of the spreadsheets app: import results, the error report, the exports.

The exports stream: rows are read with a server-side cursor in chunks
(`.iterator(chunk_size=EXPORT_CHUNK)`, contact points and the rest prefetched
per chunk) and written line by line, so memory stays bounded whatever the
number of customers.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from crm import selectors as crm_selectors
from crm.models import ContactPoint, Customer, ProfileFact
from spreadsheets.csvfile import format_datetime, write_rows
from spreadsheets.customer_rows import COLUMN_BY_TARGET, CONTACT_COLUMNS, PROFILE_FIELDS
from spreadsheets.models import CustomerImport, ImportRow

# Customers per database round trip: each chunk is one fetch of the cursor plus
# one query per prefetched relation; 2,000 rows keep a chunk at a few MB.
EXPORT_CHUNK = 2000

# --- import results ----------------------------------------------------------------


def import_rows(
    *, customer_import: CustomerImport, outcome: str = "", limit: int = 200
) -> QuerySet[ImportRow]:
    rows = ImportRow.objects.filter(customer_import=customer_import, phase=customer_import.phase)
    if outcome:
        rows = rows.filter(outcome=outcome)
    return rows.order_by("line")[:limit]


def import_error_report_lines(*, customer_import: CustomerImport) -> Iterator[str]:
    """The error report: the original row, its line number, what was wrong.

    The original columns come first, unchanged, so the user fixes the cells
    in place and imports the fixed report itself (the two extra columns are
    ignored by the suggested mapping)."""
    header = customer_import.header

    def rows() -> Iterator[list[str]]:
        yield [*header, "Line", "Errors"]
        errors = ImportRow.objects.filter(
            customer_import=customer_import,
            phase=customer_import.phase,
            outcome=ImportRow.Outcome.ERROR,
        ).order_by("line")
        for row in errors.iterator(chunk_size=EXPORT_CHUNK):
            cells = list(row.cells or [])
            cells += [""] * (len(header) - len(cells))
            yield [*cells, str(row.line), "; ".join(row.messages)]

    return write_rows(rows())


# --- customer export ---------------------------------------------------------------

EXPORT_TARGETS = [
    "id",
    *[t for t in PROFILE_FIELDS],
    *CONTACT_COLUMNS,
    "primary_phone",
    "primary_email",
    "tags",
    "notes",
    "last_activity_at",
]
CUSTOMER_EXPORT_HEADER = [COLUMN_BY_TARGET[t].label for t in EXPORT_TARGETS]


def _contact_column(kind: str, label: str) -> str:
    target = f"{kind}_{label}"
    return target if target in CONTACT_COLUMNS else f"{kind}_other"


def customers_for_export(*, query: str = "", **filters) -> QuerySet[Customer]:
    """The customer list's rows (same selector, same filters, same order)."""
    return crm_selectors.customer_list(query=query, **filters)


@dataclass
class _ExportCustomer:
    values: dict[str, Any]
    contacts: list[tuple] = field(default_factory=list)  # (pk, kind, label, value, ext, primary)
    tags: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)


def _contact_text(kind: str, value: str, extension: str) -> str:
    if kind == ContactPoint.Kind.PHONE and extension:
        return f"{value} ext. {extension}"
    return value


def customer_export_row(customer: _ExportCustomer) -> list[str]:
    cells: dict[str, list[str]] = {target: [] for target in CONTACT_COLUMNS}
    # Primary first, so an import gives a new customer the same primaries.
    contacts = sorted(customer.contacts, key=lambda c: (not c[5], c[0]))
    for _, kind, label, value, extension, _ in contacts:
        cells[_contact_column(kind, label)].append(_contact_text(kind, value, extension))
    values = customer.values
    row = [str(values["pk"])]
    for name in PROFILE_FIELDS:
        value = values[name]
        if value is None:
            row.append("")
        elif name.startswith("quiet"):
            row.append(value.strftime("%H:%M"))
        else:
            row.append(str(value))
    for target, (kind, _) in CONTACT_COLUMNS.items():
        row.append(("\n\n" if kind == "address" else "\n").join(cells[target]))
    for wanted in ("phone", "email"):
        primary = [c for c in contacts if c[1] == wanted and c[5]]
        if primary:
            _, kind, _, value, extension, _ = primary[0]
            row.append(_contact_text(kind, value, extension))
        else:
            row.append("")
    row.append(", ".join(sorted(customer.tags)))
    row.append("\n".join(" ".join(text.split()) for text in customer.facts))
    row.append(format_datetime(values["last_activity_at"]))
    return row


def _export_chunks(customers: QuerySet[Customer]) -> Iterator[list[_ExportCustomer]]:
    """Chunks of EXPORT_CHUNK customers with their contact points, tags and live
    facts: four plain queries a chunk (Django's prefetch_related builds a
    related manager per row, 3x the time of the whole export, measured)."""
    rows = customers.select_related(None).prefetch_related(None)
    rows = rows.values("pk", *PROFILE_FIELDS, "last_activity_at")
    chunk: list[_ExportCustomer] = []
    for values in rows.iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(_ExportCustomer(values))
        if len(chunk) == EXPORT_CHUNK:
            yield _with_related(chunk)
            chunk = []
    if chunk:
        yield _with_related(chunk)


def _with_related(chunk: list[_ExportCustomer]) -> list[_ExportCustomer]:
    by_id = {customer.values["pk"]: customer for customer in chunk}
    ids = list(by_id)
    for contact in ContactPoint.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "pk", "kind", "label", "value", "extension", "is_primary"
    ):
        by_id[contact[0]].contacts.append(contact[1:])
    for customer_id, name in Customer.tags.through.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "tag__name"
    ):
        by_id[customer_id].tags.append(name)
    for customer_id, text in (
        ProfileFact.objects.filter(customer_id__in=ids, deleted_at__isnull=True)
        .order_by("recorded_at", "pk")
        .values_list("customer_id", "text")
    ):
        by_id[customer_id].facts.append(text)
    return chunk


def customer_export_lines(*, customers: QuerySet[Customer]) -> Iterator[str]:
    def rows() -> Iterator[list[str]]:
        yield CUSTOMER_EXPORT_HEADER
        for chunk in _export_chunks(customers):
            for customer in chunk:
                yield customer_export_row(customer)

    return write_rows(rows())


# --- interaction export ------------------------------------------------------------

INTERACTION_EXPORT_HEADER = [
    "Source",
    "External ID",
    "Customer ID",
    "Customer phone",
    "Customer e-mail",
    "Customer name",
    "Channel",
    "Direction",
    "Time",
    "Duration",
    "Outcome",
    "Category",
    "Rep",
    "Notes",
]


def interaction_export_lines(*, interactions: QuerySet) -> Iterator[str]:
    """One line per interaction, in the columns the interaction import reads.

    `interactions` is the caller's filtered queryset (the API's filters); rows
    are read in chunks with a server-side cursor, and each chunk's customers'
    primary phone and e-mail with one plain query."""
    columns = (
        "pk",
        "source",
        "external_id",
        "customer_id",
        "customer__full_name",
        "channel",
        "direction",
        "occurred_at",
        "duration_seconds",
        "outcome",
        "category_id",
        "rep__username",
        "summary",
    )

    def chunks() -> Iterator[list[dict]]:
        chunk: list[dict] = []
        for values in interactions.values(*columns).iterator(chunk_size=EXPORT_CHUNK):
            chunk.append(values)
            if len(chunk) == EXPORT_CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def rows() -> Iterator[list[str]]:
        yield INTERACTION_EXPORT_HEADER
        for chunk in chunks():
            primaries: dict[tuple[int, str], str] = {}
            for customer_id, kind, value in ContactPoint.objects.filter(
                customer_id__in={row["customer_id"] for row in chunk if row["customer_id"]},
                is_primary=True,
                kind__in=["phone", "email"],
            ).values_list("customer_id", "kind", "value"):
                primaries[(customer_id, kind)] = value
            for row in chunk:
                customer_id = row["customer_id"]
                yield [
                    row["source"],
                    row["external_id"] or f"rapport-{row['pk']}",
                    "" if customer_id is None else str(customer_id),
                    primaries.get((customer_id, "phone"), ""),
                    primaries.get((customer_id, "email"), ""),
                    row["customer__full_name"] or "",
                    row["channel"],
                    row["direction"],
                    format_datetime(row["occurred_at"]),
                    str(row["duration_seconds"]),
                    row["outcome"],
                    row["category_id"] or "",
                    row["rep__username"] or "",
                    row["summary"],
                ]

    return write_rows(rows())
