"""Due-time phrases and business time, in the team's and the customer's clocks."""

from datetime import UTC, date, datetime, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followups.calendar import BusinessCalendar, DuePhraseError, due_at_from_phrase

NY = BusinessCalendar(time_zone="America/New_York", holiday_country="US")


def _due(phrase: str, now: datetime, customer_tz: str = "Europe/London", cal=NY) -> datetime:
    return due_at_from_phrase(phrase, now=now, calendar=cal, customer_time_zone=customer_tz)


MONDAY_10_NY = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("in 2 hours", datetime(2026, 11, 16, 17, 0, tzinfo=UTC)),
        ("in an hour", datetime(2026, 11, 16, 16, 0, tzinfo=UTC)),
        ("In 30 minutes.", datetime(2026, 11, 16, 15, 30, tzinfo=UTC)),
        # 17:00 New York is 22:00 UTC in November.
        ("end of today", datetime(2026, 11, 16, 22, 0, tzinfo=UTC)),
        ("by end of today", datetime(2026, 11, 16, 22, 0, tzinfo=UTC)),
        # The customer's morning: noon in London.
        ("tomorrow morning", datetime(2026, 11, 17, 12, 0, tzinfo=UTC)),
        ("by Friday", datetime(2026, 11, 20, 22, 0, tzinfo=UTC)),
        ("within 4 business hours", datetime(2026, 11, 16, 19, 0, tzinfo=UTC)),
        # 7 hours left Monday, then 3 of Tuesday: Tuesday 12:00 New York.
        ("within 10 business hours", datetime(2026, 11, 17, 17, 0, tzinfo=UTC)),
        ("within 2 business days", datetime(2026, 11, 17, 22, 0, tzinfo=UTC)),
    ],
)
def test_phrases(phrase, expected):
    assert _due(phrase, MONDAY_10_NY) == expected


def test_unknown_phrase_is_refused_with_examples():
    with pytest.raises(DuePhraseError, match="by Friday"):
        _due("sometime soonish", MONDAY_10_NY)


def test_by_friday_said_on_friday_evening_means_next_friday():
    friday_evening = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)  # 18:30 New York

    assert _due("by Friday", friday_evening) == datetime(2026, 11, 27, 22, 0, tzinfo=UTC)


def test_by_friday_said_on_friday_morning_means_today():
    friday_morning = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # 09:00 New York

    assert _due("by Friday", friday_morning) == datetime(2026, 11, 20, 22, 0, tzinfo=UTC)


def test_holiday_eve_skips_the_holiday():
    # Wednesday before Thanksgiving (Thu 26 Nov 2026), 16:00 New York: one hour
    # left, then Thursday is a US holiday, so the next 3 hours are on Friday.
    wednesday = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)

    assert _due("within 4 business hours", wednesday) == datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    assert _due("within 2 business days", wednesday) == datetime(2026, 11, 27, 22, 0, tzinfo=UTC)


def test_team_closure_counts_like_a_holiday():
    closed_tuesday = BusinessCalendar(
        time_zone="America/New_York", closures=frozenset({date(2026, 11, 17)})
    )

    assert _due("within 2 business days", MONDAY_10_NY, cal=closed_tuesday) == datetime(
        2026, 11, 18, 22, 0, tzinfo=UTC
    )


def test_business_hours_across_the_team_dst_change():
    # New York leaves DST on Sunday 1 Nov 2026: Friday 17:00 EDT is 21:00 UTC,
    # Monday 09:00 EST is 14:00 UTC. 2 hours from Friday 16:00 EDT end Monday 10:00 EST.
    friday = datetime(2026, 10, 30, 20, 0, tzinfo=UTC)

    assert _due("within 2 business hours", friday) == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def test_tomorrow_morning_across_the_customer_dst_change():
    # London leaves summer time on Sunday 25 Oct 2026: noon on Saturday is
    # 11:00 UTC, noon on Sunday 12:00 UTC.
    friday_night = datetime(2026, 10, 23, 22, 0, tzinfo=UTC)
    saturday_night = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)

    assert _due("tomorrow morning", friday_night) == datetime(2026, 10, 24, 11, 0, tzinfo=UTC)
    assert _due("tomorrow morning", saturday_night) == datetime(2026, 10, 25, 12, 0, tzinfo=UTC)


def test_tomorrow_morning_is_the_customers_tomorrow_not_the_teams():
    # 20:00 New York is already 10:00 Tuesday in Tokyo: their tomorrow is Wednesday.
    monday_evening = datetime(2026, 11, 17, 1, 0, tzinfo=UTC)

    assert _due("tomorrow morning", monday_evening, customer_tz="Asia/Tokyo") == datetime(
        2026, 11, 18, 3, 0, tzinfo=UTC
    )


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
    minutes=st.integers(min_value=1, max_value=5000),
)
def test_business_minutes_always_land_inside_open_hours(start, minutes):
    due = NY.add_business_minutes(start, minutes)

    assert due > start
    local = due.astimezone(NY.zone)
    assert not NY.is_closed_day(local.date())
    assert time(9) < local.time() <= time(17)
