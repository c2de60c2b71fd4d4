"""Every outcome visible (issue 14): a failed submission never looks like a success.

A rep logs a call (success notice), then logs another with a promise "by Fryday":
the server answers 400 with the form and its errors; the browser shows the error
beside the field, keeps what was typed, drops the earlier success notice, and
nothing is saved. A lost connection and a server error show a message too.
"""

import re

import pytest
from playwright.sync_api import expect

from crm.services import customer_create
from followups.models import FollowUp
from interactions.models import Interaction
from tests.factories import TeamMembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_bad_promise_phrase_shows_the_error_and_saves_nothing(page, login_as, screenshot):
    rep = TeamMembershipFactory(user=UserFactory(username="maria", first_name="Maria")).user
    customer = customer_create(full_name="Ann Lee", phones=["+1 415 555 0100"])
    login_as(page, rep)
    page.goto(f"/customers/{customer.pk}/")
    box = page.locator(f"#interaction-log-{customer.pk}")
    form = box.locator("form")
    form.wait_for()

    form.locator("input[name=subject]").fill("Bill question")
    form.locator("button[type=submit]").click()
    expect(box.locator(".notice")).to_contain_text("Logged: Phone inbound")
    assert Interaction.objects.count() == 1

    form = box.locator("form")
    form.locator("input[name=subject]").fill("Refund promised")
    form.locator("textarea[name=summary]").fill("Said we would refund")
    form.locator("input[name=promise-make_promise]").check()
    form.locator("input[name=promise-action]").fill("Call back about the refund")
    form.locator("input[name=promise-due_phrase]").fill("by Fryday")
    form.locator("button[type=submit]").click()

    due = box.locator("input[name=promise-due_phrase]")
    error = due.locator("xpath=..").locator(".error")
    expect(error).to_be_visible()
    expect(box.locator(".form-summary")).to_contain_text("Not saved")
    expect(box.locator(".notice")).to_have_count(0)  # no stale "Logged: …"
    expect(due).to_have_value("by Fryday")  # what was typed is kept
    expect(box.locator("input[name=subject]")).to_have_value("Refund promised")
    expect(box.locator("textarea[name=summary]")).to_have_value("Said we would refund")
    assert Interaction.objects.count() == 1
    assert FollowUp.objects.count() == 0
    screenshot(page, "outcome-bad-promise-phrase")


def test_lost_connection_and_server_error_show_a_message(page, login_as):
    rep = TeamMembershipFactory(user=UserFactory(username="james")).user
    customer = customer_create(full_name="Bo Chan")
    login_as(page, rep)
    page.goto(f"/customers/{customer.pk}/")
    box = page.locator(f"#interaction-log-{customer.pk}")
    box.locator("form").wait_for()
    flash = page.locator("#flash")
    expect(flash).to_be_hidden()

    log_url = re.compile(rf"/customers/{customer.pk}/log/")
    page.route(log_url, lambda route: route.abort("internetdisconnected"))
    box.locator("input[name=subject]").fill("Offline try")
    box.locator("button[type=submit]").click()
    expect(flash).to_be_visible()
    expect(flash).to_contain_text("nothing was saved")
    expect(box.locator("input[name=subject]")).to_have_value("Offline try")
    page.unroute(log_url)

    page.route(
        log_url,
        lambda route: route.fulfill(
            status=500, body="<h1>Server Error</h1>", content_type="text/html"
        ),
    )
    box.locator("button[type=submit]").click()
    expect(flash).to_contain_text("The server failed (500)")
    expect(box.locator(".notice")).to_have_count(0)
    assert Interaction.objects.count() == 0
