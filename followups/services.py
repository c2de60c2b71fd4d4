"""Every write to follow-ups: the people's use cases and the sweep's transitions.

Use cases lock the follow-up row (`SELECT ... FOR UPDATE`), re-check its
status under the lock, change it, and append a `FollowUpEvent` in the same
transaction. The sweep is set-based SQL (DESIGN.md "Lessons": one statement
per batch, not a save per row).
"""

import logging
import smtplib
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from crm import access
from crm.models import Customer, Team, TeamMembership
from crm.time_window import due_at_problem
from followups import calendar as calendar_module
from followups import webhooks
from followups.models import (
    BusinessHours,
    Closure,
    EscalationPolicy,
    FollowUp,
    FollowUpEvent,
    Notification,
    Priority,
)
from interactions.models import Interaction

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
EMAIL_MAX_ATTEMPTS = 8
EMAIL_MAX_BACKOFF = timedelta(hours=1)


# --- calendar, policy and schedule ------------------------------------------


def team_calendar(*, team: Team | None) -> calendar_module.BusinessCalendar:
    if team is None:
        return calendar_module.BusinessCalendar()
    rows = list(
        BusinessHours.objects.filter(team=team).values_list("weekday", "opens_at", "closes_at")
    )
    hours: dict = {}
    for weekday, opens, closes in rows:
        hours.setdefault(weekday, []).append((opens, closes))
    closures = frozenset(Closure.objects.filter(team=team).values_list("date", flat=True))
    return calendar_module.BusinessCalendar(
        time_zone=team.time_zone,
        hours=hours or dict(calendar_module.DEFAULT_BUSINESS_HOURS),
        holiday_country=team.holiday_country,
        closures=closures,
    )


def team_policy(*, team: Team | None) -> EscalationPolicy:
    """The team's policy, or an unsaved one holding the defaults."""
    if team is not None:
        policy = EscalationPolicy.objects.filter(team=team).first()
        if policy is not None:
            return policy
    return EscalationPolicy(team=team)


def _priority_percent(policy: EscalationPolicy, priority: str) -> int:
    if priority == Priority.URGENT:
        return policy.urgent_priority_percent
    if priority == Priority.HIGH:
        return policy.high_priority_percent
    return 100


def followup_schedule(
    *,
    followup: FollowUp,
    now: datetime,
    calendar: calendar_module.BusinessCalendar | None = None,
    policy: EscalationPolicy | None = None,
) -> None:
    """Compute this cycle's transition times from due_at (does not save).

    Reminder: wall-clock lead before due (skipped when that is already past).
    Escalations: business time after due, in the team's calendar. Priority
    scales the times down; nothing about the customer enters.
    """
    calendar = calendar or team_calendar(team=followup.team)
    policy = policy or team_policy(team=followup.team)
    percent = _priority_percent(policy, followup.priority) / 100
    remind_at = followup.due_at - timedelta(minutes=policy.reminder_lead_minutes * percent)
    followup.remind_at = remind_at if remind_at > now else None
    followup.escalate_1_at = calendar.add_business_minutes(
        followup.due_at, policy.escalate_1_after_business_minutes * percent
    )
    followup.escalate_2_at = calendar.add_business_minutes(
        followup.due_at, policy.escalate_2_after_business_minutes * percent
    )
    # Escalation must come after due even when the team is open at due_at and
    # the lead is scaled to zero minutes.
    followup.escalate_1_at = max(followup.escalate_1_at, followup.due_at + timedelta(seconds=1))
    followup.escalate_2_at = max(
        followup.escalate_2_at, followup.escalate_1_at + timedelta(seconds=1)
    )
    followup.is_reminded = False
    followup.is_overdue = False
    followup.escalation_level = 0
    followup.next_action_at = followup.remind_at or followup.due_at


def user_team(user: AbstractBaseUser) -> Team | None:
    """The user's first team: where their promises belong unless another is named."""
    membership = (
        TeamMembership.objects.filter(user_id=user.pk).select_related("team").order_by("pk").first()
    )
    return membership.team if membership else None


def user_time_zone(user: AbstractBaseUser) -> str:
    """A rep's clock: their own time zone, else their (first) team's, else UTC."""
    from crm.selectors import user_time_zone as viewer_time_zone

    return viewer_time_zone(user)


def followup_due_at_from_phrase(
    *, phrase: str, now: datetime, team: Team | None, customer: Customer
) -> datetime:
    try:
        return calendar_module.due_at_from_phrase(
            phrase,
            now=now,
            calendar=team_calendar(team=team),
            customer_time_zone=customer.time_zone,
        )
    except calendar_module.DuePhraseError as exc:
        raise ValidationError({"due_phrase": [str(exc)]}) from exc


# --- access -------------------------------------------------------------------


def followup_visibility_filter(user: AbstractBaseUser):
    """Q of follow-ups the user may see (team-private: their teams' promises or their own)."""
    if access.is_admin(user):
        return Q()
    return Q(team_id__in=access.team_ids_of(user)) | Q(owner_id=user.pk)


def _require_work(user: AbstractBaseUser, followup: FollowUp, *, by_api_client: bool) -> None:
    """Complete, renegotiate, cancel: the owner, anyone in its team, admins, and
    API clients holding followups:write (checked by the API's HasScope)."""
    if by_api_client or followup.owner_id == user.pk or access.is_admin(user):
        return
    if followup.team_id is not None and followup.team_id in access.team_ids_of(user):
        return
    raise PermissionDenied("Only the owner, the owning team and admins may change this promise.")


def _require_reassign(
    user: AbstractBaseUser, followup: FollowUp, new_owner, *, by_api_client: bool
) -> None:
    if by_api_client or access.is_admin(user):
        if followup.team_id is not None and followup.team_id not in access.team_ids_of(new_owner):
            raise ValidationError(
                {"owner": ["The new owner must be a member of the promise's team."]}
            )
        return
    allowed = followup.owner_id == user.pk or (
        followup.team_id is not None and followup.team_id in access.supervised_team_ids(user)
    )
    if not allowed:
        raise PermissionDenied("Only the owner, the team's supervisors and admins may reassign.")
    if followup.team_id is not None and followup.team_id not in access.team_ids_of(new_owner):
        raise ValidationError({"owner": ["The new owner must be a member of the promise's team."]})


def _locked(followup_id: int) -> FollowUp:
    return FollowUp.objects.select_for_update().get(pk=followup_id)


def _require_open(followup: FollowUp) -> None:
    if followup.status != FollowUp.Status.OPEN:
        raise ValidationError(
            {"status": [f"This promise is already {followup.get_status_display().lower()}."]}
        )


def _event(
    followup: FollowUp, *, kind: str, actor, now: datetime, details: dict | None = None
) -> FollowUpEvent:
    event = FollowUpEvent.objects.create(
        followup=followup,
        kind=kind,
        cycle=followup.cycle,
        occurred_at=now,
        actor=actor,
        details=details or {},
    )
    webhooks.webhook_fan_out(event_ids=[event.pk], now=now)  # in the change's transaction
    return event


# --- the people's use cases ---------------------------------------------------


@transaction.atomic
def followup_promise(
    *,
    customer: Customer,
    owner: AbstractBaseUser,
    action: str,
    due_at: datetime | None = None,
    due_phrase: str = "",
    team: Team | None = None,
    origin_interaction: Interaction | None = None,
    channel: str = "",
    priority: str = Priority.NORMAL,
    created_by: AbstractBaseUser | None = None,
    now: datetime | None = None,
    by_api_client: bool = False,
) -> FollowUp:
    """Record a promise made to a customer; due_at or a phrase ("by Friday")."""
    now = now or timezone.now()
    if team is None:
        team = user_team(owner)
    if due_at is None:
        if not due_phrase.strip():
            raise ValidationError({"due_at": ["Give a due time or say when (e.g. 'by Friday')."]})
        due_at = followup_due_at_from_phrase(
            phrase=due_phrase, now=now, team=team, customer=customer
        )
    if due_at <= now - timedelta(minutes=1):
        raise ValidationError({"due_at": ["A promise cannot be due in the past."]})
    if problem := due_at_problem(due_at, now=now):
        raise ValidationError({"due_at": [problem]})
    if team is not None and not access.is_admin(owner) and team.pk not in access.team_ids_of(owner):
        raise ValidationError({"owner": ["The owner must be a member of the promise's team."]})
    creator = created_by or owner
    if not by_api_client and creator.pk != owner.pk and not access.is_admin(creator):
        if team is None or team.pk not in access.team_ids_of(creator):
            raise PermissionDenied("Only the owner's team and admins may promise for them.")
    followup = FollowUp(
        customer=customer,
        owner=owner,
        team=team,
        created_by=created_by or owner,
        action=action.strip(),
        channel=channel or customer.preferred_channel,
        priority=priority,
        due_phrase=due_phrase.strip()[:100],
        due_at=due_at,
        original_due_at=due_at,
        origin_interaction=origin_interaction,
    )
    followup_schedule(followup=followup, now=now)
    followup.full_clean()
    followup.save()
    _event(
        followup,
        kind=FollowUpEvent.Kind.CREATED,
        actor=created_by or owner,
        now=now,
        details={"due_at": due_at.isoformat(), "due_phrase": followup.due_phrase},
    )
    return followup


@transaction.atomic
def followup_complete(
    *,
    followup_id: int,
    user: AbstractBaseUser,
    note: str = "",
    kept_by_interaction: Interaction | None = None,
    now: datetime | None = None,
    by_api_client: bool = False,
) -> FollowUp:
    now = now or timezone.now()
    followup = _locked(followup_id)
    _require_work(user, followup, by_api_client=by_api_client)
    _require_open(followup)
    if kept_by_interaction is not None and kept_by_interaction.customer_id != followup.customer_id:
        raise ValidationError(
            {"interaction": ["The interaction must be with the promise's customer."]}
        )
    kept_at = kept_by_interaction.occurred_at if kept_by_interaction is not None else now
    followup.status = FollowUp.Status.DONE
    followup.completed_at = now
    followup.completed_by = user
    followup.completion_note = note.strip()
    followup.kept_by_interaction = kept_by_interaction
    followup.is_kept_on_time = kept_at <= followup.due_at
    followup.next_action_at = None
    followup.full_clean()
    followup.save(
        update_fields=[
            "status",
            "completed_at",
            "completed_by",
            "completion_note",
            "kept_by_interaction",
            "is_kept_on_time",
            "next_action_at",
            "updated_at",
        ]
    )
    _event(
        followup,
        kind=FollowUpEvent.Kind.KEPT if kept_by_interaction else FollowUpEvent.Kind.COMPLETED,
        actor=user,
        now=now,
        details={
            "note": followup.completion_note,
            "on_time": followup.is_kept_on_time,
            "interaction": kept_by_interaction.pk if kept_by_interaction else None,
        },
    )
    return followup


def followup_keep_with_interaction(
    *, followup_id: int, interaction: Interaction, user: AbstractBaseUser, note: str = ""
) -> FollowUp:
    """The owner marks a logged interaction with the customer as keeping the promise."""
    return followup_complete(
        followup_id=followup_id, user=user, note=note, kept_by_interaction=interaction
    )


@transaction.atomic
def followup_reassign(
    *,
    followup_id: int,
    new_owner: AbstractBaseUser,
    user: AbstractBaseUser,
    reason: str = "",
    now: datetime | None = None,
    by_api_client: bool = False,
) -> FollowUp:
    """Hand the promise to someone else; pending reminders follow (they are
    addressed to the owner at the time they fall due)."""
    now = now or timezone.now()
    followup = _locked(followup_id)
    _require_work(user, followup, by_api_client=by_api_client)
    _require_open(followup)
    _require_reassign(user, followup, new_owner, by_api_client=by_api_client)
    if not new_owner.is_active:
        raise ValidationError({"owner": ["The new owner's account is inactive."]})
    old_owner_id = followup.owner_id
    if old_owner_id == new_owner.pk:
        return followup
    followup.owner = new_owner
    followup.save(update_fields=["owner", "updated_at"])
    _event(
        followup,
        kind=FollowUpEvent.Kind.REASSIGNED,
        actor=user,
        now=now,
        details={"from": old_owner_id, "to": new_owner.pk, "reason": reason.strip()},
    )
    return followup


@transaction.atomic
def followup_renegotiate(
    *,
    followup_id: int,
    due_at: datetime | None = None,
    due_phrase: str = "",
    user: AbstractBaseUser,
    reason: str = "",
    now: datetime | None = None,
    by_api_client: bool = False,
) -> FollowUp:
    """The customer agreed a new due time: a new cycle of reminder/overdue/escalation.

    Counted in renegotiation_count, apart from misses (a miss is an overdue event).
    """
    now = now or timezone.now()
    followup = _locked(followup_id)
    _require_work(user, followup, by_api_client=by_api_client)
    _require_open(followup)
    if due_at is None:
        if not due_phrase.strip():
            raise ValidationError({"due_at": ["Give the new due time."]})
        due_at = followup_due_at_from_phrase(
            phrase=due_phrase, now=now, team=followup.team, customer=followup.customer
        )
    if due_at <= now:
        raise ValidationError({"due_at": ["The new due time must be in the future."]})
    if problem := due_at_problem(due_at, now=now):
        raise ValidationError({"due_at": [problem]})
    old_due_at = followup.due_at
    was_overdue = followup.is_overdue
    followup.due_at = due_at
    followup.due_phrase = due_phrase.strip()[:100]
    followup.cycle += 1
    followup.renegotiation_count += 1
    followup_schedule(followup=followup, now=now)
    followup.full_clean()
    followup.save()
    _event(
        followup,
        kind=FollowUpEvent.Kind.RENEGOTIATED,
        actor=user,
        now=now,
        details={
            "from": old_due_at.isoformat(),
            "to": due_at.isoformat(),
            "was_overdue": was_overdue,
            "reason": reason.strip(),
        },
    )
    return followup


@transaction.atomic
def followup_cancel(
    *,
    followup_id: int,
    user: AbstractBaseUser,
    reason: str,
    now: datetime | None = None,
    by_api_client: bool = False,
) -> FollowUp:
    now = now or timezone.now()
    if not reason.strip():
        raise ValidationError({"reason": ["Say why the promise is cancelled."]})
    followup = _locked(followup_id)
    _require_work(user, followup, by_api_client=by_api_client)
    _require_open(followup)
    followup.status = FollowUp.Status.CANCELLED
    followup.cancel_reason = reason.strip()[:500]
    followup.next_action_at = None
    followup.full_clean()
    followup.save(update_fields=["status", "cancel_reason", "next_action_at", "updated_at"])
    _event(
        followup,
        kind=FollowUpEvent.Kind.CANCELLED,
        actor=user,
        now=now,
        details={"reason": followup.cancel_reason},
    )
    return followup


# --- notifications --------------------------------------------------------------


def notifications_mark_read(
    *, user: AbstractBaseUser, notification_ids: list[int] | None = None
) -> int:
    """Mark the user's in-app notifications read (all when no ids are given)."""
    rows = Notification.objects.filter(
        recipient_id=user.pk, channel=Notification.Channel.IN_APP, read_at__isnull=True
    )
    if notification_ids is not None:
        rows = rows.filter(pk__in=notification_ids)
    return rows.update(read_at=timezone.now())


def email_backoff(attempts: int) -> timedelta:
    """Exponential: base, 2x base, 4x base ... capped at EMAIL_MAX_BACKOFF."""
    base = getattr(settings, "FOLLOWUP_EMAIL_RETRY_BASE_SECONDS", 30)
    return min(timedelta(seconds=base * 2 ** max(attempts - 1, 0)), EMAIL_MAX_BACKOFF)


NOTIFICATION_SUBJECTS = {
    ("remind", 0): "Reminder: promise to {customer} due {due}",
    ("overdue", 0): "Overdue: promise to {customer} was due {due}",
    ("escalate", 1): "Escalated: {owner}'s promise to {customer} is overdue",
    ("escalate", 2): "Escalated to admins: promise to {customer} still overdue",
}


def notification_text(notification: Notification) -> tuple[str, str]:
    followup = notification.followup
    subject = NOTIFICATION_SUBJECTS.get(
        (notification.kind, notification.level), "Promise to {customer}"
    ).format(
        customer=followup.customer.display_name,
        due=f"{followup.due_at:%Y-%m-%d %H:%M} UTC",
        owner=followup.owner.get_full_name() or followup.owner.get_username(),
    )
    body = (
        f"{subject}\n\nPromise: {followup.action}\n"
        f"Customer: {followup.customer.display_name}\n"
        f"Due: {followup.due_at:%Y-%m-%d %H:%M} UTC\n"
        f"Owner: {followup.owner.get_username()}\n"
    )
    return subject, body


def notification_deliver(*, notification_id: int, now: datetime | None = None) -> tuple[str, float]:
    """Send one pending e-mail notification. Returns (outcome, retry_in_seconds).

    The row is locked (SKIP LOCKED: a concurrent delivery of the same row is
    simply skipped) and marked sent in the same transaction as the send, so a
    second delivery of the task finds it sent. If the process dies between
    the SMTP server accepting and the commit, the retry carries the same
    Message-ID and the recipient's mail client shows one message.
    """
    now = now or timezone.now()
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient", "followup__customer", "followup__owner")
            .filter(
                pk=notification_id,
                channel=Notification.Channel.EMAIL,
                delivery_status=Notification.DeliveryStatus.PENDING,
            )
            .first()
        )
        if notification is None:
            return "skipped", 0.0
        subject, body = notification_text(notification)
        message = EmailMessage(
            subject=subject,
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[notification.recipient.email],
            headers={"Message-ID": notification.message_id},
        )
        notification.attempts += 1
        try:
            message.send(fail_silently=False)
        except (smtplib.SMTPException, OSError) as exc:
            notification.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if notification.attempts >= EMAIL_MAX_ATTEMPTS:
                notification.delivery_status = Notification.DeliveryStatus.FAILED
                notification.next_attempt_at = None
                outcome, delay = "failed", 0.0
            else:
                wait = email_backoff(notification.attempts)
                notification.next_attempt_at = now + wait
                outcome, delay = "retry", wait.total_seconds()
            notification.save(
                update_fields=["attempts", "last_error", "delivery_status", "next_attempt_at"]
            )
            # Class and SMTP code only: the error's text can quote the address.
            logger.warning(
                "E-mail notification %s not sent: %s %s",
                notification_id,
                type(exc).__name__,
                getattr(exc, "smtp_code", ""),
            )
            return outcome, delay
        notification.delivery_status = Notification.DeliveryStatus.SENT
        notification.sent_at = now
        notification.next_attempt_at = None
        notification.save(
            update_fields=["attempts", "delivery_status", "sent_at", "next_attempt_at"]
        )
        return "sent", 0.0


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
-- Webhook deliveries for the transitions, in this same statement (followups.webhooks).
{webhooks.sweep_fan_out_cte()},
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
        updated_at = %(now)s
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
    from followups.tasks import deliver_notification

    try:
        for notification_id in notification_ids:
            deliver_notification.delay(notification_id)
    except Exception:  # the broker is down: the relay will retry (logged, not lost)
        logger.exception("Could not enqueue %s e-mail deliveries", len(notification_ids))


def followup_sweep_batch(*, now: datetime, batch_size: int = SWEEP_BATCH_SIZE) -> tuple[int, int]:
    """One batch in one transaction. Returns (rows claimed, transitions made)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                _sweep_sql(), {"now": now, "batch": batch_size, "admin_group": access.ADMIN_GROUP}
            )
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


_BEFORE_ANY_TIME = datetime.min.replace(tzinfo=UTC)


def followup_reschedule(
    *,
    followup: FollowUp,
    now: datetime,
    calendar: calendar_module.BusinessCalendar,
    policy: EscalationPolicy,
) -> None:
    """The current cycle's times computed again under a (new) policy or calendar
    (does not save). What already happened (reminded, overdue, escalation level)
    stays; a transition still pending keeps its new time even when that is past,
    so the next sweep makes it: a change never loses a transition."""
    happened = (followup.is_reminded, followup.is_overdue, followup.escalation_level)
    # followup_schedule drops a reminder time already past (right for a new
    # promise, wrong for a reminder that is due and not yet made).
    reminder_pending = followup.remind_at is not None and not followup.is_reminded
    followup_schedule(
        followup=followup,
        now=_BEFORE_ANY_TIME if reminder_pending else now,
        calendar=calendar,
        policy=policy,
    )
    followup.is_reminded, followup.is_overdue, followup.escalation_level = happened
    pending = [
        None if followup.is_reminded else followup.remind_at,
        None if followup.is_overdue else followup.due_at,
        None if followup.escalation_level >= 1 else followup.escalate_1_at,
        None if followup.escalation_level >= 2 else followup.escalate_2_at,
    ]
    followup.next_action_at = min((at for at in pending if at is not None), default=None)


@transaction.atomic
def team_schedules_recompute(*, team_id: int, now: datetime | None = None) -> int:
    """Reschedule a team's open promises after its escalation policy, business
    hours or closures changed (`followup_reschedule` each). Returns how many
    were rescheduled."""
    now = now or timezone.now()
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        return 0
    calendar, policy = team_calendar(team=team), team_policy(team=team)
    rows = list(
        FollowUp.objects.select_for_update()
        .filter(team_id=team_id, status=FollowUp.Status.OPEN)
        .order_by("pk")
    )
    for followup in rows:
        followup_reschedule(followup=followup, now=now, calendar=calendar, policy=policy)
        followup.updated_at = now
    FollowUp.objects.bulk_update(
        rows,
        ["remind_at", "escalate_1_at", "escalate_2_at", "next_action_at", "updated_at"],
        batch_size=500,
    )
    return len(rows)


def followup_backfill_schedules(*, now: datetime | None = None) -> int:
    """Compute the reminder/escalation schedule of open follow-ups that have none.

    For rows written without the services (bulk loads such as seed_demo, rows
    from before migration 0002): one calendar and policy per team, one bulk
    update. Transitions already past are left for the next sweep to record.
    """
    now = now or timezone.now()
    rows = list(
        FollowUp.objects.filter(status=FollowUp.Status.OPEN, escalate_1_at__isnull=True)
        .select_related("team")
        .order_by("pk")
    )
    calendars: dict = {}
    for followup in rows:
        key = followup.team_id
        if key not in calendars:
            calendars[key] = (
                team_calendar(team=followup.team),
                team_policy(team=followup.team),
            )
        calendar, policy = calendars[key]
        followup_schedule(followup=followup, now=now, calendar=calendar, policy=policy)
        # A promise already past due stays as the sweep will find it.
        followup.next_action_at = min(
            at
            for at in (followup.remind_at, followup.due_at, followup.escalate_1_at)
            if at is not None
        )
    FollowUp.objects.bulk_update(
        rows,
        [
            "remind_at",
            "escalate_1_at",
            "escalate_2_at",
            "next_action_at",
            "is_reminded",
            "is_overdue",
            "escalation_level",
        ],
        batch_size=500,
    )
    return len(rows)
