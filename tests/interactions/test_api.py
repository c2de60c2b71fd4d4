"""/api/v1/interactions/ and /api/v1/customers/{id}/timeline/."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from interactions import services
from interactions.models import Interaction, Matter
from tests import factories
from tests.api_clients.helpers import bearer_client

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
URL = "/api/v1/interactions/"


def log(customer, hours_ago=1, **kwargs):
    arguments = {"channel": "phone", "direction": "inbound"}
    arguments.update(kwargs)
    return services.interaction_log(
        customer=customer, occurred_at=NOW - timedelta(hours=hours_ago), **arguments
    )


def valid_body(customer, /, **overrides):
    body = {
        "customer": customer.pk,
        "channel": "phone",
        "direction": "inbound",
        "occurred_at": "2026-03-10T11:00:00Z",
        "duration_seconds": 240,
        "subject": "Bill too high",
        "summary": "Explained the tariff.",
        "outcome": "resolved",
        "category": "complaint",
        "sentiment": -1,
        "from_number": "(415) 555-2671",
    }
    body.update(overrides)
    return body


def test_create_logs_for_the_rep_with_details(rep_client, rep, customer, team):
    with time_machine.travel(NOW, tick=False):
        response = rep_client.post(URL, valid_body(customer), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["rep"] == rep.pk
    assert body["team"] == team.pk
    assert body["from_number"] == "+14155552671"
    assert body["category"] == "complaint"
    assert body["matter_status"] == "resolved"
    assert body["is_repeat_contact"] is False
    assert Interaction.objects.get().duration_seconds == 240


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"occurred_at": "2026-03-10T13:00:00+02:00", "category": None, "outcome": ""},
        {"ended_at": "2026-03-10T11:05:00Z", "to_number": "+1 415 555 0100"},
    ],
)
def test_create_answers_what_a_read_of_the_row_shows(rep_client, customer, overrides):
    with time_machine.travel(NOW, tick=False):
        created = rep_client.post(URL, valid_body(customer, **overrides), format="json")
        read = rep_client.get(f"{URL}{created.json()['id']}/")

    assert created.status_code == 201, created.json()
    assert created.json() == read.json()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"direction": "up"}, "direction"),
        ({"duration_seconds": -1}, "duration_seconds"),
        ({"occurred_at": "2026-03-11T12:00:00Z"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"ended_at": "2026-03-10T10:00:00Z"}, "ended_at"),
        ({"category": "gossip"}, "category"),
        ({"sentiment": 5}, "sentiment"),
        ({"customer": 999999}, "customer"),
        ({"customer": 2**70}, "customer"),
        ({"customer": True}, "customer"),
        ({"customer": "abc"}, "customer"),
        ({"customer": "12\x00"}, "customer"),
        ({"customer": 1.5}, "customer"),
        ({"customer": [1]}, "customer"),
        ({"customer": None}, "customer"),
        ({"colour": "red"}, "colour"),
        ({"recording_url": "not a url"}, "recording_url"),
    ],
)
def test_create_bad_input_is_400_naming_the_field(rep_client, customer, overrides, field):
    with time_machine.travel(NOW, tick=False):
        response = rep_client.post(URL, valid_body(customer, **overrides), format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"], body
    assert Interaction.objects.count() == 0
    assert Matter.objects.count() == 0


def test_create_refuses_the_customer_id_as_a_string(rep_client, customer):
    """The schema says integer: "42" is a client's bug to name, not to guess around."""
    with time_machine.travel(NOW, tick=False):
        response = rep_client.post(
            URL, valid_body(customer, customer=str(customer.pk)), format="json"
        )

    assert response.status_code == 400
    assert response.json()["errors"] == {"customer": ["Expected an integer, got a string."]}
    assert Interaction.objects.count() == 0


def test_two_responses_do_not_share_serializer_state(rep_client, customer):
    """The response serializer's fields are built once per class (core.serializer_fields):
    each request still gets its own bound copies."""
    with time_machine.travel(NOW, tick=False):
        first = rep_client.post(URL, valid_body(customer, summary="first"), format="json")
        second = rep_client.post(URL, valid_body(customer, summary="second"), format="json")

    assert (first.json()["summary"], second.json()["summary"]) == ("first", "second")
    assert first.json()["notes"] == "first"
    assert first.json()["id"] != second.json()["id"]


def test_list_filters(rep_client, rep, customer, team):
    other_rep = factories.UserFactory()
    with time_machine.travel(NOW, tick=False):
        call = log(customer, 5, rep=rep, team=team, category="complaint")
        mail = log(customer, 3, channel="email", rep=other_rep, category="question")
        other = log(factories.CustomerFactory(), 1, channel="email")

    def ids(**params):
        response = rep_client.get(URL, params)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [other.pk, mail.pk, call.pk]
    assert ids(customer=customer.pk) == [mail.pk, call.pk]
    assert ids(channel="email") == [other.pk, mail.pk]
    assert ids(rep=rep.pk) == [call.pk]
    assert ids(team=team.pk) == [call.pk]
    assert ids(category="question") == [mail.pk]
    assert ids(occurred_after="2026-03-10T08:00:00Z", occurred_before="2026-03-10T10:00:00Z") == [
        mail.pk
    ]


def test_updated_since_is_a_change_feed(rep_client, customer):
    with time_machine.travel(NOW - timedelta(hours=2), tick=False):
        old = log(customer, 3)
    with time_machine.travel(NOW - timedelta(minutes=30), tick=False):
        new = log(customer, 1)

    with time_machine.travel(NOW, tick=False):
        response = rep_client.get(URL, {"updated_since": "2026-03-10T11:00:00Z"})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [new.pk]
    assert old.pk != new.pk


def test_bad_filter_is_400(rep_client):
    response = rep_client.get(URL, {"occurred_after": "soon", "channel": "fax"})

    assert response.status_code == 400
    assert {"occurred_after", "channel"} <= set(response.json()["errors"])


@pytest.mark.parametrize("count", [2, 20])
def test_list_query_count_is_constant(rep_client, customer, count, django_assert_max_num_queries):
    with time_machine.travel(NOW, tick=False):
        for hour in range(count):
            log(customer, hour + 1, category="complaint", rep=factories.UserFactory())

    # The count is priced (EXPLAIN) before it runs (core.pagination): one query more.
    with django_assert_max_num_queries(7):
        response = rep_client.get(URL)

    assert len(response.json()["results"]) == count


def test_read_and_update(rep_client, rep, customer):
    with time_machine.travel(NOW, tick=False):
        interaction = log(customer, category="question", rep=rep)
        read = rep_client.get(f"{URL}{interaction.pk}/")
        patched = rep_client.patch(
            f"{URL}{interaction.pk}/",
            {"subject": "Found it", "outcome": "resolved", "sentiment": 2},
            format="json",
        )
        refused = rep_client.patch(
            f"{URL}{interaction.pk}/", {"customer": customer.pk}, format="json"
        )

    assert read.status_code == 200
    assert read.json()["subject"] == ""
    assert patched.status_code == 200, patched.json()
    assert (patched.json()["subject"], patched.json()["matter_status"]) == ("Found it", "resolved")
    assert refused.status_code == 400
    assert "customer" in refused.json()["errors"]


def test_link_and_unlink_matter(rep_client, rep, customer):
    with time_machine.travel(NOW, tick=False):
        first = log(customer, 5, category="complaint", rep=rep)
        second = log(customer, 1, category="question", rep=rep)
        linked = rep_client.post(
            f"{URL}{second.pk}/matter/", {"matter": first.matter_id}, format="json"
        )
        unlinked = rep_client.post(f"{URL}{second.pk}/matter/", {"matter": None}, format="json")
        bad = rep_client.post(f"{URL}{second.pk}/matter/", {"matter": "x"}, format="json")

    assert linked.json()["matter"] == first.matter_id
    assert linked.json()["is_repeat_contact"] is True
    assert unlinked.json()["matter"] not in (first.matter_id, None)
    assert bad.status_code == 400
    assert "matter" in bad.json()["errors"]


def test_timeline_api_pages_with_cursor(rep_client, customer):
    with time_machine.travel(NOW, tick=False):
        logged = [log(customer, hours) for hours in range(1, 6)]
    url = f"/api/v1/customers/{customer.pk}/timeline/"

    first = rep_client.get(url, {"page_size": 2}).json()
    second = rep_client.get(first["next"]).json()
    third = rep_client.get(second["next"]).json()

    seen = [row["id"] for page in (first, second, third) for row in page["results"]]
    assert seen == [i.pk for i in logged]  # hours ago 1..5: newest first
    assert third["next"] is None


@pytest.mark.parametrize("count", [2, 20])
def test_timeline_api_query_count_is_constant(
    rep_client, customer, count, django_assert_max_num_queries
):
    with time_machine.travel(NOW, tick=False):
        for hour in range(count):
            log(customer, hour + 1, category="complaint", rep=factories.UserFactory())

    with django_assert_max_num_queries(6):
        response = rep_client.get(f"/api/v1/customers/{customer.pk}/timeline/")

    assert len(response.json()["results"]) == count


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"cursor": "nope"}, "cursor"),
        ({"page_size": 0}, "page_size"),
    ],
)
def test_timeline_api_bad_params(rep_client, customer, params, field):
    response = rep_client.get(f"/api/v1/customers/{customer.pk}/timeline/", params)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_timeline_api_unknown_customer_is_404(rep_client):
    assert rep_client.get("/api/v1/customers/999999/timeline/").status_code == 404


def test_api_client_needs_the_interactions_scope(customer):
    with time_machine.travel(NOW, tick=False):
        log(customer)
    _, reader, _ = bearer_client("interactions:read")
    _, outsider, _ = bearer_client("customers:read")

    assert reader.get(URL).status_code == 200
    assert outsider.get(URL).status_code == 403
    refused = reader.post(URL, valid_body(customer), format="json")
    assert refused.status_code == 403
    assert Interaction.objects.count() == 1


def test_user_without_team_is_refused(api_client):
    assert api_client.get(URL).status_code == 403


def test_schema_documents_the_endpoints(rep_client):
    response = rep_client.get("/api/schema/", {"format": "json"})

    paths = response.json()["paths"]
    for path in (
        "/api/v1/interactions/",
        "/api/v1/interactions/{id}/",
        "/api/v1/interactions/{id}/matter/",
        "/api/v1/interactions/email/",
        "/api/v1/customers/{customer_id}/timeline/",
    ):
        assert path in paths, path
    assert (
        "message/rfc822" in paths["/api/v1/interactions/email/"]["post"]["requestBody"]["content"]
    )


def test_reps_change_only_their_own_supervisors_their_teams(rep_client, customer, team):
    from crm.models import TeamMembership

    colleague = factories.UserFactory()
    factories.TeamMembershipFactory(team=team, user=colleague)
    supervisor = factories.UserFactory()
    factories.TeamMembershipFactory(team=team, user=supervisor, role=TeamMembership.Role.SUPERVISOR)
    with time_machine.travel(NOW, tick=False):
        theirs = log(customer, category="question", rep=colleague)

    refused = rep_client.patch(f"{URL}{theirs.pk}/", {"subject": "Mine now"}, format="json")
    refused_link = rep_client.post(f"{URL}{theirs.pk}/matter/", {"matter": None}, format="json")
    boss = APIClient()
    boss.force_login(supervisor)
    allowed = boss.patch(f"{URL}{theirs.pk}/", {"subject": "Checked"}, format="json")

    assert (refused.status_code, refused_link.status_code) == (403, 403)
    assert allowed.status_code == 200
    theirs.refresh_from_db()
    assert theirs.subject == "Checked"
    assert Matter.objects.count() == 1
