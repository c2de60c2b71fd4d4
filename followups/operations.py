"""What an operator asks of the engine: is it on time, what is stuck, what would change.

Reads are set-based and index-backed, so the Prometheus scrape, `/readyz` and
`manage.py followups_status` can ask every few seconds at any table size:

- sweep lag: the oldest `next_action_at` of an open follow-up that has fallen
  due and that no sweep has claimed yet (the partial index
  `followups_open_next_action_idx` holds exactly those rows, in that order);
- outbox backlog: pending e-mail notifications (the partial index
  `followups_notif_pending_idx` holds only those).

The time of the last finished sweep is kept in the cache (Redis in
production), so every web and worker process sees the same value.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from followups.models import EscalationPolicy, FollowUp, Notification
from followups.notifications import deliver_notification_enqueue

logger = logging.getLogger(__name__)

LAST_SWEEP_CACHE_KEY = "followups:sweep:last-finished-at"
# Pending deliveries the sweep's outbox relay should have handed over again by now.
STUCK_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class EngineStatus:
    now: datetime
    due_count: int
    oldest_due_at: datetime | None
    outbox_pending: int
    outbox_oldest_pending_at: datetime | None
    outbox_failing: int
    last_sweep_at: datetime | None

    @property
    def sweep_lag_seconds(self) -> float:
        """Now minus the oldest due transition not yet made (0 when none is due)."""
        if self.oldest_due_at is None:
            return 0.0
        return max((self.now - self.oldest_due_at).total_seconds(), 0.0)

    @property
    def outbox_oldest_age_seconds(self) -> float:
        if self.outbox_oldest_pending_at is None:
            return 0.0
        return max((self.now - self.outbox_oldest_pending_at).total_seconds(), 0.0)


def engine_status(*, now: datetime | None = None) -> EngineStatus:
    """Two aggregate queries, each answered from a partial index."""
    now = now or timezone.now()
    due = FollowUp.objects.filter(status=FollowUp.Status.OPEN, next_action_at__lte=now).aggregate(
        count=Count("pk"), oldest=Min("next_action_at")
    )
    outbox = Notification.objects.filter(
        delivery_status=Notification.DeliveryStatus.PENDING
    ).aggregate(
        count=Count("pk"),
        oldest=Min("created_at"),
        failing=Count("pk", filter=Q(attempts__gt=0)),
    )
    return EngineStatus(
        now=now,
        due_count=due["count"],
        oldest_due_at=due["oldest"],
        outbox_pending=outbox["count"],
        outbox_oldest_pending_at=outbox["oldest"],
        outbox_failing=outbox["failing"],
        last_sweep_at=last_sweep_at(),
    )


def sweep_finished(*, at: datetime) -> None:
    """Record that a sweep finished (called by the sweep task); never expires."""
    try:
        cache.set(LAST_SWEEP_CACHE_KEY, at.isoformat(), timeout=None)
    except Exception:  # Redis down: the sweep's work is committed all the same
        logger.warning("Could not record the sweep's finishing time in the cache")


def last_sweep_at() -> datetime | None:
    try:
        value = cache.get(LAST_SWEEP_CACHE_KEY)
    except Exception:  # the cache (Redis) is down: unknown, not an error of the engine
        return None
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class OutboxReport:
    pending: int
    failed: int
    stuck: list[dict] = field(default_factory=list)


def outbox_report(*, now: datetime | None = None, limit: int = 20) -> OutboxReport:
    """For the operator command: deliveries given up (a full count; the table is
    scanned, so not for the scrape) and pending ones the relay has not moved."""
    now = now or timezone.now()
    pending = Notification.objects.filter(delivery_status=Notification.DeliveryStatus.PENDING)
    stuck = list(
        pending.filter(next_attempt_at__lte=now - STUCK_AFTER)
        .order_by("next_attempt_at", "pk")
        .values("pk", "kind", "attempts", "next_attempt_at", "last_error")[:limit]
    )
    failed = Notification.objects.filter(delivery_status=Notification.DeliveryStatus.FAILED)
    return OutboxReport(pending=pending.count(), failed=failed.count(), stuck=stuck)


def outbox_retry(*, include_failed: bool = False, now: datetime | None = None) -> list[int]:
    """Hand pending (and, when asked, given-up) e-mail deliveries to the broker again.

    Idempotent: the delivery task sends only a row still pending, under a row
    lock, so enqueuing a row twice sends it once. Given-up rows become pending
    with a fresh retry budget. Returns the ids handed over (after commit).
    """
    now = now or timezone.now()
    statuses = [Notification.DeliveryStatus.PENDING]
    if include_failed:
        statuses.append(Notification.DeliveryStatus.FAILED)
    with transaction.atomic():
        ids = list(
            Notification.objects.filter(
                channel=Notification.Channel.EMAIL, delivery_status__in=statuses
            )
            .order_by("pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        if not ids:
            return []
        Notification.objects.filter(
            pk__in=ids, delivery_status=Notification.DeliveryStatus.FAILED
        ).update(delivery_status=Notification.DeliveryStatus.PENDING, attempts=0)
        # Stamped now: the sweep's relay does not hand them over a second time
        # before its grace has passed again.
        Notification.objects.filter(pk__in=ids).update(next_attempt_at=now)

        def enqueue() -> None:
            for notification_id in ids:
                deliver_notification_enqueue(notification_id)

        transaction.on_commit(enqueue)
    return ids


@dataclass(frozen=True)
class PreviewedTransition:
    followup_id: int
    owner: str
    kind: str
    level: int
    at: datetime


def policy_preview(
    *,
    team_id: int,
    hours: float,
    proposed: dict | None = None,
    now: datetime | None = None,
) -> list[PreviewedTransition]:
    """What the sweep would do for a team's open promises in the next `hours`,
    under the current policy or one with the `proposed` field values. Nothing is
    written: the schedule is computed on unsaved copies, the way
    `team_schedules_recompute` would after the change.

    Transitions already due but not yet made are listed at their (past) time.
    """
    from crm.models import Team
    from followups import schedules

    now = now or timezone.now()
    until = now + timedelta(hours=hours)
    team = Team.objects.get(pk=team_id)
    policy = schedules.team_policy(team=team)
    if proposed:
        values = {f.name: getattr(policy, f.name) for f in EscalationPolicy._meta.concrete_fields}
        values.update(proposed)
        policy = EscalationPolicy(**values)
        policy.full_clean(exclude=["team"], validate_unique=False)
    calendar = schedules.team_calendar(team=team)
    rows = (
        FollowUp.objects.filter(team_id=team_id, status=FollowUp.Status.OPEN)
        .select_related("owner")
        .order_by("pk")
    )
    preview: list[PreviewedTransition] = []
    for followup in rows.iterator(chunk_size=2000):
        if proposed:
            schedules.followup_reschedule(
                followup=followup, now=now, calendar=calendar, policy=policy
            )
        candidates = [
            ("remind", 0, None if followup.is_reminded else followup.remind_at),
            ("overdue", 0, None if followup.is_overdue else followup.due_at),
            ("escalate", 1, None if followup.escalation_level >= 1 else followup.escalate_1_at),
            ("escalate", 2, None if followup.escalation_level >= 2 else followup.escalate_2_at),
        ]
        for kind, level, at in candidates:
            if at is not None and at <= until:
                preview.append(
                    PreviewedTransition(
                        followup_id=followup.pk,
                        owner=followup.owner.get_username(),
                        kind=kind,
                        level=level,
                        at=at,
                    )
                )
    preview.sort(key=lambda t: (t.at, t.followup_id, t.level))
    return preview
