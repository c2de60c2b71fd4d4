"""Service metrics for supervisors: outcomes, never handle time as a target.

Promise figures come from follow-ups (this app); first-contact resolution,
repeat contacts, complaints and CSAT from the interaction log
(`reporting.contact_selectors`). Every figure is an aggregate computed in
SQL: a fixed number of queries whatever the number of reps, promises or
interactions. The page, its CSV exports and `/api/v1/metrics/...` all call
`metrics_report` / `metrics_table`, so they cannot disagree.

Two paths, the same numbers (tests/board/test_metrics.py compares them filter
by filter): when the rollups of reporting/metrics_rollup.py cover the range
(refreshed every sweep interval by beat, so at most one interval old), the
figures are sums of a few thousand pre-aggregated rows whatever the filter;
what depends on the clock (missed, open and overdue now) is counted live from
the open promises' indexes. Before the rollups cover the range (a fresh
install back-filling), everything is computed on the request and
reused for up to one sweep interval. Median lateness on the rollup path comes
from a histogram (reporting.metrics_models.PromiseLateness): exact when the
middle value(s) are alone in their ~4.4 %-wide bucket, else within it.

Conventions (shown on the page):
- The date range selects promises by their (latest agreed) due date and
  contacts by when they happened; both ends are whole UTC days, inclusive.
- A promise's outcome is decided once it is done, or open past its due time:
  kept on time / kept late / missed (still open). Cancelled promises and those
  not yet due are not counted.
- Lateness is completed_at - due_at of promises kept late.
- Weeks start on Monday (ISO weeks, UTC).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Aggregate, Count, DurationField, F, Q, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from crm.models import Team, TeamMembership
from followups.models import FollowUp
from interactions.models import Interaction, InteractionCategory
from reporting import contact_selectors, metrics_rollup
from reporting.board_selectors import BoardScope
from reporting.metrics_models import (
    LEVEL_ALL,
    LEVEL_REP,
    LEVEL_TEAM,
    ContactDay,
    MatterDay,
    PromiseDay,
    PromiseLateness,
)

T = TypeVar("T")

# Long ranges make weekly charts unreadable and scans long; two years is a lot of weeks.
MAX_RANGE_DAYS = 731
DEFAULT_RANGE_WEEKS = 12


class Median(Aggregate):
    """PostgreSQL's percentile_cont(0.5) (an ordered-set aggregate; works on intervals)."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"


@dataclass(frozen=True)
class MetricsFilter:
    start: date
    end: date  # inclusive
    team_id: int | None = None
    rep_id: int | None = None
    channel: str | None = None

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def end_before(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)


def default_metrics_filter(today: date | None = None) -> MetricsFilter:
    today = today or timezone.now().date()
    return MetricsFilter(
        start=today - timedelta(weeks=DEFAULT_RANGE_WEEKS) + timedelta(days=1), end=today
    )


class MetricsFilterForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="All my teams"
    )
    rep = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(), required=False, empty_label="All reps"
    )
    channel = forms.ChoiceField(
        required=False, choices=[("", "All channels"), *Interaction.Channel.choices]
    )

    def __init__(self, data=None, *args, scope: BoardScope, **kwargs) -> None:  # noqa: ANN001
        if data is not None and not (data.get("start") or data.get("end")):
            # Show the default range in the date inputs, not empty boxes.
            default = default_metrics_filter()
            data = data.copy()
            data["start"], data["end"] = default.start.isoformat(), default.end.isoformat()
        super().__init__(data, *args, **kwargs)
        teams = Team.objects.order_by("name")
        members = TeamMembership.objects.all()
        if not scope.is_admin:
            teams = teams.filter(pk__in=scope.team_ids)
            members = members.filter(team_id__in=scope.team_ids)
        self.fields["team"].queryset = teams
        self.fields["rep"].queryset = (
            get_user_model()
            .objects.filter(pk__in=members.values("user_id"))
            .order_by("first_name", "last_name", "username")
        )
        self.fields["rep"].label_from_instance = lambda user: user.get_full_name() or user.username

    def clean(self) -> dict:
        data = super().clean()
        default = default_metrics_filter()
        start, end = data.get("start") or default.start, data.get("end") or default.end
        if end < start:
            raise ValidationError({"end": ["The end is before the start."]})
        if (end - start).days > MAX_RANGE_DAYS:
            raise ValidationError({"start": [f"Choose at most {MAX_RANGE_DAYS} days."]})
        data["start"], data["end"] = start, end
        return data

    def metrics_filter(self) -> MetricsFilter:
        data = self.cleaned_data
        return MetricsFilter(
            start=data["start"],
            end=data["end"],
            team_id=data["team"].pk if data.get("team") else None,
            rep_id=data["rep"].pk if data.get("rep") else None,
            channel=data.get("channel") or None,
        )


# --- promises --------------------------------------------------------------------------


def _scoped_followups(*, scope: BoardScope, metrics_filter: MetricsFilter) -> QuerySet[FollowUp]:
    queryset = scope.filter(FollowUp.objects.all())
    if metrics_filter.team_id is not None:
        queryset = queryset.filter(team_id=metrics_filter.team_id)
    if metrics_filter.rep_id is not None:
        queryset = queryset.filter(owner_id=metrics_filter.rep_id)
    if metrics_filter.channel:
        queryset = queryset.filter(channel=metrics_filter.channel)
    return queryset


def _kept_on_time_q() -> Q:
    # The engine records is_kept_on_time at completion; rows completed before it
    # existed fall back to comparing the times.
    return Q(status=FollowUp.Status.DONE) & (
        Q(is_kept_on_time=True) | Q(is_kept_on_time__isnull=True, completed_at__lte=F("due_at"))
    )


def _kept_late_q() -> Q:
    return Q(status=FollowUp.Status.DONE) & (
        Q(is_kept_on_time=False) | Q(is_kept_on_time__isnull=True, completed_at__gt=F("due_at"))
    )


def _missed_q(now: datetime) -> Q:
    return Q(status=FollowUp.Status.OPEN, due_at__lt=now)


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass
class PromiseMetrics:
    due_in_range: int
    kept_on_time: int
    kept_late: int
    missed: int
    decided: int
    kept_on_time_percent: float | None
    median_lateness: timedelta | None
    renegotiated: int
    renegotiations: int
    open_now: int
    overdue_now: int


def promise_metrics(
    *, scope: BoardScope, metrics_filter: MetricsFilter, now: datetime
) -> PromiseMetrics:
    """One aggregate query."""
    base = _scoped_followups(scope=scope, metrics_filter=metrics_filter)
    in_range = Q(due_at__gte=metrics_filter.start_at, due_at__lt=metrics_filter.end_before) & ~Q(
        status=FollowUp.Status.CANCELLED
    )
    lateness = F("completed_at") - F("due_at")
    aggregates = {
        "due_in_range": Count("pk", filter=in_range),
        "kept_on_time": Count("pk", filter=in_range & _kept_on_time_q()),
        "kept_late": Count("pk", filter=in_range & _kept_late_q()),
        "missed": Count("pk", filter=in_range & _missed_q(now)),
        "renegotiated": Count("pk", filter=in_range & Q(renegotiation_count__gt=0)),
        "renegotiations": Sum("renegotiation_count", filter=in_range),
        "open_now": Count("pk", filter=Q(status=FollowUp.Status.OPEN)),
        "overdue_now": Count("pk", filter=_missed_q(now)),
        "median_lateness": Median(
            lateness, filter=in_range & _kept_late_q(), output_field=DurationField()
        ),
    }
    row = base.aggregate(**aggregates)
    decided = row["kept_on_time"] + row["kept_late"] + row["missed"]
    return PromiseMetrics(
        due_in_range=row["due_in_range"],
        kept_on_time=row["kept_on_time"],
        kept_late=row["kept_late"],
        missed=row["missed"],
        decided=decided,
        kept_on_time_percent=_percent(row["kept_on_time"], decided),
        median_lateness=row["median_lateness"],
        renegotiated=row["renegotiated"],
        renegotiations=row["renegotiations"] or 0,
        open_now=row["open_now"],
        overdue_now=row["overdue_now"],
    )


def promise_weeks(*, scope: BoardScope, metrics_filter: MetricsFilter, now: datetime) -> list[dict]:
    """Kept-on-time rate per ISO week of the due date: one GROUP BY query."""
    rows = (
        _scoped_followups(scope=scope, metrics_filter=metrics_filter)
        .filter(due_at__gte=metrics_filter.start_at, due_at__lt=metrics_filter.end_before)
        .exclude(status=FollowUp.Status.CANCELLED)
        .annotate(week=TruncWeek("due_at", tzinfo=UTC))
        .order_by()
        .values("week")
        .annotate(
            kept_on_time=Count("pk", filter=_kept_on_time_q()),
            kept_late=Count("pk", filter=_kept_late_q()),
            missed=Count("pk", filter=_missed_q(now)),
            renegotiated=Count("pk", filter=Q(renegotiation_count__gt=0)),
        )
    )
    by_week = {_as_date(row["week"]): row for row in rows}
    result = []
    for week in weeks_between(metrics_filter.start, metrics_filter.end):
        row = by_week.get(week, {})
        kept, late, missed = (
            row.get("kept_on_time", 0),
            row.get("kept_late", 0),
            row.get("missed", 0),
        )
        decided = kept + late + missed
        result.append(
            {
                "week": week,
                "kept_on_time": kept,
                "kept_late": late,
                "missed": missed,
                "decided": decided,
                "kept_on_time_percent": _percent(kept, decided),
                "renegotiated": row.get("renegotiated", 0),
            }
        )
    return result


def _as_date(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def weeks_between(start: date, end: date) -> list[date]:
    """Mondays of every ISO week touching [start, end]."""
    monday = start - timedelta(days=start.weekday())
    weeks = []
    while monday <= end:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


# --- the whole report --------------------------------------------------------------------


@dataclass
class MetricsReport:
    metrics_filter: MetricsFilter
    as_of: datetime
    promises: PromiseMetrics
    promise_weeks: list[dict]
    contacts: contact_selectors.ContactMetrics | None
    matter_weeks: list[dict] = field(default_factory=list)
    complaint_categories: list[str] = field(default_factory=list)
    complaint_weeks_by_category: list[dict] = field(default_factory=list)
    complaint_trend: dict | None = None
    csat_weeks: list[dict] = field(default_factory=list)
    handle_time_by_outcome: list[dict] = field(default_factory=list)
    # Weeks not wholly inside the range or not over yet: shown, marked, and left
    # out of every trend (a just-started week is not a fall).
    partial_weeks: frozenset[date] = frozenset()


def partial_weeks_of(metrics_filter: MetricsFilter, *, now: datetime) -> frozenset[date]:
    """Mondays of the weeks in the range that are partial: starting before the range,
    ending after it, or not over at `now` (weeks are Monday 00:00 UTC to Monday)."""
    partial = set()
    for monday in weeks_between(metrics_filter.start, metrics_filter.end):
        week_end = datetime.combine(monday + timedelta(days=7), time.min, tzinfo=UTC)
        if monday < metrics_filter.start or monday + timedelta(days=6) > metrics_filter.end:
            partial.add(monday)
        elif week_end > now:
            partial.add(monday)
    return frozenset(partial)


def _marked(rows: list[dict], partial: frozenset[date]) -> list[dict]:
    return [{**row, "partial": _as_date(row["week"]) in partial} for row in rows]


def _contact_scope(
    scope: BoardScope, metrics_filter: MetricsFilter
) -> contact_selectors.ContactScope:
    return contact_selectors.ContactScope(
        team_ids=None if scope.is_admin else frozenset(scope.team_ids),
        team_id=metrics_filter.team_id,
        rep_id=metrics_filter.rep_id,
        channel=metrics_filter.channel,
        start_at=metrics_filter.start_at,
        end_before=metrics_filter.end_before,
    )


def metrics_cache_seconds() -> int:
    """How long contact figures may be reused: at most one sweep interval (the
    issue's bound on staleness). 0 turns the cache off."""
    return int(getattr(settings, "METRICS_CACHE_SECONDS", settings.FOLLOWUP_SWEEP_SECONDS))


def _cached(key_parts: tuple, compute: Callable[[], T]) -> T:
    """Contact figures scan weeks of interactions and matters; a supervisor
    reloading the page, the board's link to it and a BI tool polling the API
    within one sweep interval share one computation."""
    seconds = metrics_cache_seconds()
    if seconds <= 0:
        return compute()
    key = "metrics:v1:" + hashlib.sha256(repr(key_parts).encode()).hexdigest()
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, seconds)
    return value


def _cache_key(scope: BoardScope, metrics_filter: MetricsFilter, what: str) -> tuple:
    return (what, scope.is_admin, tuple(sorted(scope.team_ids)), metrics_filter)


@dataclass
class ContactFigures:
    metrics: contact_selectors.ContactMetrics
    matter_weeks: list[dict]
    complaints: contact_selectors.ComplaintWeeks
    csat_weeks: list[dict]
    handle_time_by_outcome: list[dict]


def contact_figures(
    *, scope: BoardScope, metrics_filter: MetricsFilter, now: datetime | None = None
) -> ContactFigures:
    now = now or timezone.now()
    if uses_rollup(metrics_filter):
        return _rollup_contact_figures(scope=scope, metrics_filter=metrics_filter, now=now)
    contact_scope = _contact_scope(scope, metrics_filter)
    weeks = weeks_between(metrics_filter.start, metrics_filter.end)

    def compute() -> ContactFigures:
        with transaction.atomic():
            _without_jit()
            return _compute()

    def _compute() -> ContactFigures:
        matter_weeks = contact_selectors.matter_weeks(
            contact_scope=contact_scope, weeks=weeks, now=now
        )
        # One scan of the interactions feeds every other contact figure.
        rollup = contact_selectors.interaction_rollup(contact_scope)
        csat_weeks = contact_selectors.csat_weeks(
            contact_scope=contact_scope, weeks=weeks, rollup=rollup
        )
        return ContactFigures(
            metrics=contact_selectors.contact_metrics(
                contact_scope=contact_scope,
                now=now,
                matter_weeks=matter_weeks,
                csat_weeks=csat_weeks,
                rollup=rollup,
            ),
            matter_weeks=matter_weeks,
            complaints=contact_selectors.complaint_weeks(
                contact_scope=contact_scope, weeks=weeks, rollup=rollup
            ),
            csat_weeks=csat_weeks,
            handle_time_by_outcome=contact_selectors.handle_time_by_outcome(
                contact_scope=contact_scope, rollup=rollup
            ),
        )

    return _cached(_cache_key(scope, metrics_filter, "contacts"), compute)


def promise_figures(
    *, scope: BoardScope, metrics_filter: MetricsFilter, now: datetime | None = None
) -> tuple[PromiseMetrics, list[dict]]:
    """Promise totals and weeks, reused like the contact figures for up to one
    sweep interval ("overdue now" is then at most that old, as the engine's own
    is_overdue flag is)."""
    now = now or timezone.now()
    if uses_rollup(metrics_filter):
        return _rollup_promise_figures(scope=scope, metrics_filter=metrics_filter, now=now)

    def compute() -> tuple[PromiseMetrics, list[dict]]:
        with transaction.atomic():
            _without_jit()
            return (
                promise_metrics(scope=scope, metrics_filter=metrics_filter, now=now),
                promise_weeks(scope=scope, metrics_filter=metrics_filter, now=now),
            )

    return _cached(_cache_key(scope, metrics_filter, "promises"), compute)


# --- the same figures from the rollups (reporting/metrics_rollup.py) ------------------------


def uses_rollup(metrics_filter: MetricsFilter) -> bool:
    """Sum the rollups when they cover the range (METRICS_ROLLUP, default on);
    otherwise (a fresh install still back-filling) compute on the request.
    The rollups are at most one sweep interval old, so they are not cached again."""
    if not getattr(settings, "METRICS_ROLLUP", True):
        return False
    return metrics_rollup.rollup_covers(metrics_filter.start)


def _rollup_rows(model: type, *, scope: BoardScope, metrics_filter: MetricsFilter) -> QuerySet:
    """The rows of the coarsest level that answers the filter: every team
    (admins), the teams in scope, or one rep."""
    rows = model.objects.filter(day__gte=metrics_filter.start, day__lte=metrics_filter.end)
    if metrics_filter.rep_id is not None:
        rows = rows.filter(level=LEVEL_REP, rep_id=metrics_filter.rep_id)
        if metrics_filter.team_id is not None:
            rows = rows.filter(team_id=metrics_filter.team_id)
    elif metrics_filter.team_id is not None:
        rows = rows.filter(level=LEVEL_TEAM, team_id=metrics_filter.team_id)
    elif scope.is_admin:
        rows = rows.filter(level=LEVEL_ALL)
    else:
        rows = rows.filter(level=LEVEL_TEAM)
    if not scope.is_admin:
        rows = rows.filter(team_id__in=scope.team_ids)
    if metrics_filter.channel:
        rows = rows.filter(channel=metrics_filter.channel)
    return rows.annotate(week=TruncWeek("day")).order_by()


def _rollup_contact_figures(
    *, scope: BoardScope, metrics_filter: MetricsFilter, now: datetime
) -> ContactFigures:
    weeks = weeks_between(metrics_filter.start, metrics_filter.end)
    contact_scope = _contact_scope(scope, metrics_filter)
    names = dict(InteractionCategory.objects.values_list("slug", "name"))
    # The rows reporting.contact_selectors.interaction_rollup would give
    # (week, complaint category, outcome, with or without customer), so the
    # complaint, CSAT and handle-time figures are computed by the same code.
    rollup = []
    for row in (
        _rollup_rows(ContactDay, scope=scope, metrics_filter=metrics_filter)
        .values("week", "outcome", "complaint_category")
        .annotate(
            interactions=Sum("interactions"),
            with_customer=Sum("with_customer"),
            responses=Sum("responses"),
            score_sum=Sum("score_sum"),
            duration_sum=Sum("duration_sum"),
        )
    ):
        category = row["complaint_category"] or None
        base = {
            "week": _as_date(row["week"]),
            "category_id": category,
            "category__name": names.get(category, category) if category else None,
            "outcome": row["outcome"],
        }
        rollup.append(
            {
                **base,
                "has_customer": True,
                "interactions": row["with_customer"],
                "responses": row["responses"],
                "score_sum": row["score_sum"],
                "duration_sum": row["duration_sum"],
            }
        )
        if row["interactions"] > row["with_customer"]:
            rollup.append(
                {
                    **base,
                    "has_customer": False,
                    "interactions": row["interactions"] - row["with_customer"],
                    "responses": 0,
                    "score_sum": 0,
                    "duration_sum": 0,
                }
            )
    by_week = {
        _as_date(row["week"]): row
        for row in _rollup_rows(MatterDay, scope=scope, metrics_filter=metrics_filter)
        .values("week")
        .annotate(
            matters=Sum("matters"),
            resolved_first_contact=Sum("resolved_first_contact"),
            repeat_7d=Sum("repeat_7d"),
            repeat_30d=Sum("repeat_30d"),
        )
    }
    matter_weeks = contact_selectors.matter_week_rows(by_week=by_week, weeks=weeks)
    csat_weeks = contact_selectors.csat_weeks(
        contact_scope=contact_scope, weeks=weeks, rollup=rollup
    )
    return ContactFigures(
        metrics=contact_selectors.contact_metrics(
            contact_scope=contact_scope,
            now=now,
            matter_weeks=matter_weeks,
            csat_weeks=csat_weeks,
            rollup=rollup,
        ),
        matter_weeks=matter_weeks,
        complaints=contact_selectors.complaint_weeks(
            contact_scope=contact_scope, weeks=weeks, rollup=rollup
        ),
        csat_weeks=csat_weeks,
        handle_time_by_outcome=contact_selectors.handle_time_by_outcome(
            contact_scope=contact_scope, rollup=rollup
        ),
    )


def histogram_median(buckets: list[tuple[int, int, int]]) -> timedelta | None:
    """percentile_cont(0.5) over a lateness histogram of (bucket, count, seconds
    sum): each value is taken as its bucket's mean, so the median is exact when
    the one or two middle values are alone in their buckets, and otherwise
    within the bucket's width (about 4.4 %)."""
    buckets = sorted(bucket for bucket in buckets if bucket[1])
    total = sum(count for _, count, _ in buckets)
    if not total:
        return None
    position = (total - 1) / 2
    low, high = int(position), min(int(position) + (position % 1 > 0), total - 1)

    def value(index: int) -> float:
        seen = 0
        for _, count, seconds in buckets:
            seen += count
            if index < seen:
                return seconds / count
        return buckets[-1][2] / buckets[-1][1]

    low_value, high_value = value(low), value(high)
    return timedelta(seconds=low_value + (position - low) * (high_value - low_value))


def _rollup_promise_figures(
    *, scope: BoardScope, metrics_filter: MetricsFilter, now: datetime
) -> tuple[PromiseMetrics, list[dict]]:
    """Outcomes of promises from the rollup; what depends on the clock (missed:
    open past due now; open and overdue now) counted live from the open-promise
    indexes, which only hold the open promises."""
    sums = {
        _as_date(row["week"]): row
        for row in _rollup_rows(PromiseDay, scope=scope, metrics_filter=metrics_filter)
        .values("week")
        .annotate(
            due=Sum("due"),
            kept_on_time=Sum("kept_on_time"),
            kept_late=Sum("kept_late"),
            renegotiated=Sum("renegotiated"),
            renegotiations=Sum("renegotiations"),
        )
    }
    open_promises = _scoped_followups(scope=scope, metrics_filter=metrics_filter).filter(
        status=FollowUp.Status.OPEN
    )
    missed = {
        _as_date(row["week"]): row["missed"]
        for row in open_promises.filter(
            due_at__gte=metrics_filter.start_at,
            due_at__lt=min(metrics_filter.end_before, now),
        )
        .annotate(week=TruncWeek("due_at", tzinfo=UTC))
        .order_by()
        .values("week")
        .annotate(missed=Count("pk"))
    }
    now_counts = open_promises.aggregate(
        open_now=Count("pk"), overdue_now=Count("pk", filter=Q(due_at__lt=now))
    )
    lateness = list(
        _rollup_rows(PromiseLateness, scope=scope, metrics_filter=metrics_filter)
        .values("bucket")
        .annotate(count=Sum("count"), seconds=Sum("seconds_sum"))
        .values_list("bucket", "count", "seconds")
    )
    weeks = []
    for week in weeks_between(metrics_filter.start, metrics_filter.end):
        row = sums.get(week, {})
        kept, late, missing = (
            row.get("kept_on_time", 0),
            row.get("kept_late", 0),
            missed.get(week, 0),
        )
        decided = kept + late + missing
        weeks.append(
            {
                "week": week,
                "kept_on_time": kept,
                "kept_late": late,
                "missed": missing,
                "decided": decided,
                "kept_on_time_percent": _percent(kept, decided),
                "renegotiated": row.get("renegotiated", 0),
            }
        )
    kept = sum(w["kept_on_time"] for w in weeks)
    late = sum(w["kept_late"] for w in weeks)
    missing = sum(w["missed"] for w in weeks)
    metrics = PromiseMetrics(
        due_in_range=sum(row["due"] for row in sums.values()),
        kept_on_time=kept,
        kept_late=late,
        missed=missing,
        decided=kept + late + missing,
        kept_on_time_percent=_percent(kept, kept + late + missing),
        median_lateness=histogram_median(lateness),
        renegotiated=sum(w["renegotiated"] for w in weeks),
        renegotiations=sum(row["renegotiations"] or 0 for row in sums.values()),
        open_now=now_counts["open_now"],
        overdue_now=now_counts["overdue_now"],
    )
    return metrics, weeks


def _without_jit() -> None:
    """PostgreSQL JIT-compiles a query whose estimated cost passes jit_above_cost;
    these aggregates over weeks of rows pass it, and the compilation (~50 ms a
    query, measured in benchmarks/board.py) costs more than it saves at these
    sizes. SET LOCAL ends with the transaction, so nothing else is affected."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")


def metrics_report(
    *, scope: BoardScope, metrics_filter: MetricsFilter, now: datetime | None = None
) -> MetricsReport:
    now = now or timezone.now()
    contacts = contact_figures(scope=scope, metrics_filter=metrics_filter, now=now)
    promises, weeks = promise_figures(scope=scope, metrics_filter=metrics_filter, now=now)
    partial = partial_weeks_of(metrics_filter, now=now)
    complaint_rows = _marked(contacts.complaints.weeks, partial)
    return MetricsReport(
        metrics_filter=metrics_filter,
        as_of=now,
        promises=promises,
        promise_weeks=_marked(weeks, partial),
        contacts=contacts.metrics,
        matter_weeks=_marked(contacts.matter_weeks, partial),
        complaint_categories=contacts.complaints.categories,
        complaint_weeks_by_category=complaint_rows,
        # The trend over whole weeks only.
        complaint_trend=contact_selectors.complaint_trend(
            [row for row in complaint_rows if not row["partial"]]
        ),
        csat_weeks=_marked(contacts.csat_weeks, partial),
        handle_time_by_outcome=contacts.handle_time_by_outcome,
        partial_weeks=partial,
    )


# --- tables for CSV (the same numbers as the charts) -------------------------------------

CSV_TABLES = ("promises", "contacts", "complaints", "csat")


def metrics_table(
    name: str, *, scope: BoardScope, metrics_filter: MetricsFilter, now: datetime | None = None
) -> tuple[list[str], list[list]]:
    now = now or timezone.now()
    if name == "promises":
        header = [
            "week",
            "kept_on_time",
            "kept_late",
            "missed",
            "decided",
            "kept_on_time_percent",
            "renegotiated",
        ]
        rows = promise_figures(scope=scope, metrics_filter=metrics_filter, now=now)[1]
    elif name == "contacts":
        header = [
            "week",
            "matters",
            "resolved_first_contact",
            "first_contact_resolution_percent",
            "repeat_7d",
            "repeat_7d_percent",
            "repeat_30d",
            "repeat_30d_percent",
        ]
        rows = contact_figures(scope=scope, metrics_filter=metrics_filter, now=now).matter_weeks
    elif name == "complaints":
        complaints = contact_figures(scope=scope, metrics_filter=metrics_filter, now=now).complaints
        header = ["week", *complaints.categories, "total"]
        rows = complaints.weeks
    elif name == "csat":
        header = ["week", "requests", "responses", "response_rate_percent", "csat_average"]
        rows = contact_figures(scope=scope, metrics_filter=metrics_filter, now=now).csat_weeks
    else:
        raise ValueError(name)
    return header, [[_csv_value(row.get(column)) for column in header] for row in rows]


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- API payloads (JSON-ready; the same numbers as the page) --------------------------


def _range(metrics_filter: MetricsFilter) -> dict:
    return {"start": metrics_filter.start.isoformat(), "end": metrics_filter.end.isoformat()}


def _json_weeks(rows: list[dict]) -> list[dict]:
    return [{**row, "week": row["week"].isoformat()} for row in rows]


def promise_report(
    *, scope: BoardScope, metrics_filter: MetricsFilter, now: datetime | None = None
) -> dict:
    metrics, weeks = promise_figures(scope=scope, metrics_filter=metrics_filter, now=now)
    payload = {**_range(metrics_filter), **asdict(metrics)}
    lateness = payload.pop("median_lateness")
    payload["median_lateness_seconds"] = lateness.total_seconds() if lateness is not None else None
    payload["weeks"] = _json_weeks(weeks)
    return payload


def contact_report(
    *, scope: BoardScope, metrics_filter: MetricsFilter, now: datetime | None = None
) -> dict:
    figures = contact_figures(scope=scope, metrics_filter=metrics_filter, now=now)
    return {
        **_range(metrics_filter),
        **asdict(figures.metrics),
        "weeks": _json_weeks(figures.matter_weeks),
    }


def complaint_report(*, scope: BoardScope, metrics_filter: MetricsFilter) -> dict:
    complaints = contact_figures(scope=scope, metrics_filter=metrics_filter).complaints
    partial = partial_weeks_of(metrics_filter, now=timezone.now())
    return {
        **_range(metrics_filter),
        "categories": complaints.categories,
        "weeks": _json_weeks(complaints.weeks),
        # Over whole weeks only, as on the page.
        "trend": contact_selectors.complaint_trend(
            [row for row in complaints.weeks if _as_date(row["week"]) not in partial]
        ),
    }


def csat_report(*, scope: BoardScope, metrics_filter: MetricsFilter) -> dict:
    figures = contact_figures(scope=scope, metrics_filter=metrics_filter)
    return {**_range(metrics_filter), "weeks": _json_weeks(figures.csat_weeks)}
