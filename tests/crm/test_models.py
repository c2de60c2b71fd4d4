import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from crm.models import ContactPoint
from crm.services import contact_point_add, customer_create
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("raw", "region", "e164", "extension"),
    [
        ("+44 (0) 20 7946 0958", "US", "+442079460958", ""),
        ("020 7946 0958", "GB", "+442079460958", ""),
        ("(415) 555-2671", "US", "+14155552671", ""),
        ("1-800-FLOWERS", "US", "+18003569377", ""),
        ("+1 (650) 253-0000 ext. 123", "US", "+16502530000", "123"),
        ("011 44 20 7946 0958", "US", "+442079460958", ""),
        ("0033 6 12 34 56 78", "FR", "+33612345678", ""),
        ("＋１ (６５０) ２５３－００００", "US", "+16502530000", ""),
    ],
)
def test_phone_contact_points_are_stored_in_e164(raw, region, e164, extension):
    customer = CustomerFactory()

    contact_point = contact_point_add(customer=customer, kind="phone", value=raw, region=region)

    contact_point.refresh_from_db()
    assert contact_point.value == e164
    assert contact_point.extension == extension


@pytest.mark.parametrize(
    ("raw", "region"),
    [("0033 6 12 34 56 78", "US"), ("1001", "US"), ("client:alice", "US"), ("415-555-2671", "")],
)
def test_a_bad_phone_is_rejected_naming_the_field(raw, region):
    customer = CustomerFactory()

    with pytest.raises(ValidationError) as caught:
        contact_point_add(customer=customer, kind="phone", value=raw, region=region)

    assert "value" in caught.value.message_dict
    assert ContactPoint.objects.count() == 0


def test_emails_are_normalised_case_insensitively():
    customer = customer_create(full_name="Zoë Moreau", emails=["  Zoe.Moreau@Example.ORG "])

    assert list(customer.contact_points.values_list("value", "is_primary")) == [
        ("zoe.moreau@example.org", True)
    ]


def test_the_database_refuses_a_phone_that_is_not_e164():
    customer = CustomerFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        ContactPoint.objects.create(customer=customer, kind="phone", value="(415) 555-2671")


def test_the_database_refuses_two_primaries_of_one_kind():
    customer = CustomerFactory()
    contact_point_add(customer=customer, kind="email", value="a@example.org", is_primary=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        ContactPoint.objects.create(
            customer=customer, kind="email", value="b@example.org", is_primary=True
        )


def test_an_invalid_time_zone_is_rejected_naming_the_field():
    with pytest.raises(ValidationError) as caught:
        customer_create(full_name="Ann", time_zone="Mars/Olympus")

    assert "time_zone" in caught.value.message_dict
