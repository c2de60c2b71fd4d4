"""Every non-trivial read of customers."""

from django.db.models import QuerySet

from crm.models import ContactPoint, Customer
from crm.phone import normalise_email, try_normalise_phone


def customer_list(*, query: str = "") -> QuerySet[Customer]:
    customers = Customer.objects.filter(merged_into__isnull=True).select_related("owner")
    if query:
        customers = customers.filter(full_name__icontains=query)
    return customers


def customers_by_phone(*, phone: str) -> QuerySet[Customer]:
    normalised = try_normalise_phone(phone)
    if normalised is None:
        return Customer.objects.none()
    return Customer.objects.filter(
        merged_into__isnull=True,
        contact_points__kind=ContactPoint.Kind.PHONE,
        contact_points__value=normalised.e164,
    ).distinct()


def customers_by_email(*, email: str) -> QuerySet[Customer]:
    try:
        normalised = normalise_email(email)
    except Exception:  # noqa: BLE001 - an unparseable address matches nobody
        return Customer.objects.none()
    return Customer.objects.filter(
        merged_into__isnull=True,
        contact_points__kind=ContactPoint.Kind.EMAIL,
        contact_points__value=normalised,
    ).distinct()
