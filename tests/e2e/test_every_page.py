"""Every page, checked by a real tool and looked at (issue 14).

One browser session per role visits every page at 1280 px and at 390 px (a phone),
runs axe-core (axe-playwright-python bundles axe.min.js: nothing is downloaded) and
saves a full-page screenshot to test-artifacts/pages/<role>-<page>-<width>.png.
No page may have a serious or critical violation, or scroll sideways at 390 px.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.models import TeamMembership
from crm.services import customer_create
from followups.services import followup_promise
from interactions.services import feedback_path
from tests import factories
from tests.e2e.conftest import ARTIFACTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 390)
BLOCKING = {"serious", "critical"}


def _world():
    team = factories.TeamFactory(name="Front Desk", time_zone="America/New_York")
    rep = factories.UserFactory(username="maria", first_name="María", last_name="González")
    supervisor = factories.UserFactory(username="sam", first_name="Sam", last_name="Rivera")
    factories.TeamMembershipFactory(team=team, user=rep)
    factories.TeamMembershipFactory(team=team, user=supervisor, role=TeamMembership.Role.SUPERVISOR)
    customer = customer_create(
        full_name="Haruki Sato",
        preferred_name="Haru",
        pronunciation="ha-ROO-kee",
        time_zone="Asia/Tokyo",
        phones=["+81 3-1234-5678"],
        emails=["haruki@example.jp"],
    )
    interaction = factories.InteractionFactory(
        customer=customer,
        rep=rep,
        team=team,
        summary="Asked about the bill.",
        duration_seconds=1260,
    )
    now = timezone.now()
    overdue = followup_promise(
        customer=customer,
        owner=rep,
        action="Call back about the refund",
        due_at=now - timedelta(hours=3),
        now=now - timedelta(days=2),
    )
    followup_promise(
        customer=customer, owner=rep, action="Send the contract", due_at=now + timedelta(hours=5)
    )
    return rep, supervisor, customer, interaction, overdue


def _check(page, axe, role: str, name: str, path: str, problems: list[str]) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        response = page.goto(path)
        assert response.status < 400, (path, response.status)
        page.wait_for_load_state("networkidle")
        results = axe.run(page)
        for violation in results.response["violations"]:
            if violation["impact"] in BLOCKING:
                targets = [node["target"] for node in violation["nodes"]][:3]
                problems.append(f"{path} @{width}: {violation['id']} {targets}")
        if width == 390:
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 2:
                wide = page.evaluate(
                    "[...document.querySelectorAll('body *')]"
                    ".filter(e => e.getBoundingClientRect().right > innerWidth + 2"
                    " && e.parentElement.getBoundingClientRect().right <= innerWidth + 2)"
                    ".slice(0, 4).map(e => e.tagName + '.' + e.className + '#' + e.id)"
                )
                problems.append(f"{path} @{width}: scrolls sideways by {overflow}px: {wide}")
        (ARTIFACTS / "pages").mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(ARTIFACTS / "pages" / f"{role}-{name}-{width}.png"), full_page=True
        )


@pytest.fixture
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def page_no_csp(browser, live_server):
    """axe is injected with evaluate(); the page's own script policy stays untouched
    elsewhere (test_security_csp checks it)."""
    context = browser.new_context(base_url=live_server.url, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_every_page_of_the_day_passes_axe_at_both_widths(page_no_csp, login_as, axe):
    rep, supervisor, customer, interaction, overdue = _world()
    page = page_no_csp
    problems: list[str] = []

    _check(page, axe, "anonymous", "login", "/accounts/login/", problems)
    _check(
        page, axe, "customer", "feedback", feedback_path(interaction_id=interaction.pk), problems
    )

    login_as(page, rep)
    for name, path in (
        ("my-day", "/followups/my-day/"),
        ("customers", "/customers/"),
        ("customer", f"/customers/{customer.pk}/"),
        ("duplicates", "/customers/duplicates/"),
        ("promise", f"/followups/{overdue.pk}/"),
        ("notifications", "/followups/notifications/"),
        ("settings", "/me/"),
    ):
        _check(page, axe, "rep", name, path, problems)

    page.context.clear_cookies()
    login_as(page, supervisor)
    for name, path in (
        ("board", "/supervisor/board/"),
        ("escalations", "/supervisor/escalations/"),
        ("metrics", "/supervisor/metrics/"),
        ("imports", "/spreadsheets/imports/"),
    ):
        _check(page, axe, "supervisor", name, path, problems)

    assert problems == [], "\n".join(problems)


def test_the_customer_page_opens_at_the_top_and_l_jumps_to_the_log_form(page, login_as):
    rep, _, customer, _, _ = _world()
    login_as(page, rep)
    page.goto(f"/customers/{customer.pk}/")
    page.locator(f"#interaction-log-{customer.pk} form").wait_for()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.scrollY") == 0
    assert page.locator("#customer-name").is_visible()
    assert page.locator("#local-time").inner_text().endswith("JST (Asia/Tokyo)")
    ids = page.evaluate("[...document.querySelectorAll('[id]')].map(e => e.id)")
    assert sorted({i for i in ids if ids.count(i) > 1}) == []  # no duplicate ids
    page.keyboard.press("l")
    focused = page.evaluate("document.activeElement.name")
    assert focused == "channel"
