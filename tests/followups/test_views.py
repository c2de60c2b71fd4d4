"""My day, the customer panel, the bell, the interaction form's promise slot."""

from datetime import timedelta

import pytest
import time_machine

from followups import services, sweep
from followups.models import FollowUp, Notification
from interactions.models import Interaction
from tests.factories import CustomerFactory
from tests.followups.conftest import MONDAY_10_NY


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(MONDAY_10_NY, tick=False):
        yield


def _promise(customer, owner, due_at, action="Call back"):
    return services.followup_promise(
        customer=customer, owner=owner, action=action, due_at=due_at, now=due_at - timedelta(days=9)
    )


def test_my_day_splits_overdue_today_upcoming_in_the_reps_clock(
    client, customer, rep, django_assert_max_num_queries
):
    overdue = _promise(customer, rep, MONDAY_10_NY - timedelta(hours=1), "Overdue one")
    # 23:30 New York on Monday is Tuesday in UTC, but still today for the rep.
    tonight = _promise(customer, rep, MONDAY_10_NY + timedelta(hours=13, minutes=30), "Tonight")
    tomorrow = _promise(customer, rep, MONDAY_10_NY + timedelta(days=1), "Tomorrow")
    client.force_login(rep)
    client.get("/followups/my-day/")

    with django_assert_max_num_queries(8):
        response = client.get("/followups/my-day/")

    day = response.context["day"]
    assert (day.overdue, day.due_today, day.upcoming) == ([overdue], [tonight], [tomorrow])
    html = response.content.decode()
    assert "Mon 16 Nov, 23:30 EST" in html  # rep's clock (New York), named
    assert "(Tue 04:30 GMT theirs)" in html  # customer's clock (Europe/London)


def test_my_day_query_count_is_constant(client, rep, django_assert_max_num_queries):
    client.force_login(rep)
    for _ in range(2):
        _promise(CustomerFactory(), rep, MONDAY_10_NY + timedelta(hours=2))
    client.get("/followups/my-day/")
    with django_assert_max_num_queries(8) as few:
        client.get("/followups/my-day/")
    for _ in range(15):
        _promise(CustomerFactory(), rep, MONDAY_10_NY + timedelta(hours=2))

    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/followups/my-day/")


def test_complete_in_place_answers_the_row(client, customer, rep):
    followup = _promise(customer, rep, MONDAY_10_NY + timedelta(hours=2))
    client.force_login(rep)

    response = client.post(
        f"/followups/{followup.pk}/complete/", {"note": "Done by phone"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert f'id="followup-{followup.pk}"' in response.content.decode()
    followup.refresh_from_db()
    assert (followup.status, followup.completion_note) == ("done", "Done by phone")


def test_outsider_cannot_complete_or_see(client, customer, rep, outsider):
    followup = _promise(customer, rep, MONDAY_10_NY + timedelta(hours=2))
    client.force_login(outsider)

    assert client.post(f"/followups/{followup.pk}/complete/", {}).status_code == 404
    assert client.get(f"/followups/{followup.pk}/").status_code == 404
    panel = client.get(f"/followups/customers/{customer.pk}/promises/")
    assert "Call back" not in panel.content.decode()
    assert FollowUp.objects.get(pk=followup.pk).status == "open"


def test_customer_panel_lists_open_promises(client, customer, rep, django_assert_max_num_queries):
    _promise(customer, rep, MONDAY_10_NY + timedelta(hours=2), "Send the refund form")
    client.force_login(rep)

    with django_assert_max_num_queries(8):
        response = client.get(f"/followups/customers/{customer.pk}/promises/")

    assert "Send the refund form" in response.content.decode()


def test_bell_counts_unread_and_mark_read_clears_it(client, customer, rep):
    followup = _promise(customer, rep, MONDAY_10_NY - timedelta(minutes=1))
    sweep.followup_sweep(now=MONDAY_10_NY)
    client.force_login(rep)

    assert (
        'data-testid="unread-count">1<'
        in client.get("/followups/notifications/bell/").content.decode()
    )
    listing = client.get("/followups/notifications/").content.decode()
    assert followup.action in listing
    response = client.post("/followups/notifications/read/", {}, HTTP_HX_REQUEST="true")

    assert response["HX-Trigger"] == "notifications-read"
    assert Notification.objects.filter(channel="in_app", read_at__isnull=True).count() == 0
    assert "unread-count" not in client.get("/followups/notifications/bell/").content.decode()


def test_interaction_form_promises_a_follow_up_in_the_same_transaction(
    client, customer, rep, django_assert_max_num_queries
):
    client.force_login(rep)
    # session, user, roles and zone, the customer, the categories, the rep's open
    # promises to this customer (none): no server-side cursor, no second zone query.
    with django_assert_max_num_queries(6):
        form = client.get(f"/interactions/customers/{customer.pk}/log/")
    assert 'name="promise-due_phrase"' in form.content.decode()
    payload = {
        "channel": "phone",
        "direction": "inbound",
        "occurred_at": "2026-11-16T09:55",
        "duration_minutes": "5",
        "summary": "Asked about the refund",
        "promise-make_promise": "on",
        "promise-action": "Call back with the refund date",
        "promise-due_phrase": "tomorrow morning",
        "promise-priority": "normal",
    }

    bad = client.post(
        f"/interactions/customers/{customer.pk}/log/",
        {**payload, "promise-due_phrase": "whenever"},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 400
    assert (Interaction.objects.count(), FollowUp.objects.count()) == (0, 0)

    # session, user, roles and zone, the customer; the phrase read in the team's
    # calendar (team, hours, closures: once, the service records that due time);
    # the interaction (its team, the interaction with its matter, the customer's
    # activity, its webhook event row); the promise (hours, closures and policy for its schedule, the row,
    # its event, its webhooks); the transaction and two savepoints (6); the fresh
    # form (categories, the rep's open promises). Validating each check constraint
    # and related row would add a query each (21 more).
    with django_assert_max_num_queries(25):
        response = client.post(
            f"/interactions/customers/{customer.pk}/log/", payload, HTTP_HX_REQUEST="true"
        )

    assert response.status_code == 200, response.content.decode()[:2000]
    followup = FollowUp.objects.get()
    assert followup.origin_interaction == Interaction.objects.get()
    assert followup.due_at.isoformat() == "2026-11-17T12:00:00+00:00"  # noon in London
    assert followup.created_by == rep


def test_logging_an_interaction_can_keep_an_open_promise(client, customer, rep):
    followup = _promise(customer, rep, MONDAY_10_NY + timedelta(hours=2), "Call with the date")
    client.force_login(rep)
    form = client.get(f"/interactions/customers/{customer.pk}/log/").content.decode()
    assert "Call with the date" in form

    response = client.post(
        f"/interactions/customers/{customer.pk}/log/",
        {
            "channel": "phone",
            "direction": "outbound",
            "occurred_at": "2026-11-16T09:58",
            "duration_minutes": "4",
            "summary": "Gave the date",
            "promise-keeps": [str(followup.pk)],
            "promise-priority": "normal",
        },
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200, response.content.decode()[:2000]
    followup.refresh_from_db()
    assert followup.status == "done"
    assert followup.kept_by_interaction == Interaction.objects.get()
    assert followup.is_kept_on_time is True
