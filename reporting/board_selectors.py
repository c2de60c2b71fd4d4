"""Reads for the supervisors' overdue board and escalations inbox.

The board's promise: every count opens the list it counts, and the two agree.
So there is exactly one queryset, `board_overdue_followups`, and both the
counts (`board_summary`, a GROUP BY over it) and the lists (the same queryset
with filters) come from it, evaluated at the same instant (`as_of`).

Aging is measured in business time of the promise's team: a promise that fell
due at 16:30 on Friday is not "three days late" on Monday morning. The bucket
is computed in SQL by comparing `due_at` with per-team boundary instants
(computed once per team in Python from the team's calendar), so the cost is
one query whatever the number of reps and promises.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from crm import access
from crm.models import Team, TeamMembership
from followups.calendar import DEFAULT_BUSINESS_HOURS, MAX_DAYS_SEARCHED, BusinessCalendar
from followups.models import (
    ESCALATION_SCHEDULED_AT,
    BusinessHours,
    Closure,
    FollowUp,
    FollowUpEvent,
)
from reporting.board_models import EscalationAcknowledgement

# --- aging buckets -------------------------------------------------------------------

UNDER_4H = "under_4h"
FROM_4H_TO_1D = "4h_1d"
FROM_1D_TO_3D = "1d_3d"
OVER_3D = "over_3d"

# (key, label) in display order. "h" and "days" are business hours and days.
AGING_BUCKETS: list[tuple[str, str]] = [
    (UNDER_4H, "< 4 h"),
    (FROM_4H_TO_1D, "4 h–1 day"),
    (FROM_1D_TO_3D, "1–3 days"),
    (OVER_3D, "> 3 days"),
]
AGING_BUCKET_KEYS = [key for key, _ in AGING_BUCKETS]

ESCALATION_LEVELS = (1, 2)
# Closures older than this cannot matter to "over 3 business days" (holidays
# come from the `holidays` package, not from this table).
CLOSURE_LOOKBACK_DAYS = 60


@dataclass(frozen=True)
class AgingBoundaries:
    """Due times at which a promise, at `as_of`, is exactly 4 business hours,
    1 business day and 3 business days overdue (each earlier than the last)."""

    four_hours: datetime
    one_day: datetime
    three_days: datetime


def _wall_clock_boundaries(as_of: datetime) -> AgingBoundaries:
    return AgingBoundaries(
        four_hours=as_of - timedelta(hours=4),
        one_day=as_of - timedelta(hours=24),
        three_days=as_of - timedelta(hours=72),
    )


def aging_boundaries(calendar: BusinessCalendar | None, as_of: datetime) -> AgingBoundaries:
    """Boundaries in the team's business time; wall-clock hours without a calendar
    (promises without a team).

    "1 day" is one business day's worth of open time (the longest open weekday
    of the calendar, 8 hours for the default Mon-Fri 09:00-17:00), so for the
    usual office a promise is "1-3 days" late from 8 to 24 business hours.
    """
    if calendar is None:
        return _wall_clock_boundaries(as_of)
    day_minutes = _business_day_minutes(calendar)
    if day_minutes == 0:
        return _wall_clock_boundaries(as_of)
    return AgingBoundaries(
        four_hours=_subtract_business_minutes(calendar, as_of, 4 * 60),
        one_day=_subtract_business_minutes(calendar, as_of, day_minutes),
        three_days=_subtract_business_minutes(calendar, as_of, 3 * day_minutes),
    )


def _business_day_minutes(calendar: BusinessCalendar) -> int:
    longest = 0
    for intervals in calendar.hours.values():
        minutes = 0
        for opens, closes in intervals:
            minutes += (closes.hour * 60 + closes.minute) - (opens.hour * 60 + opens.minute)
        longest = max(longest, minutes)
    return longest


def _subtract_business_minutes(calendar: BusinessCalendar, end: datetime, minutes: int) -> datetime:
    """The instant with exactly `minutes` of the calendar's open time between it and `end`.

    The mirror of BusinessCalendar.add_business_minutes: walks the local days
    backwards, so DST and holidays move the UTC instant the same way.
    """
    remaining = timedelta(minutes=minutes)
    day = calendar.local_date(end)
    for _ in range(MAX_DAYS_SEARCHED):
        for opens, closes in reversed(calendar.intervals(day)):
            stop = min(closes, end)
            if stop <= opens:
                continue
            available = stop - opens
            if remaining <= available:
                return stop - remaining
            remaining -= available
        day -= timedelta(days=1)
    return end - timedelta(minutes=minutes)


def board_calendars(teams: Iterable[Team], *, as_of: datetime) -> dict[int, BusinessCalendar]:
    """Every team's business calendar in two queries (hours, closures), whatever
    the number of teams: the board must not query per team."""
    teams = list(teams)
    team_ids = [team.pk for team in teams]
    hours: dict[int, dict[int, list[tuple[time, time]]]] = defaultdict(lambda: defaultdict(list))
    for row in BusinessHours.objects.filter(team_id__in=team_ids).values_list(
        "team_id", "weekday", "opens_at", "closes_at"
    ):
        hours[row[0]][row[1]].append((row[2], row[3]))
    closures: dict[int, set[date]] = defaultdict(set)
    # Aging looks back three business days: a few weeks of closures is plenty.
    since = as_of.date() - timedelta(days=CLOSURE_LOOKBACK_DAYS)
    for team_id, day in Closure.objects.filter(team_id__in=team_ids, date__gte=since).values_list(
        "team_id", "date"
    ):
        closures[team_id].add(day)
    return {
        team.pk: BusinessCalendar(
            time_zone=team.time_zone,
            hours=dict(hours[team.pk]) if team.pk in hours else dict(DEFAULT_BUSINESS_HOURS),
            holiday_country=team.holiday_country,
            closures=frozenset(closures.get(team.pk, ())),
        )
        for team in teams
    }


def _bucket_expression(boundaries: dict[int | None, AgingBoundaries]) -> Case:
    """CASE WHEN team_id = t AND due_at > b.four_hours THEN 'under_4h' ... per team."""
    whens: list[When] = []
    for team_id, bounds in boundaries.items():
        team_q = Q(team__isnull=True) if team_id is None else Q(team_id=team_id)
        whens += [
            When(team_q & Q(due_at__gt=bounds.four_hours), then=Value(UNDER_4H)),
            When(team_q & Q(due_at__gt=bounds.one_day), then=Value(FROM_4H_TO_1D)),
            When(team_q & Q(due_at__gt=bounds.three_days), then=Value(FROM_1D_TO_3D)),
            When(team_q, then=Value(OVER_3D)),
        ]
    return Case(*whens, default=Value(OVER_3D), output_field=CharField())


def _bucket_range_q(boundaries: dict[int | None, AgingBoundaries], bucket: str) -> Q:
    condition = Q(pk__in=[])
    for team_id, bounds in boundaries.items():
        team_q = Q(team__isnull=True) if team_id is None else Q(team_id=team_id)
        if bucket == UNDER_4H:
            due_q = Q(due_at__gt=bounds.four_hours)
        elif bucket == FROM_4H_TO_1D:
            due_q = Q(due_at__gt=bounds.one_day, due_at__lte=bounds.four_hours)
        elif bucket == FROM_1D_TO_3D:
            due_q = Q(due_at__gt=bounds.three_days, due_at__lte=bounds.one_day)
        else:
            due_q = Q(due_at__lte=bounds.three_days)
        condition |= team_q & due_q
    return condition


# --- scope ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardScope:
    """Which teams' promises a user may see on the board: admins all (including
    promises without a team), supervisors the teams they supervise."""

    is_admin: bool
    team_ids: frozenset[int] = field(default_factory=frozenset)

    def filter(self, queryset: QuerySet[FollowUp]) -> QuerySet[FollowUp]:
        if self.is_admin:
            return queryset
        return queryset.filter(team_id__in=self.team_ids)

    def allows_team(self, team_id: int | None) -> bool:
        return self.is_admin or (team_id is not None and team_id in self.team_ids)


def _scope_q(scope: BoardScope, *, prefix: str = "") -> Q:
    return Q() if scope.is_admin else Q(**{f"{prefix}team_id__in": scope.team_ids})


def board_scope(user) -> BoardScope:  # noqa: ANN001 - any user object
    """Raise PermissionDenied unless the user supervises a team or is an admin."""
    if access.is_admin(user):
        return BoardScope(is_admin=True)
    team_ids = access.supervised_team_ids(user)
    if not team_ids:
        raise PermissionDenied("Only supervisors and admins see the board.")
    return BoardScope(is_admin=False, team_ids=frozenset(team_ids))


def board_teams(scope: BoardScope) -> list[Team]:
    teams = Team.objects.order_by("name")
    if not scope.is_admin:
        teams = teams.filter(pk__in=scope.team_ids)
    return list(teams)


# --- the one queryset ----------------------------------------------------------------


@dataclass(frozen=True)
class BoardFilter:
    team_id: int | None = None
    owner_id: int | None = None
    bucket: str | None = None
    escalation_level: int | None = None
    # "No team" promises (admins only) are selected with this flag, team_id None.
    without_team: bool = False


def board_overdue_followups(
    *,
    scope: BoardScope,
    as_of: datetime,
    teams: Iterable[Team] | None = None,
    board_filter: BoardFilter | None = None,
) -> QuerySet[FollowUp]:
    """Open promises past due at `as_of`, in scope, annotated with `aging_bucket`.

    Overdue means `due_at < as_of`, not the `is_overdue` flag: the flag waits
    for the sweep, and the board must not lag it by a minute.
    """
    teams = list(teams) if teams is not None else board_teams(scope)
    calendars = board_calendars(teams, as_of=as_of)
    boundaries: dict[int | None, AgingBoundaries] = {
        team.pk: aging_boundaries(calendars[team.pk], as_of) for team in teams
    }
    if scope.is_admin:
        boundaries[None] = aging_boundaries(None, as_of)
    queryset = scope.filter(
        FollowUp.objects.filter(status=FollowUp.Status.OPEN, due_at__lt=as_of)
    ).annotate(aging_bucket=_bucket_expression(boundaries))
    board_filter = board_filter or BoardFilter()
    if board_filter.without_team:
        queryset = queryset.filter(team__isnull=True)
    elif board_filter.team_id is not None:
        queryset = queryset.filter(team_id=board_filter.team_id)
    if board_filter.owner_id is not None:
        queryset = queryset.filter(owner_id=board_filter.owner_id)
    if board_filter.bucket is not None:
        # The bucket as due_at ranges per team, from the same boundaries as the
        # CASE the counts group by (the same condition, tested bucket by bucket
        # across time zones and DST): unlike a filter on the CASE, PostgreSQL
        # can estimate and index these.
        queryset = queryset.filter(_bucket_range_q(boundaries, board_filter.bucket))
    if board_filter.escalation_level is not None:
        queryset = queryset.filter(escalation_level=board_filter.escalation_level)
    return queryset


def board_list(
    *,
    scope: BoardScope,
    as_of: datetime,
    board_filter: BoardFilter,
    teams: Iterable[Team] | None = None,
) -> QuerySet[FollowUp]:
    """The list behind a count: the same queryset, with what a row shows."""
    return (
        board_overdue_followups(scope=scope, as_of=as_of, teams=teams, board_filter=board_filter)
        .select_related("customer", "owner", "team")
        .annotate(
            acknowledged_at=Subquery(
                EscalationAcknowledgement.objects.filter(
                    followup=OuterRef("pk"),
                    cycle=OuterRef("cycle"),
                    level=OuterRef("escalation_level"),
                ).values("acknowledged_at")[:1],
                output_field=DateTimeField(),
            )
        )
        .order_by("due_at", "pk")
    )


# --- the counts ----------------------------------------------------------------------


@dataclass
class BoardRow:
    owner_id: int
    owner_name: str
    counts: dict[str, int]
    total: int
    levels: dict[int, int]
    unacknowledged: int


@dataclass
class BoardTeam:
    team_id: int | None
    team_name: str
    rows: list[BoardRow]
    counts: dict[str, int]
    total: int
    levels: dict[int, int]
    unacknowledged: int


@dataclass
class Board:
    as_of: datetime
    teams: list[BoardTeam]
    counts: dict[str, int]
    total: int
    levels: dict[int, int]
    unacknowledged: int


def board_summary(*, scope: BoardScope, as_of: datetime | None = None) -> Board:
    """Counts by team and rep, per aging bucket and escalation level: one query
    over `board_overdue_followups` (plus one for the teams' calendars)."""
    as_of = as_of or timezone.now()
    teams = board_teams(scope)
    aggregates = {
        bucket: Count("pk", filter=Q(aging_bucket=bucket)) for bucket in AGING_BUCKET_KEYS
    }
    aggregates.update(
        {
            f"level_{level}": Count("pk", filter=Q(escalation_level=level))
            for level in ESCALATION_LEVELS
        }
    )
    overdue = board_overdue_followups(scope=scope, as_of=as_of, teams=teams)
    # Team, owner, due time and level only: an index-only scan of the open
    # promises' covering index (followups_board_open_idx), whatever their number.
    counted = list(
        overdue.order_by().values("team_id", "owner_id").annotate(total=Count("pk"), **aggregates)
    )
    # Acknowledged escalations are few: counted from their table, not probed per promise.
    acknowledged = {
        (row["followup__team_id"], row["followup__owner_id"]): row["n"]
        for row in EscalationAcknowledgement.objects.filter(
            _scope_q(scope, prefix="followup__"),
            followup__status=FollowUp.Status.OPEN,
            followup__due_at__lt=as_of,
            cycle=F("followup__cycle"),
            level=F("followup__escalation_level"),
        )
        .order_by()
        .values("followup__team_id", "followup__owner_id")
        .annotate(n=Count("pk"))
    }
    owners = {
        user.pk: user
        for user in get_user_model()
        .objects.filter(pk__in={row["owner_id"] for row in counted})
        .only("username", "first_name", "last_name")
    }
    rows = []
    for row in counted:
        owner = owners.get(row["owner_id"])
        escalated = sum(row[f"level_{level}"] for level in ESCALATION_LEVELS)
        rows.append(
            {
                **row,
                "owner__username": owner.username if owner else "",
                "owner__first_name": owner.first_name if owner else "",
                "owner__last_name": owner.last_name if owner else "",
                "unacknowledged": escalated
                - acknowledged.get((row["team_id"], row["owner_id"]), 0),
            }
        )
    team_names = {team.pk: team.name for team in teams}
    by_team: dict[int | None, BoardTeam] = {}
    for row in rows:
        team_id = row["team_id"]
        board_team = by_team.get(team_id)
        if board_team is None:
            board_team = by_team[team_id] = BoardTeam(
                team_id=team_id,
                team_name=team_names.get(team_id, "No team"),
                rows=[],
                counts=dict.fromkeys(AGING_BUCKET_KEYS, 0),
                total=0,
                levels=dict.fromkeys(ESCALATION_LEVELS, 0),
                unacknowledged=0,
            )
        full_name = f"{row['owner__first_name']} {row['owner__last_name']}".strip()
        board_row = BoardRow(
            owner_id=row["owner_id"],
            owner_name=full_name or row["owner__username"],
            counts={bucket: row[bucket] for bucket in AGING_BUCKET_KEYS},
            total=row["total"],
            levels={level: row[f"level_{level}"] for level in ESCALATION_LEVELS},
            unacknowledged=row["unacknowledged"],
        )
        board_team.rows.append(board_row)
        board_team.total += board_row.total
        board_team.unacknowledged += board_row.unacknowledged
        for bucket in AGING_BUCKET_KEYS:
            board_team.counts[bucket] += board_row.counts[bucket]
        for level in ESCALATION_LEVELS:
            board_team.levels[level] += board_row.levels[level]
    # Most behind first: the rep with the most overdue promises tops the team.
    board_teams_sorted = sorted(by_team.values(), key=lambda t: (t.team_id is None, t.team_name))
    for board_team in board_teams_sorted:
        board_team.rows.sort(key=lambda r: (-r.total, r.owner_name.casefold()))
    return Board(
        as_of=as_of,
        teams=board_teams_sorted,
        counts={
            bucket: sum(t.counts[bucket] for t in board_teams_sorted)
            for bucket in AGING_BUCKET_KEYS
        },
        total=sum(t.total for t in board_teams_sorted),
        levels={
            level: sum(t.levels[level] for t in board_teams_sorted) for level in ESCALATION_LEVELS
        },
        unacknowledged=sum(t.unacknowledged for t in board_teams_sorted),
    )


def board_counts_payload(*, scope: BoardScope, as_of: datetime | None = None) -> dict:
    """The board's counts as JSON for /api/v1/metrics/board/."""
    board = board_summary(scope=scope, as_of=as_of)

    def counts(item: Board | BoardTeam | BoardRow) -> dict:
        return {
            "total": item.total,
            "buckets": dict(item.counts),
            "escalation_levels": {str(level): n for level, n in item.levels.items()},
            "unacknowledged": item.unacknowledged,
        }

    return {
        "as_of": board.as_of.isoformat(),
        **counts(board),
        "teams": [
            {
                "team": team.team_id,
                "name": team.team_name,
                **counts(team),
                "reps": [
                    {"owner": row.owner_id, "name": row.owner_name, **counts(row)}
                    for row in team.rows
                ],
            }
            for team in board.teams
        ],
    }


# --- reassignment targets ------------------------------------------------------------


def board_assignable_members(*, scope: BoardScope) -> list[TeamMembership]:
    """Who a supervisor may hand promises to: members of the teams in scope."""
    memberships = TeamMembership.objects.select_related("user", "team").order_by(
        "team__name", "user__first_name", "user__last_name", "user__username"
    )
    if not scope.is_admin:
        memberships = memberships.filter(team_id__in=scope.team_ids)
    return list(memberships.filter(user__is_active=True))


# --- escalations inbox ---------------------------------------------------------------

INBOX_NEEDS_ACK = "unacknowledged"
INBOX_ACKNOWLEDGED = "acknowledged"
INBOX_ALL = "all"
INBOX_STATES = [
    (INBOX_NEEDS_ACK, "Needs acknowledgement"),
    (INBOX_ACKNOWLEDGED, "Acknowledged"),
    (INBOX_ALL, "All"),
]


def escalations_inbox(*, scope: BoardScope, state: str = INBOX_NEEDS_ACK) -> QuerySet[FollowUp]:
    """Promises escalated to this supervisor's teams (admins: all), with when the
    escalation reached them and who acknowledged it.

    An escalation is the follow-up's current level in its current cycle; a
    renegotiation starts a new cycle and so a new escalation.
    """
    escalated = FollowUpEvent.objects.filter(
        followup=OuterRef("pk"),
        kind=FollowUpEvent.Kind.ESCALATE,
        level=OuterRef("escalation_level"),
        cycle=OuterRef("cycle"),
    ).order_by("occurred_at")
    acknowledgement = EscalationAcknowledgement.objects.filter(
        followup=OuterRef("pk"), cycle=OuterRef("cycle"), level=OuterRef("escalation_level")
    )
    queryset = (
        scope.filter(FollowUp.objects.filter(escalation_level__gte=1))
        .select_related("customer", "owner", "team")
        .annotate(
            escalated_at=Subquery(escalated.values("occurred_at")[:1]),
            acknowledged_at=Subquery(acknowledgement.values("acknowledged_at")[:1]),
            acknowledged_by_name=Subquery(acknowledgement.values("acknowledged_by__username")[:1]),
        )
    )
    # EXISTS, not the annotation: the planner then sees an anti-join of the
    # escalated rows and walks followups_escalated_idx to fill a page.
    if state == INBOX_NEEDS_ACK:
        queryset = queryset.filter(~Exists(acknowledgement), status=FollowUp.Status.OPEN)
    elif state == INBOX_ACKNOWLEDGED:
        queryset = queryset.filter(Exists(acknowledgement))
    # Ordered by when the current level was due (the sweep records the event at
    # most a sweep interval later): that is what followups_escalated_idx holds.
    return queryset.order_by(ESCALATION_SCHEDULED_AT.desc(), "-pk")
