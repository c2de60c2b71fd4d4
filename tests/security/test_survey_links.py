"""Survey (CSAT) links belong to the customer: issued once when sent, never shown to
staff, valid for a while after the interaction (not after the link), answers record
their link."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from crm.models import ContactPoint
from interactions import services
from interactions.models import Feedback, FeedbackLink
from tests import factories

pytestmark = pytest.mark.django_db

LINK = re.compile(r"/interactions/feedback/[^\s\"'<]+")


@pytest.fixture
def contact(rep_a, team_a):
    customer = factories.CustomerFactory(full_name="Ada Survey")
    factories.ContactPointFactory(
        customer=customer, kind=ContactPoint.Kind.EMAIL, value="ada@example.com"
    )
    return factories.InteractionFactory(customer=customer, rep=rep_a, team=team_a)


def _send(interaction) -> str:
    assert services.interaction_feedback_request_send(
        interaction_id=interaction.pk, base_url="https://rapport.example/"
    )
    (message,) = mail.outbox
    return LINK.search(message.body).group(0)


@pytest.mark.parametrize(
    "url", ["/interactions/customers/{customer}/timeline/", "/customers/{customer}/"]
)
def test_staff_pages_show_no_survey_link_before_or_after_sending(client_for, rep_b, contact, url):
    page = client_for(rep_b)
    url = url.format(customer=contact.customer_id)

    before = page.get(url).content.decode()
    _send(contact)
    after = page.get(url).content.decode()

    assert LINK.search(before) is None
    assert LINK.search(after) is None
    assert (
        "survey sent"
        in page.get(f"/interactions/customers/{contact.customer_id}/timeline/")
        .content.decode()
        .lower()
    )


def test_link_is_issued_once_per_interaction_when_sent(contact):
    assert FeedbackLink.objects.count() == 0

    _send(contact)
    again = services.interaction_feedback_request_send(
        interaction_id=contact.pk, base_url="https://rapport.example/"
    )

    assert again is False
    assert FeedbackLink.objects.filter(interaction=contact).count() == 1


def test_answer_records_the_link_it_came_through(contact):
    path = _send(contact)

    response = Client().post(path, {"score": "5", "comment": "Great"})

    assert response.status_code == 200
    feedback = Feedback.objects.get()
    assert feedback.link_id == FeedbackLink.objects.get(interaction=contact).pk


def test_expiry_counts_from_the_interaction_not_from_the_link(settings, rep_a, team_a):
    settings.INTERACTION_FEEDBACK_MAX_AGE_DAYS = 14
    customer = factories.CustomerFactory()
    old = factories.InteractionFactory(
        customer=customer, rep=rep_a, team=team_a, occurred_at=timezone.now() - timedelta(days=60)
    )
    from interactions.services import feedback_path

    path = feedback_path(interaction_id=old.pk)  # a link made today for a 60-day-old contact

    response = Client().post(path, {"score": "1"})

    assert response.status_code == 410
    assert Feedback.objects.count() == 0


def test_no_request_is_sent_for_a_contact_too_old_to_rate(settings, rep_a, team_a):
    settings.INTERACTION_FEEDBACK_MAX_AGE_DAYS = 14
    customer = factories.CustomerFactory()
    factories.ContactPointFactory(
        customer=customer, kind=ContactPoint.Kind.EMAIL, value="old@example.com"
    )
    with time_machine.travel(timezone.now() - timedelta(days=30), tick=False):
        old = factories.InteractionFactory(customer=customer, rep=rep_a, team=team_a)

    sent = services.interaction_feedback_request_send(
        interaction_id=old.pk, base_url="https://rapport.example/"
    )

    assert sent is False
    assert mail.outbox == []
    assert FeedbackLink.objects.count() == 0
