"""/api/v1/followups/: filters, use-case actions, access, errors, query counts."""

from datetime import timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from followups import services, sweep
from followups.models import FollowUp
from tests.factories import CustomerFactory, InteractionFactory
from tests.followups.conftest import MONDAY_10_NY

DUE = MONDAY_10_NY + timedelta(hours=4)
URL = "/api/v1/followups/"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(MONDAY_10_NY, tick=False):
        yield


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _promise(customer, owner, **kwargs):
    kwargs.setdefault("due_at", DUE)
    return services.followup_promise(customer=customer, owner=owner, action="Call back", **kwargs)


def test_create_from_a_phrase(customer, rep):
    response = _client(rep).post(
        URL,
        {"customer": customer.pk, "action": "Send the quote", "due_phrase": "by Friday"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["due_at"] == "2026-11-20T22:00:00Z"
    assert body["due_at_team_local"] == "2026-11-20T17:00:00-05:00"
    assert body["due_at_customer_local"] == "2026-11-20T22:00:00+00:00"
    assert body["channel"] == "email"
    assert [event["kind"] for event in body["events"]] == ["created"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"action": "x", "due_phrase": "whenever"}, "due_phrase"),
        ({"action": "x"}, "due_at"),
        ({"action": "", "due_phrase": "by Friday"}, "action"),
        ({"action": "x", "due_at": "not a date"}, "due_at"),
        ({"action": "x", "due_phrase": "by Friday", "priority": "vip"}, "priority"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(customer, rep, payload, field):
    response = _client(rep).post(URL, {"customer": customer.pk, **payload}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]
    assert FollowUp.objects.count() == 0


def test_list_filters(customer, rep, other_rep, team, django_assert_max_num_queries):
    overdue = _promise(customer, rep, due_at=MONDAY_10_NY + timedelta(minutes=5))
    later = _promise(customer, other_rep, due_at=DUE + timedelta(days=3))
    other_customer = _promise(CustomerFactory(), rep)
    sweep.followup_sweep(now=MONDAY_10_NY + timedelta(minutes=10))
    client = _client(rep)

    def ids(query: str) -> list[int]:
        response = client.get(URL + query)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids("?overdue=true") == [overdue.pk]
    assert ids(f"?owner={other_rep.pk}") == [later.pk]
    assert ids(f"?customer={other_customer.customer_id}") == [other_customer.pk]
    assert ids(f"?team={team.pk}&due_before=2026-11-17T00:00:00Z") == [
        overdue.pk,
        other_customer.pk,
    ]
    assert ids("?status=done") == []
    for bad in ("?overdue=maybe", "?owner=abc", "?due_before=yesterday", "?status=lost"):
        assert client.get(URL + bad).status_code == 400


def test_list_query_count_is_constant(customer, rep, django_assert_max_num_queries):
    for _ in range(3):
        _promise(customer, rep)
    client = _client(rep)
    client.get(URL)  # warm the session
    # With the count's EXPLAIN before its capped COUNT (core.pagination).
    with django_assert_max_num_queries(9) as few:
        client.get(URL)
    for _ in range(20):
        _promise(CustomerFactory(), rep)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL)

    assert response.json()["count"] == 23


def test_promises_are_team_private(customer, rep, outsider, admin_user):
    followup = _promise(customer, rep)

    assert _client(outsider).get(URL).json()["results"] == []
    assert _client(outsider).get(f"{URL}{followup.pk}/").status_code == 404
    assert _client(outsider).post(f"{URL}{followup.pk}/complete/", {}).status_code == 404
    assert [r["id"] for r in _client(admin_user).get(URL).json()["results"]] == [followup.pk]


def test_complete_with_the_keeping_interaction(customer, rep):
    followup = _promise(customer, rep)
    call = InteractionFactory(customer=customer, rep=rep, occurred_at=MONDAY_10_NY)

    response = _client(rep).post(
        f"{URL}{followup.pk}/complete/",
        {"note": "Called", "interaction": call.pk},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["is_kept_on_time"], body["kept_by_interaction"]) == (
        "done",
        True,
        call.pk,
    )
    again = _client(rep).post(f"{URL}{followup.pk}/complete/", {}, format="json")
    assert again.status_code == 409  # valid, but the promise's state refuses it
    assert again.json() == {
        "code": "conflict",
        "detail": "This promise is already done.",
        "errors": {"status": ["This promise is already done."]},
    }


def test_reassign_renegotiate_cancel(customer, rep, other_rep, supervisor, outsider):
    followup = _promise(customer, rep)
    client = _client(rep)

    reassigned = client.post(
        f"{URL}{followup.pk}/reassign/", {"owner": other_rep.pk}, format="json"
    )
    renegotiated = _client(other_rep).post(
        f"{URL}{followup.pk}/renegotiate/", {"due_phrase": "within 2 business days"}, format="json"
    )
    refused = _client(supervisor).post(
        f"{URL}{followup.pk}/reassign/", {"owner": outsider.pk}, format="json"
    )
    no_reason = client.post(f"{URL}{followup.pk}/cancel/", {"reason": ""}, format="json")
    cancelled = client.post(f"{URL}{followup.pk}/cancel/", {"reason": "Duplicate"}, format="json")

    assert reassigned.status_code == 200
    assert reassigned.json()["owner"] == other_rep.pk
    assert renegotiated.status_code == 200
    assert renegotiated.json()["due_at"] == "2026-11-17T22:00:00Z"
    assert renegotiated.json()["renegotiation_count"] == 1
    assert refused.status_code == 400
    assert "owner" in refused.json()["errors"]
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()["errors"]
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert [e["kind"] for e in cancelled.json()["events"]] == [
        "created",
        "reassigned",
        "renegotiated",
        "cancelled",
    ]


def test_a_teammate_cannot_take_a_promise_over(customer, rep, other_rep):
    followup = _promise(customer, rep)

    response = _client(other_rep).post(
        f"{URL}{followup.pk}/reassign/", {"owner": other_rep.pk}, format="json"
    )

    assert response.status_code == 403
    followup.refresh_from_db()
    assert followup.owner == rep


def test_schema_documents_the_actions(client, admin_user):
    client.force_login(admin_user)
    schema = client.get("/api/schema/?format=json").json()

    for action in ("complete", "reassign", "renegotiate", "cancel"):
        operation = schema["paths"][f"/api/v1/followups/{{id}}/{action}/"]["post"]
        assert operation["requestBody"]["content"]["application/json"]["examples"]
    names = {p["name"] for p in schema["paths"]["/api/v1/followups/"]["get"]["parameters"]}
    assert {"overdue", "owner", "team", "customer", "due_before", "status"} <= names


def test_api_clients_are_limited_by_their_scopes(customer, rep):
    from tests.api_clients.helpers import bearer_client

    followup = _promise(customer, rep)
    _, reader, _ = bearer_client("followups:read", name="reader")
    _, writer, _ = bearer_client("followups:read", "followups:write", name="writer")

    assert [row["id"] for row in reader.get(URL).json()["results"]] == [followup.pk]
    assert reader.post(f"{URL}{followup.pk}/complete/", {}, format="json").status_code == 403
    no_owner = writer.post(
        URL, {"customer": customer.pk, "action": "x", "due_phrase": "by Friday"}, format="json"
    )
    assert no_owner.status_code == 400
    assert "owner" in no_owner.json()["errors"]
    created = writer.post(
        URL,
        {"customer": customer.pk, "action": "x", "due_phrase": "by Friday", "owner": rep.pk},
        format="json",
    )
    assert created.status_code == 201, created.json()
    done = writer.post(f"{URL}{followup.pk}/complete/", {"note": "via API"}, format="json")
    assert done.status_code == 200
    assert done.json()["status"] == "done"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(phrase=st.text(max_size=120))
def test_any_due_phrase_is_a_201_or_a_400_naming_it(customer, rep, phrase):
    response = _client(rep).post(
        URL, {"customer": customer.pk, "action": "Call back", "due_phrase": phrase}, format="json"
    )

    assert response.status_code in (201, 400), response.content[:500]
    if response.status_code == 400:
        assert set(response.json()["errors"]) <= {"due_phrase", "due_at"}


def test_ordering_is_whitelisted(customer, rep):
    first = _promise(customer, rep, due_at=DUE)
    second = _promise(customer, rep, due_at=DUE + timedelta(hours=1))
    client = _client(rep)

    newest_due_first = client.get(URL + "?ordering=-due_at").json()["results"]
    refused = client.get(URL + "?ordering=customer__full_name")

    assert [row["id"] for row in newest_due_first] == [second.pk, first.pk]
    assert refused.status_code == 400
    assert "ordering" in refused.json()["errors"]


def test_detail_query_count_does_not_grow_with_history(customer, rep, other_rep, supervisor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    quiet = _promise(customer, rep)
    busy = _promise(customer, rep)
    for owner in (other_rep, rep, other_rep, rep):
        services.followup_reassign(followup_id=busy.pk, new_owner=owner, user=supervisor)
    client = _client(rep)
    client.get(f"{URL}{quiet.pk}/")

    with CaptureQueriesContext(connection) as few:
        client.get(f"{URL}{quiet.pk}/")
    with CaptureQueriesContext(connection) as many:
        response = client.get(f"{URL}{busy.pk}/")

    assert len(response.json()["events"]) == 5
    assert len(many.captured_queries) == len(few.captured_queries)
