"""Attribution is the caller's: a rep records as themselves in their team; supervisors
for their teams; admins anywhere; API clients name a rep of the team; changes audited."""

import pytest
from rest_framework.test import APIClient

from core.models import AuditEntry
from crm.models import TeamMembership
from interactions.models import Interaction
from tests import factories
from tests.api_clients.helpers import bearer_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/interactions/"


def _http(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _body(customer, **extra) -> dict:
    return {
        "customer": customer.pk,
        "channel": "phone",
        "direction": "inbound",
        "occurred_at": "2026-03-05T10:00:00Z",
        **extra,
    }


@pytest.fixture
def customer(db):
    return factories.CustomerFactory()


def test_rep_cannot_log_in_another_reps_and_teams_name(rep_a, rep_b, team_b, customer):
    response = _http(rep_a).post(URL, _body(customer, rep=rep_b.pk, team=team_b.pk), format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) & {"rep", "team"}
    assert Interaction.objects.count() == 0


def test_rep_cannot_log_in_a_team_they_do_not_belong_to(rep_a, team_b, customer):
    response = _http(rep_a).post(URL, _body(customer, team=team_b.pk), format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"team"}
    assert Interaction.objects.count() == 0


def test_rep_logs_as_themselves_in_their_team(rep_a, team_a, customer):
    response = _http(rep_a).post(URL, _body(customer), format="json")

    assert response.status_code == 201
    assert (response.json()["rep"], response.json()["team"]) == (rep_a.pk, team_a.pk)
    assert not AuditEntry.objects.filter(action="interaction.attributed").exists()


def test_rep_cannot_move_own_interaction_to_another_rep_and_team(rep_a, rep_b, team_a, team_b):
    interaction = factories.InteractionFactory(rep=rep_a, team=team_a)

    response = _http(rep_a).patch(
        f"{URL}{interaction.pk}/", {"rep": rep_b.pk, "team": team_b.pk}, format="json"
    )

    assert response.status_code == 400
    interaction.refresh_from_db()
    assert (interaction.rep_id, interaction.team_id) == (rep_a.pk, team_a.pk)


def test_supervisor_attributes_within_their_team_and_it_is_audited(
    supervisor_a, rep_a, team_a, customer
):
    response = _http(supervisor_a).post(
        URL, _body(customer, rep=rep_a.pk, team=team_a.pk), format="json"
    )

    assert response.status_code == 201
    entry = AuditEntry.objects.get(action="interaction.attributed")
    assert entry.actor == supervisor_a
    assert entry.target_id == str(response.json()["id"])
    assert entry.details["rep"] == [None, rep_a.pk]


def test_supervisor_cannot_attribute_to_a_team_they_do_not_supervise(
    supervisor_a, rep_b, team_b, customer
):
    response = _http(supervisor_a).post(
        URL, _body(customer, rep=rep_b.pk, team=team_b.pk), format="json"
    )

    assert response.status_code == 400
    assert Interaction.objects.count() == 0


def test_supervisor_reassigning_a_rep_is_audited_with_old_and_new(supervisor_a, rep_a, team_a):
    other = factories.UserFactory(username="other_a")
    factories.TeamMembershipFactory(team=team_a, user=other, role=TeamMembership.Role.REP)
    interaction = factories.InteractionFactory(rep=rep_a, team=team_a)

    response = _http(supervisor_a).patch(
        f"{URL}{interaction.pk}/", {"rep": other.pk}, format="json"
    )

    assert response.status_code == 200
    entry = AuditEntry.objects.get(action="interaction.attributed")
    assert entry.details["rep"] == [rep_a.pk, other.pk]
    assert "team" not in entry.details


def test_admin_attributes_anywhere(admin_user, rep_b, team_b, customer):
    response = _http(admin_user).post(
        URL, _body(customer, rep=rep_b.pk, team=team_b.pk), format="json"
    )

    assert response.status_code == 201
    assert AuditEntry.objects.filter(action="interaction.attributed").count() == 1


def test_api_client_names_the_rep_checked_against_the_team(rep_a, team_a, team_b, customer):
    _, http, _ = bearer_client("interactions:write", name="crm-sync")

    wrong = http.post(URL, _body(customer, rep=rep_a.pk, team=team_b.pk), format="json")
    right = http.post(URL, _body(customer, rep=rep_a.pk), format="json")

    assert wrong.status_code == 400
    assert set(wrong.json()["errors"]) == {"team"}
    assert right.status_code == 201
    assert (right.json()["rep"], right.json()["team"]) == (rep_a.pk, team_a.pk)


def test_api_client_moving_an_interaction_is_audited(rep_a, rep_b, team_a, team_b):
    _, http, _ = bearer_client("interactions:write", "interactions:read", name="crm-sync")
    interaction = factories.InteractionFactory(rep=rep_a, team=team_a)

    response = http.patch(
        f"{URL}{interaction.pk}/", {"rep": rep_b.pk, "team": team_b.pk}, format="json"
    )

    assert response.status_code == 200
    entry = AuditEntry.objects.get(action="interaction.attributed")
    assert entry.actor is None
    assert entry.actor_label == "api-client:crm-sync"
    assert entry.details["team"] == [team_a.pk, team_b.pk]
