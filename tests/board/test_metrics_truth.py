"""Metrics that tell the truth (issue 14): partial weeks are marked and left out of
the trend, so the trend's sign follows the bars; every chart has an empty state."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from reporting import board_selectors, metrics_selectors
from reporting.board_charts import bar_chart, line_chart
from reporting.contact_selectors import complaint_trend
from reporting.metrics_selectors import MetricsFilter
from tests import factories

# Wednesday of the week starting Mon 18 May 2026: that week is not over.
NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
# Starts on a Thursday (a partial first week) and ends today (a partial last week).
RANGE = MetricsFilter(start=date(2026, 4, 16), end=date(2026, 5, 20))


def _weeks(totals: list[int]) -> list[dict]:
    monday = date(2026, 4, 6)
    return [{"week": monday + timedelta(weeks=i), "total": t} for i, t in enumerate(totals)]


@pytest.mark.parametrize(
    ("totals", "direction"),
    [([1, 2, 3, 4], "up"), ([4, 3, 2, 1], "down"), ([2, 2, 2, 2], "flat"), ([0, 5, 10], "up")],
)
def test_the_trend_sign_follows_the_data(totals, direction):
    trend = complaint_trend(_weeks(totals))
    assert trend["direction"] == direction
    assert ("rising" in trend["text"]) == (direction == "up")
    assert ("falling" in trend["text"]) == (direction == "down")


def test_partial_weeks_are_the_ragged_edges_and_the_unfinished_week():
    partial = metrics_selectors.partial_weeks_of(RANGE, now=NOW)
    assert partial == {date(2026, 4, 13), date(2026, 5, 18)}


@pytest.mark.django_db
def test_rising_complaints_read_rising_though_this_week_has_just_begun(org):
    customer = factories.CustomerFactory()
    # Whole weeks 20 Apr .. 11 May: 1, 2, 3, 4 complaints; the started week: 0.
    # The partial first week (from Thu 16 Apr) has a burst of 6 that must not count either.
    per_week = {date(2026, 4, 13): 6, date(2026, 4, 20): 1, date(2026, 4, 27): 2}
    per_week |= {date(2026, 5, 4): 3, date(2026, 5, 11): 4}
    for monday, count in per_week.items():
        day = max(monday + timedelta(days=3), RANGE.start)
        for i in range(count):
            factories.InteractionFactory(
                customer=customer,
                occurred_at=datetime(day.year, day.month, day.day, 10, i, tzinfo=UTC),
                category_id="complaint",
                team=org.east,
                rep=org.maria,
            )
    scope = board_selectors.board_scope(org.sam)

    report = metrics_selectors.metrics_report(scope=scope, metrics_filter=RANGE, now=NOW)

    totals = [(w["week"], w["total"], w["partial"]) for w in report.complaint_weeks_by_category]
    assert totals == [
        (date(2026, 4, 13), 6, True),
        (date(2026, 4, 20), 1, False),
        (date(2026, 4, 27), 2, False),
        (date(2026, 5, 4), 3, False),
        (date(2026, 5, 11), 4, False),
        (date(2026, 5, 18), 0, True),
    ]
    assert report.complaint_trend["direction"] == "up"
    assert report.complaint_trend["slope_per_week"] == 1.0
    assert all(w["partial"] == (w["week"] in report.partial_weeks) for w in report.csat_weeks)


def test_every_chart_has_an_empty_state():
    weeks = [date(2026, 5, 4), date(2026, 5, 11)]
    empty_line = line_chart([(w, None) for w in weeks], y_label="CSAT", empty="No feedback yet.")
    assert "No feedback yet." in empty_line
    assert "<svg" not in empty_line
    assert "No data" in line_chart([], y_label="x")
    no_bars = bar_chart(
        [{"week": w, "total": 0, "Complaint": 0} for w in weeks],
        categories=["Complaint"],
        y_label="complaints",
    )
    assert "<svg" not in no_bars


def test_a_partial_point_is_hollow_and_off_the_line():
    weeks = [date(2026, 5, 4), date(2026, 5, 11), date(2026, 5, 18)]
    svg = line_chart(
        list(zip(weeks, [50.0, 60.0, 0.0], strict=True)), y_label="%", partial={weeks[2]}
    )
    assert svg.count('class="dot partial"') == 1
    assert "0 (partial week)" in svg
    assert svg.count("<polyline") == 1  # the two whole weeks only


@pytest.mark.django_db
def test_the_page_says_which_weeks_are_partial(client, org):
    client.force_login(org.sam)
    html = client.get(reverse("board:metrics")).content.decode()
    assert "(partial)" in html
    assert "no trend counts them" in html
