"""The one time window every timestamp that enters Rapport must fall in.

Two layers, both defined here:

- The *accepted* window, checked in Python on every path that takes a time
  (API create and update, batch sync, Asterisk CDR, Twilio, e-mail, follow-up
  due times) and answered with an error naming the field:
  an interaction happened not before `TIME_WINDOW_EARLIEST` (1970-01-01 UTC)
  and not more than `INTERACTION_FUTURE_TOLERANCE_MINUTES` ahead of now; a
  follow-up is due not before the earliest and not more than
  `FOLLOWUP_DUE_MAX_YEARS` ahead.
- The *stored* window, `STORED_EARLIEST` .. `STORED_LATEST`, fixed dates the
  database check constraints hold (a check constraint cannot call now()).
  It is wider than the accepted window, so a value the Python check lets in is
  always storable, and far inside what Python's datetime can hold, so a stored
  value can always be read and shifted into any time zone.

Reads never trust either: the PostgreSQL backend (`config/postgresql`) loads a
timestamp outside `READABLE_EARLIEST` .. `READABLE_LATEST` (a row written
before the constraints, a restore) clamped to those bounds instead of failing.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

TIME_WINDOW_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
# What the database check constraints hold (fixed: constraints cannot call now()).
STORED_EARLIEST = TIME_WINDOW_EARLIEST
STORED_LATEST = datetime(2200, 1, 1, tzinfo=UTC)
# A day inside Python's datetime range on each side: any stored value shifted into
# any time zone (offsets are under a day) stays a valid datetime.
READABLE_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
READABLE_LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def occurred_at_latest(now: datetime | None = None) -> datetime:
    tolerance = timedelta(minutes=settings.INTERACTION_FUTURE_TOLERANCE_MINUTES)
    return (now or timezone.now()) + tolerance


def due_at_latest(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(days=365 * settings.FOLLOWUP_DUE_MAX_YEARS)


def occurred_at_problem(value: datetime, *, now: datetime | None = None) -> str | None:
    """Why `value` is not an acceptable time for something that happened, or None."""
    if timezone.is_naive(value):
        return "Include a UTC offset or Z."
    if value < TIME_WINDOW_EARLIEST:
        return f"Must not be before {TIME_WINDOW_EARLIEST:%Y-%m-%d}."
    if value > occurred_at_latest(now):
        return "Cannot be in the future."  # beyond INTERACTION_FUTURE_TOLERANCE_MINUTES
    return None


def due_at_problem(value: datetime, *, now: datetime | None = None) -> str | None:
    """Why `value` is not an acceptable due time, or None."""
    if timezone.is_naive(value):
        return "Include a UTC offset or Z."
    if value < TIME_WINDOW_EARLIEST:
        return f"Must not be before {TIME_WINDOW_EARLIEST:%Y-%m-%d}."
    if value > due_at_latest(now):
        return f"Must be within {settings.FOLLOWUP_DUE_MAX_YEARS} years from now."
    return None


def occurred_at_check(value: datetime | None, *, field: str = "occurred_at") -> None:
    """Raise ValidationError naming `field` when `value` is outside the window."""
    if value is None:
        return
    problem = occurred_at_problem(value)
    if problem:
        raise ValidationError({field: [problem]}, code="out_of_range")


def due_at_check(value: datetime | None, *, field: str = "due_at") -> None:
    if value is None:
        return
    problem = due_at_problem(value)
    if problem:
        raise ValidationError({field: [problem]}, code="out_of_range")


def readable(value: datetime) -> datetime:
    """`value` clamped to what can be shown in any time zone (see the module doc)."""
    if value < READABLE_EARLIEST:
        return READABLE_EARLIEST
    if value > READABLE_LATEST:
        return READABLE_LATEST
    return value
