"""The log form and timeline fragments, matter linking, and the public feedback page."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from interactions import services
from interactions.hooks import _cached
from interactions.models import Feedback, Interaction
from interactions.services import feedback_path
from tests import factories
from tests.interactions import form_extension

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def browser(rep):
    client = Client()
    client.force_login(rep)
    return client


@pytest.fixture(autouse=True)
def no_extensions(settings):
    """These tests drive the log form alone; the real follow-ups extension has its own tests."""
    settings.INTERACTION_FORM_EXTENSIONS = []
    _cached.cache_clear()


@pytest.fixture
def with_extension(settings):
    settings.INTERACTION_FORM_EXTENSIONS = ["tests.interactions.form_extension.PromiseExtension"]
    form_extension.SAVED.clear()
    _cached.cache_clear()
    yield
    _cached.cache_clear()


def form_data(**overrides):
    data = {
        "channel": "phone",
        "direction": "inbound",
        # Typed on the rep's clock: the team is in New York (EDT, UTC-4) = 11:30 UTC.
        "occurred_at": "2026-03-10T07:30",
        "duration_minutes": "4",
        "category": "complaint",
        "outcome": "resolved",
        "sentiment": "-1",
        "subject": "Bill too high",
        "summary": "Explained <b>the</b> tariff.",
        "from_number": "020 7946 0958",
    }
    data.update(overrides)
    return data


def test_form_fragment_renders_with_channel_fields(browser, customer):
    url = reverse("interactions:customer-log-form", args=[customer.pk])

    response = browser.get(url)

    html = response.content.decode()
    assert response.status_code == 200
    assert f'hx-post="{url}"' in html
    for name in ("channel", "occurred_at", "from_number", "email_to", "location", "summary"):
        assert f'name="{name}"' in html
    # The customer page opens at the top (who the person is); no control steals focus.
    assert "autofocus" not in html


def test_post_logs_and_triggers_the_timeline(browser, customer, rep, settings):
    settings.PHONE_DEFAULT_REGION = "GB"
    url = reverse("interactions:customer-log-form", args=[customer.pk])
    with time_machine.travel(NOW, tick=False):
        response = browser.post(url, form_data(), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response["HX-Trigger"] == "interaction-logged"
    interaction = Interaction.objects.get()
    assert (interaction.customer, interaction.rep) == (customer, rep)
    assert interaction.duration_seconds == 240
    assert interaction.from_number == "+442079460958"
    assert interaction.sentiment == -1
    assert interaction.occurred_at == datetime(2026, 3, 10, 11, 30, tzinfo=UTC)
    assert "Logged: Phone inbound" in response.content.decode()


def test_post_without_htmx_redirects_to_the_customer_page(browser, customer):
    url = reverse("interactions:customer-log-form", args=[customer.pk])
    with time_machine.travel(NOW, tick=False):
        response = browser.post(url, form_data())

    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.pk}/"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"occurred_at": "2026-03-11T12:00"}, "occurred_at"),
        ({"duration_minutes": "-3"}, "duration_minutes"),
        ({"category": "gossip"}, "category"),
    ],
)
def test_invalid_post_shows_the_error_and_saves_nothing(browser, customer, overrides, field):
    url = reverse("interactions:customer-log-form", args=[customer.pk])
    with time_machine.travel(NOW, tick=False):
        response = browser.post(url, form_data(**overrides), HTTP_HX_REQUEST="true")

    assert response.status_code == 400
    assert "HX-Trigger" not in response
    assert 'class="error"' in response.content.decode()
    assert Interaction.objects.count() == 0


def test_extension_fields_are_rendered_and_saved_in_the_same_submission(
    browser, customer, with_extension
):
    url = reverse("interactions:customer-log-form", args=[customer.pk])
    assert 'name="promise-is_promised"' in browser.get(url).content.decode()

    with time_machine.travel(NOW, tick=False):
        response = browser.post(
            url,
            form_data(**{"promise-is_promised": "on", "promise-action": "Call back Friday"}),
            HTTP_HX_REQUEST="true",
        )

    assert response.status_code == 200
    assert form_extension.SAVED == [(Interaction.objects.get().pk, "Call back Friday")]


def test_invalid_extension_form_blocks_the_log(browser, customer, with_extension):
    url = reverse("interactions:customer-log-form", args=[customer.pk])
    with time_machine.travel(NOW, tick=False):
        response = browser.post(
            url, form_data(**{"promise-is_promised": "on"}), HTTP_HX_REQUEST="true"
        )

    assert response.status_code == 400
    assert "Say what you promised." in response.content.decode()
    assert Interaction.objects.count() == 0
    assert form_extension.SAVED == []


def test_extension_save_error_rolls_back_and_is_shown(browser, customer, with_extension):
    url = reverse("interactions:customer-log-form", args=[customer.pk])
    with time_machine.travel(NOW, tick=False):
        response = browser.post(
            url,
            form_data(**{"promise-is_promised": "on", "promise-action": "explode"}),
            HTTP_HX_REQUEST="true",
        )

    assert response.status_code == 400
    assert "Cannot promise that." in response.content.decode()
    assert Interaction.objects.count() == 0


def test_non_member_is_refused(customer):
    client = Client()
    client.force_login(factories.UserFactory())

    url = reverse("interactions:customer-log-form", args=[customer.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, form_data()).status_code == 403
    assert Interaction.objects.count() == 0


def log(customer, hours_ago, **kwargs):
    arguments = {"channel": "phone", "direction": "inbound", "category": "complaint"}
    arguments.update(kwargs)
    return services.interaction_log(
        customer=customer, occurred_at=NOW - timedelta(hours=hours_ago), **arguments
    )


@pytest.mark.parametrize("count", [2, 20])
def test_timeline_fragment_query_count_is_constant(
    browser, customer, count, django_assert_max_num_queries
):
    with time_machine.travel(NOW, tick=False):
        for hour in range(count):
            log(customer, hour + 1, rep=factories.UserFactory(), summary=f"note {hour}")
    url = reverse("interactions:customer-timeline", args=[customer.pk])

    with django_assert_max_num_queries(9):
        response = browser.get(url)

    assert response.content.decode().count('class="timeline-item channel') == count


def test_timeline_fragment_escapes_and_pages(browser, customer):
    with time_machine.travel(NOW, tick=False):
        logged = [log(customer, hour + 1, summary="<script>x</script>") for hour in range(27)]
    url = reverse("interactions:customer-timeline", args=[customer.pk])

    first = browser.get(url).content.decode()

    assert "<script>x</script>" not in first
    assert "&lt;script&gt;x&lt;/script&gt;" in first
    assert first.count('class="timeline-item channel') == 25
    assert "Load more" in first
    cursor = first.split("?cursor=")[1].split("&amp;")[0]
    more = browser.get(url, {"cursor": cursor.replace("%3D", "=")}).content.decode()
    assert more.count('class="timeline-item channel') == 2
    assert f'data-interaction="{logged[-1].pk}"' in more
    assert "Load more" not in more


def test_timeline_fragment_filters_by_channel(browser, customer):
    with time_machine.travel(NOW, tick=False):
        log(customer, 2)
        mail = log(customer, 1, channel="email")
    url = reverse("interactions:customer-timeline", args=[customer.pk])

    html = browser.get(url, {"channel": "email"}).content.decode()

    assert html.count('class="timeline-item channel') == 1
    assert f'data-interaction="{mail.pk}"' in html


def test_the_matter_control_loads_when_a_rep_opens_more(
    browser, rep, customer, django_assert_max_num_queries
):
    with time_machine.travel(NOW, tick=False):
        first = log(customer, 5, rep=rep)
        second = log(customer, 1, category="question", rep=rep)
        someone_elses = log(customer, 2, category="question", rep=factories.UserFactory())
    timeline = browser.get(reverse("interactions:customer-timeline", args=[customer.pk]))
    html = timeline.content.decode()
    # No select of matters in each item: a slot that loads it when "More" opens.
    assert 'id="matter-of-' not in html
    control_url = reverse("interactions:interaction-matter", args=[second.pk])
    assert f'hx-get="{control_url}" hx-trigger="toggle once from:closest details"' in html

    # session, user, roles, the interaction with its matter, the customer's matters
    with django_assert_max_num_queries(5):
        control = browser.get(control_url, HTTP_HX_REQUEST="true").content.decode()
    assert f'<option value="{first.matter_id}">' in control
    assert f'<option value="{second.matter_id}" selected>' in control
    assert '<option value="new">' in control
    others = browser.get(reverse("interactions:interaction-matter", args=[someone_elses.pk]))
    assert others.status_code == 200
    assert 'id="matter-of-' not in others.content.decode()  # a note: not theirs to change


def test_matter_form_links_and_unlinks(browser, rep, customer):
    with time_machine.travel(NOW, tick=False):
        first = log(customer, 5, rep=rep)
        second = log(customer, 1, category="question", rep=rep)
        someone_elses = log(customer, 2, category="question", rep=factories.UserFactory())
    refused = browser.post(
        reverse("interactions:interaction-matter", args=[someone_elses.pk]), {"matter": "new"}
    )
    assert refused.status_code == 403
    url = reverse("interactions:interaction-matter", args=[second.pk])

    response = browser.post(url, {"matter": first.matter_id}, HTTP_HX_REQUEST="true")
    second.refresh_from_db()
    assert response.status_code == 200
    assert (second.matter_id, second.is_repeat_contact) == (first.matter_id, True)

    browser.post(url, {"matter": "new"}, HTTP_HX_REQUEST="true")
    second.refresh_from_db()
    assert second.matter_id != first.matter_id
    assert second.is_repeat_contact is False


def test_feedback_page_needs_no_login_hides_notes_and_takes_one_answer(customer):
    with time_machine.travel(NOW, tick=False):
        interaction = log(customer, 1, subject="Your bill", summary="INTERNAL: difficult caller")
        path = feedback_path(interaction_id=interaction.pk)
    anonymous = Client()

    # The link is valid for INTERACTION_FEEDBACK_MAX_AGE_DAYS after the contact.
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        page = anonymous.get(path)
        answered = anonymous.post(path, {"score": "4", "comment": "Helpful"})
        again = anonymous.post(path, {"score": "1"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Your bill" in html
    assert "INTERNAL" not in html
    assert answered.status_code == 200
    assert "Thank you" in answered.content.decode()
    assert "rated this contact 4" in again.content.decode()
    feedback = Feedback.objects.get()
    assert (feedback.score, feedback.comment, feedback.matter_id) == (
        4,
        "Helpful",
        interaction.matter_id,
    )


def test_feedback_link_expires_and_cannot_be_forged(customer, settings):
    settings.INTERACTION_FEEDBACK_MAX_AGE_DAYS = 14
    with time_machine.travel(NOW, tick=False):
        interaction = log(customer, 1)
        path = feedback_path(interaction_id=interaction.pk)
    token = path.rstrip("/").rsplit("/", 1)[1]
    link_id, rest = token.split(":", 1)
    other_id = str(uuid.uuid4())  # another link's id under the same signature
    forged = path.replace(link_id, other_id)
    assert forged != path

    with time_machine.travel(NOW + timedelta(days=15), tick=False):
        expired = Client().post(path, {"score": "5"})
    invalid = Client().get(forged)
    with time_machine.travel(NOW, tick=False):
        bad_score = Client().post(path, {"score": "9"})

    assert expired.status_code == 410
    assert "expired" in expired.content.decode()
    assert invalid.status_code == 410
    assert bad_score.status_code == 400
    assert Feedback.objects.count() == 0


def test_feedback_request_is_queued_after_commit(
    browser, customer, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW, tick=False):
        interaction = log(customer, 1)
    url = reverse("interactions:interaction-feedback-request", args=[interaction.pk])

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = browser.post(url, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert len(callbacks) == 1


def test_feedback_request_email_has_the_link_and_no_notes(customer, mailoutbox):
    from crm.models import ContactPoint
    from interactions.tasks import feedback_request_send

    factories.ContactPointFactory(
        customer=customer, kind=ContactPoint.Kind.EMAIL, value="ann@example.com", is_primary=True
    )
    with time_machine.travel(NOW, tick=False):
        interaction = log(customer, 1, subject="Your bill", summary="INTERNAL: angry again")
        sent = feedback_request_send.run(interaction.pk, "https://crm.example.com/")

    assert sent is True
    (message,) = mailoutbox
    assert message.to == ["ann@example.com"]
    assert "INTERNAL" not in message.body
    assert "Your bill" in message.body
    link = next(line for line in message.body.splitlines() if line.startswith("https://"))
    assert link.startswith("https://crm.example.com/interactions/feedback/")
    with time_machine.travel(NOW, tick=False):
        assert (
            Client().post(link.removeprefix("https://crm.example.com"), {"score": "5"}).status_code
            == 200
        )
        # Feedback given: nothing more is sent.
        assert feedback_request_send.run(interaction.pk, "https://crm.example.com/") is False
    assert len(mailoutbox) == 1


def test_feedback_request_without_an_address_sends_nothing(customer, mailoutbox):
    with time_machine.travel(NOW, tick=False):
        interaction = log(customer, 1)

    assert (
        services.interaction_feedback_request_send(
            interaction_id=interaction.pk, base_url="https://x"
        )
        is False
    )
    assert mailoutbox == []


def test_feedback_is_requested_once_per_contact(customer, mailoutbox, browser):
    from crm.models import ContactPoint
    from interactions.tasks import feedback_request_send

    factories.ContactPointFactory(
        customer=customer, kind=ContactPoint.Kind.EMAIL, value="ann@example.com", is_primary=True
    )
    with time_machine.travel(NOW, tick=False):
        interaction = log(customer, 1, subject="Your bill")
        first = feedback_request_send.run(interaction.pk, "https://crm.example.com/")
        again = feedback_request_send.run(interaction.pk, "https://crm.example.com/")

    assert (first, again, len(mailoutbox)) == (True, False, 1)
    interaction.refresh_from_db()
    assert interaction.feedback_requested_at == NOW
    url = reverse("interactions:interaction-feedback-request", args=[interaction.pk])
    response = browser.post(url, HTTP_HX_REQUEST="true")
    assert "already requested" in response.content.decode()


def test_feedback_page_and_email_give_the_date_on_the_customers_clock(customer, mailoutbox):
    """A call at 23:30 in Tokyo (14:30 UTC) is the 10th for the customer; at 01:00
    Tokyo on the 11th (16:00 UTC on the 10th) it is the 11th, not the server's 10th."""
    from crm.models import ContactPoint
    from interactions.tasks import feedback_request_send

    customer.time_zone = "Asia/Tokyo"
    customer.save(update_fields=["time_zone"])
    factories.ContactPointFactory(
        customer=customer, kind=ContactPoint.Kind.EMAIL, value="ken@example.jp", is_primary=True
    )
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        late = services.interaction_log(
            customer=customer,
            occurred_at=datetime(2026, 3, 10, 16, 0, tzinfo=UTC),
            channel="phone",
            direction="inbound",
            category="complaint",
        )
        page = Client().get(feedback_path(interaction_id=late.pk)).content.decode()
        assert feedback_request_send.run(late.pk, "https://crm.example.com/") is True

    assert "11 March 2026" in page
    assert "10 March 2026" not in page
    assert "11 March 2026" in mailoutbox[0].body
