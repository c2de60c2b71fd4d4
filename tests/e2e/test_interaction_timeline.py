"""A rep logs a call, an e-mail and a visit from the customer page and sees all three
on one timeline, newest first, without reloading the page."""

import pytest
from playwright.sync_api import expect

from crm.services import customer_create
from interactions.models import Interaction
from tests.factories import TeamMembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_one(page, form, *, channel: str, subject: str, details: dict[str, str]) -> None:
    form.locator("select[name=channel]").select_option(channel)
    for name, value in details.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("textarea[name=summary]").fill(f"Notes about {subject.lower()}")
    subject_input = form.locator("input[name=subject]")
    subject_input.fill(subject)
    subject_input.press("Enter")  # keyboard submission, no mouse


def test_rep_logs_call_email_and_visit_and_sees_one_timeline(page, login_as, screenshot):
    rep = TeamMembershipFactory(user=UserFactory(username="maria", first_name="Maria")).user
    customer = customer_create(full_name="Ann Lee", phones=["+1 415 555 0100"])
    login_as(page, rep)

    page.goto(f"/customers/{customer.pk}/")
    form = page.locator(f"#interaction-log-{customer.pk} form")
    form.wait_for()
    timeline = page.locator(f"#interaction-timeline-{customer.pk}")
    timeline.wait_for()
    items = timeline.locator("li.timeline-item")
    assert items.count() == 0

    # Only the chosen channel's details are shown.
    form.locator("select[name=channel]").select_option("phone")
    assert form.locator("input[name=from_number]").is_visible()
    assert not form.locator("input[name=location]").is_visible()

    log_one(
        page,
        form,
        channel="phone",
        subject="Bill question",
        details={"from_number": "(415) 555-0100", "disposition": "ANSWERED"},
    )
    page.locator(".interaction-log .notice").wait_for()
    items.first.wait_for()
    expect(items).to_have_count(1)

    form = page.locator(f"#interaction-log-{customer.pk} form")
    log_one(
        page,
        form,
        channel="email",
        subject="Invoice copy",
        details={"email_to": "ann@example.com"},
    )
    expect(items).to_have_count(2)

    form = page.locator(f"#interaction-log-{customer.pk} form")
    form.locator("select[name=channel]").select_option("in_person")
    assert form.locator("input[name=location]").is_visible()
    log_one(
        page,
        form,
        channel="in_person",
        subject="Branch visit",
        details={"location": "Main Street branch"},
    )
    expect(items).to_have_count(3)

    texts = [items.nth(i).inner_text() for i in range(3)]
    assert texts[0].startswith("In person")
    assert "Branch visit" in texts[0]
    assert "Main Street branch" in texts[0]
    assert texts[1].startswith("E-mail")
    assert "Invoice copy" in texts[1]
    assert texts[2].startswith("Phone")
    assert "(415) 555-0100" in texts[2]  # as people write it (stored as +14155550100)
    screenshot(page, "interaction-timeline")

    logged = list(
        Interaction.objects.order_by("pk").values_list("channel", "rep_id", "customer_id")
    )
    assert logged == [
        ("phone", rep.pk, customer.pk),
        ("email", rep.pk, customer.pk),
        ("in_person", rep.pk, customer.pk),
    ]

    # Filter the timeline to e-mails only.
    timeline.locator("select[name=channel]").select_option("email")
    expect(items).to_have_count(1)

    # The matter control loads when "More" is opened (not rendered in every item), and
    # moving the newest e-mail into the oldest call's matter reloads the timeline.
    page.goto(f"/customers/{customer.pk}/")
    expect(items).to_have_count(3)
    newest = items.first
    assert newest.locator("select[name=matter]").count() == 0
    newest.locator("details.internal summary").click()
    control = newest.locator("select[name=matter]")
    control.wait_for()
    call = Interaction.objects.get(channel="phone")
    control.select_option(str(call.matter_id))
    with page.expect_response(
        lambda response: "/matter/" in response.url and response.request.method == "POST"
    ) as moved:
        newest.locator("form.matter-link button[type=submit]").click()
    assert moved.value.status == 200
    expect(items).to_have_count(3)
    visit = Interaction.objects.get(channel="in_person")
    assert visit.matter_id == call.matter_id
