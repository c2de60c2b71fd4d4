"""Every write to customers and teams: one use case, one function.

Each function validates fully (full_clean) before it writes and runs in one
transaction, so a ValidationError leaves nothing half-saved. Errors are keyed
by the field the caller sent, which the API turns into a 400 naming it.
"""

from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from core.audit import audit_record
from crm import access
from crm.models import (
    FACT_TEXT_MAX_LENGTH,
    ConsentRecord,
    ContactPoint,
    Customer,
    CustomerMerge,
    ProfileFact,
    ProfileFactRevision,
    Tag,
    Team,
    TeamMembership,
)
from crm.phone import normalise_email, normalise_phone
from crm.validators import standardize_language_tag

User = get_user_model()

TAG_MAX_LENGTH = 40
# Fields a customer_update may change; everything else is derived or owned by a use case.
CUSTOMER_EDITABLE_FIELDS = (
    "full_name",
    "preferred_name",
    "pronunciation",
    "pronouns",
    "time_zone",
    "preferred_language",
    "preferred_channel",
    "quiet_hours_start",
    "quiet_hours_end",
    "accessibility_needs",
    "organisation",
    "organisation_role",
    "owner",
)


# Fields team_update may change.
TEAM_EDITABLE_FIELDS = ("name", "time_zone", "holiday_country")


def _team_audit(actor: User | None, action: str, team: Team, details: dict) -> None:
    # Teams and roles decide who sees and works which promises: a security setting.
    audit_record(actor=actor, action=action, target_type="team", target_id=team.pk, details=details)


@transaction.atomic
def team_create(
    *, name: str, time_zone: str = "UTC", holiday_country: str = "", actor: User | None = None
) -> Team:
    team = Team(name=name.strip(), time_zone=time_zone, holiday_country=holiday_country.upper())
    team.full_clean()
    team.save()
    _team_audit(actor, "team.created", team, {"name": team.name})
    return team


@transaction.atomic
def team_update(*, team: Team, changes: dict[str, Any], actor: User | None = None) -> Team:
    """Rename a team or change its clock (time zone, holiday country).

    The caller reschedules the team's open promises when the clock changed
    (followups.tasks.team_schedules_recompute): crm knows no promise."""
    unknown = set(changes) - set(TEAM_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    changes = dict(changes)
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    if "holiday_country" in changes:
        changes["holiday_country"] = changes["holiday_country"].upper()
    for field, value in changes.items():
        setattr(team, field, value)
    team.full_clean()
    team.save(update_fields=list(changes))
    _team_audit(actor, "team.updated", team, {"fields": sorted(changes)})
    return team


@transaction.atomic
def team_member_add(
    *, team: Team, user: settings.AUTH_USER_MODEL, role: str, actor: User | None = None
) -> TeamMembership:
    """Make `user` a member of `team` in `role`, or change their role there."""
    if role not in TeamMembership.Role.values:
        raise ValidationError({"role": [f"Choose one of {', '.join(TeamMembership.Role.values)}."]})
    membership, created = TeamMembership.objects.update_or_create(
        team=team, user=user, defaults={"role": role}
    )
    _team_audit(
        actor,
        "team.member_added" if created else "team.member_changed",
        team,
        {"user": user.pk, "role": role},
    )
    return membership


@transaction.atomic
def team_member_remove(*, membership: TeamMembership, actor: User | None = None) -> None:
    team, user_id, role = membership.team, membership.user_id, membership.role
    deleted, _ = TeamMembership.objects.filter(pk=membership.pk).delete()
    if deleted:
        _team_audit(actor, "team.member_removed", team, {"user": user_id, "role": role})


def _audit(
    actor: User | None,
    action: str,
    target_type: str,
    target_id: Any,
    customer_id: int,
    details: dict | None = None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        customer_id=customer_id,
        details=details,
    )


# --- customers ----------------------------------------------------------------


def _clean_tags(tags: list[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in tags:
        name = " ".join(str(raw).split()).lower()
        if not name:
            continue
        if len(name) > TAG_MAX_LENGTH:
            raise ValidationError(
                {"tags": [f"A tag has at most {TAG_MAX_LENGTH} characters ('{name[:20]}…')."]}
            )
        if name not in cleaned:
            cleaned.append(name)
    return cleaned


def _set_tags(customer: Customer, tags: list[str]) -> None:
    names = _clean_tags(tags)
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=name) for name in names if name not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    customer.tags.set([existing[name] for name in names])


def _normalise_profile(values: dict[str, Any]) -> dict[str, Any]:
    if values.get("preferred_language"):
        values["preferred_language"] = standardize_language_tag(values["preferred_language"])
    for field in ("full_name", "preferred_name", "pronunciation", "pronouns"):
        if isinstance(values.get(field), str):
            values[field] = " ".join(values[field].split())
    return values


def _check_quiet_hours(start: time | None, end: time | None) -> None:
    if (start is None) != (end is None):
        field = "quiet_hours_end" if end is None else "quiet_hours_start"
        raise ValidationError({field: ["Give both the start and the end of the quiet hours."]})
    if start is not None and start == end:
        raise ValidationError({"quiet_hours_end": ["Quiet hours must not start and end at once."]})


@transaction.atomic
def customer_create(
    *,
    full_name: str,
    preferred_name: str = "",
    pronunciation: str = "",
    pronouns: str = "",
    time_zone: str = "UTC",
    preferred_language: str = "",
    preferred_channel: str = "",
    quiet_hours_start: time | None = None,
    quiet_hours_end: time | None = None,
    accessibility_needs: str = "",
    organisation: str = "",
    organisation_role: str = "",
    owner: User | None = None,
    tags: list[str] | None = None,
    phones: list[str] | None = None,
    emails: list[str] | None = None,
    contact_points: list[dict[str, Any]] | None = None,
    actor: User | None = None,
) -> Customer:
    """Create a customer with its contact points.

    `phones` / `emails` are shorthands (the first is primary); `contact_points`
    takes dicts with kind, value and optional label, extension, is_primary.
    """
    values = _normalise_profile(
        {
            "full_name": full_name,
            "preferred_name": preferred_name,
            "pronunciation": pronunciation,
            "pronouns": pronouns,
            "time_zone": time_zone,
            "preferred_language": preferred_language,
            "preferred_channel": preferred_channel,
            "quiet_hours_start": quiet_hours_start,
            "quiet_hours_end": quiet_hours_end,
            "accessibility_needs": accessibility_needs,
            "organisation": organisation,
            "organisation_role": organisation_role,
        }
    )
    _check_quiet_hours(quiet_hours_start, quiet_hours_end)
    customer = Customer(owner=owner, **values)
    customer.full_clean()
    customer.save()
    if tags:
        _set_tags(customer, tags)
    specs: list[tuple[str, dict[str, Any]]] = []
    for index, phone in enumerate(phones or []):
        specs.append(("phones", {"kind": "phone", "value": phone, "is_primary": index == 0}))
    for index, email in enumerate(emails or []):
        specs.append(("emails", {"kind": "email", "value": email, "is_primary": index == 0}))
    for index, spec in enumerate(contact_points or []):
        specs.append((f"contact_points[{index}]", dict(spec)))
    primaries: dict[str, str] = {}
    for prefix, spec in specs:
        if spec.get("is_primary"):
            kind = spec.get("kind", "")
            if kind in primaries:
                raise ValidationError(
                    {f"{prefix}.is_primary": [f"Only one primary {kind} (also {primaries[kind]})."]}
                )
            primaries[kind] = prefix
    for prefix, spec in specs:
        try:
            _contact_point_create(customer=customer, **spec)
        except ValidationError as exc:
            raise ValidationError(
                {f"{prefix}.{field}": messages for field, messages in exc.message_dict.items()}
            ) from exc
    _audit(actor, "customer.created", "customer", customer.pk, customer.pk)
    return customer


@transaction.atomic
def customer_update(
    *,
    customer: Customer,
    changes: dict[str, Any],
    tags: list[str] | None = None,
    actor: User | None = None,
) -> Customer:
    """Change profile fields named in `changes` (keys of CUSTOMER_EDITABLE_FIELDS)."""
    unknown = set(changes) - set(CUSTOMER_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    changes = _normalise_profile(dict(changes))
    for field, value in changes.items():
        setattr(customer, field, "" if value is None and field not in _NULLABLE else value)
    _check_quiet_hours(customer.quiet_hours_start, customer.quiet_hours_end)
    customer.full_clean()
    update_fields = [*changes, "updated_at"]
    if tags is not None:
        _set_tags(customer, tags)
    customer.save(update_fields=update_fields)
    # Field names only: the audit trail must not become a second copy of the PII.
    changed = sorted(changes) + (["tags"] if tags is not None else [])
    _audit(actor, "customer.updated", "customer", customer.pk, customer.pk, {"fields": changed})
    return customer


_NULLABLE = {"quiet_hours_start", "quiet_hours_end", "owner"}


def customer_touch(*, customer_id: int, at: datetime) -> None:
    """Record contact with the customer at `at` (newest wins).

    Called by other apps (interactions) when something happens with the
    customer; shared phone lookups list the most recently active first. A
    merged id touches its survivor.
    """
    # Runs in every interaction's transaction: one fixed statement, since compiling
    # the ORM's version of it cost more than the update itself.
    table = Customer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_activity_at = %s "  # noqa: S608 - the table name from _meta
            f"WHERE id IN (%s, (SELECT merged_into_id FROM {table} WHERE id = %s)) "
            "AND (last_activity_at IS NULL OR last_activity_at < %s)",
            [at, customer_id, customer_id, at],
        )


# --- contact points -------------------------------------------------------------


def _normalised_value(kind: str, value: str, region: str | None) -> tuple[str, str]:
    """(value, extension) in stored form, or ValidationError on `value`."""
    if kind == ContactPoint.Kind.PHONE:
        try:
            phone = normalise_phone(value, region=region)
        except ValidationError as exc:
            raise ValidationError({"value": exc.messages}) from exc
        return phone.e164, phone.extension
    if kind == ContactPoint.Kind.EMAIL:
        try:
            return normalise_email(value), ""
        except ValidationError as exc:
            raise ValidationError({"value": exc.messages}) from exc
    if kind == ContactPoint.Kind.ADDRESS:
        text = "\n".join(
            line.strip() for line in (value or "").strip().splitlines() if line.strip()
        )
        if not text:
            raise ValidationError({"value": ["Enter the postal address."]})
        return text, ""
    raise ValidationError({"kind": [f"'{kind}' is not one of phone, email, address."]})


def _save_contact_point(contact_point: ContactPoint, update_fields: list[str] | None) -> None:
    """Turn the database's uniqueness answers into field errors (a concurrent
    writer can still hit them after our own checks)."""
    try:
        with transaction.atomic():
            contact_point.save(update_fields=update_fields)
    except IntegrityError as exc:
        if "one_primary_per_kind" in str(exc):
            raise ValidationError(
                {"is_primary": [f"The customer already has a primary {contact_point.kind}."]}
            ) from exc
        raise ValidationError({"value": ["The customer already has this contact point."]}) from exc


@transaction.atomic
def contact_point_add(
    *,
    customer: Customer,
    kind: str,
    value: str,
    label: str = ContactPoint.Label.OTHER,
    is_primary: bool = False,
    extension: str = "",
    region: str | None = None,
    actor: User | None = None,
) -> ContactPoint:
    """Add a phone (E.164), e-mail or postal address to an existing customer (audited)."""
    contact_point = _contact_point_create(
        customer=customer,
        kind=kind,
        value=value,
        label=label,
        is_primary=is_primary,
        extension=extension,
        region=region,
    )
    _audit(
        actor,
        "contact_point.added",
        "contact_point",
        contact_point.pk,
        customer.pk,
        {"kind": kind, "label": label},
    )
    return contact_point


def _contact_point_create(
    *,
    customer: Customer,
    kind: str,
    value: str,
    label: str = ContactPoint.Label.OTHER,
    is_primary: bool = False,
    extension: str = "",
    region: str | None = None,
) -> ContactPoint:
    """Add a phone (stored E.164, extension beside it), e-mail (lower-case) or address.

    A second primary of a kind is refused: make one primary with
    contact_point_make_primary, which demotes the other.
    """
    value, parsed_extension = _normalised_value(kind, value, region)
    contact_point = ContactPoint(
        customer=customer,
        kind=kind,
        value=value,
        extension=(extension or parsed_extension).strip(),
        label=label,
        is_primary=is_primary,
    )
    contact_point.full_clean(validate_constraints=False)
    if ContactPoint.objects.filter(
        customer=customer, kind=kind, value=value, extension=contact_point.extension
    ).exists():
        raise ValidationError({"value": ["The customer already has this contact point."]})
    if (
        is_primary
        and ContactPoint.objects.filter(customer=customer, kind=kind, is_primary=True).exists()
    ):
        raise ValidationError(
            {
                "is_primary": [
                    f"The customer already has a primary {kind}; make this one primary instead."
                ]
            }
        )
    _save_contact_point(contact_point, None)
    Customer.objects.filter(pk=customer.pk).update(updated_at=timezone.now())
    return contact_point


@transaction.atomic
def contact_point_update(
    *,
    contact_point: ContactPoint,
    value: str | None = None,
    label: str | None = None,
    extension: str | None = None,
    region: str | None = None,
    actor: User | None = None,
) -> ContactPoint:
    fields: list[str] = []
    if value is not None:
        contact_point.value, parsed_extension = _normalised_value(contact_point.kind, value, region)
        contact_point.extension = parsed_extension
        fields += ["value", "extension"]
    if extension is not None:
        contact_point.extension = extension.strip()
        fields.append("extension")
    if label is not None:
        contact_point.label = label
        fields.append("label")
    contact_point.full_clean(validate_constraints=False)
    if fields:
        _save_contact_point(contact_point, sorted(set(fields)))
        _audit(
            actor,
            "contact_point.changed",
            "contact_point",
            contact_point.pk,
            contact_point.customer_id,
            {"fields": sorted(set(fields))},
        )
    return contact_point


@transaction.atomic
def contact_point_make_primary(
    *, contact_point: ContactPoint, actor: User | None = None
) -> ContactPoint:
    ContactPoint.objects.filter(
        customer_id=contact_point.customer_id, kind=contact_point.kind, is_primary=True
    ).exclude(pk=contact_point.pk).update(is_primary=False)
    contact_point.is_primary = True
    contact_point.save(update_fields=["is_primary"])
    _audit(
        actor,
        "contact_point.changed",
        "contact_point",
        contact_point.pk,
        contact_point.customer_id,
        {"fields": ["is_primary"]},
    )
    return contact_point


@transaction.atomic
def contact_point_remove(*, contact_point: ContactPoint, actor: User | None = None) -> None:
    _audit(
        actor,
        "contact_point.removed",
        "contact_point",
        contact_point.pk,
        contact_point.customer_id,
        {"kind": contact_point.kind},
    )
    contact_point.delete()


# --- consent ----------------------------------------------------------------------


@transaction.atomic
def consent_record(
    *,
    customer: Customer,
    channel: str,
    status: str,
    method: str,
    actor: User | None,
    note: str = "",
    at: datetime | None = None,
) -> ConsentRecord:
    """Record that the customer granted or withdrew consent on a channel, and how."""
    record = ConsentRecord(
        customer=customer,
        channel=channel,
        status=status,
        method=method,
        note=note.strip(),
        recorded_at=at or timezone.now(),
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    record.full_clean()
    record.save()
    _audit(
        actor,
        "consent.recorded",
        "consent",
        record.pk,
        customer.pk,
        {"channel": channel, "status": status, "method": method},
    )
    return record


# --- things to remember ---------------------------------------------------------------


def _check_fact_text(text: str) -> None:
    # TextField's max_length is not a model validator; say it in the field's name.
    if len(text) > FACT_TEXT_MAX_LENGTH:
        raise ValidationError(
            {"text": [f"Keep it under {FACT_TEXT_MAX_LENGTH} characters (this has {len(text)})."]}
        )


def _revision(fact: ProfileFact, action: str, actor: User | None, at: datetime) -> None:
    ProfileFactRevision.objects.create(
        fact=fact,
        action=action,
        category=fact.category,
        text=fact.text,
        is_pinned=fact.is_pinned,
        changed_by=actor if getattr(actor, "is_authenticated", False) else None,
        changed_at=at,
    )


@transaction.atomic
def fact_add(
    *,
    customer: Customer,
    text: str,
    actor: User | None,
    category: str = ProfileFact.Category.OTHER,
    is_pinned: bool = False,
    origin_interaction_id: int | None = None,
    at: datetime | None = None,
) -> ProfileFact:
    """Remember something about the customer. The text is stored as typed and
    always rendered escaped."""
    at = at or timezone.now()
    _check_fact_text((text or "").strip())
    fact = ProfileFact(
        customer=customer,
        category=category,
        text=(text or "").strip(),
        is_pinned=is_pinned,
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
        recorded_at=at,
        origin_interaction_id=origin_interaction_id,
    )
    fact.full_clean()
    fact.save()
    _revision(fact, ProfileFactRevision.Action.CREATED, actor, at)
    _audit(actor, "fact.created", "fact", fact.pk, customer.pk, {"category": fact.category})
    return fact


@transaction.atomic
def fact_update(
    *,
    fact: ProfileFact,
    actor: User | None,
    text: str | None = None,
    category: str | None = None,
    is_pinned: bool | None = None,
) -> ProfileFact:
    """Change a fact; the previous state stays in its revisions."""
    if fact.deleted_at is not None:
        raise ValidationError({"fact": ["This fact was deleted; restore it first."]})
    changed: list[str] = []
    for field, value in (("text", text), ("category", category), ("is_pinned", is_pinned)):
        if value is None:
            continue
        if field == "text":
            value = value.strip()
            _check_fact_text(value)
        if getattr(fact, field) != value:
            setattr(fact, field, value)
            changed.append(field)
    if not changed:
        return fact
    fact.full_clean()
    fact.save(update_fields=[*changed, "updated_at"])
    _revision(fact, ProfileFactRevision.Action.EDITED, actor, timezone.now())
    _audit(actor, "fact.edited", "fact", fact.pk, fact.customer_id, {"fields": changed})
    return fact


@transaction.atomic
def fact_delete(*, fact: ProfileFact, actor: User | None) -> ProfileFact:
    """Soft delete: hidden from the profile, kept (with who and when) for the audit."""
    if fact.deleted_at is not None:
        return fact
    now = timezone.now()
    fact.deleted_at = now
    fact.deleted_by = actor if getattr(actor, "is_authenticated", False) else None
    fact.save(update_fields=["deleted_at", "deleted_by", "updated_at"])
    _revision(fact, ProfileFactRevision.Action.DELETED, actor, now)
    _audit(actor, "fact.deleted", "fact", fact.pk, fact.customer_id)
    return fact


@transaction.atomic
def fact_restore(*, fact: ProfileFact, actor: User | None) -> ProfileFact:
    if fact.deleted_at is None:
        return fact
    fact.deleted_at = None
    fact.deleted_by = None
    fact.save(update_fields=["deleted_at", "deleted_by", "updated_at"])
    _revision(fact, ProfileFactRevision.Action.RESTORED, actor, timezone.now())
    _audit(actor, "fact.restored", "fact", fact.pk, fact.customer_id)
    return fact


# --- merge --------------------------------------------------------------------------

# Profile fields the survivor takes from the duplicate when its own are empty.
MERGE_FILL_FIELDS = (
    "preferred_name",
    "pronunciation",
    "pronouns",
    "preferred_language",
    "preferred_channel",
    "accessibility_needs",
    "organisation",
    "organisation_role",
    "owner",
)


def _relations_to_customer() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) whose foreign key points at Customer, in any app.

    Found through Django's registry rather than listed, so a model another app
    adds later (interactions, follow-ups, audit...) is moved too and crm needs
    no import of it. Hidden relations (related_name="+") and auto-created
    many-to-many tables are included.
    """
    relations = []
    for field in Customer._meta.get_fields(include_hidden=True):
        if not (field.auto_created and not field.concrete):
            continue
        if field.many_to_many:
            continue  # handled through their (auto-created or explicit) through model's FK
        if field.related_model is CustomerMerge:
            continue  # the merge history keeps naming who was merged into whom
        relations.append((field.related_model, field.field.name))
    return relations


def _merge_contact_points(source: Customer, target: Customer) -> dict[str, list]:
    kept = {
        (kind, value, extension)
        for kind, value, extension in target.contact_points.values_list(
            "kind", "value", "extension"
        )
    }
    primary_kinds = set(
        target.contact_points.filter(is_primary=True).values_list("kind", flat=True)
    )
    dropped, demoted = [], []
    for point in source.contact_points.all():
        if (point.kind, point.value, point.extension) in kept:
            dropped.append({"id": point.pk, "kind": point.kind, "value": point.value})
            point.delete()
        elif point.is_primary and point.kind in primary_kinds:
            demoted.append(point.pk)
    ContactPoint.objects.filter(pk__in=demoted).update(is_primary=False)
    return {"dropped_duplicate_contact_points": dropped, "demoted_primaries": demoted}


@transaction.atomic
def customer_merge(*, source: Customer, target: Customer, actor: User) -> CustomerMerge:
    """Fold the duplicate `source` into the survivor `target`.

    Moves contact points, facts, consent history, tags and every row of any app
    that points at the source (interactions, follow-ups, ...) in one
    transaction, records what moved, and leaves the source as a pointer to the
    target so its id still resolves.
    """
    access.require_customer_merge(actor)
    if source.pk == target.pk:
        raise ValidationError({"source": ["A customer cannot be merged into itself."]})
    # Lock both in a stable order so two merges of the same pair cannot interleave.
    locked = {
        customer.pk: customer
        for customer in Customer.objects.select_for_update()
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]
    if source.merged_into_id is not None:
        raise ValidationError({"source": ["This customer was already merged."]})
    if target.merged_into_id is not None:
        raise ValidationError({"target": ["This customer was merged; merge into its survivor."]})

    moved: dict[str, Any] = _merge_contact_points(source, target)
    filled = []
    for field in MERGE_FILL_FIELDS:
        attname = Customer._meta.get_field(field).attname
        if not getattr(target, attname) and getattr(source, attname):
            setattr(target, attname, getattr(source, attname))
            filled.append(field)
    if target.quiet_hours_start is None and source.quiet_hours_start is not None:
        target.quiet_hours_start = source.quiet_hours_start
        target.quiet_hours_end = source.quiet_hours_end
        filled.append("quiet_hours")
    moved["filled_fields"] = filled
    target.tags.add(*source.tags.all())
    moved["tags"] = list(source.tags.values_list("name", flat=True))
    source.tags.clear()

    for model, field_name in _relations_to_customer():
        rows = model._base_manager.filter(**{field_name: source.pk})
        if model is Customer and field_name == "merged_into":
            rows = rows.exclude(pk=target.pk)
        ids = list(rows.order_by("pk").values_list("pk", flat=True))
        if ids:
            model._base_manager.filter(pk__in=ids).update(**{field_name: target.pk})
            moved[f"{model._meta.label_lower}.{field_name}"] = ids
    # The apps above are told what moved, in this transaction (settings.CUSTOMER_MERGE_HOOKS).
    for path in getattr(settings, "CUSTOMER_MERGE_HOOKS", ()):
        import_string(path)(source_id=source.pk, target_id=target.pk, moved=moved)

    if source.last_activity_at and (
        target.last_activity_at is None or source.last_activity_at > target.last_activity_at
    ):
        target.last_activity_at = source.last_activity_at
    target.full_clean()
    target.save()
    source.merged_into = target
    source.save(update_fields=["merged_into", "updated_at"])
    record = CustomerMerge(
        source=source, target=target, actor=actor, merged_at=timezone.now(), moved=moved
    )
    record.full_clean()
    record.save()
    counts = {key: len(value) for key, value in moved.items() if isinstance(value, list)}
    _audit(
        actor,
        "customer.merged",
        "customer",
        target.pk,
        target.pk,
        {"source": source.pk, "target": target.pk, "moved": counts},
    )
    return record


@transaction.atomic
def staff_time_zone_set(*, user, time_zone: str) -> None:
    """A staff member's own clock; "" falls back to their team's zone."""
    from crm.models import StaffProfile
    from crm.validators import validate_time_zone

    time_zone = (time_zone or "").strip()
    if time_zone:
        try:
            validate_time_zone(time_zone)
        except ValidationError as exc:
            raise ValidationError({"time_zone": exc.messages}) from exc
    StaffProfile.objects.update_or_create(user_id=user.pk, defaults={"time_zone": time_zone})
