"""The merge queue: values shared by active customers, from counts the database keeps."""

import pytest
from django.db import connection

from crm.models import ContactPoint, Customer
from crm.selectors import duplicate_groups
from crm.services import (
    contact_point_add,
    contact_point_remove,
    contact_point_update,
    customer_create,
    customer_merge,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PHONE = "+14155550100"


def _counted() -> dict[tuple[str, str], int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT kind, value, points FROM crm_contactvaluecount")
        return {(kind, value): points for kind, value, points in cursor.fetchall()}


def _truth() -> dict[tuple[str, str], int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT kind, value, count(*) FROM crm_contactpoint "
            "WHERE kind IN ('phone', 'email') GROUP BY kind, value"
        )
        return {(kind, value): points for kind, value, points in cursor.fetchall()}


def test_counts_follow_every_way_contact_points_are_written():
    actor = UserFactory(is_superuser=True)
    ann = customer_create(full_name="Ann Lee", phones=[PHONE], emails=["ann@example.com"])
    bob = customer_create(full_name="Bob Lee", phones=[PHONE])
    assert _counted() == _truth() == {("phone", PHONE): 2, ("email", "ann@example.com"): 1}

    # The services: add, change, remove; a merge moves and drops.
    point = contact_point_add(customer=bob, kind="email", value="bob@example.com", actor=actor)
    contact_point_update(contact_point=point, value="robert@example.com", actor=actor)
    assert _counted() == _truth()
    contact_point_remove(contact_point=point, actor=actor)
    customer_merge(source=bob, target=ann, actor=actor)
    assert _counted() == _truth() == {("phone", PHONE): 1, ("email", "ann@example.com"): 1}

    # Any other path: the ORM's bulk writes, raw SQL, a postal address (not counted).
    carol = Customer.objects.create(full_name="Carol Lee")
    ContactPoint.objects.bulk_create(
        [
            ContactPoint(customer=carol, kind="phone", value=PHONE),
            ContactPoint(customer=carol, kind="phone", value=PHONE, extension="12"),
            ContactPoint(customer=carol, kind="address", value="1 Main St"),
        ]
    )
    ContactPoint.objects.filter(customer=carol, extension="12").update(value="+14155550199")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM crm_contactpoint WHERE customer_id = %s", [carol.pk])
    assert _counted() == _truth() == {("phone", PHONE): 1, ("email", "ann@example.com"): 1}

    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks before TRUNCATE
        cursor.execute("TRUNCATE crm_contactpoint")
    assert _counted() == {}


def test_the_queue_lists_values_of_several_active_customers_most_shared_first():
    for name in ("Ann", "Bob", "Cy"):
        customer_create(full_name=f"{name} Lee", phones=[PHONE])
    pair = [customer_create(full_name=f"{name} Moe", emails=["moe@example.com"]) for name in "AB"]
    # One customer holding a number twice (two extensions) is no group.
    one = customer_create(full_name="Dee Roe", phones=["+14155550111"])
    ContactPoint.objects.create(customer=one, kind="phone", value="+14155550111", extension="2")
    # Nor is a value left on a merged customer.
    merged = customer_create(full_name="Eve Poe", phones=["+14155550122"])
    kept = customer_create(full_name="Eve Poe", phones=["+14155550122"])
    Customer.objects.filter(pk=merged.pk).update(merged_into=kept)

    groups = duplicate_groups()

    assert [(group.value, len(group.customers)) for group in groups] == [
        (PHONE, 3),
        ("moe@example.com", 2),
    ]
    assert [customer.pk for customer in groups[1].customers] == [c.pk for c in pair]
    assert [group.value for group in duplicate_groups(limit=1)] == [PHONE]


def test_the_queue_reads_past_candidates_that_are_no_group(monkeypatch):
    from crm import selectors

    monkeypatch.setattr(selectors, "DUPLICATE_CANDIDATES_PER_LIMIT", 1)
    # The most held value is one customer's (three extensions): no group.
    one = customer_create(full_name="Dee Roe", phones=["+14155550111"])
    for extension in ("2", "3"):
        ContactPoint.objects.create(
            customer=one, kind="phone", value="+14155550111", extension=extension
        )
    for name in ("Ann", "Bob"):
        customer_create(full_name=f"{name} Lee", phones=[PHONE])

    assert [group.value for group in duplicate_groups(limit=1)] == [PHONE]


def test_the_queue_costs_the_same_queries_however_many_contact_points(
    django_assert_num_queries,
):
    for index in range(3):
        customer_create(full_name=f"Ann Lee{index}", phones=[PHONE])
    with django_assert_num_queries(3):  # candidates, their holders, the customers
        duplicate_groups()
    for index in range(30):
        customer_create(full_name=f"Bob Lee{index}", phones=[f"+1415555{index:04d}"])

    with django_assert_num_queries(3):
        assert len(duplicate_groups()) == 1
