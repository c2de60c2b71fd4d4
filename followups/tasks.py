"""Celery entry points: take ids, call one service, decide retry."""

import time

from celery import shared_task
from django.utils import timezone

from followups import notifications, operations, schedules
from followups.sweep import followup_sweep

# Fan-out budget of one sender tick: a backlog of outbox rows after an outage is
# expanded by the next ticks while this one sends what is already due.
WEBHOOK_FAN_OUT_MAX_SECONDS = 30
# Work budget of one sweep: well inside the soft limit, so a backlog is left
# for the next tick between batches instead of being interrupted in one.
SWEEP_MAX_SECONDS = 80


@shared_task(name="followups.tasks.sweep", time_limit=120, soft_time_limit=100)
def sweep() -> int:
    """Beat fires this every FOLLOWUP_SWEEP_SECONDS; safe to run twice at once."""
    transitions = followup_sweep(max_seconds=SWEEP_MAX_SECONDS)
    operations.sweep_finished(at=timezone.now())
    return transitions


@shared_task(name="followups.tasks.team_schedules_recompute", time_limit=300, soft_time_limit=280)
def team_schedules_recompute(team_id: int) -> int:
    """After a team's policy or calendar changed; running it twice computes the same."""
    return schedules.team_schedules_recompute(team_id=team_id)


@shared_task(
    bind=True,
    name="followups.tasks.deliver_notification",
    time_limit=60,
    soft_time_limit=45,
    max_retries=notifications.EMAIL_MAX_ATTEMPTS,
)
def deliver_notification(self, notification_id: int) -> str:
    """Send one e-mail notification; on an SMTP failure retry with exponential backoff.

    The backoff lives in the row (next_attempt_at) too, so a retry lost with
    the broker is picked up by the sweep's outbox relay.
    """
    outcome, retry_in = notifications.notification_deliver(notification_id=notification_id)
    if outcome == "retry":
        raise self.retry(countdown=retry_in)
    return outcome


@shared_task(name="followups.tasks.webhook_deliveries_send", time_limit=300, soft_time_limit=240)
def webhook_deliveries_send() -> int:
    """Fan the outbox out into deliveries, then send the due ones in batches until
    none is due (beat, every few seconds).

    Its own task, never the sweep's: a slow receiver costs this task its timeout,
    and the sweep goes on. Idempotent: outbox rows and due deliveries are claimed
    with SKIP LOCKED, deliveries leased by whoever claims them.
    """
    from followups import webhooks

    webhooks.webhook_subscriptions_refresh()  # heals a change made around the services
    started = time.monotonic()
    while not webhooks.webhook_fan_out().is_drained:
        if time.monotonic() - started > WEBHOOK_FAN_OUT_MAX_SECONDS:
            break  # sending waits no longer; the next tick fans out the rest
    total = 0
    while True:
        sent = webhooks.webhook_deliveries_send()
        total += sent
        if sent < webhooks.SEND_BATCH_SIZE:
            return total
