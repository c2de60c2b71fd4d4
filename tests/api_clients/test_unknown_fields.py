"""Unknown request fields are a 400 naming them, on every write endpoint and per sync record.

The write operations are read from the OpenAPI schema itself, so an endpoint
added later without the check fails here.
"""

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from crm import services as crm_services
from crm.models import ContactPoint, Customer, ProfileFact
from interactions.models import Interaction
from interactions.sync import RECORD_FIELDS
from interactions.sync_api import SyncRecordSerializer
from tests import factories

pytestmark = pytest.mark.django_db

UNKNOWN = "zz_not_a_field"


def _json_write_operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                found.append((method, path))
    return sorted(found)


WRITE_OPERATIONS = _json_write_operations()


@pytest.fixture
def admin_http():
    http = APIClient()
    http.force_login(factories.UserFactory(is_superuser=True, is_staff=True))
    return http


def _url(path: str, ids: dict[str, int]) -> str:
    if "/contact-points/" in path:
        path = path.replace("{id}", str(ids["contact_point"]))
    elif "/facts/" in path:
        path = path.replace("{id}", str(ids["fact"]))
    elif path.startswith("/api/v1/followups/"):
        path = path.replace("{id}", str(ids["followup"]))
    elif path.startswith("/api/v1/interactions/"):
        path = path.replace("{id}", str(ids["interaction"]))
    return (
        path.replace("{id}", str(ids["customer"]))
        .replace("{customer_pk}", str(ids["customer"]))
        .replace("{customer_id}", str(ids["customer"]))
    )


def test_the_schema_lists_the_write_operations():
    # Guards the parametrisation below against an empty or shrunken list.
    assert len(WRITE_OPERATIONS) >= 18
    assert ("post", "/api/v1/customers/") in WRITE_OPERATIONS
    assert ("post", "/api/v1/interactions/sync/") in WRITE_OPERATIONS


@pytest.mark.parametrize(("method", "path"), WRITE_OPERATIONS)
def test_every_json_write_refuses_an_unknown_field_by_name(admin_http, method, path):
    customer = factories.CustomerFactory()
    ids = {
        "customer": customer.pk,
        "contact_point": factories.ContactPointFactory(customer=customer).pk,
        "fact": crm_services.fact_add(customer=customer, text="Likes tea", actor=None).pk,
        "followup": factories.FollowUpFactory(customer=customer).pk,
        "interaction": factories.InteractionFactory(customer=customer).pk,
    }
    before = {
        model: model.objects.count() for model in (Customer, ContactPoint, ProfileFact, Interaction)
    }

    response = getattr(admin_http, method)(_url(path, ids), {UNKNOWN: 1}, format="json")

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert UNKNOWN in body["errors"], body
    assert UNKNOWN in body["detail"]
    assert {model: model.objects.count() for model in before} == before


def test_customer_with_phones_instead_of_contact_points_is_refused_and_not_created(admin_http):
    response = admin_http.post(
        "/api/v1/customers/",
        {"full_name": "Ann Example", "phones": ["+14155552671"]},
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["phones"]
    assert "contact_points" in errors["phones"][0]  # the message lists what is accepted
    assert not Customer.objects.filter(full_name="Ann Example").exists()


def test_unknown_field_inside_a_contact_point_is_named_at_its_index(admin_http):
    response = admin_http.post(
        "/api/v1/customers/",
        {
            "full_name": "Ann Example",
            "contact_points": [
                {"kind": "phone", "value": "+14155552671"},
                {"kind": "email", "value": "ann@example.org", "primary": True},
            ],
        },
        format="json",
    )

    assert response.status_code == 400
    # DRF keys a list's errors by the index of each bad item.
    assert list(response.json()["errors"]["contact_points"]) == ["1"]
    assert list(response.json()["errors"]["contact_points"]["1"]) == ["primary"]
    assert not Customer.objects.filter(full_name="Ann Example").exists()


def test_unknown_and_invalid_fields_are_reported_together(admin_http):
    response = admin_http.post(
        "/api/v1/followups/", {"action": "", "due": "tomorrow"}, format="json"
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"due", "customer", "action"} <= set(errors)


def test_sync_record_with_an_unknown_field_is_that_records_error_only(admin_http):
    good = {
        "source": "pbx",
        "external_id": "1",
        "channel": "phone",
        "direction": "inbound",
        "occurred_at": "2026-03-05T10:00:00Z",
    }
    bad = {**good, "external_id": "2", "agent": "maria"}

    response = admin_http.post(
        "/api/v1/interactions/sync/", {"records": [good, bad]}, format="json"
    )

    assert response.status_code == 200
    first, second = response.json()["results"]
    assert first["status"] == "created"
    assert second["status"] == "error"
    assert list(second["errors"]) == ["agent"]
    assert Interaction.objects.filter(source="pbx").count() == 1


def test_sync_body_with_an_unknown_top_level_field_is_refused(admin_http):
    response = admin_http.post(
        "/api/v1/interactions/sync/", {"records": [{}], "dry_run": True}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["dry_run"]


def test_sync_record_fields_match_the_documented_record():
    assert set(SyncRecordSerializer().fields) == RECORD_FIELDS
