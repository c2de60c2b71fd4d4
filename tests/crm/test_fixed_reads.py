"""core.fixed_reads: hot-path reads by fixed SQL give what the ORM gives."""

from datetime import UTC, datetime

import pytest

from core.fixed_reads import FixedRowRead
from core.models import ApiClient
from core.selectors import api_client_by_prefix
from crm.models import ContactPoint, Customer
from crm.selectors import customer_by_id
from crm.services import customer_merge
from tests.api_clients.helpers import bearer_client
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def fields_of(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_api_client_and_its_user_match_the_orm_in_one_query(django_assert_num_queries):
    client, _, _ = bearer_client("customers:read", "interactions:write", rate_limit="5/s")
    expected = ApiClient.objects.select_related("user").get(pk=client.pk)

    with django_assert_num_queries(1):
        found = api_client_by_prefix(prefix=client.prefix)
        user = found.user  # read with it, not a query of its own

    assert fields_of(found) == fields_of(expected)
    assert found.scopes == ["customers:read", "interactions:write"]  # JSON decoded
    assert isinstance(found.created_at, datetime)
    assert found.created_at.tzinfo is not None
    assert fields_of(user) == fields_of(expected.user)
    assert found._state.adding is False
    assert found._state.db == "default"


def test_a_revoked_client_is_found_as_it_is_and_an_unknown_prefix_is_none():
    client, _, _ = bearer_client("customers:read")
    ApiClient.objects.filter(pk=client.pk).update(
        is_active=False, revoked_at=datetime(2026, 1, 1, tzinfo=UTC)
    )

    assert api_client_by_prefix(prefix=client.prefix).is_active is False
    assert api_client_by_prefix(prefix="000000000000") is None


def test_customer_by_id_is_the_row_as_it_is_merged_or_not(supervisor):
    survivor, duplicate = CustomerFactory(), CustomerFactory(preferred_name="Bea")
    customer_merge(target=survivor, source=duplicate, actor=supervisor)

    found = customer_by_id(customer_id=duplicate.pk)

    assert fields_of(found) == fields_of(Customer.objects.get(pk=duplicate.pk))
    assert found.merged_into_id == survivor.pk
    assert customer_by_id(customer_id=survivor.pk + 1000) is None
    assert customer_by_id(customer_id=2**70) is None  # beyond bigint: no row, no error


def test_the_saved_instance_behaves_like_one_the_orm_read():
    customer = CustomerFactory(preferred_name="Al")
    found = customer_by_id(customer_id=customer.pk)

    found.preferred_name = "Alfie"
    found.save(update_fields=["preferred_name"])

    assert Customer.objects.get(pk=customer.pk).preferred_name == "Alfie"


def test_only_a_not_null_forward_relation_can_be_joined():
    with pytest.raises(ValueError, match="merged_into"):
        FixedRowRead(Customer, key="id", related=["merged_into"]).get(1)
    with pytest.raises(ValueError, match="contact_points"):
        FixedRowRead(Customer, key="id", related=["contact_points"]).get(1)
    assert FixedRowRead(ContactPoint, key="id", related=["customer"]).get(0) is None
