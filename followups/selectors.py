"""Reads of follow-ups: lists, my day, the customer panel, notifications.

Every read is scoped by `followup_visibility_filter` (crm.access policy:
promises are team-private) and fetches related rows in a constant number of
queries.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Prefetch, Q, QuerySet, Window, prefetch_related_objects
from django.db.models.functions import RowNumber
from django.http import Http404
from django.utils import timezone

from core.compiled_queries import CompiledQuery
from crm import selectors as crm_selectors
from crm.models import ContactPoint, Customer, ProfileFact
from followups.models import FollowUp, FollowUpEvent, Notification
from followups.schedules import user_time_zone
from followups.services import followup_visibility_filter
from interactions.models import Interaction

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


# --- caller-ID lookup (screen-pop) -----------------------------------------------------

LOOKUP_MAX_CUSTOMERS = 10
LOOKUP_RECENT_INTERACTIONS = 5
LOOKUP_OPEN_PROMISES = 10


def _top_per_customer(queryset: QuerySet, order: list, limit: int) -> QuerySet:
    """At most `limit` rows per customer in one query (ROW_NUMBER over customer)."""
    return queryset.annotate(
        position=Window(RowNumber(), partition_by=[F("customer_id")], order_by=order)
    ).filter(position__lte=limit)


def _pinned_facts() -> QuerySet[ProfileFact]:
    return ProfileFact.objects.filter(is_pinned=True, deleted_at__isnull=True).order_by(
        "-recorded_at", "-pk"
    )


def _recent_interactions() -> QuerySet[Interaction]:
    return Interaction.objects.select_related("rep").order_by("-occurred_at", "-pk")


def _open_promises(promise_filter: Q) -> QuerySet[FollowUp]:
    return (
        FollowUp.objects.filter(promise_filter, status=FollowUp.Status.OPEN)
        .select_related("owner")
        .order_by("due_at", "pk")
    )


# The screen-pop's reads, their SQL compiled once per process (core.compiled_queries):
# it rings while the rep waits, and compiling these was a third of its time.
_LOOKUP_CUSTOMERS = CompiledQuery(
    lambda kind, values: crm_selectors.customers_with_contact(kind=kind, values=values)[
        :LOOKUP_MAX_CUSTOMERS
    ]
)
_LOOKUP_PINNED_FACTS = CompiledQuery(
    lambda customer_id: _pinned_facts().filter(customer_id=customer_id)
)
_LOOKUP_RECENT = CompiledQuery(
    lambda customer_id: _recent_interactions().filter(customer_id=customer_id)[
        :LOOKUP_RECENT_INTERACTIONS
    ]
)
# Every open promise of the customer (a caller who sees them all: an admin, an API
# client with followups:read); team-scoped callers read through the ORM.
_LOOKUP_ALL_OPEN_PROMISES = CompiledQuery(
    lambda customer_id: _open_promises(Q()).filter(customer_id=customer_id)[:LOOKUP_OPEN_PROMISES]
)


def customer_lookup(
    *, phone: str = "", email: str = "", with_interactions: bool, promise_filter: Q | None
) -> list[Customer]:
    """The screen-pop: the customers with this phone (any format) or e-mail, at most
    LOOKUP_MAX_CUSTOMERS, each with pinned facts, the newest interactions and the open
    promises `promise_filter` lets the caller see (None: no promises). Constant
    query count whatever the number of customers or rows."""
    if phone:
        kind, values = ContactPoint.Kind.PHONE, crm_selectors.phone_candidates(phone)
    else:
        kind, values = ContactPoint.Kind.EMAIL, crm_selectors.email_candidates(email)
    customers = _LOOKUP_CUSTOMERS(str(kind), values) if values else []
    recent = _recent_interactions()
    promises = None if promise_filter is None else _open_promises(promise_filter)
    if len(customers) == 1:
        # The usual screen-pop: one caller. Plain LIMIT queries read the newest rows
        # straight off the (customer, time) indexes and compile far faster than the
        # per-customer window queries a shared line needs.
        (customer,) = customers
        customer.pinned_facts = _LOOKUP_PINNED_FACTS(customer.pk)
        if with_interactions:
            customer.recent_interactions = _LOOKUP_RECENT(customer.pk)
        if promises is not None and not promise_filter:
            customer.open_promises = _LOOKUP_ALL_OPEN_PROMISES(customer.pk)
        elif promises is not None:
            customer.open_promises = list(promises.filter(customer=customer)[:LOOKUP_OPEN_PROMISES])
        return customers
    prefetches = [Prefetch("facts", queryset=_pinned_facts(), to_attr="pinned_facts")]
    if with_interactions:
        prefetches.append(
            Prefetch(
                "interactions",
                queryset=_top_per_customer(
                    recent, [F("occurred_at").desc(), F("pk").desc()], LOOKUP_RECENT_INTERACTIONS
                ).order_by("-occurred_at", "-pk"),
                to_attr="recent_interactions",
            )
        )
    if promises is not None:
        prefetches.append(
            Prefetch(
                "followups",
                queryset=_top_per_customer(
                    promises, [F("due_at").asc(), F("pk").asc()], LOOKUP_OPEN_PROMISES
                ).order_by("due_at", "pk"),
                to_attr="open_promises",
            )
        )
    prefetch_related_objects(customers, *prefetches)
    return customers
