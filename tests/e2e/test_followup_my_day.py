"""A rep's day in a real browser: the bell, my day, completing a promise in place."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.models import TeamMembership
from followups import services, sweep
from followups.models import FollowUp
from tests.factories import CustomerFactory, TeamFactory, TeamMembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_rep_sees_the_overdue_promise_and_completes_it_in_place(page, login_as, screenshot):
    team = TeamFactory(time_zone="America/New_York")
    rep = TeamMembershipFactory(team=team, role=TeamMembership.Role.REP, user=UserFactory()).user
    customer = CustomerFactory(full_name="Zoë Moreau", time_zone="Europe/Paris")
    now = timezone.now()
    overdue = services.followup_promise(
        customer=customer,
        owner=rep,
        action="Send the repair quote",
        due_at=now + timedelta(minutes=1),
        now=now - timedelta(hours=2),
    )
    services.followup_promise(
        customer=customer, owner=rep, action="Confirm the visit", due_phrase="in 3 days"
    )
    sweep.followup_sweep(now=now + timedelta(minutes=2))

    login_as(page, rep)
    page.goto("/followups/my-day/")
    # The bell (htmx, loaded with the page) shows the overdue notice.
    page.locator("[data-testid=unread-count]").wait_for()
    assert page.locator("[data-testid=unread-count]").inner_text() == "1"
    row = page.locator(f"#followup-{overdue.pk}")
    assert "Overdue" in row.inner_text()
    assert "CET theirs" in row.inner_text()  # the customer's clock (Europe/Paris), named
    screenshot(page, "followups-my-day")

    row.locator("input[name=note]").fill("Quote e-mailed")
    row.get_by_role("button", name="Done").click()
    page.locator(f"#followup-{overdue.pk} .ok").wait_for()

    overdue.refresh_from_db()
    assert overdue.status == FollowUp.Status.DONE
    assert overdue.completion_note == "Quote e-mailed"
    assert "Confirm the visit" in page.locator("[data-section=upcoming]").inner_text()
    screenshot(page, "followups-my-day-completed")

    page.locator(".bell").click()
    page.get_by_role("button", name="Mark all read").click()
    # The HX-Trigger of the answer makes the bell refresh at once: no unread count left.
    page.locator("[data-testid=unread-count]").wait_for(state="detached")
    assert page.locator(".bell").get_attribute("aria-label") == "Notifications: 0 unread"


def test_rep_promises_a_follow_up_on_the_customer_page(page, login_as, screenshot):
    team = TeamFactory(time_zone="America/New_York")
    rep = TeamMembershipFactory(team=team, role=TeamMembership.Role.REP, user=UserFactory()).user
    customer = CustomerFactory(full_name="Haruto Sato", time_zone="Asia/Tokyo")

    login_as(page, rep)
    page.goto(f"/customers/{customer.pk}/")
    page.locator("input[name=promise-make_promise]").check()
    page.fill("input[name=promise-action]", "Send the warranty terms")
    page.fill("input[name=promise-due_phrase]", "tomorrow morning")
    page.fill("textarea[name=summary]", "Asked about the warranty")
    page.locator("input[name=promise-due_phrase]").press("Enter")

    followup = None
    for _ in range(50):
        followup = FollowUp.objects.filter(customer=customer).first()
        if followup is not None:
            break
        page.wait_for_timeout(200)
    assert followup is not None
    assert followup.action == "Send the warranty terms"
    assert followup.origin_interaction is not None
    # The panel refreshes itself on the log form's "interaction-logged" event.
    page.locator("#customer-promises").get_by_text("Send the warranty terms").wait_for()
    screenshot(page, "followups-customer-panel")
