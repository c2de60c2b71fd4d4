"""A team's policy or calendar changes: its open promises are rescheduled, history kept."""

from datetime import UTC, datetime, time, timedelta

from followups import schedules, services, sweep
from followups.models import (
    BusinessHours,
    Closure,
    EscalationPolicy,
    FollowUp,
    FollowUpEvent,
    Notification,
)
from followups.tasks import team_schedules_recompute
from tests.factories import UserFactory
from tests.followups.conftest import MONDAY_10_NY

DUE = datetime(2026, 11, 16, 19, 0, tzinfo=UTC)  # Monday 14:00 New York


def _promise(customer, rep):
    return services.followup_promise(
        customer=customer, owner=rep, action="Send the refund form", due_at=DUE, now=MONDAY_10_NY
    )


def test_a_shorter_policy_moves_escalations_and_keeps_what_happened(customer, rep, supervisor):
    overdue = _promise(customer, rep)
    upcoming = services.followup_promise(
        customer=customer,
        owner=rep,
        action="Call back",
        due_at=DUE + timedelta(days=1),
        now=MONDAY_10_NY,
    )
    sweep.followup_sweep(now=DUE + timedelta(minutes=1))
    overdue.refresh_from_db()
    assert (overdue.is_reminded, overdue.is_overdue, overdue.escalation_level) == (True, True, 0)
    assert overdue.escalate_1_at == datetime(2026, 11, 17, 15, 0, tzinfo=UTC)

    EscalationPolicy.objects.create(
        team=rep.team_memberships.get().team,
        escalate_1_after_business_minutes=60,
        escalate_2_after_business_minutes=120,
    )
    rescheduled = schedules.team_schedules_recompute(
        team_id=overdue.team_id, now=DUE + timedelta(minutes=2)
    )

    assert rescheduled == 2
    overdue.refresh_from_db()
    # One business hour after 14:00 Monday New York.
    assert overdue.escalate_1_at == DUE + timedelta(hours=1)
    assert overdue.next_action_at == overdue.escalate_1_at
    assert (overdue.is_reminded, overdue.is_overdue, overdue.escalation_level) == (True, True, 0)
    upcoming.refresh_from_db()
    assert upcoming.next_action_at == upcoming.remind_at == upcoming.due_at - timedelta(hours=1)
    assert upcoming.escalate_1_at == upcoming.due_at + timedelta(hours=1)
    # The sweep then escalates on the new time, once.
    sweep.followup_sweep(now=DUE + timedelta(hours=1, minutes=1))
    sweep.followup_sweep(now=DUE + timedelta(hours=1, minutes=2))
    escalations = FollowUpEvent.objects.filter(followup=overdue, kind="escalate")
    assert list(escalations.values_list("level", flat=True)) == [1]


def test_a_closure_added_in_the_admin_reschedules_through_the_worker_task(
    client, customer, rep, django_capture_on_commit_callbacks
):
    followup = _promise(customer, rep)
    before = followup.escalate_1_at  # Tuesday 10:00 New York
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/admin/followups/closure/add/",
            {"team": followup.team_id, "date": "2026-11-17", "reason": "Office move"},
        )

    assert response.status_code == 302
    assert Closure.objects.count() == 1
    assert len(callbacks) == 1
    assert team_schedules_recompute.run(followup.team_id) == 1
    followup.refresh_from_db()
    # Tuesday closed: the 4th business hour ends Wednesday 10:00 New York instead.
    assert followup.escalate_1_at == before + timedelta(days=1)
    assert FollowUp.objects.get(pk=followup.pk).status == "open"


# --- A policy change never loses a transition (issue 17) ----------------------
# The reminder of a promise due at DUE falls due at DUE - 1 h (default lead).
# "Between a reminder's time and the next sweep": the edit lands 30 s after
# the reminder fell due, before any sweep ran.
REMIND_AT = DUE - timedelta(hours=1)
EDITED_AT = REMIND_AT + timedelta(seconds=30)
NEXT_SWEEP = REMIND_AT + timedelta(minutes=1)


def _reminders(followup):
    return list(
        FollowUpEvent.objects.filter(followup=followup, kind="remind").values_list(
            "scheduled_at", flat=True
        )
    )


def _owner_reminder_notices(followup):
    return Notification.objects.filter(
        followup=followup, kind="remind", recipient=followup.owner
    ).count()


def test_a_policy_edited_after_the_reminder_fell_due_still_reminds_once(customer, rep):
    followup = _promise(customer, rep)
    assert followup.remind_at == REMIND_AT

    EscalationPolicy.objects.create(
        team=followup.team,
        escalate_1_after_business_minutes=60,
        escalate_2_after_business_minutes=120,
    )
    schedules.team_schedules_recompute(team_id=followup.team_id, now=EDITED_AT)
    sweep.followup_sweep(now=NEXT_SWEEP)
    sweep.followup_sweep(now=NEXT_SWEEP + timedelta(minutes=1))

    assert _reminders(followup) == [REMIND_AT]
    assert _owner_reminder_notices(followup) == 2  # in-app and e-mail, once each
    followup.refresh_from_db()
    assert followup.is_reminded is True
    assert followup.next_action_at == DUE


def test_business_hours_edited_after_the_reminder_fell_due_still_remind_once(customer, rep):
    followup = _promise(customer, rep)

    for weekday in range(5):
        BusinessHours.objects.create(
            team=followup.team, weekday=weekday, opens_at=time(8), closes_at=time(20)
        )
    schedules.team_schedules_recompute(team_id=followup.team_id, now=EDITED_AT)
    sweep.followup_sweep(now=NEXT_SWEEP)
    sweep.followup_sweep(now=NEXT_SWEEP + timedelta(minutes=1))

    assert _reminders(followup) == [REMIND_AT]
    assert _owner_reminder_notices(followup) == 2


def test_a_longer_lead_that_puts_a_pending_reminder_in_the_past_reminds_at_the_next_sweep(
    customer, rep
):
    followup = _promise(customer, rep)
    edited_at = DUE - timedelta(minutes=90)  # the old reminder (DUE - 60 min) is still ahead

    EscalationPolicy.objects.create(team=followup.team, reminder_lead_minutes=120)
    schedules.team_schedules_recompute(team_id=followup.team_id, now=edited_at)
    followup.refresh_from_db()
    assert followup.remind_at == DUE - timedelta(minutes=120)
    assert followup.next_action_at == followup.remind_at
    sweep.followup_sweep(now=edited_at + timedelta(minutes=1))
    sweep.followup_sweep(now=REMIND_AT + timedelta(minutes=1))

    assert _reminders(followup) == [DUE - timedelta(minutes=120)]
    assert _owner_reminder_notices(followup) == 2


def test_a_shorter_lead_moves_the_pending_reminder_later_and_it_is_made_once(customer, rep):
    followup = _promise(customer, rep)

    EscalationPolicy.objects.create(team=followup.team, reminder_lead_minutes=30)
    schedules.team_schedules_recompute(team_id=followup.team_id, now=EDITED_AT)
    sweep.followup_sweep(now=NEXT_SWEEP)
    assert _reminders(followup) == []
    sweep.followup_sweep(now=DUE - timedelta(minutes=29))
    sweep.followup_sweep(now=DUE - timedelta(minutes=28))

    assert _reminders(followup) == [DUE - timedelta(minutes=30)]


def test_a_reminder_already_made_is_not_made_again_after_an_edit(customer, rep):
    followup = _promise(customer, rep)
    sweep.followup_sweep(now=NEXT_SWEEP)
    assert _reminders(followup) == [REMIND_AT]

    EscalationPolicy.objects.create(team=followup.team, reminder_lead_minutes=30)
    schedules.team_schedules_recompute(team_id=followup.team_id, now=NEXT_SWEEP)
    sweep.followup_sweep(now=DUE - timedelta(minutes=29))

    assert _reminders(followup) == [REMIND_AT]
    assert _owner_reminder_notices(followup) == 2


def test_a_promise_made_inside_the_lead_gets_no_reminder_from_a_later_edit(customer, rep):
    made_at = DUE - timedelta(minutes=20)  # inside the 60-minute lead: no reminder scheduled
    followup = services.followup_promise(
        customer=customer, owner=rep, action="Call back", due_at=DUE, now=made_at
    )
    assert followup.remind_at is None

    EscalationPolicy.objects.create(team=followup.team, reminder_lead_minutes=120)
    schedules.team_schedules_recompute(team_id=followup.team_id, now=made_at + timedelta(minutes=1))
    sweep.followup_sweep(now=made_at + timedelta(minutes=2))

    assert _reminders(followup) == []
    followup.refresh_from_db()
    assert followup.next_action_at == DUE
