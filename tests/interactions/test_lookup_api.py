"""Caller-ID lookup GET /api/v1/lookup/ (followups/lookup_api.py)."""

from datetime import timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from crm.models import ProfileFact
from followups.models import FollowUp
from tests import factories
from tests.api_clients.helpers import bearer_client

URL = "/api/v1/lookup/"


def lookup(http, **params):
    return http.get(f"{URL}?{urlencode(params)}")


def caller(*, phone="+14155552671", email="jane@example.com", n_interactions=7, team=None):
    customer = factories.CustomerFactory(
        full_name="Jane Doe",
        preferred_name="Jay",
        time_zone="America/Los_Angeles",
        preferred_language="es",
        pronunciation="JAY",
    )
    factories.ContactPointFactory(customer=customer, value=phone)
    factories.ContactPointFactory(customer=customer, kind="email", value=email, label="work")
    now = timezone.now()
    for category, text, pinned, deleted in [
        ("family", "Daughter Mia", True, None),
        ("work", "Works nights", False, None),
        ("interests", "Gone fact", True, now),
    ]:
        ProfileFact.objects.create(
            customer=customer,
            category=category,
            text=text,
            is_pinned=pinned,
            recorded_at=now,
            deleted_at=deleted,
        )
    interactions = [
        factories.InteractionFactory(customer=customer, occurred_at=now - timedelta(days=i))
        for i in range(n_interactions)
    ]
    promise = factories.FollowUpFactory(
        customer=customer, team=team, action="Call back about refund"
    )
    factories.FollowUpFactory(
        customer=customer, team=team, status="done", next_action_at=None, completed_at=now
    )
    return customer, interactions, promise


@pytest.fixture
def full_client(db):
    return bearer_client("customers:read", "interactions:read", "followups:read", name="screenpop")[
        1
    ]


@pytest.mark.parametrize(
    "phone", ["(415) 555-2671", "+1 415 555 2671", "4155552671", "+14155552671"]
)
def test_finds_caller_by_phone_in_any_format(full_client, phone):
    customer, interactions, promise = caller()

    with time_machine.travel(timezone.now(), tick=False):
        response = lookup(full_client, phone=phone)
        expected_local = (
            timezone.now().astimezone(ZoneInfo("America/Los_Angeles")).isoformat(timespec="seconds")
        )

    (found,) = response.json()["results"]
    assert response.status_code == 200
    assert (
        found["id"],
        found["display_name"],
        found["pronunciation"],
        found["preferred_language"],
    ) == (customer.pk, "Jay", "JAY", "es")
    assert found["local_time"] == expected_local
    assert [f["text"] for f in found["pinned_facts"]] == ["Daughter Mia"]
    assert [i["id"] for i in found["recent_interactions"]] == [i.pk for i in interactions[:5]]
    assert [p["id"] for p in found["open_promises"]] == [promise.pk]


def test_finds_caller_by_email_case_insensitively(full_client):
    customer, _, _ = caller()

    response = lookup(full_client, email="JANE@Example.com")

    assert [c["id"] for c in response.json()["results"]] == [customer.pk]


def test_unknown_number_finds_nobody(full_client):
    caller()

    assert lookup(full_client, phone="+442079460958").json()["results"] == []
    assert lookup(full_client, phone="client:alice").json()["results"] == []


@pytest.mark.parametrize("params", [{}, {"phone": "1", "email": "a@b.c"}, {"phone": "  "}])
def test_exactly_one_of_phone_or_email(full_client, params):
    response = lookup(full_client, **params)

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"phone", "email"}


def test_client_with_only_customers_read_gets_no_interactions_or_promises(db):
    caller()
    _, http, _ = bearer_client("customers:read", name="basic")

    (found,) = lookup(http, phone="4155552671").json()["results"]

    assert found["recent_interactions"] is None
    assert found["open_promises"] is None
    assert [f["text"] for f in found["pinned_facts"]] == ["Daughter Mia"]


def test_session_rep_sees_only_their_teams_promises(db, client):
    mine, theirs = factories.TeamFactory(), factories.TeamFactory()
    rep = factories.UserFactory()
    factories.TeamMembershipFactory(user=rep, team=mine)
    customer, _, other_team_promise = caller(team=theirs)
    own = factories.FollowUpFactory(customer=customer, team=mine, action="Send form")
    client.force_login(rep)

    (found,) = lookup(client, phone="4155552671").json()["results"]

    assert [p["id"] for p in found["open_promises"]] == [own.pk]
    assert other_team_promise.pk not in [p["id"] for p in found["open_promises"]]


def test_query_count_is_constant_in_customers_and_rows(full_client, django_assert_max_num_queries):
    # A shared household line: several customers with the same number.
    for n in range(4):
        caller(email=f"p{n}@example.com", n_interactions=8)

    # 6 reads plus one INSERT of the audit entries for every customer shown.
    with django_assert_max_num_queries(7):
        response = lookup(full_client, phone="4155552671")

    assert len(response.json()["results"]) == 4
    assert all(len(c["recent_interactions"]) == 5 for c in response.json()["results"])
    assert FollowUp.objects.count() == 8


def test_every_customer_a_screen_pop_shows_is_audited_as_viewed(full_client):
    from core.models import AuditEntry

    first, _, _ = caller(email="a@example.com", n_interactions=1)
    second, _, _ = caller(email="b@example.com", n_interactions=1)
    unrelated, _, _ = caller(phone="+14155550199", email="c@example.com", n_interactions=1)

    response = lookup(full_client, phone="(415) 555-2671")

    assert response.status_code == 200
    viewed = AuditEntry.objects.filter(action="customer.viewed", details__via="lookup")
    assert sorted(viewed.values_list("customer_id", flat=True)) == sorted([first.pk, second.pk])
    assert not viewed.filter(customer_id=unrelated.pk).exists()


def test_a_caller_reads_the_same_alone_or_on_a_shared_line(full_client):
    alone, _, _ = caller(phone="+14155550123", email="alone@example.com")
    factories.ContactPointFactory(customer=alone, value="+14155552671", is_primary=False)
    caller(email="housemate@example.com", n_interactions=3)

    (by_own_number,) = lookup(full_client, phone="+14155550123").json()["results"]
    shared = lookup(full_client, phone="+14155552671").json()["results"]

    assert len(shared) == 2
    on_shared_line = next(c for c in shared if c["id"] == alone.pk)
    for key in ("pinned_facts", "recent_interactions", "open_promises"):
        assert on_shared_line[key] == by_own_number[key]
    assert len(by_own_number["recent_interactions"]) == 5
