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


def validate_language_tag(value: str) -> None:
    """A BCP 47 tag whose subtags exist in the IANA registry (`langcodes`)."""
    import langcodes

    try:
        is_valid = langcodes.tag_is_valid(value) and langcodes.Language.get(value).is_valid()
    except (ValueError, LookupError):
        is_valid = False
    if not is_valid:
        raise ValidationError(
            f"'{value}' is not a BCP 47 language tag (for example 'en-GB' or 'pt-BR').",
            code="invalid_language",
        )


def standardize_language_tag(value: str) -> str:
    """Canonical case and form ('EN_us' -> 'en-US'); invalid tags come back unchanged
    so that validate_language_tag reports them."""
    import langcodes

    try:
        return langcodes.standardize_tag(value)
    except (ValueError, LookupError):
        return value


def validate_recording_url(value: str) -> None:
    """A call recording link staff can click: `https:` only (`http:` too when
    RECORDING_URL_ALLOW_HTTP is set, for an on-premises PBX); never `javascript:`,
    `data:` or any other scheme a browser would run or render."""
    from django.conf import settings
    from django.core.validators import URLValidator

    schemes = ["https", "http"] if settings.RECORDING_URL_ALLOW_HTTP else ["https"]
    URLValidator(
        schemes=schemes,
        message=f"Enter a {' or '.join(f'{s}:' for s in schemes)} URL.",
        code="invalid_recording_url",
    )(value)
