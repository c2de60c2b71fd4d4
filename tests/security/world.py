"""The world the access tests act in, and how to address it (shared by the matrix and CSRF tests)."""

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.utils import timezone

from core.models import ApiClient
from crm.models import ConsentRecord, ProfileFact, TeamMembership
from spreadsheets.models import CustomerImport
from tests import factories

from .access_matrix import Entry

ALL_SCOPES = tuple(ApiClient.Scope.values)
# Team A's promise text: must never reach anyone outside team A (but admins).
TEAM_A_SECRET = "Refund Quetzalcoatl deposit for team A"
DEFAULT_PARAMS = {
    "pk": "customer",
    "customer_pk": "customer",
    "customer_id": "customer",
    "fact_id": "fact",
    "contact_point_id": "contact_point",
    "interaction_id": "interaction",
    "followup_id": "followup",
    "customer_import_id": "customer_import",
}


@pytest.fixture
def world(db):
    """Team A (rep, supervisor) owns customer C's interaction and promise; team B has a rep."""
    team_a = factories.TeamFactory(name="Team A")
    team_b = factories.TeamFactory(name="Team B")
    rep = factories.UserFactory(username="matrix_rep")
    other = factories.UserFactory(username="matrix_rep_b")
    supervisor = factories.UserFactory(username="matrix_supervisor")
    supervisor_b = factories.UserFactory(username="matrix_supervisor_b")
    admin = factories.UserFactory(username="matrix_admin", is_staff=True, is_superuser=True)
    factories.TeamMembershipFactory(team=team_a, user=rep, role=TeamMembership.Role.REP)
    factories.TeamMembershipFactory(team=team_b, user=other, role=TeamMembership.Role.REP)
    factories.TeamMembershipFactory(
        team=team_a, user=supervisor, role=TeamMembership.Role.SUPERVISOR
    )
    factories.TeamMembershipFactory(
        team=team_b, user=supervisor_b, role=TeamMembership.Role.SUPERVISOR
    )
    customer = factories.CustomerFactory(full_name="Matrix Customer", owner=rep)
    customer_b = factories.CustomerFactory(full_name="Matrix Duplicate")
    contact_point = factories.ContactPointFactory(customer=customer, value="+14155550142")
    fact = ProfileFact.objects.create(
        customer=customer, text="Matrix fact", recorded_by=rep, recorded_at=timezone.now()
    )
    ConsentRecord.objects.create(
        customer=customer,
        channel="email",
        status="granted",
        method="verbal",
        recorded_at=timezone.now(),
    )
    interaction = factories.InteractionFactory(customer=customer, rep=rep, team=team_a)
    # Overdue and escalated, so it shows on every board, inbox and metric.
    followup = factories.FollowUpFactory(
        customer=customer,
        owner=rep,
        team=team_a,
        origin_interaction=interaction,
        action=TEAM_A_SECRET,
        due_at=timezone.now() - timedelta(days=2),
        next_action_at=timezone.now() + timedelta(hours=1),
        is_overdue=True,
        escalation_level=1,
    )
    from interactions.services import feedback_token_make

    # A finished import: its pages answer the same to every allowed role (a run
    # started by one role's request would change what the next one sees).
    customer_import = CustomerImport.objects.create(
        file_name="matrix.csv",
        content=b"",
        encoding="utf-8",
        delimiter=",",
        header=["Name"],
        mapping=["full_name"],
        region="US",
        status=CustomerImport.Status.DONE,
        phase=CustomerImport.Phase.RUN,
    )
    return {
        "customer_import": customer_import,
        "feedback_token": feedback_token_make(interaction_id=interaction.pk),
        "users": {
            "rep": rep,
            "rep_other_team": other,
            "supervisor": supervisor,
            "supervisor_other_team": supervisor_b,
            "admin": admin,
        },
        "customer": customer,
        "customer_b": customer_b,
        "contact_point": contact_point,
        "fact": fact,
        "interaction": interaction,
        "followup": followup,
        "team_a": team_a,
        "team_b": team_b,
    }


def _url(entry: Entry, world: dict) -> str:
    url = entry.route
    for name in {**DEFAULT_PARAMS, **entry.params}:
        placeholder = "{" + name + "}"
        if placeholder not in url:
            continue
        source = entry.params.get(name, DEFAULT_PARAMS.get(name))
        if source.startswith("="):
            value = source[1:]
        else:
            value = str(getattr(world[source], "pk", world[source]))
        url = url.replace(placeholder, value)
    assert "{" not in url, f"no world object for a parameter of {entry.route}"
    return url + entry.query


def _body(entry: Entry, world: dict) -> tuple[bytes | str, str]:
    """The request body and its content type; "@name" values become world ids."""
    body = entry.body
    if isinstance(body, dict):
        body = {
            key: world[value[1:]].pk if isinstance(value, str) and value.startswith("@") else value
            for key, value in body.items()
        }
    is_api = entry.route.startswith("/api/")
    content_type = entry.content_type or (
        "application/json" if is_api else "application/x-www-form-urlencoded"
    )
    if body is None:
        body = {}
    if isinstance(body, str):
        return body, content_type
    if content_type == "application/json":
        return json.dumps(body), content_type
    return urlencode(body), content_type


def _client_for(role: str, entry: Entry, world: dict) -> Client:
    from core.services import api_client_create

    client = Client()
    if role in world["users"]:
        client.force_login(world["users"][role])
    elif role in ("client_with", "client_without"):
        needed = entry.scopes or ALL_SCOPES
        scopes = needed if role == "client_with" else tuple(set(ALL_SCOPES) - set(entry.scopes))
        issued = api_client_create(name=f"matrix-{role}", scopes=list(scopes))
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {issued.secret}"
    return client


def answer(
    role: str, entry: Entry, world: dict, *, csrf: str | None = None, enforce_csrf: bool = False
):
    # Each role's request runs in a savepoint that is rolled back, so a
    # DELETE by one role does not turn the next role's answer into a 404.
    with transaction.atomic():
        client = _client_for(role, entry, world)
        client.handler.enforce_csrf_checks = enforce_csrf
        extra = {}
        if csrf is not None:
            client.cookies[settings.CSRF_COOKIE_NAME] = csrf
            extra["HTTP_X_CSRFTOKEN"] = csrf
        data, content_type = _body(entry, world)
        response = client.generic(
            entry.method, _url(entry, world), data=data, content_type=content_type, **extra
        )
        transaction.set_rollback(True)
    return response
