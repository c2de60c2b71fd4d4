"""Operator commands: followups_status, outbox_retry, policy_preview (issue 17)."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from followups import notifications, operations, services, sweep
from followups.models import EscalationPolicy, FollowUp, FollowUpEvent, Notification
from tests.factories import FollowUpFactory, UserFactory


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _swept_overdue(*, minutes_ago: int = 30) -> Notification:
    """An overdue promise swept `minutes_ago`: its e-mail to the owner is pending."""
    now = timezone.now()
    owner = UserFactory(email="owner@example.com")
    FollowUpFactory(owner=owner, due_at=now - timedelta(minutes=minutes_ago + 1))
    sweep.followup_sweep(now=now - timedelta(minutes=minutes_ago))
    return Notification.objects.get(channel="email")


# --- followups_status -------------------------------------------------------------


@pytest.mark.django_db
def test_status_reports_lag_backlog_last_sweep_and_stuck_deliveries(settings):
    settings.FOLLOWUP_SWEEP_LAG_THRESHOLD_SECONDS = 300
    stuck = _swept_overdue(minutes_ago=30)
    FollowUpFactory(due_at=timezone.now() - timedelta(minutes=20))  # due, not swept
    operations.sweep_finished(at=timezone.now() - timedelta(minutes=30))

    report = json.loads(run("followups_status", "--json"))

    assert report["followups_due"] == 1
    assert 1190 < report["sweep_lag_seconds"] < 1300
    assert report["sweep_late"] is True
    assert report["outbox_pending"] == 1
    assert report["outbox_oldest_pending_age_seconds"] >= 1800
    assert report["outbox_failed"] == 0
    assert [row["id"] for row in report["stuck_deliveries"]] == [stuck.pk]
    assert report["last_sweep_at"] is not None
    text = run("followups_status")
    assert "LATE" in text
    assert f"#{stuck.pk} overdue" in text


@pytest.mark.django_db
def test_status_of_an_idle_engine():
    report = json.loads(run("followups_status", "--json"))

    assert report["sweep_lag_seconds"] == 0
    assert report["followups_due"] == 0
    assert report["outbox_pending"] == 0
    assert report["stuck_deliveries"] == []
    assert report["sweep_late"] is False


# --- outbox_retry -----------------------------------------------------------------


@pytest.mark.django_db
def test_outbox_retry_enqueues_pending_after_commit_and_sends_once(
    django_capture_on_commit_callbacks, mailoutbox
):
    pending = _swept_overdue()

    with django_capture_on_commit_callbacks(execute=False) as first:
        assert "1 deliveries handed" in run("outbox_retry")
    with django_capture_on_commit_callbacks(execute=False) as second:
        run("outbox_retry")
    assert len(first) == len(second) == 1

    # Both enqueued tasks run (the broker delivered twice): one e-mail.
    from followups.tasks import deliver_notification

    assert deliver_notification.apply(args=[pending.pk]).get() == "sent"
    assert deliver_notification.apply(args=[pending.pk]).get() == "skipped"
    assert len(mailoutbox) == 1
    assert run("outbox_retry") == "0 deliveries handed to the broker.\n"


@pytest.mark.django_db
def test_outbox_retry_failed_only_when_asked(django_capture_on_commit_callbacks):
    failed = _swept_overdue()
    Notification.objects.filter(pk=failed.pk).update(
        delivery_status="failed", attempts=notifications.EMAIL_MAX_ATTEMPTS, next_attempt_at=None
    )

    assert run("outbox_retry") == "0 deliveries handed to the broker.\n"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert run("outbox_retry", "--failed") == "1 deliveries handed to the broker.\n"

    failed.refresh_from_db()
    assert (failed.delivery_status, failed.attempts) == ("pending", 0)
    assert failed.next_attempt_at is not None
    assert len(callbacks) == 1


# --- policy_preview -----------------------------------------------------------------


@pytest.fixture
def team_promises(team, rep, customer):
    """Three promises made at 10:00 New York on Monday, due 14:00, next day, in a week."""
    from tests.followups.conftest import MONDAY_10_NY

    due = MONDAY_10_NY + timedelta(hours=4)
    return [
        services.followup_promise(
            customer=customer, owner=rep, action=f"Promise {n}", due_at=at, now=MONDAY_10_NY
        )
        for n, at in enumerate([due, due + timedelta(days=1), due + timedelta(days=7)])
    ]


def _state():
    return (
        list(FollowUp.objects.order_by("pk").values()),
        FollowUpEvent.objects.count(),
        Notification.objects.count(),
        EscalationPolicy.objects.count(),
    )


@pytest.mark.django_db
def test_policy_preview_lists_what_falls_due_and_changes_nothing(team, team_promises):
    import time_machine

    from tests.followups.conftest import MONDAY_10_NY

    before = _state()
    with time_machine.travel(MONDAY_10_NY, tick=False):
        current = run("policy_preview", "--team", str(team.pk), "--hours", "6")
        proposed = run(
            "policy_preview", "--team", team.name, "--hours", "6", "--escalate-1-minutes", "60"
        )

    assert _state() == before
    first = team_promises[0].pk
    # Current policy: reminder at 13:00 and overdue at 14:00 New York; escalation
    # (4 business hours) only on Tuesday.
    assert "remind: 1\n  overdue: 1\n  escalate level 1: 0" in current
    assert f"remind  follow-up #{first}" in current
    # Proposed: one business hour after due, 15:00 New York, inside the 6 hours.
    assert "escalate level 1: 1" in proposed
    assert f"2026-11-16T20:00:00+00:00  escalate level 1  follow-up #{first}" in proposed
    assert f"#{team_promises[1].pk}" not in proposed


@pytest.mark.django_db
def test_policy_preview_refuses_an_invalid_proposal_and_an_unknown_team(team, team_promises):
    with pytest.raises(CommandError, match="escalate_2|levels"):
        run("policy_preview", "--team", str(team.pk), "--escalate-1-minutes", "99999")
    with pytest.raises(CommandError, match="no team"):
        run("policy_preview", "--team", "No Such Team")
