"""Signed, expiring CSAT links that belong to the customer.

A link is issued once per interaction, when the feedback request is sent to
the customer (`interactions.services.feedback_link_issue`); staff pages show
only "sent" or "answered", never the link. The token is the link's random id
signed with django.core.signing.TimestampSigner under its own salt, so a token
minted for anything else never validates here, and knowing an interaction's id
gives nothing. It is valid until INTERACTION_FEEDBACK_MAX_AGE_DAYS after the
interaction itself (not after the link was made): an old contact cannot be
rated by a link issued today.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.utils import timezone

_SALT = "interactions.feedback"


class FeedbackLinkError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "expired" or "invalid"


def feedback_max_age() -> timedelta:
    return timedelta(days=settings.INTERACTION_FEEDBACK_MAX_AGE_DAYS)


def feedback_link_is_expired(*, occurred_at) -> bool:  # noqa: ANN001 - a datetime
    return timezone.now() > occurred_at + feedback_max_age()


def feedback_token_for_link(link_id: uuid.UUID) -> str:
    return signing.TimestampSigner(salt=_SALT).sign(str(link_id))


def feedback_token_read(token: str) -> uuid.UUID:
    """The link id a token carries; FeedbackLinkError when forged or older than the
    maximum age (the interaction's own age is checked where the link is read)."""
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(token, max_age=feedback_max_age())
    except signing.SignatureExpired as exc:
        raise FeedbackLinkError("expired") from exc
    except signing.BadSignature as exc:
        raise FeedbackLinkError("invalid") from exc
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise FeedbackLinkError("invalid") from exc
