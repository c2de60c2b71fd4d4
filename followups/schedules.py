"""When a promise acts: business calendars, escalation policies and each follow-up's schedule.

`followup_schedule` turns a due time into the times of its transitions (remind,
overdue, escalate N) in the team's business calendar; a change of policy or
hours reschedules every open promise of the team (`team_schedules_recompute`).
"""

import logging
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crm.models import Customer, Team, TeamMembership
from followups import calendar as calendar_module
from followups.models import (
    BusinessHours,
    Closure,
    EscalationPolicy,
    FollowUp,
    Priority,
)

logger = logging.getLogger(__name__)
User = get_user_model()


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
