"""The matter engine: which contacts belong to one customer matter.

A new contact in the same category within INTERACTION_MATTER_WINDOW_DAYS joins
the open matter; a different category or a later contact opens a new one.
Repeat contacts on an unresolved matter are what first-contact resolution
counts (reporting). Interactions (services.py), batch sync (sync.py) and e-mail
ingest (email_ingest.py) all assign matters through these functions.
"""

import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone

from core.sql import (
    RecordsetJSONEncoder,
    cast_type,
    insert_rows,
    insert_rows_from_values,
    recordset_select,
    returning_fields,
)
from interactions.events import interaction_events_record
from interactions.models import Feedback, Interaction, InteractionEventKind, Matter

User = get_user_model()


# --- matters ---------------------------------------------------------------------------


def matter_window() -> timedelta:
    return timedelta(days=settings.INTERACTION_MATTER_WINDOW_DAYS)


def _matter_set_resolved(matter: Matter, *, at: datetime) -> None:
    matter.status = Matter.Status.RESOLVED
    matter.resolved_at = at
    matter.save(update_fields=["status", "resolved_at", "updated_at"])


def _matter_assign(interaction: Interaction, *, matter: Matter | None) -> None:
    """The join-window rule.

    An interaction with a customer and a category joins the open matter of the
    same customer and category whose last contact lies within
    INTERACTION_MATTER_WINDOW_DAYS before it, and is flagged a repeat contact;
    otherwise it opens a new matter. Without a category the need is unknown, so
    it never joins by the window (no false repeat contacts); e-mail threading
    passes `matter` explicitly. An outcome of `resolved` resolves the matter.
    Interactions without a customer get no matter.

    Saves the interaction too when it is new: on PostgreSQL a new matter is then
    inserted first with the interaction's id reserved, so the row is written once
    already in its matter (an UPDATE of matter_id rewrites every index entry).
    """
    is_new = interaction._state.adding
    if interaction.customer_id is None and matter is None:
        if is_new:
            interaction.save()
        return
    customer_id = interaction.customer_id or matter.customer_id
    if matter is not None or not contact_opens_own_matter(
        customer_id=customer_id, category_id=interaction.category_id
    ):
        # Two contacts of one customer logged at once must not open two matters
        # (without a category a contact opens its own, and nothing joins it).
        _transaction_lock(f"rapport.matter:{customer_id}")
    if matter is not None:
        matter = Matter.objects.select_for_update().get(pk=matter.pk)
    elif interaction.category_id is not None:
        matter = (
            Matter.objects.select_for_update()
            .filter(
                customer_id=customer_id,
                status=Matter.Status.OPEN,
                category_id=interaction.category_id,
                opened_at__lte=interaction.occurred_at,
                last_contact_at__gte=interaction.occurred_at - matter_window(),
            )
            .order_by("-last_contact_at", "-pk")
            .first()
        )
    if matter is None:
        _matter_open(interaction, customer_id=customer_id)
        return
    interaction.matter = matter
    interaction.is_repeat_contact = True
    if is_new:
        interaction.save()
    else:
        interaction.save(update_fields=["matter", "is_repeat_contact"])
    matter.contact_count += 1
    matter.last_contact_at = max(matter.last_contact_at, interaction.occurred_at)
    changed = ["contact_count", "last_contact_at", "updated_at"]
    if interaction.outcome == Interaction.Outcome.RESOLVED and matter.is_open:
        matter.status = Matter.Status.RESOLVED
        matter.resolved_at = interaction.occurred_at
        changed += ["status", "resolved_at"]
    matter.save(update_fields=changed)


def _matter_open(interaction: Interaction, *, customer_id: int) -> None:
    """A new matter whose first contact is `interaction` (saved or not)."""
    matter = Matter(
        customer_id=customer_id,
        category_id=interaction.category_id,
        subject=(interaction.subject or "")[:255],
        opened_at=interaction.occurred_at,
        last_contact_at=interaction.occurred_at,
        contact_count=1,
    )
    if interaction.outcome == Interaction.Outcome.RESOLVED:
        matter.status = Matter.Status.RESOLVED
        matter.resolved_at = interaction.occurred_at
    interaction.is_repeat_contact = False
    # Built from a validated interaction; the database enforces the matter's
    # constraints (full_clean would add a query and a savepoint for each).
    if interaction._state.adding:
        _interaction_insert_opening_matter(interaction, matter)
        return
    matter.first_interaction = interaction
    matter.save()
    interaction.matter = matter
    interaction.save(update_fields=["matter", "is_repeat_contact"])


@functools.cache
def _opening_matter_statement(
    matter_fields: tuple[models.Field, ...],
    interaction_fields: tuple[models.Field, ...],
    matter_returning_fields: tuple[models.Field, ...],
    interaction_returning_fields: tuple[models.Field, ...],
) -> str:
    """SQL text (built from _meta once per process and column set) that inserts a
    matter and its first contact; returns the columns Django reads back after an
    insert, the contact's first, then the matter's."""
    quote = connection.ops.quote_name
    interaction_table = Interaction._meta.db_table
    matter_returning = ", ".join(quote(f.column) for f in matter_returning_fields)
    interaction_returning = ", ".join(quote(f.column) for f in interaction_returning_fields)
    # Only names and types from _meta are interpolated; values are parameters.
    return (
        f"WITH m AS (INSERT INTO {quote(Matter._meta.db_table)} "  # noqa: S608
        f"({quote('first_interaction_id')}{''.join(', ' + quote(f.column) for f in matter_fields)}) "
        f"VALUES (nextval(pg_get_serial_sequence('{interaction_table}', 'id'))"
        f"{''.join(', %s' for _ in matter_fields)}) "
        f"RETURNING {matter_returning}, {quote('first_interaction_id')}), "
        f"i AS (INSERT INTO {quote(interaction_table)} ({quote('id')}, {quote('matter_id')}"
        f"{''.join(', ' + quote(f.column) for f in interaction_fields)}) "
        f"SELECT m.{quote('first_interaction_id')}, m.{quote('id')}"
        f"{''.join(f', %s::{cast_type(f, connection)}' for f in interaction_fields)} FROM m "
        f"RETURNING {interaction_returning}) "
        f"SELECT i.*, m.* FROM i CROSS JOIN m"  # m's last column is first_interaction_id
    )


def _interaction_insert_opening_matter(interaction: Interaction, matter: Matter) -> None:
    """Insert a new interaction and the matter it opens in one statement.

    The matter reserves the interaction's id from its sequence, so the row is
    written once, already in its matter. Every new contact that opens a matter
    comes here (all those without a category): one round trip instead of two, and an INSERT
    whose text is built once instead of compiled by the ORM each time (the
    largest cost left in the single-create benchmark). Columns and values are
    those of Django's own insert (core.sql): no generated columns, db_default
    left to the database, `pre_save` and `get_db_prep_save`; what Django reads
    back after an insert is set on both instances.
    """
    matter_rows = insert_rows(
        Matter, [matter], connection=connection, exclude=["first_interaction"]
    )
    interaction_rows = insert_rows(
        Interaction, [interaction], connection=connection, exclude=["matter"]
    )
    matter_returning, interaction_returning = (
        returning_fields(Matter),
        returning_fields(Interaction),
    )
    sql = _opening_matter_statement(
        matter_rows.fields, interaction_rows.fields, matter_returning, interaction_returning
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*matter_rows.rows[0], *interaction_rows.rows[0]])
        row = cursor.fetchone()
    returned = zip(
        (*interaction_returning, *matter_returning),
        (interaction,) * len(interaction_returning) + (matter,) * len(matter_returning),
        row,
        strict=False,  # the row ends with first_interaction_id, set below
    )
    for field, instance, value in returned:
        setattr(instance, field.attname, value)
    matter.first_interaction_id = interaction.pk
    for instance in (matter, interaction):
        instance._state.adding, instance._state.db = False, connection.alias
    interaction.matter = matter


def _matter_recount(matter_id: int) -> None:
    """Re-derive a matter's counters and repeat flags from its interactions; drop it when empty."""
    matter = Matter.objects.select_for_update().filter(pk=matter_id).first()
    if matter is None:
        return
    members = list(matter.interactions.order_by("occurred_at", "pk"))
    if not members:
        matter.delete()
        return
    first = members[0]
    Interaction.objects.filter(pk=first.pk).update(is_repeat_contact=False)
    Interaction.objects.filter(matter=matter).exclude(pk=first.pk).update(is_repeat_contact=True)
    matter.first_interaction = first
    matter.opened_at = first.occurred_at
    matter.last_contact_at = members[-1].occurred_at
    matter.contact_count = len(members)
    matter.save(
        update_fields=[
            "first_interaction",
            "opened_at",
            "last_contact_at",
            "contact_count",
            "updated_at",
        ]
    )


@dataclass(eq=False)
class _PendingContact:
    """An interaction waiting for its matter, as plain values (no model instances)."""

    pk: int
    customer_id: int
    category_id: str | None
    occurred_at: datetime
    outcome: str
    subject: str
    matter_key: "_MatterState | None" = None
    is_repeat_contact: bool = False


@dataclass(eq=False)
class _MatterState:
    """A matter as the join-window rule sees it while a batch is assigned."""

    pk: int | None
    customer_id: int
    category_id: str | None
    opened_at: datetime
    last_contact_at: datetime
    contact_count: int
    status: str
    resolved_at: datetime | None
    subject: str = ""
    first_interaction_id: int | None = None
    is_new: bool = False
    changed: bool = False


def _matters_assign_plan(
    pending: list[_PendingContact], open_matters: list[_MatterState]
) -> tuple[list[_MatterState], list[_MatterState]]:
    """The join-window rule over contacts sorted oldest first, in memory; returns
    the new matters and the existing ones that changed. Each contact's
    `matter_key` and `is_repeat_contact` are set."""
    window = matter_window()
    # The newest open matter per (customer, category): the only one a new contact can join.
    latest = {(m.customer_id, m.category_id): m for m in open_matters}
    created: list[_MatterState] = []
    for contact in pending:
        key = (contact.customer_id, contact.category_id)
        opens_own = contact_opens_own_matter(
            customer_id=contact.customer_id, category_id=contact.category_id
        )
        matter = None if opens_own else latest.get(key)
        if (
            matter is not None
            and matter.status == Matter.Status.OPEN
            and matter.opened_at <= contact.occurred_at
            and matter.last_contact_at >= contact.occurred_at - window
        ):
            contact.is_repeat_contact = True
            matter.contact_count += 1
            matter.last_contact_at = max(matter.last_contact_at, contact.occurred_at)
            matter.changed = True
        else:
            matter = _MatterState(
                pk=None,
                customer_id=contact.customer_id,
                category_id=contact.category_id,
                opened_at=contact.occurred_at,
                last_contact_at=contact.occurred_at,
                contact_count=1,
                status=Matter.Status.OPEN,
                resolved_at=None,
                subject=(contact.subject or "")[:255],
                first_interaction_id=contact.pk,
                is_new=True,
            )
            created.append(matter)
            contact.is_repeat_contact = False
            if not opens_own:
                latest[key] = matter
        if contact.outcome == Interaction.Outcome.RESOLVED and matter.status == Matter.Status.OPEN:
            matter.status = Matter.Status.RESOLVED
            matter.resolved_at = contact.occurred_at
            matter.changed = True
        contact.matter_key = matter
    return created, [m for m in open_matters if m.changed]


def _rows_json(rows: list, names: str) -> str:
    """The attributes named (space-separated) of each row, as one JSON array of objects
    for jsonb_to_recordset(): one parameter however many rows. (As unnest() arrays,
    psycopg quoted every element in Python: 5 ms for 1,000 timestamps, more than the
    statement they fed took in the database.)"""
    keys = names.split()
    return json.dumps(
        [{key: getattr(row, key) for key in keys} for row in rows], cls=RecordsetJSONEncoder
    )


def contact_opens_own_matter(*, customer_id: int | None, category_id: str | None) -> bool:
    """The join-window rule's sure case: a contact with a customer and no category
    opens a matter of its own that nothing joins (the need is unknown)."""
    return customer_id is not None and category_id is None


def _matters_insert(cursor: Any, matters: list[_MatterState]) -> None:
    """One INSERT for new matters, all with their pk reserved (matter_ids_reserve)
    or all without (the sequence gives them one), as Django's insert writes them
    (core.sql). Sets each pk."""
    if not matters:
        return
    fields = [
        "pk", "customer_id", "category_id", "subject", "status", "first_interaction_id",
        "opened_at", "last_contact_at", "contact_count", "resolved_at",
    ]  # fmt: skip
    insert = insert_rows_from_values(
        Matter,
        [{name: getattr(m, name) for name in fields} for m in matters],
        connection=connection,
    )
    select = recordset_select(insert, connection=connection)
    quote = connection.ops.quote_name
    # Only names and types from _meta are interpolated; values are parameters.
    cursor.execute(
        f"INSERT INTO {quote(Matter._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(column) for column in insert.columns)}) "
        f"SELECT {', '.join(select.expressions)} FROM {select.source} "
        f"RETURNING {quote('id')}, {quote('first_interaction_id')}",
        select.params,
    )
    new_ids = {first_id: pk for pk, first_id in cursor.fetchall()}
    for matter in matters:
        matter.pk = new_ids[matter.first_interaction_id]


def matter_ids_reserve(*, count: int) -> list[int]:
    """Ids for matters about to be opened (PostgreSQL), so their first contacts can be
    inserted already pointing at them; an id left unused is a harmless gap."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Matter._meta.db_table, count],
        )
        return [pk for (pk,) in cursor.fetchall()]


@dataclass(frozen=True)
class ReservedMatter:
    matter_id: int
    interaction_id: int
    customer_id: int
    occurred_at: datetime
    outcome: str


def matters_open_reserved(*, matters: list[ReservedMatter]) -> None:
    """Open the matters of new contacts inserted with a reserved matter id (each the
    only contact of its own matter, see contact_opens_own_matter): one statement."""
    states = [
        _MatterState(
            pk=m.matter_id,
            customer_id=m.customer_id,
            category_id=None,
            opened_at=m.occurred_at,
            last_contact_at=m.occurred_at,
            contact_count=1,
            status=Matter.Status.RESOLVED
            if m.outcome == Interaction.Outcome.RESOLVED
            else Matter.Status.OPEN,
            resolved_at=m.occurred_at if m.outcome == Interaction.Outcome.RESOLVED else None,
            first_interaction_id=m.interaction_id,
            is_new=True,
        )
        for m in matters
    ]
    with connection.cursor() as cursor:
        _matters_insert(cursor, states)


def _matters_assign_write(
    pending: list[_PendingContact],
    created: list[_MatterState],
    changed: list[_MatterState],
    now: datetime,
) -> None:
    """Three statements whatever the batch size: insert the new matters, point the
    contacts at them (a new matter is found by its first interaction), update the
    matters that gained contacts."""
    matter_table = Matter._meta.db_table
    interaction_table = Interaction._meta.db_table
    with connection.cursor() as cursor:
        _matters_insert(cursor, created)
        cursor.execute(
            f"UPDATE {interaction_table} AS i SET matter_id = u.matter_id, "  # noqa: S608
            "is_repeat_contact = u.is_repeat FROM unnest(%s::bigint[], %s::bigint[], %s::bool[]) "
            "AS u(id, matter_id, is_repeat) WHERE i.id = u.id",
            [
                [c.pk for c in pending],
                [c.matter_key.pk for c in pending],
                [c.is_repeat_contact for c in pending],
            ],
        )  # ints and booleans: quick to quote, unlike timestamps and text
        if changed:
            cursor.execute(
                f"UPDATE {matter_table} AS m SET contact_count = u.contact_count, "  # noqa: S608
                "last_contact_at = u.last_contact_at, status = u.status, "
                "resolved_at = u.resolved_at, updated_at = %s "
                "FROM jsonb_to_recordset(%s::jsonb) AS u(pk bigint, contact_count int, "
                "last_contact_at timestamptz, status varchar, resolved_at timestamptz) "
                "WHERE m.id = u.pk",
                [now, _rows_json(changed, "pk contact_count last_contact_at status resolved_at")],
            )


def _matter_reassign(interaction: Interaction) -> None:
    """A contact re-categorised is about another need: it leaves its matter (which is
    recounted, or dropped when empty) and joins by the window rule as if logged
    with the new category."""
    _transaction_lock(f"rapport.matter:{interaction.customer_id}")
    old_matter_id = interaction.matter_id
    interaction.matter = None
    interaction.is_repeat_contact = False
    _matter_assign(interaction, matter=None)
    Feedback.objects.filter(interaction=interaction).update(matter=interaction.matter)
    if old_matter_id is not None:
        _matter_recount(old_matter_id)


@transaction.atomic
def interaction_matters_assign(*, interaction_ids: Iterable[int]) -> int:
    """Apply the join-window rule to interactions written in bulk (demo seed, batch
    sync), set-based: the rule runs oldest first in memory, so repeat contacts come
    out as if logged one by one, and the writes are a fixed number of statements
    whatever the batch size. Interactions already in a matter, or without a
    customer, are left alone. Returns how many were assigned."""
    ids = list(interaction_ids)
    if not ids:
        return 0
    pending = [
        _PendingContact(*row)
        for row in Interaction.objects.filter(
            pk__in=ids, matter__isnull=True, customer__isnull=False
        )
        .order_by("occurred_at", "pk")
        .values_list("pk", "customer_id", "category_id", "occurred_at", "outcome", "subject")
    ]
    if not pending:
        return 0
    categorised_customers = sorted({c.customer_id for c in pending if c.category_id is not None})
    # Locks and open matters matter only where a contact can join one: with a category.
    _transaction_locks(f"rapport.matter:{customer_id}" for customer_id in categorised_customers)
    open_matters = (
        [
            _MatterState(*row)
            for row in Matter.objects.select_for_update()
            .filter(
                customer_id__in=categorised_customers,
                status=Matter.Status.OPEN,
                category__isnull=False,
            )
            .order_by("last_contact_at", "pk")
            .values_list(
                "pk",
                "customer_id",
                "category_id",
                "opened_at",
                "last_contact_at",
                "contact_count",
                "status",
                "resolved_at",
            )
        ]
        if categorised_customers
        else []
    )
    created, changed = _matters_assign_plan(pending, open_matters)
    _matters_assign_write(pending, created, changed, timezone.now())
    return len(pending)


@transaction.atomic
def interaction_matter_link(*, interaction: Interaction, matter: Matter) -> Interaction:
    """A rep says: this interaction is about that matter (same customer only)."""
    if interaction.customer_id != matter.customer_id:
        raise ValidationError({"matter": ["That matter belongs to another customer."]})
    _transaction_lock(f"rapport.matter:{matter.customer_id}")
    old_matter_id = interaction.matter_id
    if old_matter_id == matter.pk:
        return interaction
    interaction.matter = matter
    interaction.save(update_fields=["matter", "updated_at"])
    for matter_id in sorted({old_matter_id, matter.pk} - {None}):
        _matter_recount(matter_id)
    interaction_events_record(events={InteractionEventKind.UPDATED: [interaction.pk]})
    interaction.refresh_from_db()
    return interaction


@transaction.atomic
def interaction_matter_unlink(*, interaction: Interaction) -> Interaction:
    """A rep says: this is a different need. It leaves its matter and opens its own."""
    if interaction.matter_id is None or interaction.customer_id is None:
        return interaction
    _transaction_lock(f"rapport.matter:{interaction.customer_id}")
    old_matter_id = interaction.matter_id
    matter = Matter(
        customer_id=interaction.customer_id,
        category_id=interaction.category_id,
        subject=(interaction.subject or "")[:255],
        opened_at=interaction.occurred_at,
        last_contact_at=interaction.occurred_at,
        contact_count=1,
        first_interaction=interaction,
    )
    if interaction.outcome == Interaction.Outcome.RESOLVED:
        matter.status = Matter.Status.RESOLVED
        matter.resolved_at = interaction.occurred_at
    matter.save()
    interaction.matter = matter
    interaction.is_repeat_contact = False
    interaction.save(update_fields=["matter", "is_repeat_contact", "updated_at"])
    _matter_recount(old_matter_id)
    interaction_events_record(events={InteractionEventKind.UPDATED: [interaction.pk]})
    return interaction


@transaction.atomic
def matter_resolve(*, matter: Matter, at: datetime | None = None) -> Matter:
    matter = Matter.objects.select_for_update().get(pk=matter.pk)
    if matter.is_open:
        _matter_set_resolved(matter, at=at or timezone.now())
    return matter


@transaction.atomic
def matter_reopen(*, matter: Matter) -> Matter:
    matter = Matter.objects.select_for_update().get(pk=matter.pk)
    if not matter.is_open:
        matter.status = Matter.Status.OPEN
        matter.resolved_at = None
        matter.save(update_fields=["status", "resolved_at", "updated_at"])
    return matter


# Fields matter_update may change; its contacts, counters and times follow its interactions.
MATTER_EDITABLE_FIELDS = ("subject", "status")


@transaction.atomic
def matter_update(*, matter: Matter, changes: dict[str, Any], at: datetime | None = None) -> Matter:
    """Retitle a matter, resolve it (at `at`, default now) or reopen it."""
    unknown = set(changes) - set(MATTER_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    status = changes.get("status")
    if status is not None and status not in Matter.Status.values:
        raise ValidationError({"status": [f"Choose one of {', '.join(Matter.Status.values)}."]})
    matter = Matter.objects.select_for_update().get(pk=matter.pk)
    if "subject" in changes:
        matter.subject = " ".join(str(changes["subject"] or "").split())
        matter.full_clean(exclude=["customer", "category", "first_interaction"])
        matter.save(update_fields=["subject", "updated_at"])
    if status == Matter.Status.RESOLVED:
        matter = matter_resolve(matter=matter, at=at)
    elif status == Matter.Status.OPEN:
        matter = matter_reopen(matter=matter)
    return matter


def _lock_id(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


def _transaction_lock(key: str) -> None:
    """Serialise writers of one key until commit."""
    _transaction_locks([key])


def _transaction_locks(keys: Iterable[str]) -> None:
    """Take several keys' locks in one round trip, in ascending lock-id order so
    two callers holding overlapping sets can never deadlock."""
    lock_ids = sorted({_lock_id(key) for key in keys})
    if not lock_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(lock_id)) FROM "
            "(SELECT unnest(%s::bigint[]) AS lock_id ORDER BY 1) AS ordered",
            [lock_ids],
        )
