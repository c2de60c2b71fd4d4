"""Field validators. Kept out of `choices` so tzdata updates never need a migration."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError


def validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            f"'{value}' is not an IANA time zone (for example 'Europe/Berlin').",
            code="invalid_time_zone",
        ) from exc
