"""The probe's low findings: recording URL schemes, deep JSON, the browsable API,
far-future due times (tests/security/test_time_window_writes.py) and address-wide
login lockout."""

import json
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from crm.models import TeamMembership
from interactions.models import Interaction
from interactions.sources.twilio import signature_compute
from tests import factories
from tests.contract.twilio_fixtures import ACCOUNT_SID, AUTH_TOKEN, callback

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db

BAD_RECORDING_URLS = [
    "javascript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "http://pbx.example.com/rec/1.wav",
]


def _twilio_post(client, params):
    url = "http://testserver/api/v1/integrations/twilio/voice/"
    return client.post(
        "/api/v1/integrations/twilio/voice/",
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature_compute(url, list(params.items()), AUTH_TOKEN),
    )


@pytest.mark.parametrize("url", BAD_RECORDING_URLS)
def test_signed_twilio_callback_with_a_non_https_recording_is_refused(client, url):
    call_command("add_twilio_account", account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, stdout=None)

    response = _twilio_post(client, callback("completed", 3, RecordingUrl=url))

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"recording_url"}
    assert Interaction.objects.count() == 0


def test_signed_twilio_callback_with_an_https_recording_is_kept(client):
    call_command("add_twilio_account", account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, stdout=None)
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"

    response = _twilio_post(client, callback("completed", 3, RecordingUrl=url))

    assert response.status_code == 204
    assert Interaction.objects.get().recording_url == url


@pytest.mark.parametrize("url", BAD_RECORDING_URLS)
def test_api_refuses_a_non_https_recording_url(rep_a, url):
    http = APIClient()
    http.force_login(rep_a)
    body = {
        "customer": factories.CustomerFactory().pk,
        "channel": "phone",
        "direction": "inbound",
        "occurred_at": "2026-03-05T10:00:00Z",
        "recording_url": url,
    }

    created = http.post("/api/v1/interactions/", body, format="json")

    assert created.status_code == 400
    assert set(created.json()["errors"]) == {"recording_url"}


def test_http_recordings_are_accepted_where_configured(rep_a, settings):
    settings.RECORDING_URL_ALLOW_HTTP = True
    http = APIClient()
    http.force_login(rep_a)
    body = {
        "customer": factories.CustomerFactory().pk,
        "channel": "phone",
        "direction": "inbound",
        "occurred_at": "2026-03-05T10:00:00Z",
        "recording_url": "http://pbx.example.com/rec/1.wav",
    }

    assert http.post("/api/v1/interactions/", body, format="json").status_code == 201


def test_a_stored_javascript_recording_is_never_a_link(client_for, rep_a, team_a):
    interaction = factories.InteractionFactory(rep=rep_a, team=team_a)
    Interaction.objects.filter(pk=interaction.pk).update(recording_url="javascript:alert(1)")

    html = (
        client_for(rep_a)
        .get(f"/interactions/customers/{interaction.customer_id}/timeline/")
        .content.decode()
    )

    assert "javascript:" not in html
    assert "recording (link not https, hidden)" in html


@pytest.mark.parametrize("depth", [100, 2_000, 50_000])
def test_deeply_nested_json_is_a_400_json_answer(rep_a, depth):
    http = APIClient()
    http.force_login(rep_a)
    body = "[" * depth + "]" * depth

    response = http.generic("POST", "/api/v1/interactions/", body, "application/json")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "nested" in response.json()["detail"]


def test_moderately_nested_json_still_parses(rep_a):
    http = APIClient()
    http.force_login(rep_a)

    response = http.generic(
        "POST", "/api/v1/interactions/sync/", json.dumps({"records": [[[[1]]]]}), "application/json"
    )

    assert response.status_code != 500
    assert "nested" not in json.dumps(response.json())


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/customers/{customer}/",
        "/api/v1/customers/",
        "/api/v1/interactions/{interaction}/",
        "/api/v1/followups/{followup}/",
    ],
)
def test_browsable_api_renders(world, url):
    client = Client()
    client.force_login(world["users"]["admin"])

    response = client.get(
        url.format(
            customer=world["customer"].pk,
            interaction=world["interaction"].pk,
            followup=world["followup"].pk,
        ),
        HTTP_ACCEPT="text/html",
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def _attempt(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def _users(team, count: int) -> list[str]:
    names = [f"spray_{n}" for n in range(count)]
    for name in names:
        user = factories.UserFactory(username=name)
        user.set_password(PASSWORD)
        user.save()
        factories.TeamMembershipFactory(team=team, user=user, role=TeamMembership.Role.REP)
    return names


def test_failures_spread_over_usernames_lock_the_address(settings, team_a):
    names = _users(team_a, 10)
    per_user = settings.AXES_FAILURE_LIMIT - 1  # never enough to lock one username
    guesser = Client()
    spread = [
        _attempt(guesser, name, f"guess-{n}").status_code
        for name in names[:-1]
        for n in range(per_user)
    ]  # 9 users x 4: the probe's 36 tries

    right_from_there = _attempt(Client(), names[-1], PASSWORD)
    right_from_elsewhere = Client(REMOTE_ADDR="10.9.8.7").post(
        "/accounts/login/", {"username": names[-1], "password": PASSWORD}
    )

    assert 429 in spread
    assert spread.index(429) == settings.AXES_IP_FAILURE_LIMIT - 1
    assert right_from_there.status_code == 429
    assert right_from_elsewhere.status_code == 302


def test_an_insiders_own_login_does_not_reset_the_address_count(settings, team_a):
    names = _users(team_a, 8)
    guesser = Client()
    per_user = settings.AXES_FAILURE_LIMIT - 1
    for name in names[:-1]:
        for n in range(per_user):
            _attempt(guesser, name, f"guess-{n}")
        _attempt(Client(), names[-1], PASSWORD)  # the insider logs in as themselves

    assert _attempt(Client(), names[0], PASSWORD).status_code == 429
