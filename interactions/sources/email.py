"""Raw RFC 5322 messages -> ParsedEmail. Parsing only: no database.

Python's `email` package with `policy.default` decodes RFC 2047 encoded words
(several charsets in one header too), quoted-printable and base64 bodies and
8-bit legacy charsets. Each header and each MIME part is read on its own
inside a guard, so one malformed part (an unknown charset, broken base64, a
header the parser chokes on) loses that part only, never the valid ones
beside it. `email_parse` raises EmailParseError (naming the field) only when
the message cannot be an e-mail at all.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

MAX_MESSAGE_BYTES = 10 * 1024 * 1024
# External ids are 255 characters; longer Message-IDs are stored hashed there.
MAX_EXTERNAL_ID = 255
_MSGID = re.compile(r"<[^<>\s]+>")
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|fw|fwd|wg|antw|vs)(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
# Trace headers an MTA adds on each delivery: left out of the synthetic id so a
# re-delivered message without Message-ID hashes the same.
_IDENTITY_HEADERS = ("from", "to", "cc", "date", "subject", "in-reply-to", "references")


class EmailParseError(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass
class Attachment:
    filename: str
    content_type: str
    size: int

    def as_dict(self) -> dict:
        return {"filename": self.filename, "content_type": self.content_type, "size": self.size}


@dataclass
class ParsedEmail:
    message_id: str  # "<id@host>", or a synthetic "<sha256…@rapport.invalid>"
    has_message_id: bool
    external_id: str
    subject: str
    from_address: str  # lower-case addr-spec
    from_header: str  # display form, e.g. "Jürgen Müller <j@example.com>"
    to_addresses: list[str]
    cc_addresses: list[str]
    to_header: str
    cc_header: str
    date: datetime | None
    in_reply_to: str
    references: list[str]
    text: str
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    @property
    def thread_ids(self) -> list[str]:
        """Parent ids to look up, best first: In-Reply-To, then References newest first."""
        ids = [self.in_reply_to] if self.in_reply_to else []
        ids += [ref for ref in reversed(self.references) if ref not in ids]
        return ids


def subject_normalise(subject: str) -> str:
    """`Re: AW: Fwd: Order 42` -> `order 42`, for threading by subject."""
    return " ".join(_REPLY_PREFIX.sub("", subject or "").split()).casefold()


class _TextExtractor(HTMLParser):
    """HTML -> readable text: block elements break lines, script/style dropped."""

    _BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
    _SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # noqa: BLE001, S110 - a broken document still yields what was read
        pass
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).splitlines())
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL; lone surrogates cannot be encoded.
    text = text.replace("\x00", "").replace("\r\n", "\n")
    return text.encode("utf-8", "replace").decode("utf-8")


def _header(message: EmailMessage, name: str, defects: list[str]) -> str:
    try:
        value = message.get(name)
    except Exception as exc:  # noqa: BLE001 - the header parser failed on this one header
        defects.append(f"{name}: {exc.__class__.__name__}")
        value = None
        for key, raw_value in message.raw_items():
            if key.lower() == name.lower():
                value = str(raw_value)
                break
    return _clean(str(value or "")).strip()


def _addresses(value: str) -> list[str]:
    found = []
    for _, address in getaddresses([value]):
        address = address.strip().lower()
        if "@" in address and address not in found:
            found.append(address)
    return found


def _part_text(part: EmailMessage) -> str:
    try:
        content = part.get_content()
        if isinstance(content, bytes):
            content = content.decode("utf-8", "replace")
        return _clean(str(content))
    except Exception:  # noqa: BLE001 - unknown charset, broken transfer encoding
        payload = part.get_payload(decode=True) or b""
        if isinstance(payload, str):
            return _clean(payload)
        return _clean(payload.decode("utf-8", "replace"))


def _is_attachment(part: EmailMessage) -> bool:
    try:
        disposition = part.get_content_disposition()
        filename = part.get_filename()
    except Exception:  # noqa: BLE001
        return True
    if disposition == "attachment" or filename:
        return True
    return part.get_content_maintype() not in ("text", "multipart", "message")


def _attachment(part: EmailMessage, defects: list[str]) -> Attachment:
    try:
        filename = part.get_filename() or ""
    except Exception:  # noqa: BLE001
        filename = ""
        defects.append("attachment filename")
    try:
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes | str) else 0
    except Exception:  # noqa: BLE001
        size = 0
        defects.append(f"attachment {filename!r} payload")
    return Attachment(
        filename=_clean(filename)[:255],
        content_type=part.get_content_type(),
        size=size,
    )


def _body_and_attachments(message: EmailMessage, defects: list[str]) -> tuple[str, list]:
    plain: list[EmailMessage] = []
    html: list[EmailMessage] = []
    attachments: list[Attachment] = []
    for part in message.walk():
        try:
            if part.is_multipart():
                continue
            if _is_attachment(part) and part is not message:
                attachments.append(_attachment(part, defects))
            elif part.get_content_type() == "text/html":
                html.append(part)
            elif part.get_content_maintype() == "text":
                plain.append(part)
            elif part is message:
                plain.append(part)
        except Exception as exc:  # noqa: BLE001 - one broken part, the others still count
            defects.append(f"part: {exc.__class__.__name__}")
    preferred = None
    try:
        preferred = message.get_body(preferencelist=("plain", "html"))
    except Exception:  # noqa: BLE001
        defects.append("body")
    candidates = ([preferred] if preferred is not None else []) + plain + html
    for part in candidates:
        text = _part_text(part)
        if part.get_content_type() == "text/html":
            text = html_to_text(text)
        if text.strip():
            return text.strip(), attachments
    return "", attachments


# A header field's first line ("Name: value", RFC 5322 section 2.2) and its folded
# continuation lines.
_HEADER_FIELD = re.compile(rb"[!-9;-~]+[ \t]*:")
_UNIX_FROM = b"From "


def _raw_body(raw: bytes) -> bytes:
    """The body as sent: what follows the header block, wherever that ends.

    The header block ends at the first blank line, or, in a message without one
    (a quirk of some gateways), at the first line that is not a header field,
    as Python's parser reads it. Never the whole message: trace headers a relay
    adds on a re-delivery must not change the synthetic id.
    """
    lines = raw.splitlines(keepends=True)
    start = 1 if lines and lines[0].startswith(_UNIX_FROM) else 0
    for index in range(start, len(lines)):
        line = lines[index]
        if not line.strip():
            return b"".join(lines[index + 1 :])
        is_continuation = line[:1] in (b" ", b"\t") and index > start
        if not is_continuation and not _HEADER_FIELD.match(line):
            return b"".join(lines[index:])
    return b""


def _synthetic_id(raw: bytes, message: EmailMessage, defects: list[str]) -> str:
    """Id of a message without Message-ID: its identity headers and its body.

    Only headers the author wrote (`_IDENTITY_HEADERS`) count; trace headers
    (Received, Return-Path, Delivered-To, X-* added in transit) do not, so the
    same message re-delivered through more hops gets the same id.
    """
    digest = hashlib.sha256()
    for name in _IDENTITY_HEADERS:
        digest.update(name.encode() + b":" + _header(message, name, defects).encode() + b"\n")
    digest.update(_raw_body(raw))
    return f"<{digest.hexdigest()}@rapport.invalid>"


def email_parse(raw: bytes) -> ParsedEmail:
    """Parse any bytes; EmailParseError names the field when it is not an e-mail."""
    if not raw or not raw.strip():
        raise EmailParseError({"message": ["The message is empty."]})
    if len(raw) > MAX_MESSAGE_BYTES:
        raise EmailParseError({"message": [f"Larger than {MAX_MESSAGE_BYTES} bytes."]})
    defects: list[str] = []
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # noqa: BLE001 - the stdlib parser is lenient; be sure
        raise EmailParseError({"message": [f"Not an RFC 5322 message ({exc})."]}) from exc
    from_header = _header(message, "From", defects)
    from_addresses = _addresses(from_header)
    if not from_addresses:
        raise EmailParseError({"from": ["The message has no valid From address."]})
    date = None
    date_header = _header(message, "Date", defects)
    if date_header:
        try:
            date = parsedate_to_datetime(date_header)
        except (TypeError, ValueError, IndexError, OverflowError):
            date = None
        if date is not None and date.tzinfo is None:
            date = None  # "-0000": the zone is unknown; use the time it arrived
        if date is None:
            defects.append("Date")
    message_ids = _MSGID.findall(_header(message, "Message-ID", defects))
    has_message_id = bool(message_ids)
    message_id = message_ids[0][:998] if has_message_id else _synthetic_id(raw, message, defects)
    external_id = message_id
    if len(external_id) > MAX_EXTERNAL_ID:
        external_id = "sha256:" + hashlib.sha256(message_id.encode()).hexdigest()
    in_reply_to_ids = _MSGID.findall(_header(message, "In-Reply-To", defects))
    references = list(dict.fromkeys(_MSGID.findall(_header(message, "References", defects))))
    to_header = _header(message, "To", defects)
    cc_header = _header(message, "Cc", defects)
    text, attachments = _body_and_attachments(message, defects)
    return ParsedEmail(
        message_id=message_id,
        has_message_id=has_message_id,
        external_id=external_id,
        subject=" ".join(_header(message, "Subject", defects).split())[:255],
        from_address=from_addresses[0],
        from_header=from_header[:998],
        to_addresses=_addresses(to_header),
        cc_addresses=_addresses(cc_header),
        to_header=to_header,
        cc_header=cc_header,
        date=date,
        in_reply_to=in_reply_to_ids[0][:998] if in_reply_to_ids else "",
        references=[ref[:998] for ref in references[:100]],
        text=text[:20000],
        attachments=attachments[:100],
        defects=defects,
    )
