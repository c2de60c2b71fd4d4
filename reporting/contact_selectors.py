"""Contact metrics for the supervisors' metrics page (reporting/metrics_selectors.py).

First-contact resolution and repeat contacts come from matters; complaints
from the interaction's category; CSAT from feedback. Every figure is one
aggregate query in SQL, whatever the number of interactions.

Definitions (the metrics page states them too):
- A matter counts in the week its first contact happened, for the team, rep
  and channel of that contact.
- Resolved on first contact: the matter is resolved and has one contact
  (the same rule as interactions.selectors.matter_fcr_rate).
- Repeat contact within N days: another inbound contact by the same customer
  in the same category within N days of the matter's first contact, whether it
  joined the matter or opened a new one (a resolved matter that comes back
  counts too).
- CSAT: feedback on interactions in the range; the response rate is over the
  contacts that could be rated (with a customer, someone answered).

"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncWeek

from interactions.models import Interaction, Matter


@dataclass(frozen=True)
class ContactScope:
    """Which interactions count: teams in scope (None = all, for admins), the
    page's filters and its date range [start_at, end_before)."""

    team_ids: frozenset[int] | None
    start_at: datetime
    end_before: datetime
    team_id: int | None = None
    rep_id: int | None = None
    channel: str | None = None

    def filter(self, queryset: QuerySet, *, prefix: str = "") -> QuerySet:
        if self.team_ids is not None:
            queryset = queryset.filter(**{f"{prefix}team_id__in": self.team_ids})
        if self.team_id is not None:
            queryset = queryset.filter(**{f"{prefix}team_id": self.team_id})
        if self.rep_id is not None:
            queryset = queryset.filter(**{f"{prefix}rep_id": self.rep_id})
        if self.channel:
            queryset = queryset.filter(**{f"{prefix}channel": self.channel})
        return queryset


@dataclass
class ContactMetrics:
    interactions: int
    matters: int | None = None
    resolved_first_contact: int | None = None
    first_contact_resolution_percent: float | None = None
    repeat_7d: int | None = None
    repeat_7d_percent: float | None = None
    repeat_30d: int | None = None
    repeat_30d_percent: float | None = None
    complaints: int | None = None
    csat_requests: int | None = None
    csat_responses: int | None = None
    csat_response_rate_percent: float | None = None
    csat_average: float | None = None


@dataclass
class ComplaintWeeks:
    categories: list[str] = field(default_factory=list)
    weeks: list[dict] = field(default_factory=list)
    trend: dict | None = None


def _percent(part: int | None, whole: int | None) -> float | None:
    return round(100 * part / whole, 1) if part is not None and whole else None


def _interactions(contact_scope: ContactScope) -> QuerySet[Interaction]:
    return contact_scope.filter(
        Interaction.objects.filter(
            occurred_at__gte=contact_scope.start_at, occurred_at__lt=contact_scope.end_before
        )
    )


# Categories whose slug contains this are complaints ("complaint", and any an
# admin adds such as "complaint-billing"): complaints are charted by category.
COMPLAINT_SLUG_MARKER = "complaint"
# Outcomes where nobody spoke with the customer: nothing to rate, so no CSAT ask.
UNRATEABLE_OUTCOMES = ("no_answer", "voicemail")
# Trend: the average weekly change, called "flat" below this many complaints a week.
TREND_FLAT_PER_WEEK = 0.5


def _matters(contact_scope: ContactScope) -> QuerySet[Matter]:
    """Matters opened in the range, attributed to the team, rep and channel of
    the contact that opened them."""
    return contact_scope.filter(
        Matter.objects.filter(
            opened_at__gte=contact_scope.start_at, opened_at__lt=contact_scope.end_before
        ),
        prefix="first_interaction__",
    )


# Each matter's repeat status is one code from one index probe, summed in SQL:
# 1 when the customer came back within 30 days, plus REPEAT_7D_WEIGHT when within
# 7. The sum over matters is n30 + n7 * REPEAT_7D_WEIGHT (n30 < the weight), so
# both counts come from a single aggregate: referencing the look-up twice would
# make PostgreSQL run it twice per matter (measured: the dominant cost).
REPEAT_7D_WEIGHT = 1_000_000_000


def _repeat_code() -> Subquery:
    """Another inbound contact by the same customer about the same category within
    30 days of the matter's first contact, in this matter or a new one (the
    customer had to come back): its code, from the earliest such contact."""
    return Subquery(
        Interaction.objects.filter(
            customer_id=OuterRef("customer_id"),
            category_id=OuterRef("category_id"),
            direction=Interaction.Direction.INBOUND,
            occurred_at__gt=OuterRef("opened_at"),
            occurred_at__lte=OuterRef("opened_at") + timedelta(days=30),
        )
        .exclude(pk=OuterRef("first_interaction_id"))
        .order_by("occurred_at")
        .annotate(
            code=Case(
                When(
                    occurred_at__lte=OuterRef("opened_at") + timedelta(days=7),
                    then=Value(1 + REPEAT_7D_WEIGHT),
                ),
                default=Value(1),
                output_field=BigIntegerField(),
            )
        )
        .values("code")[:1],
        output_field=BigIntegerField(),
    )


def _decode_repeats(row: dict) -> dict:
    total = row.pop("repeat_code_sum", None) or 0
    row["repeat_7d"], row["repeat_30d"] = divmod(total, REPEAT_7D_WEIGHT)
    return row


def _resolved_first_contact_q() -> Q:
    """Resolved with its one and only contact: the rule of
    interactions.selectors.matter_fcr_rate, so both report the same rate."""
    return Q(status=Matter.Status.RESOLVED, contact_count=1)


def _annotated_matters(contact_scope: ContactScope) -> QuerySet[Matter]:
    return _matters(contact_scope)


def _matter_aggregates() -> dict:
    return {
        "matters": Count("pk"),
        "resolved_first_contact": Count("pk", filter=_resolved_first_contact_q()),
        "repeat_code_sum": Sum(_repeat_code()),
    }


def _rateable(contact_scope: ContactScope) -> QuerySet[Interaction]:
    return (
        _interactions(contact_scope)
        .filter(customer__isnull=False)
        .exclude(outcome__in=UNRATEABLE_OUTCOMES)
    )


def contact_metrics(
    *,
    contact_scope: ContactScope,
    now: datetime,
    matter_weeks: list[dict] | None = None,
    csat_weeks: list[dict] | None = None,
    rollup: list[dict] | None = None,
) -> ContactMetrics:
    """Totals over the range. Given the weekly rows of the same scope (as the
    metrics page has them), matter and CSAT totals are their sums: the repeat
    look-ups are the expensive part and run once, not twice."""
    if rollup is None:
        interactions = _interactions(contact_scope).aggregate(
            interactions=Count("pk"),
            complaints=Count("pk", filter=Q(category__slug__contains=COMPLAINT_SLUG_MARKER)),
        )
    else:
        interactions = {
            "interactions": sum(row["interactions"] for row in rollup),
            "complaints": sum(row["interactions"] for row in rollup if _is_complaint(row)),
        }
    if matter_weeks is None:
        matters = _decode_repeats(
            _annotated_matters(contact_scope).aggregate(**_matter_aggregates())
        )
    else:
        matters = {
            key: sum(row[key] for row in matter_weeks)
            for key in ("matters", "resolved_first_contact", "repeat_7d", "repeat_30d")
        }
    if csat_weeks is None:
        csat = _rateable(contact_scope).aggregate(
            requests=Count("pk"), responses=Count("feedback"), score_sum=Sum("feedback__score")
        )
    else:
        csat = {
            key: sum(row[key] or 0 for row in csat_weeks)
            for key in ("requests", "responses", "score_sum")
        }
    csat["average"] = csat["score_sum"] / csat["responses"] if csat["responses"] else None
    return ContactMetrics(
        interactions=interactions["interactions"],
        matters=matters["matters"],
        resolved_first_contact=matters["resolved_first_contact"],
        first_contact_resolution_percent=_percent(
            matters["resolved_first_contact"], matters["matters"]
        ),
        repeat_7d=matters["repeat_7d"],
        repeat_7d_percent=_percent(matters["repeat_7d"], matters["matters"]),
        repeat_30d=matters["repeat_30d"],
        repeat_30d_percent=_percent(matters["repeat_30d"], matters["matters"]),
        complaints=interactions["complaints"],
        csat_requests=csat["requests"],
        csat_responses=csat["responses"],
        csat_response_rate_percent=_percent(csat["responses"], csat["requests"]),
        csat_average=round(csat["average"], 2) if csat["average"] is not None else None,
    )


def _week_key(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def matter_weeks(*, contact_scope: ContactScope, weeks: list[date], now: datetime) -> list[dict]:
    rows = (
        _annotated_matters(contact_scope)
        .annotate(week=TruncWeek("opened_at", tzinfo=UTC))
        .order_by()
        .values("week")
        .annotate(**_matter_aggregates())
    )
    by_week = {_week_key(row["week"]): _decode_repeats(row) for row in rows}
    return matter_week_rows(by_week=by_week, weeks=weeks)


def matter_week_rows(*, by_week: dict[date, dict], weeks: list[date]) -> list[dict]:
    """The weekly matter rows from per-week counts (matters, resolved_first_contact,
    repeat_7d, repeat_30d), with their rates; weeks without matters are zeros."""
    result = []
    for week in weeks:
        row = by_week.get(week, {})
        matters = row.get("matters", 0)
        resolved, repeat_7d, repeat_30d = (
            row.get("resolved_first_contact", 0),
            row.get("repeat_7d", 0),
            row.get("repeat_30d", 0),
        )
        result.append(
            {
                "week": week,
                "matters": matters,
                "resolved_first_contact": resolved,
                "first_contact_resolution_percent": _percent(resolved, matters),
                "repeat_7d": repeat_7d,
                "repeat_7d_percent": _percent(repeat_7d, matters),
                "repeat_30d": repeat_30d,
                "repeat_30d_percent": _percent(repeat_30d, matters),
            }
        )
    return result


def interaction_rollup(contact_scope: ContactScope) -> list[dict]:
    """One scan of the range's interactions, grouped by week, category, outcome
    and whether a customer is attached: complaints, CSAT, handle time and the
    interaction totals are all sums over these few hundred rows, so the big
    table is read once per report instead of once per figure."""
    return list(
        _interactions(contact_scope)
        .annotate(
            week=TruncWeek("occurred_at", tzinfo=UTC),
            has_customer=ExpressionWrapper(Q(customer__isnull=False), output_field=BooleanField()),
        )
        .order_by()
        .values("week", "category_id", "category__name", "outcome", "has_customer")
        .annotate(
            interactions=Count("pk"),
            responses=Count("feedback"),
            score_sum=Sum("feedback__score"),
            duration_sum=Sum("duration_seconds"),
        )
    )


def _is_complaint(row: dict) -> bool:
    return COMPLAINT_SLUG_MARKER in (row["category_id"] or "")


def _is_rateable(row: dict) -> bool:
    return row["has_customer"] and row["outcome"] not in UNRATEABLE_OUTCOMES


def complaint_weeks(
    *, contact_scope: ContactScope, weeks: list[date], rollup: list[dict] | None = None
) -> ComplaintWeeks:
    """Complaints per week and category, with the weekly trend."""
    rollup = interaction_rollup(contact_scope) if rollup is None else rollup
    counts: dict[date, dict[str, int]] = {}
    categories: set[str] = set()
    for row in rollup:
        if not _is_complaint(row):
            continue
        week_counts = counts.setdefault(_week_key(row["week"]), {})
        name = row["category__name"]
        week_counts[name] = week_counts.get(name, 0) + row["interactions"]
        categories.add(name)
    ordered = sorted(categories)
    result = []
    for week in weeks:
        week_counts = counts.get(week, {})
        result.append(
            {
                "week": week,
                **{c: week_counts.get(c, 0) for c in ordered},
                "total": sum(week_counts.values()),
            }
        )
    return ComplaintWeeks(categories=ordered, weeks=result, trend=complaint_trend(result))


def complaint_trend(weeks: list[dict]) -> dict | None:
    """Least-squares slope of weekly complaint totals: complaints a week, per week."""
    if len(weeks) < 2:
        return None
    totals = [row["total"] for row in weeks]
    n = len(totals)
    mean_x, mean_y = (n - 1) / 2, sum(totals) / n
    denominator = sum((x - mean_x) ** 2 for x in range(n))
    slope = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(totals)) / denominator
    if abs(slope) < TREND_FLAT_PER_WEEK:
        direction, text = "flat", "Trend: about flat"
    elif slope < 0:
        direction, text = "down", f"Trend: falling, about {abs(slope):.1f} fewer a week"
    else:
        direction, text = "up", f"Trend: rising, about {slope:.1f} more a week"
    return {"slope_per_week": round(slope, 2), "direction": direction, "text": text}


def csat_weeks(
    *, contact_scope: ContactScope, weeks: list[date], rollup: list[dict] | None = None
) -> list[dict]:
    rollup = interaction_rollup(contact_scope) if rollup is None else rollup
    sums: dict[date, dict[str, int]] = {}
    for row in rollup:
        if not _is_rateable(row):
            continue
        week = sums.setdefault(
            _week_key(row["week"]), {"requests": 0, "responses": 0, "score_sum": 0}
        )
        week["requests"] += row["interactions"]
        week["responses"] += row["responses"]
        week["score_sum"] += row["score_sum"] or 0
    result = []
    for week in weeks:
        row = sums.get(week, {"requests": 0, "responses": 0, "score_sum": 0})
        result.append(
            {
                "week": week,
                **row,
                "response_rate_percent": _percent(row["responses"], row["requests"]),
                "csat_average": round(row["score_sum"] / row["responses"], 2)
                if row["responses"]
                else None,
            }
        )
    return result


def handle_time_by_outcome(
    *, contact_scope: ContactScope, rollup: list[dict] | None = None
) -> list[dict]:
    """Average handle time beside each outcome: context for the outcomes, never a target."""
    rollup = interaction_rollup(contact_scope) if rollup is None else rollup
    sums: dict[str, list[int]] = {}
    for row in rollup:
        if row["outcome"]:
            total = sums.setdefault(row["outcome"], [0, 0])
            total[0] += row["interactions"]
            total[1] += row["duration_sum"] or 0
    labels = dict(Interaction.Outcome.choices)
    return [
        {
            "outcome": labels.get(outcome, outcome),
            "interactions": count,
            "average_minutes": round(duration / count / 60, 1),
        }
        for outcome, (count, duration) in sorted(sums.items())
    ]
