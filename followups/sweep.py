"""The sweep: every due transition made exactly once, set-based (DESIGN.md, the engine).

Each batch claims due rows with SELECT ... FOR UPDATE SKIP LOCKED, records the
transitions as FollowUpEvents (unique per follow-up, kind, level), writes the
outbox rows (notifications, and one webhook outbox row for the whole batch) in
the same statement, and moves `next_action_at` on. The broker only wakes
deliveries up: the outbox relay hands lost ones over again. Webhook deliveries
per endpoint are expanded later by the sender's task (followups.webhooks).
"""

import logging
import time
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from crm import access
from crm.models import TeamMembership
from followups import webhooks
from followups.models import (
    FollowUp,
    FollowUpEvent,
    Notification,
)
from followups.notifications import deliver_notification_enqueue

logger = logging.getLogger(__name__)
User = get_user_model()

# Rows claimed per transaction: big enough to amortise the round trips of one
# set-based statement, small enough that locks are held for milliseconds and a
# worker killed mid-batch leaves little for the next sweep to redo.
SWEEP_BATCH_SIZE = 500
# Pending e-mails whose delivery task has not run this long after it was due
# are handed to the broker again (the task was lost: Redis down, worker killed).
OUTBOX_RELAY_GRACE = timedelta(minutes=2)
OUTBOX_RELAY_BATCH_SIZE = 500


# --- the sweep ------------------------------------------------------------------


def _sweep_sql() -> str:
    followup = FollowUp._meta.db_table
    event = FollowUpEvent._meta.db_table
    notification = Notification._meta.db_table
    membership = TeamMembership._meta.db_table
    user = User._meta.db_table
    user_groups = User.groups.through._meta.db_table
    group = User.groups.field.related_model._meta.db_table
    # One statement per batch. Rows are claimed and locked in one stable order,
    # (next_action_at, id), read straight off the partial index. Data-modifying
    # CTEs run once each against the same snapshot; the claim's FOR UPDATE re-evaluates `status = 'open'` on
    # the newest row version, so a promise completed meanwhile is not touched.
    return f"""
WITH claimed AS (
    SELECT id, owner_id, team_id, due_at, remind_at, escalate_1_at, escalate_2_at,
           cycle, is_reminded, is_overdue, escalation_level
    FROM {followup}
    WHERE status = 'open' AND next_action_at <= %(now)s
    ORDER BY next_action_at, id
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
),
transitions AS (
    SELECT c.id AS followup_id, t.kind, t.level, t.at, c.cycle
    FROM claimed c
    CROSS JOIN LATERAL (VALUES
        ('remind', 0, c.remind_at),
        ('overdue', 0, c.due_at),
        ('escalate', 1, c.escalate_1_at),
        ('escalate', 2, c.escalate_2_at)
    ) AS t(kind, level, at)
    WHERE t.at IS NOT NULL AND t.at <= %(now)s
      AND NOT (t.kind = 'remind' AND c.is_reminded)
      AND NOT (t.kind = 'overdue' AND c.is_overdue)
      AND NOT (t.kind = 'escalate' AND c.escalation_level >= t.level)
),
inserted AS (
    INSERT INTO {event} (followup_id, kind, level, cycle, occurred_at, scheduled_at, details)
    SELECT followup_id, kind, level, cycle, %(now)s, at, '{{}}'::jsonb FROM transitions
    ON CONFLICT DO NOTHING
    RETURNING id, followup_id, kind, level
),
-- One webhook outbox row for the batch's transitions, whatever the number of
-- endpoints (followups.webhooks fans it out later, off this statement).
{webhooks.sweep_outbox_cte()},
admins AS (
    SELECT u.id FROM {user} u
    WHERE u.is_active AND (u.is_superuser OR EXISTS (
        SELECT 1 FROM {user_groups} ug JOIN {group} g ON g.id = ug.group_id
        WHERE ug.user_id = u.id AND g.name = %(admin_group)s))
),
supervisors AS (
    SELECT m.team_id, m.user_id FROM {membership} m JOIN {user} u ON u.id = m.user_id
    WHERE m.role = 'supervisor' AND u.is_active
      AND m.team_id IN (SELECT team_id FROM claimed)
),
recipients AS (
    -- A reminder that falls due after the promise itself (the sweep was
    -- down) is recorded but not sent: the overdue notice says it better.
    SELECT i.id AS event_id, i.followup_id, i.kind, i.level, c.owner_id AS user_id
    FROM inserted i JOIN claimed c ON c.id = i.followup_id
    WHERE i.kind = 'overdue' OR (i.kind = 'remind' AND c.due_at > %(now)s)
    UNION
    SELECT i.id, i.followup_id, i.kind, i.level, s.user_id
    FROM inserted i JOIN claimed c ON c.id = i.followup_id
    JOIN supervisors s ON s.team_id = c.team_id
    WHERE i.kind = 'escalate' AND i.level = 1
    UNION
    -- Level 1 of a team without supervisors goes to the admins, never to nobody.
    SELECT i.id, i.followup_id, i.kind, i.level, a.id
    FROM inserted i JOIN claimed c ON c.id = i.followup_id CROSS JOIN admins a
    WHERE i.kind = 'escalate' AND (
        i.level = 2 OR NOT EXISTS (SELECT 1 FROM supervisors s WHERE s.team_id = c.team_id))
),
notified AS (
    INSERT INTO {notification} (recipient_id, followup_id, event_id, channel, kind, level,
        created_at, read_at, delivery_status, attempts, next_attempt_at, sent_at,
        last_error, message_key)
    SELECT r.user_id, r.followup_id, r.event_id, ch.channel, r.kind, r.level,
        %(now)s, NULL,
        CASE WHEN ch.channel = 'in_app' THEN 'sent' ELSE 'pending' END, 0,
        CASE WHEN ch.channel = 'email' THEN %(now)s END,
        CASE WHEN ch.channel = 'in_app' THEN %(now)s END,
        '', gen_random_uuid()
    FROM recipients r JOIN {user} u ON u.id = r.user_id
    CROSS JOIN (VALUES ('in_app'), ('email')) AS ch(channel)
    WHERE ch.channel = 'in_app' OR u.email <> ''
    ON CONFLICT DO NOTHING
    RETURNING id, channel
),
updated AS (
    UPDATE {followup} f SET
        is_reminded = f.is_reminded OR coalesce(f.remind_at <= %(now)s, false),
        is_overdue = f.is_overdue OR f.due_at <= %(now)s,
        escalation_level = GREATEST(f.escalation_level, CASE
            WHEN f.escalate_2_at <= %(now)s THEN 2
            WHEN f.escalate_1_at <= %(now)s THEN 1
            ELSE 0 END),
        next_action_at = LEAST(
            CASE WHEN f.remind_at > %(now)s THEN f.remind_at END,
            CASE WHEN f.due_at > %(now)s THEN f.due_at END,
            CASE WHEN f.escalate_1_at > %(now)s THEN f.escalate_1_at END,
            CASE WHEN f.escalate_2_at > %(now)s THEN f.escalate_2_at END),
        updated_at = %(written_at)s
    FROM claimed c WHERE f.id = c.id
    RETURNING f.id
)
SELECT
    (SELECT count(*) FROM updated),
    (SELECT count(*) FROM inserted),
    (SELECT coalesce(array_agg(id ORDER BY id), '{{}}') FROM notified WHERE channel = 'email')
"""  # noqa: S608 (only table names from _meta are interpolated; values are parameters)


def _enqueue_deliveries(notification_ids: list[int]) -> None:
    """Hand e-mails to the broker. A broker outage loses nothing: the rows stay
    pending and the sweep's outbox relay hands them over again later."""
    try:
        for notification_id in notification_ids:
            deliver_notification_enqueue(notification_id)
    except Exception:  # the broker is down: the relay will retry (logged, not lost)
        logger.exception("Could not enqueue %s e-mail deliveries", len(notification_ids))


def followup_sweep_batch(*, now: datetime, batch_size: int = SWEEP_BATCH_SIZE) -> tuple[int, int]:
    """One batch in one transaction. Returns (rows claimed, transitions made).

    `now` decides what is due (one instant for a whole sweep); the rows' updated_at is
    when this batch writes them. A sweep working off a backlog commits batches for
    up to a minute and more after its `now`: stamped with it, a late batch's rows
    would carry a time older than readers of updated_at (the metrics rollup, change
    feeds) had already read past, and never be seen by them."""
    params = {
        "now": now,
        "written_at": timezone.now(),
        "batch": batch_size,
        "admin_group": access.ADMIN_GROUP,
    }
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_sweep_sql(), params)
            claimed, transitions, email_ids = cursor.fetchone()
        if email_ids:
            transaction.on_commit(lambda ids=list(email_ids): _enqueue_deliveries(ids))
    return claimed, transitions


def followup_outbox_relay(*, now: datetime) -> int:
    """Re-enqueue pending e-mails whose delivery is overdue by OUTBOX_RELAY_GRACE.

    Their task was lost (broker down when enqueued, worker killed before the
    retry was published). Stamping next_attempt_at keeps them from being
    relayed again before the grace passes once more.
    """
    with transaction.atomic():
        ids = list(
            Notification.objects.filter(
                delivery_status=Notification.DeliveryStatus.PENDING,
                next_attempt_at__lte=now - OUTBOX_RELAY_GRACE,
            )
            .order_by("next_attempt_at", "pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:OUTBOX_RELAY_BATCH_SIZE]
        )
        if not ids:
            return 0
        Notification.objects.filter(pk__in=ids).update(next_attempt_at=now)
        transaction.on_commit(lambda: _enqueue_deliveries(ids))
    return len(ids)


def followup_sweep(
    *,
    now: datetime | None = None,
    batch_size: int = SWEEP_BATCH_SIZE,
    max_seconds: float | None = None,
) -> int:
    """Do every transition that has fallen due; returns the number of transitions.

    Claims due rows in batches with SKIP LOCKED, so two sweeps running at once
    split the work instead of doing it twice; each batch commits on its own.
    With `max_seconds`, stops between batches once that is spent (a huge
    backlog after an outage is worked off by the next ticks, never killed
    mid-batch by the task's time limit).
    """
    now = now or timezone.now()
    started = time.monotonic()
    transitions = 0
    while True:
        claimed, made = followup_sweep_batch(now=now, batch_size=batch_size)
        transitions += made
        if claimed < batch_size:
            break
        if max_seconds is not None and time.monotonic() - started > max_seconds:
            logger.info("Sweep stopped after %.0f s; the next tick continues.", max_seconds)
            break
    followup_outbox_relay(now=now)
    return transitions
