"""Times as people read them: in the viewer's zone with its abbreviation, and the
customer's own local time beside.

    {% load rapport_time %}
    {{ followup.due_at|viewer_time }}            -> "Mon 2 Nov, 09:30 EST"
    {{ followup.due_at|their_time:customer }}    -> "23:30 JST"  (the customer's clock)
"""

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

register = template.Library()

VIEWER_FORMAT = "D j M, H:i T"


@register.filter
def viewer_time(value: datetime | None, fmt: str = VIEWER_FORMAT) -> str:
    """The value in the active (viewer's) zone, with the zone's abbreviation."""
    if not value:
        return ""
    return date_format(timezone.localtime(value), fmt)


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return None


@register.filter
def their_time(value: datetime | None, customer) -> str:
    """The value on the customer's clock ("23:30 JST", with the weekday when it differs
    from the viewer's day). Empty when both clocks read the same."""
    if not value or customer is None:
        return ""
    zone = _zone(getattr(customer, "time_zone", "") or "")
    if zone is None:
        return ""
    theirs = value.astimezone(zone)
    mine = timezone.localtime(value)
    if theirs.utcoffset() == mine.utcoffset():
        return ""
    fmt = "H:i T" if theirs.date() == mine.date() else "D H:i T"
    return date_format(theirs, fmt)


@register.simple_tag
def customer_now(customer) -> str:
    """The customer's local time now, e.g. "Tue 09:05 JST"."""
    zone = _zone(getattr(customer, "time_zone", "") or "")
    if zone is None:
        return ""
    return date_format(timezone.now().astimezone(zone), "D H:i T")


@register.filter
def duration_minutes(seconds: int | None) -> str:
    """Seconds as the minutes the log form asks for: "21 min", "1 h 5 min", "< 1 min"."""
    if not seconds:
        return ""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "< 1 min"
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


@register.filter
def phone(value: str) -> str:
    """A stored number as people write it (crm.phone.display_phone)."""
    from crm.phone import display_phone

    return display_phone(value or "")
