"""Reads of the spreadsheets app: import results, the error report, the exports.

The exports stream: rows are read with a server-side cursor in chunks
(`.iterator(chunk_size=EXPORT_CHUNK)`, contact points and the rest prefetched
per chunk) and written line by line, so memory stays bounded whatever the
number of customers.
"""

from collections.abc import Iterator

from django.db.models import Prefetch, QuerySet

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


def _contact_text(contact: ContactPoint) -> str:
    if contact.kind == ContactPoint.Kind.PHONE and contact.extension:
        return f"{contact.value} ext. {contact.extension}"
    return contact.value


def customers_for_export(*, query: str = "", **filters) -> QuerySet[Customer]:
    """The customer list's rows (same selector, same filters), with what a row needs."""
    customers = crm_selectors.customer_list(query=query, **filters)
    return customers.prefetch_related(
        Prefetch(
            "facts",
            queryset=ProfileFact.objects.filter(deleted_at__isnull=True).order_by(
                "recorded_at", "pk"
            ),
            to_attr="live_facts",
        )
    )


def customer_export_row(customer: Customer) -> list[str]:
    cells: dict[str, list[str]] = {target: [] for target in CONTACT_COLUMNS}
    # Primary first, so an import gives a new customer the same primaries.
    contacts = sorted(customer.contact_points.all(), key=lambda c: (not c.is_primary, c.pk))
    for contact in contacts:
        cells[_contact_column(contact.kind, contact.label)].append(_contact_text(contact))
    row = [str(customer.pk)]
    for name in PROFILE_FIELDS:
        value = getattr(customer, name)
        row.append(
            ""
            if value is None
            else value.strftime("%H:%M")
            if name.startswith("quiet")
            else str(value)
        )
    for target, (kind, _) in CONTACT_COLUMNS.items():
        row.append(("\n\n" if kind == "address" else "\n").join(cells[target]))
    for kind in ("phone", "email"):
        primary = [c for c in contacts if c.kind == kind and c.is_primary]
        row.append(_contact_text(primary[0]) if primary else "")
    row.append(", ".join(sorted(tag.name for tag in customer.tags.all())))
    row.append("\n".join(" ".join(fact.text.split()) for fact in customer.live_facts))
    row.append(format_datetime(customer.last_activity_at))
    return row


def customer_export_lines(*, customers: QuerySet[Customer]) -> Iterator[str]:
    def rows() -> Iterator[list[str]]:
        yield CUSTOMER_EXPORT_HEADER
        for customer in customers.iterator(chunk_size=EXPORT_CHUNK):
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

    `interactions` is the caller's filtered queryset (the API's filters)."""
    primary_phone = Prefetch(
        "customer__contact_points",
        queryset=ContactPoint.objects.filter(is_primary=True, kind__in=["phone", "email"]),
        to_attr="primaries",
    )

    def rows() -> Iterator[list[str]]:
        yield INTERACTION_EXPORT_HEADER
        queryset = interactions.select_related("customer", "rep").prefetch_related(primary_phone)
        for interaction in queryset.iterator(chunk_size=EXPORT_CHUNK):
            customer = interaction.customer
            primaries = {c.kind: c.value for c in getattr(customer, "primaries", [])}
            rep = interaction.rep
            yield [
                interaction.source,
                interaction.external_id or f"rapport-{interaction.pk}",
                "" if customer is None else str(customer.pk),
                primaries.get("phone", ""),
                primaries.get("email", ""),
                "" if customer is None else customer.full_name,
                interaction.channel,
                interaction.direction,
                format_datetime(interaction.occurred_at),
                str(interaction.duration_seconds),
                interaction.outcome,
                interaction.category_id or "",
                "" if rep is None else rep.get_username(),
                interaction.summary,
            ]

    return write_rows(rows())
