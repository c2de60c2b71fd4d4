"""The viewer's time everywhere (issue 14): a rep in New York, a customer in Tokyo,
either side of the night US clocks go back (Sun 1 Nov 2026, 02:00 EDT -> 01:00 EST).

Every time is shown in the rep's zone with its abbreviation, the customer's local
time beside; the log form's "When" defaults to the rep's now and is read in the rep's
zone; "tomorrow morning" is the customer's morning; an exact promise time is the rep's.
"""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from crm import selectors, services
from crm.models import TeamMembership
from followups.models import FollowUp
from interactions.models import Interaction
from tests.factories import CustomerFactory, TeamFactory, TeamMembershipFactory

pytestmark = pytest.mark.django_db

# Sat 31 Oct 2026 19:00 EDT (UTC-4) = Sun 1 Nov 08:00 JST.
BEFORE_DST_END = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
# Sun 1 Nov 2026 19:30 EST (UTC-5) = Mon 2 Nov 09:30 JST.
AFTER_DST_END = datetime(2026, 11, 2, 0, 30, tzinfo=UTC)


@pytest.fixture
def rep(db):
    team = TeamFactory(time_zone="America/New_York")
    return TeamMembershipFactory(team=team, role=TeamMembership.Role.REP).user


@pytest.fixture
def customer(db):
    return CustomerFactory(full_name="Haruki Sato", time_zone="Asia/Tokyo")


@pytest.fixture
def browser(rep):
    client = Client()
    client.force_login(rep)
    return client


def _log(browser, customer, **fields):
    data = {
        "channel": "phone",
        "direction": "inbound",
        "subject": "Call",
        "promise-priority": "normal",
        **fields,
    }
    return browser.post(
        reverse("interactions:customer-log-form", args=[customer.pk]), data, HTTP_HX_REQUEST="true"
    )


def _when_value(html: str) -> str:
    return re.search(r'name="occurred_at" value="([^"]+)"', html).group(1)


@pytest.mark.parametrize(
    ("now", "default", "abbreviation"),
    [(BEFORE_DST_END, "2026-10-31T19:00", "EDT"), (AFTER_DST_END, "2026-11-01T19:30", "EST")],
)
def test_the_log_form_defaults_to_now_on_the_reps_clock_and_names_it(
    browser, customer, now, default, abbreviation
):
    with time_machine.travel(now, tick=False):
        html = browser.get(reverse("interactions:customer-log-form", args=[customer.pk])).content
    html = html.decode()
    assert _when_value(html) == default
    assert f"When (your time, {abbreviation})" in html


def test_a_typed_when_is_read_on_the_reps_clock_either_side_of_the_change(browser, customer):
    with time_machine.travel(AFTER_DST_END, tick=False):
        response = _log(browser, customer, occurred_at="2026-10-31T19:00")
        assert response.status_code == 200, response.content.decode()
        assert _log(browser, customer, occurred_at="2026-11-01T19:00").status_code == 200
    stored = sorted(Interaction.objects.values_list("occurred_at", flat=True))
    assert stored == [
        datetime(2026, 10, 31, 23, 0, tzinfo=UTC),  # EDT, UTC-4
        datetime(2026, 11, 2, 0, 0, tzinfo=UTC),  # EST, UTC-5
    ]


def test_the_timeline_shows_the_reps_time_and_the_customers_beside(browser, customer):
    with time_machine.travel(AFTER_DST_END, tick=False):
        _log(browser, customer, occurred_at="2026-10-31T19:00")
        _log(browser, customer, occurred_at="2026-11-01T19:00")
        html = browser.get(
            reverse("interactions:customer-timeline", args=[customer.pk])
        ).content.decode()
    assert "Sat 31 Oct, 19:00 EDT" in html
    assert "(Sun 08:00 JST theirs)" in html
    assert "Sun 1 Nov, 19:00 EST" in html
    assert "(Mon 09:00 JST theirs)" in html
    assert "UTC" not in html


def test_the_customer_page_shows_their_local_time_and_the_viewers_clock(browser, customer):
    with time_machine.travel(AFTER_DST_END, tick=False):
        html = browser.get(reverse("crm:customer-detail", args=[customer.pk])).content.decode()
    assert "Mon 09:30 JST" in html  # the customer's clock
    assert "19:30 EST" in html  # the viewer's clock in the top bar


def test_tomorrow_morning_is_the_customers_morning_and_an_exact_time_the_reps(browser, customer):
    promise = {
        "occurred_at": "2026-11-01T19:30",
        "promise-make_promise": "on",
        "promise-action": "Send the new contract",
        "promise-priority": "normal",
    }
    with time_machine.travel(AFTER_DST_END, tick=False):
        response = _log(browser, customer, **promise, **{"promise-due_phrase": "tomorrow morning"})
        assert response.status_code == 200, response.content.decode()
        response = _log(browser, customer, **promise, **{"promise-due_at": "2026-11-02T10:00"})
        assert response.status_code == 200, response.content.decode()
    due = dict(FollowUp.objects.values_list("due_phrase", "due_at"))
    # Tokyo's tomorrow is Tue 3 Nov; its morning ends 12:00 JST = 03:00 UTC (Mon 22:00 EST).
    assert due["tomorrow morning"] == datetime(2026, 11, 3, 3, 0, tzinfo=UTC)
    # 10:00 typed by the New York rep on Mon 2 Nov (EST) = 15:00 UTC.
    assert due[""] == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def test_my_day_names_both_clocks(browser, customer, rep):
    from followups.services import followup_promise

    with time_machine.travel(AFTER_DST_END, tick=False):
        followup_promise(
            customer=customer,
            owner=rep,
            action="Call back",
            due_at=datetime(2026, 11, 2, 14, 0, tzinfo=UTC),
        )
        html = browser.get(reverse("followups:my-day")).content.decode()
    assert "Mon 2 Nov, 09:00 EST" in html
    assert "(Mon 23:00 JST theirs)" in html


def test_a_users_own_time_zone_wins_over_the_teams(browser, rep):
    assert selectors.user_time_zone(rep) == "America/New_York"
    response = browser.post(reverse("crm:my-settings"), {"time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    assert selectors.user_time_zone(rep) == "Europe/Berlin"
    with time_machine.travel(AFTER_DST_END, tick=False):
        html = browser.get(reverse("crm:my-settings")).content.decode()
    assert "01:30 CET" in html
    bad = browser.post(reverse("crm:my-settings"), {"time_zone": "Mars/Olympus"})
    assert bad.status_code == 400
    assert "Mars/Olympus" in bad.content.decode()  # the choice error names it
    services.staff_time_zone_set(user=rep, time_zone="")
    assert selectors.user_time_zone(rep) == "America/New_York"  # back to the team's


def test_the_api_and_anonymous_pages_stay_in_utc(client):
    from django.utils import timezone

    client.get("/accounts/login/")
    assert timezone.get_current_timezone_name() == "UTC"


def test_the_api_answers_in_utc_even_to_a_signed_in_rep(browser, customer):
    with time_machine.travel(AFTER_DST_END, tick=False):
        _log(browser, customer, occurred_at="2026-11-01T19:00")
        body = browser.get(f"/api/v1/customers/{customer.pk}/timeline/").json()
    assert body["results"][0]["occurred_at"] in (
        "2026-11-02T00:00:00Z",
        "2026-11-02T00:00:00+00:00",
    )


def test_the_viewers_roles_come_with_the_time_zone_in_one_query(rep, django_assert_num_queries):
    from django.contrib.auth.models import Group

    from core.roles import ADMIN_GROUP
    from crm import access

    supervised = TeamFactory(time_zone="Europe/Berlin")
    TeamMembershipFactory(user=rep, team=supervised, role=TeamMembership.Role.SUPERVISOR)
    first_team = TeamMembership.objects.get(user=rep, role=TeamMembership.Role.REP).team_id

    with django_assert_num_queries(1):
        roles, zone = selectors.viewer_roles_and_time_zone(rep)
    assert zone == "America/New_York"  # the first team's
    assert roles.team_ids == {first_team, supervised.pk}
    assert roles.supervised_team_ids == {supervised.pk}
    assert roles.is_admin is False

    rep.groups.add(Group.objects.get_or_create(name=ADMIN_GROUP)[0])
    roles, _ = selectors.viewer_roles_and_time_zone(rep)
    assert roles.is_admin is True
    assert access.is_admin(rep) is True  # without remembered roles: asks the database


def test_a_page_asks_the_viewers_roles_once(browser, rep, customer, django_assert_num_queries):
    from crm import access
    from tests.factories import UserFactory

    TeamMembershipFactory(user=rep, role=TeamMembership.Role.SUPERVISOR)
    url = reverse("interactions:customer-timeline", args=[customer.pk])
    # session, user, roles and time zone (one), the customer, its timeline, its
    # matters, the categories: the view's staff check adds none.
    with django_assert_num_queries(7):
        assert browser.get(url).status_code == 200

    outsider = UserFactory()  # no team: refused, and the refusal costs no query either
    stranger = Client()
    stranger.force_login(outsider)
    with django_assert_num_queries(3):
        assert stranger.get(url).status_code == 403
    assert access.is_staff_member(outsider) is False
