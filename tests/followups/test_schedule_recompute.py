"""A team's policy or calendar changes: its open promises are rescheduled, history kept."""

from datetime import UTC, datetime, timedelta

from followups import services
from followups.models import Closure, EscalationPolicy, FollowUp, FollowUpEvent
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
    services.followup_sweep(now=DUE + timedelta(minutes=1))
    overdue.refresh_from_db()
    assert (overdue.is_reminded, overdue.is_overdue, overdue.escalation_level) == (True, True, 0)
    assert overdue.escalate_1_at == datetime(2026, 11, 17, 15, 0, tzinfo=UTC)

    EscalationPolicy.objects.create(
        team=rep.team_memberships.get().team,
        escalate_1_after_business_minutes=60,
        escalate_2_after_business_minutes=120,
    )
    rescheduled = services.team_schedules_recompute(
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
    services.followup_sweep(now=DUE + timedelta(hours=1, minutes=1))
    services.followup_sweep(now=DUE + timedelta(hours=1, minutes=2))
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
