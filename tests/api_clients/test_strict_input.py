"""What the schema types is what the API reads: a JSON value of another type, a typed
query parameter given empty or out of range, is a 400 naming it (core.serializer_fields,
core.query, core.filters); a valid request the resource's state refuses is a 409."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from core.models import ApiClient
from crm import services as crm_services
from crm.models import Customer, ProfileFact
from followups.webhooks import webhook_endpoint_create
from interactions.models import Interaction
from tests import factories
from tests.api_clients.helpers import bearer_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_http():
    http = APIClient()
    http.force_login(factories.UserFactory(is_superuser=True, is_staff=True))
    return http


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"full_name": 7}, "full_name", "Expected a string, got an integer."),
        ({"full_name": "Ann", "owner": "1"}, "owner", "Expected an integer, got a string."),
        ({"full_name": "Ann", "tags": ["vip", 3]}, "tags", "Expected a string, got an integer."),
        ({"full_name": "Ann", "owner": True}, "owner", "Expected an integer, got a boolean."),
    ],
)
def test_a_json_value_of_another_type_is_refused_by_name(admin_http, body, field, message):
    response = admin_http.post("/api/v1/customers/", body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][field] == [message]
    assert Customer.objects.count() == 0


def test_booleans_are_true_or_false_not_0_or_yes(admin_http):
    customer = factories.CustomerFactory()
    url = f"/api/v1/customers/{customer.pk}/facts/"

    for sent in (0, 1, "yes", "true"):
        response = admin_http.post(url, {"text": "Likes tea", "is_pinned": sent}, format="json")
        assert response.status_code == 400, sent
        assert list(response.json()["errors"]) == ["is_pinned"]
    assert (
        admin_http.post(url, {"text": "Likes tea", "is_pinned": True}, format="json").status_code
        == 201
    )
    assert ProfileFact.objects.count() == 1


def test_an_empty_related_value_is_not_read_as_null(admin_http):
    interaction = factories.InteractionFactory(category_id="complaint")

    response = admin_http.patch(
        f"/api/v1/interactions/{interaction.pk}/", {"category": ""}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["category"]
    interaction.refresh_from_db()
    assert interaction.category_id == "complaint"


@pytest.mark.parametrize(
    "query",
    [
        "owner=",
        "owner=0",
        "owner=-3",
        "owner=1.5",
        "owner=9223372036854775808",
        "preferred_channel=fax",
        "ordering=name",
        "updated_since=",
        "page_size=0",
        "page_size=1001",
        "page_size=ten",
    ],
)
def test_customer_list_parameters_of_another_type_are_refused(admin_http, query):
    response = admin_http.get(f"/api/v1/customers/?{query}")

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [query.split("=")[0]]


@pytest.mark.parametrize(
    "query",
    ["customer=", "customer=0", "customer=4.7e-154", "direction=", "occurred_after="],
)
def test_interaction_filters_of_another_type_are_refused(admin_http, query):
    response = admin_http.get(f"/api/v1/interactions/?{query}")

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [query.split("=")[0]]


@pytest.mark.parametrize(
    "query", ["status=", "overdue=", "team=x", "due_before=tomorrow", "ordering=-name"]
)
def test_followup_list_parameters_of_another_type_are_refused(admin_http, query):
    response = admin_http.get(f"/api/v1/followups/?{query}")

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [query.split("=")[0]]


def test_timeline_parameters_of_another_type_are_refused(admin_http):
    customer = factories.CustomerFactory()
    url = f"/api/v1/customers/{customer.pk}/timeline/"

    for query in ("matter=0", "channel=", "page_size=101"):
        response = admin_http.get(f"{url}?{query}")
        assert response.status_code == 400, query
        assert list(response.json()["errors"]) == [query.split("=")[0]]
    assert admin_http.get(f"{url}?page_size=100&channel=phone").status_code == 200


def test_a_time_with_an_offset_postgresql_cannot_take_is_compared_in_utc(admin_http):
    """ISO 8601 allows offsets to 23:59; PostgreSQL's input only to 15:59."""
    old = factories.InteractionFactory(occurred_at=datetime(2026, 3, 5, 9, tzinfo=UTC))
    factories.InteractionFactory(occurred_at=datetime(2026, 3, 6, 9, tzinfo=UTC))

    # 2026-03-05T18:00+17:19 is 00:41 UTC: before both.
    response = admin_http.get(
        "/api/v1/interactions/", {"occurred_before": "2026-03-05T18:00:00+17:19"}
    )
    later = admin_http.get(
        "/api/v1/interactions/", {"occurred_before": "2026-03-06T08:00:00+17:19"}
    )
    due = admin_http.get("/api/v1/followups/", {"due_before": "2026-03-05T18:00:00-17:54"})

    assert (response.status_code, response.json()["count"]) == (200, 0)
    assert [row["id"] for row in later.json()["results"]] == [old.pk]
    assert due.status_code == 200


def test_an_idempotency_key_of_blanks_is_refused():
    _, http, _ = bearer_client(*ApiClient.Scope.values, name="keys")

    response = http.post(
        "/api/v1/customers/", {"full_name": "Ann"}, format="json", HTTP_IDEMPOTENCY_KEY="   "
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert Customer.objects.count() == 0


def test_a_second_interaction_with_the_same_external_id_is_a_conflict(admin_http):
    customer = factories.CustomerFactory()
    body = {
        "customer": customer.pk,
        "channel": "phone",
        "direction": "inbound",
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "source": "pbx",
        "external_id": "1709632800.18",
    }

    first = admin_http.post("/api/v1/interactions/", body, format="json")
    second = admin_http.post("/api/v1/interactions/", body, format="json")

    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["code"] == "conflict"
    assert list(second.json()["errors"]) == ["external_id"]
    assert Interaction.objects.count() == 1


def test_a_logged_emails_addresses_are_not_editable(admin_http):
    interaction = factories.InteractionFactory(channel="email", email_to="a@example.org")

    response = admin_http.patch(
        f"/api/v1/interactions/{interaction.pk}/", {"email_to": "b@example.org"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"]["email_to"][0].startswith("Unknown field.")
    interaction.refresh_from_db()
    assert interaction.email_to == "a@example.org"


def test_a_deleted_fact_is_gone_but_its_history_stays(admin_http):
    customer = factories.CustomerFactory()
    fact = crm_services.fact_add(customer=customer, text="Likes tea", actor=None)
    url = f"/api/v1/customers/{customer.pk}/facts/{fact.pk}/"

    assert admin_http.delete(url).status_code == 204

    assert admin_http.get(url).status_code == 404
    assert admin_http.patch(url, {"text": "Likes coffee"}, format="json").status_code == 404
    history = admin_http.get(f"{url}history/")
    assert [entry["action"] for entry in history.json()] == ["created", "deleted"]
    fact.refresh_from_db()
    assert fact.text == "Likes tea"


@pytest.mark.parametrize("sent", ["21:00+02:00", "21:00Z", "2100", "21", "9:00", "24:00"])
def test_quiet_hours_are_a_local_time_without_offset(admin_http, sent):
    response = admin_http.post(
        "/api/v1/customers/",
        {"full_name": "Ann", "quiet_hours_start": sent, "quiet_hours_end": "08:00"},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["quiet_hours_start"]
    assert Customer.objects.count() == 0


def test_quiet_hours_read_back_as_written(admin_http):
    response = admin_http.post(
        "/api/v1/customers/",
        {"full_name": "Ann", "quiet_hours_start": "21:30", "quiet_hours_end": "07:15:30"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["quiet_hours_start"], body["quiet_hours_end"]) == ("21:30:00", "07:15:30")


def test_unsetting_the_primary_contact_point_is_a_conflict(admin_http):
    customer = factories.CustomerFactory()
    phone = factories.ContactPointFactory(customer=customer, is_primary=True)
    url = f"/api/v1/customers/{customer.pk}/contact-points/{phone.pk}/"

    response = admin_http.patch(url, {"is_primary": False}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert list(response.json()["errors"]) == ["is_primary"]
    phone.refresh_from_db()
    assert phone.is_primary


def _delete_operations() -> list[str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(path for path, operations in schema["paths"].items() if "delete" in operations)


DELETE_PATHS = _delete_operations()


def test_the_schema_lists_the_deletes():
    assert len(DELETE_PATHS) >= 3  # guards the parametrisation below


@pytest.mark.parametrize("path", DELETE_PATHS)
def test_a_deleted_resource_is_gone_for_every_method(admin_http, path):
    """What use_after_free checks, for every DELETE the schema has: afterwards each
    operation on the resource answers 404 (a fact's history excepted: kept on purpose)."""
    customer = factories.CustomerFactory()
    ids = {
        "customer_pk": customer.pk,
        "contact-points": factories.ContactPointFactory(customer=customer).pk,
        "facts": crm_services.fact_add(customer=customer, text="Likes tea", actor=None).pk,
        "endpoints": webhook_endpoint_create(url="https://crm.example.org/hooks").endpoint.pk,
    }
    collection = path.rstrip("/").split("/")[-2]
    url = path.replace("{customer_pk}", str(customer.pk)).replace("{id}", str(ids[collection]))
    operations = SchemaGenerator().get_schema(request=None, public=True)["paths"][path]

    assert admin_http.delete(url).status_code == 204

    for method in sorted(set(operations) & {"get", "put", "patch", "delete"}):
        response = getattr(admin_http, method)(url, {}, format="json")
        assert response.status_code == 404, (method, response.content)
