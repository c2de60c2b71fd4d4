"""Reads of follow-ups: lists, my day, the customer panel, notifications.

Every read is scoped by `followup_visibility_filter` (crm.access policy:
promises are team-private) and fetches related rows in a constant number of
queries.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from followups.models import FollowUp, FollowUpEvent, Notification
from followups.services import followup_visibility_filter, user_time_zone

BELL_LIST_SIZE = 20
UPCOMING_DAYS = 7


def followup_base_queryset() -> QuerySet[FollowUp]:
    return FollowUp.objects.select_related("customer", "owner", "team")


def followup_list(
    *,
    user: AbstractBaseUser | None,
    status: str | None = None,
    is_overdue: bool | None = None,
    owner_id: int | None = None,
    team_id: int | None = None,
    customer_id: int | None = None,
    due_before: datetime | None = None,
) -> QuerySet[FollowUp]:
    """`user=None` means an API client holding the followups:read scope (all teams)."""
    rows = followup_base_queryset()
    if user is not None:
        rows = rows.filter(followup_visibility_filter(user))
    if status:
        rows = rows.filter(status=status)
    if is_overdue is not None:
        rows = (
            rows.filter(is_overdue=is_overdue, status=FollowUp.Status.OPEN)
            if is_overdue
            else (rows.filter(is_overdue=False))
        )
    if owner_id is not None:
        rows = rows.filter(owner_id=owner_id)
    if team_id is not None:
        rows = rows.filter(team_id=team_id)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    if due_before is not None:
        rows = rows.filter(due_at__lt=due_before)
    return rows.order_by("due_at", "pk")


def access_followup(*, user: AbstractBaseUser | None, followup_id: int) -> FollowUp:
    """The follow-up if the user may see it; 404 otherwise (never reveals it exists)."""
    rows = followup_base_queryset().prefetch_related(
        Prefetch(
            "events",
            queryset=FollowUpEvent.objects.select_related("actor").order_by("occurred_at", "pk"),
        )
    )
    if user is not None:
        rows = rows.filter(followup_visibility_filter(user))
    followup = rows.filter(pk=followup_id).first()
    if followup is None:
        raise Http404("No such follow-up.")
    return followup


@dataclass
class MyDay:
    time_zone: str
    today: date
    overdue: list[FollowUp]
    due_today: list[FollowUp]
    upcoming: list[FollowUp]


def followup_my_day(*, user: AbstractBaseUser, now: datetime | None = None) -> MyDay:
    """The rep's open promises: overdue, due today, upcoming (next 7 days), in their clock."""
    now = now or timezone.now()
    zone_name = user_time_zone(user)
    zone = ZoneInfo(zone_name)
    today = now.astimezone(zone).date()
    end_of_today = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)
    horizon = end_of_today + timedelta(days=UPCOMING_DAYS)
    rows = list(
        followup_base_queryset()
        .filter(owner_id=user.pk, status=FollowUp.Status.OPEN, due_at__lt=horizon)
        .order_by("due_at", "pk")
    )
    return MyDay(
        time_zone=zone_name,
        today=today,
        # The engine's flag or the clock, whichever is first: between a due
        # time and the next sweep the promise is already shown as overdue.
        overdue=[f for f in rows if f.is_overdue or f.due_at <= now],
        due_today=[f for f in rows if not f.is_overdue and now < f.due_at < end_of_today],
        upcoming=[f for f in rows if not f.is_overdue and f.due_at >= end_of_today],
    )


def customer_open_promises(*, user: AbstractBaseUser, customer_id: int) -> list[FollowUp]:
    return list(
        followup_base_queryset()
        .filter(followup_visibility_filter(user))
        .filter(customer_id=customer_id, status=FollowUp.Status.OPEN)
        .order_by("due_at", "pk")[:50]
    )


def notification_unread_count(*, user: AbstractBaseUser) -> int:
    return Notification.objects.filter(
        recipient_id=user.pk, channel=Notification.Channel.IN_APP, read_at__isnull=True
    ).count()


def notification_inbox(*, user: AbstractBaseUser, limit: int = 100) -> list[Notification]:
    return list(
        Notification.objects.filter(recipient_id=user.pk, channel=Notification.Channel.IN_APP)
        .select_related("followup__customer", "followup__owner")
        .order_by("-created_at", "-pk")[:limit]
    )
