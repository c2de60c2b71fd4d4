"""Signed, expiring CSAT links: no login, the token names only the interaction.

django.core.signing.TimestampSigner with its own salt, so a token minted for
anything else never validates here; max age INTERACTION_FEEDBACK_MAX_AGE_DAYS.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

_SALT = "interactions.feedback"


class FeedbackLinkError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "expired" or "invalid"


def feedback_token_make(*, interaction_id: int) -> str:
    return signing.TimestampSigner(salt=_SALT).sign(str(interaction_id))


def feedback_token_read(token: str) -> int:
    max_age = timedelta(days=settings.INTERACTION_FEEDBACK_MAX_AGE_DAYS)
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(token, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise FeedbackLinkError("expired") from exc
    except signing.BadSignature as exc:
        raise FeedbackLinkError("invalid") from exc
    return int(value)


def feedback_path(*, interaction_id: int) -> str:
    return reverse(
        "interactions:feedback", args=[feedback_token_make(interaction_id=interaction_id)]
    )
