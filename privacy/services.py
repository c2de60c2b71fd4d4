"""Data subject requests: export everything held about a customer, or erase them.

Lives in followups, the top app, because it must reach every app's data
(crm -> interactions -> followups). Both use cases are admin-only and audited.

What "about the customer" means is discovered, not listed: starting from the
customer row (and any duplicates merged into it), every row of a project model
that points at one of the rows found so far by a foreign key is theirs too
(contact points, facts and their revisions, interactions, Twilio calls,
follow-ups, their events and notifications, feedback...). A model added later
is covered without touching this file. Audit entries about the customer are
joined by their plain `customer_id`.

Erasure anonymises in place rather than deleting, so every count and metric
(interactions per channel, promises kept, CSAT) stays what it was:
- free text (CharField/TextField without choices) becomes "" or "[erased]";
  categorical fields (with choices), timestamps, numbers and booleans stay;
- identifiers other systems replay by (`source`, `external_id`, call SIDs)
  stay, or a replayed call would be counted twice;
- dates and times of day (a birthday, quiet hours) become null;
- JSON is wiped where it is a copy of a foreign payload (WIPE_JSON) and
  otherwise scrubbed of every personal value found in the text fields;
- contact points are deleted (a phone must stay valid E.164, and without
  contact points a future call cannot be matched to the erased person).
"""

import datetime
import decimal
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import Action, audit_entries_about_customer, audit_record, audit_redact_customer
from core.models import AuditEntry
from crm.access import require_admin
from crm.models import ContactPoint, Customer, search_text
from interactions.models import Interaction

EXPORT_FORMAT = "rapport.customer-export/1"
ERASED_TEXT = "[erased]"
# How far the walk follows foreign keys from the customer: customer ->
# follow-up -> event -> notification is the deepest chain today.
MAX_DEPTH = 4
# Values shorter than this are not scrubbed out of JSON: "Al" would blank half
# of every payload and identifies nobody.
MIN_SCRUB_LENGTH = 3

# Never walked into: the customer itself (the root), the audit trail (joined
# by customer_id, append-only), and staff / configuration tables.
NOT_CUSTOMER_DATA = {"crm.customer", "core.auditentry", "crm.team", "crm.teammembership", "crm.tag"}
# Text fields kept on erasure because other systems identify records by them.
KEEP_FIELDS = {
    "interactions.interaction": {"source", "external_id"},
    "interactions.twiliocall": {"call_sid", "status"},
}
# (time_zone: a validated setting other code parses; the customer's own is reset explicitly.)
KEEP_FIELD_NAMES = {
    "source",
    "external_id",
    "message_id",
    "call_sid",
    # A pending webhook delivery keeps its webhook-id: receivers keep each event once by it.
    "webhook_id",
    "delivery_status",
    "disposition",
    "kind",
    "state",
    "code",
    "time_zone",
    # Categories are what complaint trends count by; not about the person.
    "category",
}
# JSON copies of a foreign payload: wiped whole on erasure (they hold the
# caller's number and name under keys we do not control).
WIPE_JSON = {
    "interactions.twiliocall": {"last_params"},
    # File names and the thread's Message-IDs carry names and the sender's domain.
    "interactions.interaction": {"attachments", "email_references"},
}
# Rows deleted on erasure instead of anonymised.
DELETE_ON_ERASE = {"crm.contactpoint"}
# Never exported: secrets and their digests are not data about the customer.
SECRET_FIELD_MARKERS = ("secret", "token", "digest", "password")

# What the export calls the well-known tables; everything else goes under "other_records".
EXPORT_SECTIONS = {
    "crm.contactpoint": "contact_points",
    "crm.consentrecord": "consent_records",
    "crm.profilefact": "facts",
    "crm.profilefactrevision": "fact_revisions",
    "crm.customermerge": "merges",
    "interactions.interaction": "interactions",
    "followups.followup": "followups",
    "followups.followupevent": "followup_events",
}

CUSTOMER_KEEP = {"owner", "merged_into", "last_activity_at", "created_at", "updated_at"}


@dataclass
class CustomerData:
    """Every row held about a customer, grouped by model label ("app.model")."""

    customers: list[Customer]
    rows: dict[str, list[models.Model]] = field(default_factory=dict)

    def count_by_label(self) -> dict[str, int]:
        counts = {"crm.customer": len(self.customers)}
        counts.update({label: len(rows) for label, rows in self.rows.items() if rows})
        return counts


# The apps whose tables may hold data about a customer: every floor below privacy.
# Walked through Django's registry so a table an app adds later is exported and
# erased too; tests/security/test_dsr.py fails if a new relation is not reached.
CUSTOMER_DATA_APPS = ("core", "crm", "interactions", "followups", "reporting", "spreadsheets")


def _project_models() -> list[type[models.Model]]:
    return [
        model for label in CUSTOMER_DATA_APPS for model in apps.get_app_config(label).get_models()
    ]


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def _customer_family(customer: Customer) -> list[Customer]:
    """The customer and every duplicate merged into it, at any depth."""
    family = [customer]
    frontier = [customer.pk]
    while frontier:
        merged = list(Customer.objects.filter(merged_into__in=frontier).order_by("pk"))
        family.extend(merged)
        frontier = [row.pk for row in merged]
    return family


def _unmatched_interactions(family: list[Customer], *, lock: bool) -> list[Interaction]:
    """Calls and e-mails no customer was matched to, from or to this customer's numbers or addresses.

    They are about the person even though no foreign key says so (a caller
    not yet known when the phone system synced the call).
    """
    points = ContactPoint.objects.filter(customer__in=family)
    phones = [p.value for p in points if p.kind == ContactPoint.Kind.PHONE]
    emails = [p.value for p in points if p.kind == ContactPoint.Kind.EMAIL]
    match = Q(from_number__in=phones) | Q(to_number__in=phones) if phones else Q(pk__in=[])
    for email in emails:
        match |= Q(email_from__icontains=email) | Q(email_to__icontains=email)
        match |= Q(email_cc__icontains=email)
    queryset = Interaction.objects.filter(match, customer__isnull=True).order_by("pk")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    return list(queryset)


def _collect(customer: Customer, *, lock: bool = False) -> CustomerData:
    family = _customer_family(customer)
    data = CustomerData(customers=family)
    project = {_label(model) for model in _project_models()}
    seen: dict[str, set[int]] = {}
    frontier: list[tuple[type[models.Model], list[int]]] = [(Customer, [c.pk for c in family])]
    unmatched = _unmatched_interactions(family, lock=lock)
    if unmatched:
        seen["interactions.interaction"] = {row.pk for row in unmatched}
        data.rows["interactions.interaction"] = list(unmatched)
        frontier.append((Interaction, [row.pk for row in unmatched]))
    for _depth in range(MAX_DEPTH):
        next_frontier: list[tuple[type[models.Model], list[int]]] = []
        for model, pks in frontier:
            for relation in model._meta.related_objects:
                related = relation.related_model
                label = _label(related)
                if (
                    label not in project
                    or label in NOT_CUSTOMER_DATA
                    or relation.many_to_many
                    or not relation.field.concrete
                ):
                    continue
                queryset = related._default_manager.filter(
                    **{f"{relation.field.name}__in": pks}
                ).order_by("pk")
                if lock:
                    queryset = queryset.select_for_update(of=("self",))
                known = seen.setdefault(label, set())
                fresh = [row for row in queryset if row.pk not in known]
                if not fresh:
                    continue
                known.update(row.pk for row in fresh)
                data.rows.setdefault(label, []).extend(fresh)
                next_frontier.append((related, [row.pk for row in fresh]))
        frontier = next_frontier
        if not frontier:
            break
    return data


# --- Export -------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return None
    return value


def _row_dict(row: models.Model) -> dict[str, Any]:
    result = {}
    for model_field in row._meta.concrete_fields:
        name = model_field.attname
        if any(marker in name for marker in SECRET_FIELD_MARKERS):
            continue
        result[name] = _json_value(getattr(row, name))
    return result


def _audit_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "occurred_at": entry.occurred_at.isoformat(),
        "actor": entry.actor_label,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "details": entry.details,
    }


@transaction.atomic
def customer_export(*, customer: Customer, actor: AbstractBaseUser) -> dict[str, Any]:
    """Everything held about the customer as one JSON-ready document. Admins only; audited."""
    require_admin(actor)
    data = _collect(customer)
    family_ids = [c.pk for c in data.customers]
    profile = _row_dict(customer)
    profile["tags"] = sorted(customer.tags.values_list("name", flat=True))
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now().isoformat(),
        "exported_by": actor.get_username(),
        "customer_id": customer.pk,
        "profile": profile,
        "merged_customers": [_row_dict(c) for c in data.customers[1:]],
    }
    for section in EXPORT_SECTIONS.values():
        document[section] = []
    document["feedback"] = []
    document["other_records"] = {}
    for label, rows in data.rows.items():
        serialised = [_row_dict(row) for row in rows]
        if label in EXPORT_SECTIONS:
            document[EXPORT_SECTIONS[label]] = serialised
        elif "feedback" in label:
            document["feedback"].extend(serialised)
        else:
            document["other_records"][label] = serialised
    entries: list[AuditEntry] = []
    for customer_id in family_ids:
        entries.extend(audit_entries_about_customer(customer_id=customer_id))
    document["audit_entries"] = [_audit_dict(entry) for entry in entries]
    export_entry = audit_record(
        actor=actor,
        action=Action.CUSTOMER_EXPORTED,
        target_type="customer",
        target_id=customer.pk,
        customer_id=customer.pk,
        details={"records": data.count_by_label()},
    )
    document["audit_entries"].append(_audit_dict(export_entry))
    return document


# --- Erasure ------------------------------------------------------------------


def _is_text(model_field: models.Field) -> bool:
    return isinstance(model_field, models.CharField | models.TextField)


def _kept(label: str, model_field: models.Field) -> bool:
    return (
        model_field.primary_key
        or model_field.is_relation
        or bool(model_field.choices)
        or model_field.name in KEEP_FIELD_NAMES
        or model_field.name in KEEP_FIELDS.get(label, set())
    )


def _erased_text(model_field: models.Field, row: models.Model) -> str:
    if model_field.unique:
        value = f"erased-{row.pk}"
    elif model_field.blank:
        value = ""
    else:
        value = ERASED_TEXT
    max_length = getattr(model_field, "max_length", None)
    return value[:max_length] if max_length else value


def _scrub(value: Any, needles: list[str]) -> Any:
    """Blank strings in JSON that hold a personal value or are free text.

    Our own JSON (event details, merge records) holds ids, codes and
    timestamps, none with a space; a string with whitespace is prose someone
    typed ("moved because her daughter is ill") and may be personal even when
    it matches no stored value, so it goes too.
    """
    if isinstance(value, str):
        folded = value.casefold()
        if any(needle in folded for needle in needles) or any(c.isspace() for c in value):
            return ERASED_TEXT
        return value
    if isinstance(value, list):
        return [_scrub(item, needles) for item in value]
    if isinstance(value, dict):
        return {key: _scrub(item, needles) for key, item in value.items()}
    return value


def _personal_values(data: CustomerData) -> set[str]:
    values: set[str] = set()
    for label, rows in [("crm.customer", data.customers), *data.rows.items()]:
        for row in rows:
            for model_field in row._meta.concrete_fields:
                if _is_text(model_field) and not _kept(label, model_field):
                    value = getattr(row, model_field.attname)
                    if value and len(value.strip()) >= MIN_SCRUB_LENGTH:
                        values.add(value.strip())
    return values


def _anonymise_rows(label: str, rows: list[models.Model], needles: list[str]) -> None:
    model = type(rows[0])
    wipe = WIPE_JSON.get(label, set())
    for row in rows:
        changes: dict[str, Any] = {}
        for model_field in model._meta.concrete_fields:
            if _kept(label, model_field):
                continue
            current = getattr(row, model_field.attname)
            if _is_text(model_field):
                new: Any = _erased_text(model_field, row)
            elif isinstance(model_field, models.JSONField):
                if model_field.name in wipe:
                    new = model_field.get_default()
                else:
                    new = _scrub(current, needles)
            elif isinstance(model_field, models.GenericIPAddressField) and model_field.null:
                new = None
            elif (
                isinstance(model_field, models.DateField | models.TimeField)
                and not isinstance(model_field, models.DateTimeField)
                and model_field.null
            ):
                new = None
            else:
                continue
            if new != current:
                changes[model_field.attname] = new
        if changes:
            # update(), not save(): no auto_now bump and no save() side effects,
            # so "changed since" feeds and metrics see the same timestamps.
            model._default_manager.filter(pk=row.pk).update(**changes)


def _erase_customer_row(customer: Customer, needles: list[str]) -> None:
    changes: dict[str, Any] = {}
    for model_field in Customer._meta.concrete_fields:
        if model_field.name in CUSTOMER_KEEP or _kept("crm.customer", model_field):
            continue
        if _is_text(model_field):
            changes[model_field.attname] = _erased_text(model_field, customer)
        elif isinstance(model_field, models.JSONField):
            changes[model_field.attname] = _scrub(getattr(customer, model_field.attname), needles)
        elif (
            isinstance(model_field, models.DateField | models.TimeField)
            and not isinstance(model_field, models.DateTimeField)
            and model_field.null
        ):
            changes[model_field.attname] = None
    # Explicit: the name stays readable in lists, and these have validators or choices.
    full_name = f"Erased customer {customer.pk}"
    changes.update(
        full_name=full_name,
        search_name=search_text(full_name),
        time_zone="UTC",
        preferred_channel="",
    )
    Customer.objects.filter(pk=customer.pk).update(**changes)
    customer.tags.clear()


def _erase_admin_log(data: CustomerData, needles: list[str]) -> None:
    """The admin's history names objects by str(obj) - the customer's name, a fact's text."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    groups = [(Customer, [c.pk for c in data.customers])]
    groups += [(type(rows[0]), [row.pk for row in rows]) for rows in data.rows.values()]
    for model, pks in groups:
        content_type = ContentType.objects.get_for_model(model)
        entries = LogEntry.objects.filter(
            content_type=content_type, object_id__in=[str(pk) for pk in pks]
        )
        for entry in entries.only("pk", "change_message"):
            LogEntry.objects.filter(pk=entry.pk).update(
                object_repr=ERASED_TEXT, change_message=_scrub(entry.change_message, needles)
            )


@transaction.atomic
def customer_erase(*, customer: Customer, actor: AbstractBaseUser) -> dict[str, int]:
    """Anonymise every personal field and free text about the customer, in every app.

    Counts stay (rows are kept, only contact points go); returns how many rows
    of each table were touched. Admins only; audited. Erasing twice is harmless.
    """
    require_admin(actor)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    data = _collect(customer, lock=True)
    needles = sorted({value.casefold() for value in _personal_values(data)}, key=len, reverse=True)
    for label, rows in data.rows.items():
        if label in DELETE_ON_ERASE:
            type(rows[0])._default_manager.filter(pk__in=[row.pk for row in rows]).delete()
        else:
            _anonymise_rows(label, rows, needles)
    for member in data.customers:
        _erase_customer_row(member, needles)
    _erase_admin_log(data, needles)
    redacted = 0
    for member in data.customers:
        redacted += audit_redact_customer(customer_id=member.pk, personal_values=needles)
    counts = data.count_by_label()
    audit_record(
        actor=actor,
        action=Action.CUSTOMER_ERASED,
        target_type="customer",
        target_id=customer.pk,
        customer_id=customer.pk,
        details={"records": counts, "audit_entries_redacted": redacted},
    )
    return counts


def customer_erasure_preview(*, customer: Customer) -> dict[str, int]:
    """How many rows of each table an erasure would touch (for the admin's confirm page)."""
    return _collect(customer).count_by_label()


def personal_values_of(*, customer: Customer) -> Iterable[str]:
    """The customer's distinctive stored text values (tests search the database for them)."""
    return _personal_values(_collect(customer))
