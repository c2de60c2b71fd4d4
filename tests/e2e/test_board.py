"""A supervisor works the overdue board in a real browser, and reads the metrics."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm.models import TeamMembership
from followups.models import FollowUp
from interactions.models import Feedback, InteractionCategory, Matter
from tests import factories

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def member(team, username, first, last, role=TeamMembership.Role.REP):
    user = factories.UserFactory(username=username, first_name=first, last_name=last)
    factories.TeamMembershipFactory(team=team, user=user, role=role)
    return user


def overdue(owner, team, age: timedelta, action: str, **fields):
    due_at = timezone.now() - age
    return factories.FollowUpFactory(
        owner=owner,
        team=team,
        due_at=due_at,
        next_action_at=due_at,
        action=action,
        customer=factories.CustomerFactory(),
        **fields,
    )


def test_a_supervisor_reassigns_two_overdue_promises_and_sees_the_counts_change(
    page, login_as, screenshot
):
    # Given a team whose rep Maria is behind on three promises; James on one
    team = factories.TeamFactory(name="Customer Care East", time_zone="UTC", holiday_country="")
    # Open around the clock, so business-time buckets do not depend on when the test runs.
    for weekday in range(7):
        team.business_hours.create(weekday=weekday, opens_at="00:00", closes_at="23:59:59")
    sam = member(team, "sam", "Sam", "Okafor", TeamMembership.Role.SUPERVISOR)
    maria = member(team, "maria", "Maria", "Lopez")
    james = member(team, "james", "James", "Hart")
    first = overdue(maria, team, timedelta(hours=2), "Call back about the refund")
    second = overdue(
        maria, team, timedelta(days=2), "Send the corrected invoice", escalation_level=1
    )
    overdue(maria, team, timedelta(days=5), "Confirm the engineer visit", escalation_level=2)
    overdue(james, team, timedelta(hours=6), "E-mail the contract")

    # When Sam opens the board
    login_as(page, sam)
    page.goto("/supervisor/board/")
    maria_row = page.locator(f"tr.rep-row[data-owner='{maria.pk}']")
    james_row = page.locator(f"tr.rep-row[data-owner='{james.pk}']")
    assert maria_row.locator("td[data-column=total]").inner_text() == "3"
    assert james_row.locator("td[data-column=total]").inner_text() == "1"
    assert page.locator("#board-list h2").inner_text() == "4 overdue promises — all your teams"
    screenshot(page, "board-before-reassign")

    # And opens Maria's overdue promises by clicking her count (htmx, no reload)
    maria_row.locator("td[data-column=total] a").click()
    page.locator("#board-list h2", has_text="3 overdue promises").wait_for()
    # The list names the filter it shows, by the owner's full name.
    expect(page.locator("#board-list h2")).to_contain_text(f"owner {maria.get_full_name()}")
    # The reassign control is above the list, not under 50 rows.
    bar_box = page.locator(".reassign-bar").bounding_box()
    assert bar_box["y"] < page.locator("table.promise-list").bounding_box()["y"]

    # And reassigns two of them to James in bulk
    page.check(f"#select-{first.pk}")
    page.check(f"#select-{second.pk}")
    page.select_option("#new-owner", str(james.pk))
    page.click(".reassign-bar button[type=submit]")

    # Then the list and the counts change without a full reload
    page.locator(".notice", has_text="Reassigned 2 promises").wait_for()
    page.locator("#board-list h2", has_text="1 overdue promise").wait_for()
    # expect() polls through the DOM (the page's CSP forbids evaluating strings).
    expect(maria_row.locator("td[data-column=total]")).to_have_text("1")
    expect(james_row.locator("td[data-column=total]")).to_have_text("3")
    assert set(
        FollowUp.objects.filter(pk__in=[first.pk, second.pk]).values_list("owner_id", flat=True)
    ) == {james.pk}
    screenshot(page, "board-after-reassign")

    # And the escalations that reached Sam can be acknowledged in one click
    page.goto("/supervisor/escalations/?state=all")
    assert page.locator("tr[data-followup]").count() == 2
    page.locator(f"tr[data-followup='{second.pk}'] button", has_text="Acknowledge").click()
    page.locator(
        f"tr[data-followup='{second.pk}']", has_text="acknowledged by Sam Okafor"
    ).wait_for()
    screenshot(page, "escalations")

    # And the customer is one click away
    page.goto("/supervisor/board/")
    page.locator("#board-list tbody tr a").first.click()
    page.wait_for_url("**/customers/*/")


def test_the_metrics_page_is_legible(page, login_as, screenshot):
    rng = random.Random(7)
    team = factories.TeamFactory(name="Customer Care East", time_zone="UTC", holiday_country="")
    sam = member(team, "sam", "Sam", "Okafor", TeamMembership.Role.SUPERVISOR)
    reps = [
        member(team, f"rep{i}", name, "Rep") for i, name in enumerate(["Maria", "James", "Wei"])
    ]
    now = timezone.now()
    categories = ["complaint", "question", "request", "praise"]
    # Seeded by a data migration, which a transactional test's flush removes.
    for slug in categories:
        InteractionCategory.objects.get_or_create(slug=slug, defaults={"name": slug.title()})
    for week in range(12):
        for _ in range(6):
            due = now - timedelta(weeks=week, hours=rng.randint(1, 120))
            late = rng.random() < 0.15 + week * 0.02  # service got better recently
            factories.FollowUpFactory(
                owner=rng.choice(reps),
                team=team,
                due_at=due,
                status="done",
                completed_at=due + timedelta(hours=rng.randint(1, 30))
                if late
                else due - timedelta(hours=1),
                is_kept_on_time=not late,
                next_action_at=None,
                renegotiation_count=1 if rng.random() < 0.1 else 0,
            )
        for _ in range(8):
            when = now - timedelta(weeks=week, hours=rng.randint(1, 160))
            customer = factories.CustomerFactory()
            category = rng.choice(categories if week > 4 else categories * 2 + ["question"])
            interaction = factories.InteractionFactory(
                customer=customer,
                team=team,
                rep=rng.choice(reps),
                occurred_at=when,
                category_id=category,
                outcome=rng.choice(["resolved", "information_given", "promise_made"]),
            )
            resolved = rng.random() < 0.7
            matter = Matter.objects.create(
                customer=customer,
                category_id=category,
                status="resolved" if resolved else "open",
                resolved_at=when if resolved else None,
                first_interaction=interaction,
                opened_at=when,
                last_contact_at=when,
                contact_count=1 if rng.random() < 0.8 else 2,
            )
            interaction.matter = matter
            interaction.save(update_fields=["matter"])
            if rng.random() < 0.4:
                Feedback.objects.create(
                    interaction=interaction, matter=matter, score=rng.randint(2, 5)
                )
    factories.FollowUpFactory(
        owner=reps[0], team=team, due_at=now - timedelta(hours=3), next_action_at=None
    )

    login_as(page, sam)
    page.goto("/supervisor/metrics/")
    assert page.locator(".tile").count() == 8
    assert page.locator("svg.chart").count() == 4
    screenshot(page, "metrics")

    # Filters apply (a rep) and each chart's table and CSV are there.
    page.select_option("#id_rep", str(reps[0].pk))
    page.click(".metrics-filter button[type=submit]")
    page.wait_for_url(f"**rep={reps[0].pk}**")
    assert page.locator("a.csv").count() == 4
