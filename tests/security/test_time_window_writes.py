"""Every timestamp that enters is in the window (crm/time_window.py), on every path,
refused per item with an error naming the field; the database holds it too."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from followups.models import FollowUp
from interactions.models import Interaction
from interactions.sources.twilio import signature_compute
from tests import factories
from tests.api_clients.helpers import bearer_client
from tests.contract.asterisk_fixtures import cdr_line
from tests.contract.twilio_fixtures import ACCOUNT_SID, AUTH_TOKEN, callback

pytestmark = pytest.mark.django_db

OUT_OF_WINDOW = [
    "0001-01-01T00:00:00+14:00",  # stored as a BC date before the window
    "9999-12-31T23:59:59-05:00",  # stored in year 10000
    "9999-12-31T23:59:59Z",
    "1969-12-31T23:59:59Z",
]


@pytest.fixture
def rep():
    team = factories.TeamFactory(name="Front Desk")
    user = factories.UserFactory(username="frontdesk")
    factories.TeamMembershipFactory(team=team, user=user)
    return user


@pytest.fixture
def http(rep):
    client = APIClient()
    client.force_login(rep)
    return client


@pytest.mark.parametrize("stamp", OUT_OF_WINDOW)
def test_api_create_refuses_a_time_outside_the_window(http, stamp):
    customer = factories.CustomerFactory()

    response = http.post(
        "/api/v1/interactions/",
        {"customer": customer.pk, "channel": "phone", "direction": "inbound", "occurred_at": stamp},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"occurred_at"}
    assert Interaction.objects.count() == 0


def test_api_update_refuses_a_time_outside_the_window(http, rep):
    interaction = factories.InteractionFactory(rep=rep, team=rep.team_memberships.get().team)
    before = interaction.occurred_at

    response = http.patch(
        f"/api/v1/interactions/{interaction.pk}/",
        {"occurred_at": "1900-01-01T00:00:00Z"},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"occurred_at"}
    interaction.refresh_from_db()
    assert interaction.occurred_at == before


def test_batch_sync_refuses_each_out_of_window_record_and_stores_the_others():
    customer = factories.CustomerFactory()
    _, http, _ = bearer_client("interactions:write", name="dialer")
    good_time = (timezone.now() - timedelta(hours=1)).isoformat()
    records = [
        {
            "source": "dialer",
            "external_id": f"call-{index}",
            "channel": "phone",
            "direction": "inbound",
            "occurred_at": stamp,
            "customer": customer.pk,
        }
        for index, stamp in enumerate([*OUT_OF_WINDOW, good_time])
    ]

    response = http.post("/api/v1/interactions/sync/", {"records": records}, format="json")

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["error"] * len(OUT_OF_WINDOW) + ["created"]
    assert all(set(r["errors"]) == {"occurred_at"} for r in results[:-1])
    assert list(Interaction.objects.values_list("external_id", flat=True)) == [
        f"call-{len(OUT_OF_WINDOW)}"
    ]


def test_asterisk_cdr_refuses_a_line_outside_the_window_and_keeps_the_others():
    from interactions.models import AsteriskSource

    AsteriskSource.objects.create(name="hq")  # the sample cdr.conf: 18 columns, UTC
    _, http, _ = bearer_client("interactions:write", name="pbx")
    text = "\n".join(
        [
            cdr_line(
                start="0001-01-01 00:00:00",
                answer="0001-01-01 00:00:04",
                end="0001-01-01 00:03:08",
                uniqueid="1.1",
            ),
            cdr_line(
                start="9999-12-31 23:59:59",
                answer="9999-12-31 23:59:59",
                end="9999-12-31 23:59:59",
                uniqueid="1.2",
            ),
            cdr_line(uniqueid="1.3"),
        ]
    )

    response = http.post(
        "/api/v1/integrations/asterisk/cdr/?source=hq", data=text.encode(), content_type="text/csv"
    )

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["error", "error", "created"]
    assert set(results[0]["errors"]) == {"occurred_at"}
    assert set(results[1]["errors"]) == {"occurred_at"}
    assert Interaction.objects.count() == 1


def _twilio_post(client, params):
    url = "http://testserver/api/v1/integrations/twilio/voice/"
    return client.post(
        "/api/v1/integrations/twilio/voice/",
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature_compute(url, list(params.items()), AUTH_TOKEN),
    )


@pytest.mark.parametrize(
    "stamp", ["Fri, 31 Dec 9999 23:59:59 -0500", "Mon, 01 Jan 1900 00:00:00 +0000"]
)
def test_twilio_callback_outside_the_window_is_400_naming_the_field(client, stamp):
    call_command("add_twilio_account", account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, stdout=None)

    response = _twilio_post(client, callback("ringing", 0, Timestamp=stamp))

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"occurred_at"}
    assert Interaction.objects.count() == 0


def test_email_with_a_date_before_the_window_is_400_naming_the_date(http):
    raw = (
        b"From: Jane <jane@example.com>\r\nTo: support@rapport.example\r\n"
        b"Subject: Old\r\nDate: Mon, 01 Jan 1900 10:00:00 +0000\r\n"
        b"Message-ID: <old-1@example.com>\r\n\r\nHello\r\n"
    )

    response = http.generic("POST", "/api/v1/interactions/email/", raw, "message/rfc822")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"date"}
    assert Interaction.objects.count() == 0


@pytest.mark.parametrize("due_at", ["9999-12-31T23:59:59Z", "2100-01-01T00:00:00Z"])
def test_followup_due_far_ahead_is_400_naming_due_at(http, due_at):
    customer = factories.CustomerFactory()

    response = http.post(
        "/api/v1/followups/",
        {"customer": customer.pk, "action": "Call back", "due_at": due_at},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"due_at"}
    assert FollowUp.objects.count() == 0


def test_database_refuses_times_outside_the_stored_window():
    interaction = factories.InteractionFactory()
    followup = factories.FollowUpFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Interaction.objects.filter(pk=interaction.pk).update(
            occurred_at=datetime(1969, 12, 31, tzinfo=UTC)
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUp.objects.filter(pk=followup.pk).update(due_at=datetime(2200, 1, 1, tzinfo=UTC))


def test_spreadsheet_import_refuses_a_row_outside_the_window_and_keeps_the_others():
    from crm import services as crm_services
    from spreadsheets.interaction_import import interactions_import

    crm_services.customer_create(full_name="Anna Schmidt", phones=["+491712345678"])
    history = (
        b"Date;Phone;Type;Direction;Notes\n"
        b"05/03/1901 14:30;0171 2345678;Call;In;Long ago\n"
        b"31/12/9999 23:59;0171 2345678;Call;In;Far ahead\n"
        b"05/03/2025 14:30;0171 2345678;Call;In;Asked about the bill\n"
    )

    result = interactions_import(content=history, region="DE", time_zone="Europe/Berlin")

    assert [row.status for row in result.rows] == ["error", "error", "created"]
    assert Interaction.objects.count() == 1
