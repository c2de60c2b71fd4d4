"""The sweep: each transition exactly once, to the right people, set-based."""

from datetime import UTC, datetime, timedelta

import time_machine

from followups import notifications, schedules, services, sweep
from followups.models import FollowUp, FollowUpEvent, Notification
from tests.followups.conftest import MONDAY_10_NY

DUE = datetime(2026, 11, 16, 19, 0, tzinfo=UTC)  # Monday 14:00 New York


def _promise(customer, rep, **kwargs):
    kwargs.setdefault("due_at", DUE)
    return services.followup_promise(
        customer=customer,
        owner=rep,
        action="Call back about the refund",
        now=MONDAY_10_NY,
        **kwargs,
    )


def _events(followup):
    return list(
        FollowUpEvent.objects.filter(followup=followup, kind__in=["remind", "overdue", "escalate"])
        .order_by("pk")
        .values_list("kind", "level")
    )


def test_promise_schedule_uses_the_team_business_calendar(customer, rep):
    followup = _promise(customer, rep)

    assert followup.remind_at == DUE - timedelta(hours=1)
    # 14:00-17:00 Monday is 3 business hours; the 4th ends Tuesday 10:00 New York.
    assert followup.escalate_1_at == datetime(2026, 11, 17, 15, 0, tzinfo=UTC)
    # 16 business hours: 3 Monday + 8 Tuesday + 5 Wednesday -> Wednesday 14:00 New York.
    assert followup.escalate_2_at == datetime(2026, 11, 18, 19, 0, tzinfo=UTC)
    assert followup.next_action_at == followup.remind_at
    assert followup.channel == "email"  # the customer's preferred channel


def test_each_transition_happens_once_and_notifies_the_right_people(
    customer, rep, supervisor, admin_user
):
    followup = _promise(customer, rep)

    assert sweep.followup_sweep(now=DUE - timedelta(hours=2)) == 0
    assert sweep.followup_sweep(now=DUE - timedelta(minutes=30)) == 1
    assert sweep.followup_sweep(now=DUE - timedelta(minutes=20)) == 0
    assert sweep.followup_sweep(now=DUE + timedelta(minutes=1)) == 1
    assert sweep.followup_sweep(now=followup.escalate_1_at) == 1
    assert sweep.followup_sweep(now=followup.escalate_2_at + timedelta(days=5)) == 1
    assert sweep.followup_sweep(now=followup.escalate_2_at + timedelta(days=6)) == 0

    assert _events(followup) == [("remind", 0), ("overdue", 0), ("escalate", 1), ("escalate", 2)]
    followup.refresh_from_db()
    assert (followup.is_reminded, followup.is_overdue, followup.escalation_level) == (True, True, 2)
    assert followup.next_action_at is None
    in_app = set(
        Notification.objects.filter(channel="in_app").values_list("kind", "level", "recipient")
    )
    assert in_app == {
        ("remind", 0, rep.pk),
        ("overdue", 0, rep.pk),
        ("escalate", 1, supervisor.pk),
        ("escalate", 2, admin_user.pk),
    }
    assert Notification.objects.filter(channel="email", delivery_status="pending").count() == 4


def test_a_late_sweep_does_every_missed_transition_in_one_pass(customer, rep, supervisor):
    followup = _promise(customer, rep)

    made = sweep.followup_sweep(now=followup.escalate_1_at + timedelta(minutes=1))

    assert made == 3
    assert _events(followup) == [("remind", 0), ("overdue", 0), ("escalate", 1)]
    # The stale reminder is on the history but not sent: the overdue notice says it better.
    assert not Notification.objects.filter(kind="remind").exists()


def test_a_batch_stamps_updated_at_with_when_it_writes_not_with_the_sweeps_now(customer, rep):
    """A sweep decides what is due at one `now` but its batches commit over time;
    readers of updated_at (the metrics rollup, change feeds) read past times they have
    seen, so a row stamped with the sweep's start would reach them too late."""
    followup = _promise(customer, rep)
    before = datetime.now(tz=UTC)

    assert sweep.followup_sweep(now=DUE + timedelta(minutes=1)) == 2

    followup.refresh_from_db()
    assert followup.is_overdue
    assert before <= followup.updated_at <= datetime.now(tz=UTC)


def test_closed_promises_get_no_transition(customer, rep):
    done = _promise(customer, rep)
    cancelled = _promise(customer, rep)
    services.followup_complete(followup_id=done.pk, user=rep, note="Called", now=MONDAY_10_NY)
    services.followup_cancel(
        followup_id=cancelled.pk, user=rep, reason="Customer withdrew", now=MONDAY_10_NY
    )

    assert sweep.followup_sweep(now=DUE + timedelta(days=10)) == 0
    assert Notification.objects.count() == 0


def test_renegotiation_starts_a_new_cycle(customer, rep):
    followup = _promise(customer, rep)
    sweep.followup_sweep(now=DUE + timedelta(minutes=1))
    new_due = DUE + timedelta(days=2)

    services.followup_renegotiate(
        followup_id=followup.pk, due_at=new_due, user=rep, now=DUE + timedelta(minutes=5)
    )
    sweep.followup_sweep(now=new_due + timedelta(minutes=1))

    followup.refresh_from_db()
    assert followup.renegotiation_count == 1
    assert followup.is_overdue is True
    assert list(
        FollowUpEvent.objects.filter(followup=followup, kind="overdue").values_list("cycle")
    ) == [(0,), (1,)]


def test_reassigned_promise_reminds_the_new_owner(customer, rep, other_rep):
    followup = _promise(customer, rep)
    services.followup_reassign(
        followup_id=followup.pk, new_owner=other_rep, user=rep, now=MONDAY_10_NY
    )

    sweep.followup_sweep(now=DUE - timedelta(minutes=30))

    assert set(Notification.objects.values_list("recipient", flat=True)) == {other_rep.pk}


def test_two_sweeps_of_the_same_moment_do_not_double(customer, rep):
    followups = [_promise(customer, rep) for _ in range(5)]

    first = sweep.followup_sweep(now=DUE + timedelta(minutes=1), batch_size=2)
    # Simulate the engine's worst case: the bookkeeping is reset as if a
    # worker died after inserting the events; the unique key still holds.
    FollowUp.objects.filter(pk__in=[f.pk for f in followups]).update(
        is_reminded=False, is_overdue=False, next_action_at=DUE
    )
    second = sweep.followup_sweep(now=DUE + timedelta(minutes=1), batch_size=2)

    assert first == 10  # remind + overdue for each
    assert second == 0
    assert FollowUpEvent.objects.filter(kind__in=["remind", "overdue"]).count() == 10


def test_sweep_query_count_does_not_grow_with_rows(customer, rep, django_assert_max_num_queries):
    for _ in range(30):
        _promise(customer, rep)

    # One statement per batch plus the outbox relay's claim, each in its
    # own (savepoint) transaction: 6, whatever the number of rows.
    with django_assert_max_num_queries(6):
        made = sweep.followup_sweep(now=DUE + timedelta(minutes=1))

    assert made == 60


def test_email_delivery_is_enqueued_after_commit(
    customer, rep, django_capture_on_commit_callbacks, mailoutbox
):
    _promise(customer, rep)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sweep.followup_sweep(now=DUE + timedelta(minutes=1))

    assert len(callbacks) == 1
    assert Notification.objects.filter(channel="email", delivery_status="pending").count() == 1


def test_delivery_sends_once_with_a_stable_message_id(customer, rep, mailoutbox):
    _promise(customer, rep)
    sweep.followup_sweep(now=DUE + timedelta(minutes=1))
    email = Notification.objects.get(channel="email")

    with time_machine.travel(DUE + timedelta(minutes=2), tick=False):
        first = notifications.notification_deliver(notification_id=email.pk)
        second = notifications.notification_deliver(notification_id=email.pk)

    assert (first[0], second[0]) == ("sent", "skipped")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].extra_headers["Message-ID"] == email.message_id
    assert mailoutbox[0].to == [rep.email]


def test_email_backoff_doubles_and_is_capped(settings):
    settings.FOLLOWUP_EMAIL_RETRY_BASE_SECONDS = 10
    assert [notifications.email_backoff(n).total_seconds() for n in (1, 2, 3)] == [10, 20, 40]
    assert notifications.email_backoff(30) == notifications.EMAIL_MAX_BACKOFF


def test_a_sweep_out_of_time_stops_between_batches_and_the_next_continues(customer, rep):
    for _ in range(5):
        _promise(customer, rep)
    later = DUE + timedelta(minutes=1)

    first = sweep.followup_sweep(now=later, batch_size=2, max_seconds=0)
    second = sweep.followup_sweep(now=later, batch_size=2)

    assert first == 4  # one batch of two promises, reminder and overdue each
    assert second == 6
    assert FollowUp.objects.filter(is_overdue=True).count() == 5


def test_backfill_gives_bulk_loaded_promises_a_schedule(customer, rep, team, supervisor):
    from tests.factories import FollowUpFactory

    loaded = FollowUpFactory(customer=customer, owner=rep, team=team, due_at=DUE)
    assert loaded.escalate_1_at is None

    assert schedules.followup_backfill_schedules(now=MONDAY_10_NY) == 1
    sweep.followup_sweep(now=datetime(2026, 11, 17, 15, 1, tzinfo=UTC))

    loaded.refresh_from_db()
    assert loaded.escalate_1_at == datetime(2026, 11, 17, 15, 0, tzinfo=UTC)
    assert _events(loaded) == [("remind", 0), ("overdue", 0), ("escalate", 1)]
    assert schedules.followup_backfill_schedules(now=MONDAY_10_NY) == 0
