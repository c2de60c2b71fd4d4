"""Every write to customers and teams: one use case, one function."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from crm.models import ContactPoint, Customer, Team, TeamMembership
from crm.phone import normalise_email, normalise_phone

User = get_user_model()


@transaction.atomic
def team_create(*, name: str, time_zone: str = "UTC", holiday_country: str = "") -> Team:
    team = Team(name=name, time_zone=time_zone, holiday_country=holiday_country)
    team.full_clean()
    team.save()
    return team


@transaction.atomic
def team_member_add(*, team: Team, user: settings.AUTH_USER_MODEL, role: str) -> TeamMembership:
    membership, _ = TeamMembership.objects.update_or_create(
        team=team, user=user, defaults={"role": role}
    )
    return membership


@transaction.atomic
def customer_create(
    *,
    full_name: str,
    preferred_name: str = "",
    time_zone: str = "UTC",
    preferred_language: str = "",
    preferred_channel: str = "",
    owner: User | None = None,
    phones: list[str] | None = None,
    emails: list[str] | None = None,
) -> Customer:
    customer = Customer(
        full_name=full_name,
        preferred_name=preferred_name,
        time_zone=time_zone,
        preferred_language=preferred_language,
        preferred_channel=preferred_channel,
        owner=owner,
    )
    customer.full_clean()
    customer.save()
    for index, phone in enumerate(phones or []):
        contact_point_add(customer=customer, kind="phone", value=phone, is_primary=index == 0)
    for index, email in enumerate(emails or []):
        contact_point_add(customer=customer, kind="email", value=email, is_primary=index == 0)
    return customer


@transaction.atomic
def contact_point_add(
    *,
    customer: Customer,
    kind: str,
    value: str,
    label: str = ContactPoint.Label.OTHER,
    is_primary: bool = False,
    region: str | None = None,
) -> ContactPoint:
    extension = ""
    if kind == ContactPoint.Kind.PHONE:
        try:
            phone = normalise_phone(value, region=region)
        except ValidationError as exc:
            raise ValidationError({"value": exc.messages}) from exc
        value, extension = phone.e164, phone.extension
    elif kind == ContactPoint.Kind.EMAIL:
        try:
            value = normalise_email(value)
        except ValidationError as exc:
            raise ValidationError({"value": exc.messages}) from exc
    contact_point = ContactPoint(
        customer=customer,
        kind=kind,
        value=value,
        extension=extension,
        label=label,
        is_primary=is_primary,
    )
    contact_point.full_clean()
    contact_point.save()
    return contact_point
