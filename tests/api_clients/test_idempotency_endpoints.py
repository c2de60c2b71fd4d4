"""Idempotency-Key on the real single-create endpoints: customers, interactions, follow-ups."""

import pytest

from crm.models import Customer
from followups.models import FollowUp
from interactions.models import Interaction
from tests import factories
from tests.api_clients.helpers import bearer_client


def _customer_body(customer):
    return {"full_name": "Shiv Roy"}


def _interaction_body(customer):
    return {
        "customer": customer.pk,
        "channel": "phone",
        "direction": "inbound",
        "occurred_at": "2026-03-05T10:00:00Z",
        "summary": "Asked about the bill.",
    }


def _followup_body(customer):
    owner = factories.UserFactory(username="owner-rep")
    factories.TeamMembershipFactory(user=owner)
    return {
        "customer": customer.pk,
        "action": "Call back",
        "due_at": "2030-01-01T10:00:00Z",
        "owner": owner.pk,
    }


CASES = [
    ("/api/v1/customers/", "customers:write", _customer_body, Customer),
    ("/api/v1/interactions/", "interactions:write", _interaction_body, Interaction),
    ("/api/v1/followups/", "followups:write", _followup_body, FollowUp),
]


@pytest.mark.parametrize(("url", "scope", "make_body", "model"), CASES, ids=[c[1] for c in CASES])
def test_replay_with_same_key_creates_once(db, url, scope, make_body, model):
    customer = factories.CustomerFactory()
    body = make_body(customer)
    _, http, _ = bearer_client(scope, name="idem")
    before = model.objects.count()

    first = http.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    second = http.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    other = http.post(
        url, {**body, "extra_field_changes_body": 1}, format="json", HTTP_IDEMPOTENCY_KEY="create-1"
    )

    assert first.status_code == 201, first.content
    assert (second.status_code, second.json()) == (201, first.json())
    assert second["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert model.objects.count() == before + 1


@pytest.mark.parametrize(("url", "scope", "make_body", "model"), CASES, ids=[c[1] for c in CASES])
def test_the_schema_documents_the_header(client, url, scope, make_body, model):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)

    parameters = schema["paths"][url]["post"].get("parameters", [])
    assert "Idempotency-Key" in [p["name"] for p in parameters]
