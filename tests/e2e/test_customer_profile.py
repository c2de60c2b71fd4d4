"""A rep finds a caller by a number written another way, sees who they are,
adds something to remember; a supervisor merges the duplicate."""

from datetime import time

import pytest

from crm.models import Customer, ProfileFact, TeamMembership
from crm.services import consent_record, customer_create, fact_add
from tests.factories import TeamMembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_rep_finds_by_phone_adds_a_fact_and_supervisor_merges_the_duplicate(
    page, login_as, screenshot
):
    team_membership = TeamMembershipFactory(user=UserFactory(username="maria"))
    rep = team_membership.user
    supervisor = TeamMembershipFactory(
        team=team_membership.team,
        user=UserFactory(username="sam"),
        role=TeamMembership.Role.SUPERVISOR,
    ).user
    survivor = customer_create(
        full_name="Siobhán O'Brien",
        preferred_name="Shiv",
        pronunciation="shi-VAWN",
        pronouns="she/her",
        time_zone="Europe/Dublin",
        preferred_language="en-IE",
        preferred_channel="phone",
        quiet_hours_start=time(21),
        quiet_hours_end=time(8),
        phones=["+1 415 555 0100"],
    )
    consent_record(customer=survivor, channel="phone", status="granted", method="verbal", actor=rep)
    fact_add(
        customer=survivor,
        text="Prefers mornings",
        category="preferences",
        actor=rep,
        is_pinned=True,
    )
    duplicate = customer_create(
        full_name="Siobhan OBrien", phones=["(415) 555-0100"], emails=["shiv@example.ie"]
    )
    customer_create(full_name="Someone Else", phones=["+14155550111"])

    # The rep types the number the way the caller said it.
    login_as(page, rep)
    page.fill("input[name=q]", "415.555.0100")
    page.keyboard.press("Enter")
    rows = page.locator("table.list tbody tr")
    rows.first.wait_for()
    assert rows.count() == 2  # a shared line: both candidates
    page.get_by_role("link", name="Siobhán O'Brien").click()
    page.wait_for_url(f"**/customers/{survivor.pk}/")

    card = page.locator("#profile-card")
    assert "Shiv" in card.inner_text()
    assert "(she/her)" in card.inner_text()
    assert "shi-VAWN" in card.inner_text()
    assert "Prefers mornings" in page.locator("#pinned-facts").inner_text()
    assert "Merge into this customer" not in page.content()  # reps do not merge

    # Add a thing to remember, pinned, without leaving the page.
    page.select_option("#facts select[name=category]", "family")
    page.fill("#id_fact_text", "Daughter Aoife starts university in Galway")
    page.check("#id_fact_pinned")
    page.get_by_role("button", name="Add", exact=True).first.click()
    page.locator("#facts .fact-list", has_text="Aoife").wait_for()
    page.locator("#pinned-facts", has_text="Aoife").wait_for()
    fact = ProfileFact.objects.get(customer=survivor, text__contains="Aoife")
    assert fact.recorded_by == rep
    assert fact.is_pinned
    screenshot(page, "customer-page-rep")

    # The supervisor merges the duplicate from the same page.
    page.get_by_role("button", name="Log out").click()
    login_as(page, supervisor)
    page.goto(f"/customers/{survivor.pk}/")
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator(f"#duplicate-{duplicate.pk}").get_by_role(
        "button", name="Merge into this customer"
    ).click()
    page.locator(f"#duplicate-{duplicate.pk}").wait_for(state="detached")
    assert "shiv@example.ie" in page.locator("#contact-points").inner_text()
    screenshot(page, "customer-page-after-merge")

    assert Customer.objects.get(pk=duplicate.pk).merged_into_id == survivor.pk
    page.goto(f"/customers/{duplicate.pk}/")
    page.wait_for_url(f"**/customers/{survivor.pk}/")
