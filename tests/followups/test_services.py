"""People's use cases: every change is an event; access per crm.access."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from followups import services, sweep
from followups.models import EscalationPolicy, FollowUp, FollowUpEvent
from tests.factories import InteractionFactory
from tests.followups.conftest import MONDAY_10_NY

DUE = MONDAY_10_NY + timedelta(hours=4)


def _promise(customer, rep, **kwargs):
    kwargs.setdefault("due_at", DUE)
    return services.followup_promise(
        customer=customer, owner=rep, action="Send the quote", now=MONDAY_10_NY, **kwargs
    )


def _kinds(followup):
    return list(FollowUpEvent.objects.filter(followup=followup).values_list("kind", flat=True))


def test_promise_from_a_phrase_takes_the_owners_team(customer, rep, team):
    followup = _promise(customer, rep, due_at=None, due_phrase="by Friday")

    assert followup.team == team
    assert followup.due_phrase == "by Friday"
    assert followup.due_at.isoformat() == "2026-11-20T22:00:00+00:00"
    assert _kinds(followup) == ["created"]


def test_promise_refuses_a_bad_phrase_naming_the_field(customer, rep):
    with pytest.raises(ValidationError) as caught:
        _promise(customer, rep, due_at=None, due_phrase="whenever")

    assert "due_phrase" in caught.value.message_dict
    assert FollowUp.objects.count() == 0


def test_priority_shortens_the_escalation_never_the_customer(customer, rep, team):
    EscalationPolicy.objects.create(team=team, high_priority_percent=50)
    normal = _promise(customer, rep)
    high = _promise(customer, rep, priority="high")

    # Half of 4 business hours: Monday 16:00 New York instead of Tuesday 10:00.
    assert normal.escalate_1_at == DUE + timedelta(hours=20)
    assert high.escalate_1_at == DUE + timedelta(hours=2)
    assert high.remind_at == DUE - timedelta(minutes=30)


def test_complete_records_on_time_and_the_note(customer, rep):
    followup = _promise(customer, rep)

    done = services.followup_complete(
        followup_id=followup.pk, user=rep, note="Quote sent", now=DUE - timedelta(minutes=5)
    )

    assert (done.status, done.is_kept_on_time, done.completion_note) == ("done", True, "Quote sent")
    assert done.completed_by == rep
    assert _kinds(followup) == ["created", "completed"]


def test_keeping_by_an_interaction_uses_its_time(customer, rep):
    followup = _promise(customer, rep)
    late_call = InteractionFactory(customer=customer, rep=rep, occurred_at=DUE + timedelta(hours=1))

    kept = services.followup_keep_with_interaction(
        followup_id=followup.pk, interaction=late_call, user=rep
    )

    assert kept.kept_by_interaction == late_call
    assert kept.is_kept_on_time is False
    assert _kinds(followup) == ["created", "kept"]


def test_completing_twice_is_refused_and_changes_nothing(customer, rep):
    followup = _promise(customer, rep)
    services.followup_complete(followup_id=followup.pk, user=rep, now=MONDAY_10_NY)

    with pytest.raises(ValidationError):
        services.followup_cancel(followup_id=followup.pk, user=rep, reason="oops")

    followup.refresh_from_db()
    assert followup.status == "done"
    assert _kinds(followup) == ["created", "completed"]


def test_renegotiation_is_counted_apart_from_misses(customer, rep):
    followup = _promise(customer, rep)
    sweep.followup_sweep(now=DUE + timedelta(minutes=1))

    renegotiated = services.followup_renegotiate(
        followup_id=followup.pk,
        due_at=DUE + timedelta(days=3),
        user=rep,
        reason="Customer away",
        now=DUE + timedelta(minutes=2),
    )

    assert renegotiated.renegotiation_count == 1
    assert renegotiated.original_due_at == DUE
    assert (renegotiated.is_overdue, renegotiated.cycle) == (False, 1)
    event = FollowUpEvent.objects.get(followup=followup, kind="renegotiated")
    assert event.details["was_overdue"] is True
    assert FollowUpEvent.objects.filter(followup=followup, kind="overdue").count() == 1


def test_cancel_needs_a_reason(customer, rep):
    followup = _promise(customer, rep)

    with pytest.raises(ValidationError) as caught:
        services.followup_cancel(followup_id=followup.pk, user=rep, reason="  ")

    assert "reason" in caught.value.message_dict


def test_outsider_cannot_touch_the_promise(customer, rep, outsider):
    followup = _promise(customer, rep)

    with pytest.raises(PermissionDenied):
        services.followup_complete(followup_id=followup.pk, user=outsider)
    with pytest.raises(PermissionDenied):
        services.followup_reassign(followup_id=followup.pk, new_owner=outsider, user=outsider)


def test_reassign_is_for_owner_supervisor_admin_within_the_team(
    customer, rep, other_rep, supervisor, outsider
):
    followup = _promise(customer, rep)

    with pytest.raises(PermissionDenied):
        services.followup_reassign(followup_id=followup.pk, new_owner=rep, user=other_rep)
    with pytest.raises(ValidationError):
        services.followup_reassign(followup_id=followup.pk, new_owner=outsider, user=supervisor)
    services.followup_reassign(followup_id=followup.pk, new_owner=other_rep, user=supervisor)

    followup.refresh_from_db()
    assert followup.owner == other_rep
    event = FollowUpEvent.objects.get(followup=followup, kind="reassigned")
    assert event.details["from"] == rep.pk
    assert event.details["to"] == other_rep.pk
