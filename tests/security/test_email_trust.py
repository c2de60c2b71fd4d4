"""Inbound e-mail is not taken on its word: outbound only through the team's outgoing
mail gateway; threading into a customer's matter only for the customer or a participant."""

import pytest

from crm.models import ContactPoint
from interactions.models import Interaction
from tests import factories
from tests.api_clients.helpers import bearer_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/interactions/email/"


def _mail(sender: str, message_id: str, *, to: str = "support@rapport.example", extra=b""):
    return (
        (
            f"From: {sender}\r\nTo: {to}\r\nSubject: Order 42\r\nMessage-ID: <{message_id}>\r\n"
            "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
        ).encode()
        + extra
        + b"\r\nHello\r\n"
    )


def _post(http, raw: bytes) -> dict:
    response = http.generic("POST", URL, raw, content_type="message/rfc822")
    assert response.status_code == 201, response.content
    return response.json()["interaction"]


@pytest.fixture
def maria(db):
    team = factories.TeamFactory(name="Support")
    user = factories.UserFactory(username="maria", email="maria@rapport.example")
    factories.TeamMembershipFactory(team=team, user=user)
    return user


@pytest.fixture
def ann(db):
    customer = factories.CustomerFactory(full_name="Ann Lee")
    factories.ContactPointFactory(
        customer=customer, kind=ContactPoint.Kind.EMAIL, value="ann.lee@example.com"
    )
    return customer


@pytest.fixture
def inbox(db):
    return bearer_client("interactions:write", name="inbound-mail")[1]


@pytest.fixture
def gateway(db):
    return bearer_client("interactions:write", "email:outbound", name="outgoing-mail")[1]


def test_a_spoofed_rep_sender_is_inbound_and_names_no_rep(inbox, maria, ann):
    logged = _post(inbox, _mail("Maria <maria@rapport.example>", "s1@x", to="ann.lee@example.com"))

    assert logged["direction"] == "inbound"
    assert logged["rep"] is None
    assert logged["customer"] is None


def test_the_outgoing_gateway_logs_the_reps_outbound_mail(gateway, maria, ann):
    logged = _post(gateway, _mail("maria@rapport.example", "o1@x", to="ann.lee@example.com"))

    assert logged["direction"] == "outbound"
    assert logged["rep"] == maria.pk
    assert logged["customer"] == ann.pk


def test_a_strangers_reply_to_a_customers_thread_lands_unmatched(inbox, ann):
    first = _post(inbox, _mail("ann.lee@example.com", "t1@example.com"))

    stranger = _post(
        inbox,
        _mail(
            "mallory@evil.example", "t2@evil.example", extra=b"In-Reply-To: <t1@example.com>\r\n"
        ),
    )

    assert first["customer"] == ann.pk
    assert stranger["customer"] is None
    assert stranger["matter"] is None
    assert Interaction.objects.filter(customer=ann).count() == 1


def test_a_participant_of_the_thread_joins_it(inbox, ann):
    first = _post(
        inbox,
        _mail("ann.lee@example.com", "p1@example.com", extra=b"Cc: bob.lee@example.com\r\n"),
    )

    reply = _post(
        inbox,
        _mail("bob.lee@example.com", "p2@example.com", extra=b"In-Reply-To: <p1@example.com>\r\n"),
    )

    assert reply["customer"] == ann.pk
    assert reply["matter"] == first["matter"]
