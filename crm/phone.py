"""Phone and e-mail normalisation, shared by every way a number enters Rapport.

`phonenumbers` does the parsing; this module only decides what counts as a
customer's number (an extension like `1001` or `client:alice` does not).
"""

from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class NormalisedPhone:
    e164: str
    extension: str


def normalise_phone(raw: str, *, region: str | None = None) -> NormalisedPhone:
    """Parse `raw` in `region` (default PHONE_DEFAULT_REGION) to E.164.

    Raises ValidationError with a human message when it is not a valid number.
    """
    text = (raw or "").strip()
    if not text:
        raise ValidationError("Enter a phone number.", code="required")
    region = region if region is not None else settings.PHONE_DEFAULT_REGION
    try:
        parsed = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            f"'{text}' is not a phone number ({exc._msg})", code="invalid_phone"
        ) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(f"'{text}' is not a valid phone number.", code="invalid_phone")
    return NormalisedPhone(
        e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        extension=parsed.extension or "",
    )


def try_normalise_phone(raw: str, *, region: str | None = None) -> NormalisedPhone | None:
    """Like normalise_phone, but None for anything that is not a valid number."""
    try:
        return normalise_phone(raw, region=region)
    except ValidationError:
        return None


def normalise_email(raw: str) -> str:
    """E-mail addresses compare case-insensitively in practice (RFC 5321 allows
    a case-sensitive local part, but no mail system people use relies on it)."""
    from django.core.validators import validate_email

    text = (raw or "").strip()
    validate_email(text)
    return text.lower()


def display_phone(value: str, *, region: str | None = None) -> str:
    """A stored (E.164) number as people write it: national format when it belongs to
    `region` (default PHONE_DEFAULT_REGION, where the team dials from: "020 7946 0958"),
    international otherwise ("+81 3-1234-5678"). Anything unparsable is shown as stored."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, None if value.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return value
    region = region if region is not None else settings.PHONE_DEFAULT_REGION
    if phonenumbers.region_code_for_number(number) == region:
        style = phonenumbers.PhoneNumberFormat.NATIONAL
    else:
        style = phonenumbers.PhoneNumberFormat.INTERNATIONAL
    text = phonenumbers.format_number(number, style)
    return text
