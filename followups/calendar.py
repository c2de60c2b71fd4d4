"""Business calendars and the due-time phrases people say on the phone.

All arithmetic happens on local dates and wall-clock times in the team's (or
customer's) zone and is converted to UTC at the end, so DST changes move the
UTC instant, never the local opening hours. Results are aware UTC datetimes.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

# Mon-Fri 09:00-17:00: the usual office day, used when a team configured none.
DEFAULT_BUSINESS_HOURS: dict[int, list[tuple[time, time]]] = {
    weekday: [(time(9), time(17))] for weekday in range(5)
}
# "tomorrow morning" is a deadline: done before noon in the customer's clock.
MORNING_ENDS = time(12)
AFTERNOON_ENDS = time(17)
# Safety bound on calendar walks: a calendar with no open day at all must not loop.
MAX_DAYS_SEARCHED = 3 * 366

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class DuePhraseError(ValueError):
    pass


@lru_cache(maxsize=64)
def _country_holidays(country: str, year: int) -> frozenset[date]:
    try:
        return frozenset(holidays.country_holidays(country, years=year).keys())
    except NotImplementedError:
        return frozenset()


@dataclass(frozen=True)
class BusinessCalendar:
    time_zone: str = "UTC"
    hours: dict[int, list[tuple[time, time]]] = field(
        default_factory=lambda: dict(DEFAULT_BUSINESS_HOURS)
    )
    holiday_country: str = ""
    closures: frozenset[date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def is_closed_day(self, day: date) -> bool:
        if day in self.closures:
            return True
        if self.holiday_country and day in _country_holidays(self.holiday_country, day.year):
            return True
        return not self.hours.get(day.weekday())

    def intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's opening intervals as aware UTC datetimes (empty when closed)."""
        if self.is_closed_day(day):
            return []
        zone = self.zone
        result = []
        for opens, closes in sorted(self.hours.get(day.weekday(), [])):
            start = datetime.combine(day, opens, tzinfo=zone).astimezone(UTC)
            end = datetime.combine(day, closes, tzinfo=zone).astimezone(UTC)
            if end > start:
                result.append((start, end))
        return result

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        """The instant `minutes` of open time after `start` (which may be outside hours)."""
        remaining = timedelta(minutes=minutes)
        day = self.local_date(start)
        for _ in range(MAX_DAYS_SEARCHED):
            for opens, closes in self.intervals(day):
                begin = max(opens, start)
                if begin >= closes:
                    continue
                available = closes - begin
                if remaining <= available:
                    # Zero remaining lands on the next open instant, not on a closed one.
                    return begin + remaining
                remaining -= available
            day += timedelta(days=1)
        raise DuePhraseError("The team's calendar has no open hours.")

    def close_of_business_day(self, after: datetime, *, days: int) -> datetime:
        """End of the `days`-th business day counting today (if still open) as day 1."""
        day = self.local_date(after)
        counted = 0
        for _ in range(MAX_DAYS_SEARCHED):
            intervals = self.intervals(day)
            if intervals and intervals[-1][1] > after:
                counted += 1
                if counted >= days:
                    return intervals[-1][1]
            day += timedelta(days=1)
        raise DuePhraseError("The team's calendar has no open hours.")

    def last_close_on_or_before(self, day: date) -> datetime | None:
        """Closing time of the last business day on or before `day` (within a week)."""
        for back in range(7):
            intervals = self.intervals(day - timedelta(days=back))
            if intervals:
                return intervals[-1][1]
        return None


_NUMBER = r"(\d{1,4}|an?|one|two|three|four|five|six|seven|eight|nine|ten)"
_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_IN = re.compile(rf"^in {_NUMBER} (minute|hour|day|week)s?$")
_WITHIN_BUSINESS = re.compile(rf"^within {_NUMBER} business (hour|day)s?$")
_BY_WEEKDAY = re.compile(
    r"^(?:by |on |before )?(?:end of |this |next )?(" + "|".join(WEEKDAYS) + r")$"
)

SUPPORTED_PHRASES = (
    '"in 2 hours", "in 30 minutes", "in 3 days", "end of today", "tomorrow", '
    '"tomorrow morning", "tomorrow afternoon", "by Friday", '
    '"within 4 business hours", "within 2 business days"'
)


def _number(raw: str) -> int:
    return _WORDS[raw] if raw in _WORDS else int(raw)


def due_at_from_phrase(
    phrase: str, *, now: datetime, calendar: BusinessCalendar, customer_time_zone: str
) -> datetime:
    """Turn what the rep said into a UTC due time.

    Rules (one per phrase, so a rep can predict them):
    - "in N minutes/hours/days/weeks": elapsed time from now.
    - "within N business hours": N hours of the team's open time from now.
    - "within N business days" / "end of today": close of the team's N-th
      business day, today counting when the team is still open.
    - "tomorrow" / "tomorrow morning" / "tomorrow afternoon": the customer's
      tomorrow, by 23:59 / 12:00 / 17:00 their time (it is their morning we promised).
    - "by Friday" (any weekday): close of business that day in the team's
      calendar, or of the last business day before it when it is closed; once
      that has passed (Friday evening) it means next week's.
    """
    text = " ".join(phrase.strip().lower().rstrip(".!").split())
    text = text.removeprefix("by ") if text.startswith("by end of") else text
    if match := _IN.match(text):
        count, unit = _number(match.group(1)), match.group(2)
        return now + timedelta(**{f"{unit}s": count})
    if match := _WITHIN_BUSINESS.match(text):
        count, unit = _number(match.group(1)), match.group(2)
        if count < 1:
            raise DuePhraseError("Give at least one business hour or day.")
        if unit == "hour":
            return calendar.add_business_minutes(now, count * 60)
        return calendar.close_of_business_day(now, days=count)
    if text in ("end of today", "end of day", "today", "eod", "end of the day"):
        return calendar.close_of_business_day(now, days=1)
    if text in ("tomorrow", "tomorrow morning", "tomorrow afternoon"):
        zone = ZoneInfo(customer_time_zone)
        tomorrow = now.astimezone(zone).date() + timedelta(days=1)
        until = {"tomorrow": time(23, 59), "tomorrow morning": MORNING_ENDS}.get(
            text, AFTERNOON_ENDS
        )
        return datetime.combine(tomorrow, until, tzinfo=zone).astimezone(UTC)
    if match := _BY_WEEKDAY.match(text):
        weekday = WEEKDAYS.index(match.group(1))
        today = calendar.local_date(now)
        target = today + timedelta(days=(weekday - today.weekday()) % 7)
        for _ in range(8):
            close = calendar.last_close_on_or_before(target)
            if close is not None and close > now:
                return close
            target += timedelta(days=7)
        raise DuePhraseError("The team's calendar has no open hours.")
    raise DuePhraseError(f"Cannot read {phrase!r}; say e.g. {SUPPORTED_PHRASES}.")
