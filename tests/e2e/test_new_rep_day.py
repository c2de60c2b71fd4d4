"""Issue 14's "done when": a new rep in New York, shown only the login page, logs a
call with a customer in Tokyo and a promise "tomorrow morning", sees every time in
her clock with the customer's beside, finds the promise on My day and keeps it."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm.services import customer_create
from followups.models import FollowUp
from tests.factories import TeamFactory, TeamMembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
NEW_YORK, TOKYO = ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")


def test_a_new_rep_logs_a_promise_to_tokyo_and_keeps_it_from_my_day(page, login_as, screenshot):
    team = TeamFactory(name="Front Desk", time_zone="America/New_York")
    rep = UserFactory(username="nina", first_name="Nina", last_name="Kowalska")
    TeamMembershipFactory(team=team, user=rep)
    customer = customer_create(full_name="Haruki Sato", time_zone="Asia/Tokyo")
    abbreviation = timezone.now().astimezone(NEW_YORK).strftime("%Z")  # EST or EDT

    login_as(page, rep)
    assert page.url.endswith("/followups/my-day/")
    page.keyboard.press("/")
    page.keyboard.type("Haruki Sato")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/customers/{customer.pk}/")
    expect(page.locator("#local-time")).to_contain_text("JST")

    box = page.locator(f"#interaction-log-{customer.pk}")
    expect(box.locator("label[for=id_occurred_at]")).to_have_text(
        f"When (your time, {abbreviation})"
    )
    typed = box.locator("input[name=occurred_at]").input_value()
    shown = datetime.strptime(typed, "%Y-%m-%dT%H:%M").replace(tzinfo=NEW_YORK)
    assert abs(shown - timezone.now()) < timedelta(minutes=2)  # now, on her clock

    box.locator("input[name=subject]").fill("New contract")
    box.locator("input[name=promise-make_promise]").check()
    box.locator("input[name=promise-action]").fill("Send the new contract")
    box.locator("input[name=promise-due_phrase]").fill("tomorrow morning")
    box.locator("button[type=submit]").click()
    expect(box.locator(".notice")).to_contain_text("Logged: Phone inbound")

    promise = FollowUp.objects.get()
    tokyo_tomorrow = (timezone.now().astimezone(TOKYO) + timedelta(days=1)).date()
    assert promise.due_at == datetime.combine(tokyo_tomorrow, time(12), tzinfo=TOKYO)
    timeline = page.locator(f"#interaction-timeline-{customer.pk} li.timeline-item")
    expect(timeline.first).to_contain_text(abbreviation)
    expect(timeline.first).to_contain_text("JST theirs")

    page.click("nav >> text=My day")
    row = page.locator(f"#followup-{promise.pk}")
    expect(row).to_contain_text("Send the new contract")
    expect(row).to_contain_text("12:00 JST theirs")
    expect(row).to_contain_text(abbreviation)
    screenshot(page, "new-rep-my-day")
    row.locator("button[type=submit]").click()
    expect(page.locator(f"#followup-{promise.pk}")).to_contain_text("✓")
    promise.refresh_from_db()
    assert promise.status == FollowUp.Status.DONE
    assert promise.is_kept_on_time is True
