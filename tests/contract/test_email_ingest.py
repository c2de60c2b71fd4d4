"""Real-format e-mails ingested end to end through POST /api/v1/interactions/email/."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from crm.models import ContactPoint
from interactions.models import Interaction, Matter
from tests import factories
from tests.api_clients.helpers import bearer_client

FIXTURES = Path(__file__).resolve().parent / "email_fixtures"
URL = "/api/v1/interactions/email/"

pytestmark = pytest.mark.django_db


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def rep():
    team = factories.TeamFactory(name="Support")
    user = factories.UserFactory(username="maria", email="Maria@Rapport.example")
    factories.TeamMembershipFactory(team=team, user=user)
    return user


@pytest.fixture
def client(rep):
    client = APIClient()
    client.force_login(rep)
    return client


def customer_with_email(name: str, address: str):
    customer = factories.CustomerFactory(full_name=name)
    factories.ContactPointFactory(customer=customer, kind=ContactPoint.Kind.EMAIL, value=address)
    return customer


def post(client, raw: bytes):
    return client.generic("POST", URL, raw, content_type="message/rfc822")


def test_multipart_alternative_with_encoded_words_takes_the_plain_part(client):
    juergen = customer_with_email("Jürgen Müller", "juergen.mueller@example.de")

    response = post(client, fixture("01_multipart_alternative.eml"))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["created"] is True
    interaction = Interaction.objects.get(pk=body["interaction"]["id"])
    assert interaction.channel == "email"
    assert interaction.direction == "inbound"
    assert interaction.customer == juergen
    assert interaction.subject == "Rechnung zu hoch für März"
    assert interaction.summary == "Hallo,\n\nmeine Rechnung für März ist zu hoch.\n\nGrüße\nJürgen"
    assert interaction.occurred_at == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    assert interaction.email_message_id == "<CAF1234.rechnung@mail.example.de>"
    assert interaction.external_id == "<CAF1234.rechnung@mail.example.de>"
    assert interaction.source == "email"
    assert "Jürgen Müller" in interaction.email_from
    assert interaction.matter is not None


def test_reply_chain_threads_into_one_matter(client, rep):
    ann = customer_with_email("Ann Lee", "ann.lee@example.com")

    # The rep's reply comes through the team's outgoing mail gateway (an API client).
    _, gateway, _ = bearer_client("interactions:write", "email:outbound", name="outgoing-mail")

    first = post(client, fixture("02_chain_1_question.eml")).json()["interaction"]
    reply = post(gateway, fixture("03_chain_2_reply_from_rep.eml")).json()["interaction"]
    again = post(client, fixture("04_chain_3_customer_again.eml")).json()["interaction"]

    assert (first["direction"], reply["direction"], again["direction"]) == (
        "inbound",
        "outbound",
        "inbound",
    )
    assert reply["customer"] == ann.pk  # the customer is the recipient of the rep's reply
    assert reply["rep"] == rep.pk
    assert first["matter"] == reply["matter"] == again["matter"]
    assert [first["is_repeat_contact"], reply["is_repeat_contact"], again["is_repeat_contact"]] == [
        False,
        True,
        True,
    ]
    assert again["email_references"] == ["<chain-1@example.com>", "<chain-2@rapport.example>"]
    matter = Matter.objects.get(pk=first["matter"])
    assert matter.contact_count == 3
    assert Matter.objects.count() == 1


def test_subject_threading_when_no_ids_match(client):
    customer_with_email("Ann Lee", "ann.lee@example.com")
    first = post(client, fixture("02_chain_1_question.eml")).json()["interaction"]
    raw = (
        b"From: ann.lee@example.com\r\nTo: support@rapport.example\r\n"
        b"Subject: SV: RE: Order 42 has  not arrived\r\nMessage-ID: <other@example.com>\r\n"
        b"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nAny news?\r\n"
    )

    reply = post(client, raw).json()["interaction"]

    assert reply["matter"] == first["matter"]
    assert reply["is_repeat_contact"] is True


def test_message_without_message_id_gets_a_stable_id_and_redelivery_is_no_duplicate(client):
    customer_with_email("Ann Lee", "ann.lee@example.com")
    raw = fixture("05_no_message_id.eml")

    first = post(client, raw)
    # The same message delivered again through another relay: one more Received header.
    redelivered = post(client, b"Received: from relay2.example.net; Wed, 04 Mar 2026\r\n" + raw)

    assert first.status_code == 201
    assert redelivered.status_code == 200
    assert redelivered.json()["created"] is False
    assert redelivered.json()["interaction"]["id"] == first.json()["interaction"]["id"]
    assert Interaction.objects.count() == 1
    message_id = first.json()["interaction"]["email_message_id"]
    assert message_id.startswith("<")
    assert message_id.endswith("@rapport.invalid>")


_TWO_MORE_HOPS = (
    b"Return-Path: <bounce+ann.lee=example.com@relay3.example.net>\r\n"
    b"Delivered-To: support@rapport.example\r\n"
    b"Received: from relay3.example.net (relay3.example.net [192.0.2.3])\r\n"
    b"\tby mx.rapport.example with ESMTPS id 4Zx1; Wed, 04 Mar 2026 10:02:11 +0000\r\n"
    b"X-Spam-Score: 0.1\r\n"
    b"X-Forwarded-For: relay2.example.net\r\n"
    b"Received: from relay2.example.net; Wed, 04 Mar 2026 10:01:40 +0000\r\n"
)


@pytest.mark.parametrize("blank_line", [True, False], ids=["blank-line", "no-blank-line"])
def test_redelivery_through_two_more_hops_is_no_duplicate(client, blank_line):
    customer_with_email("Ann Lee", "ann.lee@example.com")
    raw = (
        b"Received: from mail.example.com; Wed, 04 Mar 2026 10:00:05 +0000\r\n"
        b"From: Ann Lee <ann.lee@example.com>\r\n"
        b"To: support@rapport.example\r\n"
        b"Subject: Where is my parcel?\r\n"
        b"Date: Wed, 04 Mar 2026 10:00:00 +0000\r\n"
        + (b"\r\n" if blank_line else b"")
        + b"Hello, my parcel has not arrived.\r\nAnn\r\n"
    )

    first = post(client, raw)
    redelivered = post(client, _TWO_MORE_HOPS + raw)

    assert first.status_code == 201
    assert first.json()["interaction"]["summary"].startswith("Hello, my parcel")
    assert redelivered.status_code == 200
    assert redelivered.json()["created"] is False
    assert redelivered.json()["interaction"]["id"] == first.json()["interaction"]["id"]
    assert Interaction.objects.count() == 1


def test_a_different_body_without_message_id_is_a_new_message(client):
    head = b"From: Ann Lee <ann.lee@example.com>\r\nSubject: Parcel\r\n"

    first = post(client, head + b"First question.\r\n")
    second = post(client, _TWO_MORE_HOPS + head + b"Second question.\r\n")

    assert (first.status_code, second.status_code) == (201, 201)
    assert Interaction.objects.count() == 2


def test_redelivery_with_message_id_is_no_duplicate(client):
    raw = fixture("02_chain_1_question.eml")

    statuses = [post(client, raw).status_code for _ in range(3)]

    assert statuses == [201, 200, 200]
    assert Interaction.objects.filter(external_id="<chain-1@example.com>").count() == 1


def test_iso_8859_1_8bit_body_and_encoded_sender(client):
    response = post(client, fixture("06_iso_8859_1.eml"))

    assert response.status_code == 201
    interaction = response.json()["interaction"]
    assert interaction["subject"] == "Réclamation colis abîmé"
    assert interaction["summary"] == "Bonjour, le colis est arrivé abîmé. Très déçue."
    assert "Renée François" in interaction["email_from"]
    assert interaction["customer"] is None  # unknown sender: logged, not matched
    assert interaction["matter"] is None


def test_iso_2022_jp(client):
    response = post(client, fixture("07_iso_2022_jp.eml"))

    assert response.status_code == 201
    interaction = response.json()["interaction"]
    assert interaction["subject"] == "請求書について"
    assert interaction["summary"] == "お世話になっております。請求書について質問があります。"
    assert interaction["occurred_at"] == "2026-03-06T00:00:00Z"


def test_windows_1252_html_only_is_converted_to_text(client):
    response = post(client, fixture("08_windows_1252_html_only.eml"))

    interaction = response.json()["interaction"]
    assert interaction["subject"] == "Thanks – great service"
    assert interaction["summary"] == "Thanks – the “new” tariff saves me £10."


def test_malformed_part_loses_no_valid_part_beside_it(client):
    response = post(client, fixture("09_attachments_and_malformed_part.eml"))

    assert response.status_code == 201
    interaction = response.json()["interaction"]
    assert interaction["summary"] == "See the attached invoice and photo."
    assert [a["filename"] for a in interaction["attachments"]] == ["invoice.pdf", "Schäden.jpg"]
    assert interaction["attachments"][0] == {
        "filename": "invoice.pdf",
        "content_type": "application/pdf",
        "size": 129,
    }


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"", "message"),
        (b"   \r\n", "message"),
        (b"Subject: no sender\r\n\r\nhello\r\n", "from"),
        (b"From: not an address\r\nSubject: x\r\n\r\nhello\r\n", "from"),
        (b"From: a@example.com\r\nDate: Fri, 01 Jan 2100 00:00:00 +0000\r\n\r\nhi\r\n", "date"),
    ],
)
def test_malformed_mail_is_400_naming_the_field_and_saves_nothing(client, raw, field):
    response = post(client, raw)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"]
    assert Interaction.objects.count() == 0


def test_wrong_content_type_is_refused(client):
    response = client.post(URL, {"message": "x"}, format="json")

    assert response.status_code == 415
    assert Interaction.objects.count() == 0


def test_anonymous_is_refused():
    response = APIClient().generic(
        "POST", URL, fixture("02_chain_1_question.eml"), content_type="message/rfc822"
    )

    assert response.status_code in (401, 403)
    assert Interaction.objects.count() == 0
