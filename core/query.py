"""Query parameters read as the schema types them: a value of another type is a 400
naming the parameter, never silently "no filter" or a filter that matches nothing.

An absent parameter is None. A typed parameter given empty (`?owner=`) is refused
too: the schema types it (an id, a date-time, one of an enum) and "" is none of
those. Plain text parameters (`q`, `tag`) may be empty. Filters of django-filter sets
doing the same are in core.filters.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError

MAX_ID = 2**63 - 1  # PostgreSQL bigint: a larger number names no row, cannot be compared


def _refuse(name: str, message: str):
    raise ValidationError({name: [message]})


def query_int(
    params: Mapping[str, str], name: str, *, maximum: int, message: str = ""
) -> int | None:
    """A whole number from 1 to `maximum`."""
    raw = params.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        _refuse(name, message or f"Expected a whole number from 1 to {maximum}.")
    return int(raw)


def query_id(params: Mapping[str, str], name: str) -> int | None:
    return query_int(params, name, maximum=MAX_ID, message="Give an id: a whole number from 1.")


def query_choice(params: Mapping[str, str], name: str, choices: Iterable[str]) -> str | None:
    raw = params.get(name)
    if raw is None:
        return None
    allowed = list(choices)
    if raw not in allowed:
        _refuse(name, f"One of: {', '.join(allowed)}.")
    return raw


def query_bool(params: Mapping[str, str], name: str) -> bool | None:
    raw = params.get(name)
    if raw is None:
        return None
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    _refuse(name, "Use true or false.")


def query_datetime(params: Mapping[str, str], name: str) -> datetime | None:
    """An ISO 8601 date-time with a UTC offset or Z."""
    raw = params.get(name)
    if raw is None:
        return None
    try:
        moment = parse_datetime(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        _refuse(name, "Use an ISO 8601 date-time with offset, e.g. 2026-11-27T17:00Z.")
    return in_utc(moment, name)


def in_utc(moment: datetime, name: str) -> datetime:
    """The moment in UTC, as PostgreSQL compares it: ISO 8601 allows offsets up to 23:59,
    PostgreSQL's input only up to 15:59 (an error naming no parameter)."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is in year 10000 in UTC
        _refuse(name, "Out of range.")
