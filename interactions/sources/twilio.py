"""Twilio Programmable Voice status callbacks -> IngestRecord.

Signature as twilio-python's `twilio/request_validator.py` computes it: the
full URL, then for each parameter name in code-point order and each of its
values in sorted order, name + value; HMAC-SHA1 keyed with the auth token;
base64. The URL with and without the default port is accepted.
"""

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

from interactions.sources.common import IngestRecord, SourceLineError

SOURCE = "twilio"

# Later statuses never give way to earlier ones when SequenceNumber is missing.
STATUS_RANK = {
    "queued": 0,
    "initiated": 1,
    "ringing": 2,
    "in-progress": 3,
    "completed": 4,
    "busy": 4,
    "failed": 4,
    "no-answer": 4,
    "canceled": 4,
}
TERMINAL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
_OUTCOMES = {
    "busy": "no_answer",
    "failed": "no_answer",
    "no-answer": "no_answer",
    "canceled": "no_answer",
}


def signature_compute(url: str, params: Iterable[tuple[str, str]], auth_token: str) -> str:
    by_name: dict[str, list[str]] = {}
    for name, value in params:
        by_name.setdefault(name, []).append(value)
    payload = url + "".join(
        name + value for name in sorted(by_name) for value in sorted(by_name[name])
    )
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    """The URL as given, plus with the default port added or removed."""
    parts = urlsplit(url)
    default_port = {"https": 443, "http": 80}.get(parts.scheme)
    variants = [url]
    if default_port is None or parts.hostname is None:
        return variants
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    if parts.port is None:
        netloc = f"{prefix}{host}:{default_port}"
    elif parts.port == default_port:
        netloc = f"{prefix}{host}"
    else:
        return variants
    variants.append(urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)))
    return variants


def signature_is_valid(
    *, url: str, params: Iterable[tuple[str, str]], auth_token: str, signature: str
) -> bool:
    params = list(params)
    matched = False
    for candidate in _url_variants(url):
        expected = signature_compute(candidate, params, auth_token)
        # Evaluate every variant so the timing does not reveal which one matched.
        matched |= hmac.compare_digest(expected.encode(), (signature or "").encode())
    return matched


def _timestamp(raw: str, fallback: datetime) -> datetime:
    if not raw:
        return fallback
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return fallback
    return moment if moment.tzinfo else fallback


def callback_parse(
    params: Mapping[str, str], *, received_at: datetime
) -> tuple[IngestRecord, int, str]:
    """Map one status callback; returns (record, sequence number, call status).

    The sequence is -1 when Twilio did not send one. `From`/`To` stay as sent;
    the customer's phone is the far end's address (it may be no number at all).
    """
    errors: dict[str, list[str]] = {}
    call_sid = params.get("CallSid", "")
    if not (call_sid.startswith("CA") and len(call_sid) == 34):
        errors["CallSid"] = ["Expected CA followed by 32 hex digits."]
    status = params.get("CallStatus", "")
    if status not in STATUS_RANK:
        errors["CallStatus"] = [f"Unknown call status {status!r}."]
    try:
        sequence = int(params.get("SequenceNumber", "-1") or "-1")
    except ValueError:
        errors["SequenceNumber"] = ["Expected an integer."]
        sequence = -1
    try:
        duration = max(int(params.get("CallDuration", "0") or "0"), 0)
    except ValueError:
        errors["CallDuration"] = ["Expected whole seconds."]
        duration = 0
    if errors:
        raise SourceLineError(errors)
    direction = "inbound" if params.get("Direction", "inbound") == "inbound" else "outbound"
    caller = params.get("From", "") or params.get("Caller", "")
    called = params.get("To", "") or params.get("Called", "")
    far_end = caller if direction == "inbound" else called
    name = params.get("CallerName", "") if direction == "inbound" else ""
    record = IngestRecord(
        source=SOURCE,
        external_id=call_sid,
        channel="phone",
        direction=direction,
        occurred_at=_timestamp(params.get("Timestamp", ""), received_at),
        duration_seconds=duration,
        # The full address (a SIP URI can be long) stays on TwilioCall; the interaction keeps 64.
        from_number=caller[:64],
        to_number=called[:64],
        summary=f"Twilio call {status}",
        outcome=_OUTCOMES.get(status, ""),
        customer_phone=far_end,
        customer_name=name,
        disposition=status,
        recording_url=params.get("RecordingUrl", "")[:500],
    )
    return record, sequence, status
