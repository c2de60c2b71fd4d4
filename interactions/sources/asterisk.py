"""Asterisk `cdr_csv` (Master.csv) lines -> IngestRecord.

Column order from `build_csv_record()` in Asterisk's cdr/cdr_csv.c: 16 fixed
columns, then `uniqueid` (loguniqueid=yes), `userfield` (loguserfield=yes) and
`peeraccount, linkedid, sequence` (newcdrcolumns=yes). No header row. Times are
the PBX's local wall-clock time unless usegmtime=yes; an unanswered call has an
empty `answer`. `src`/`dst` are often extensions, which are not customers'
phone numbers.
"""

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from crm.phone import try_normalise_phone
from interactions.sources.common import IngestRecord, SourceLineError

FIXED_COLUMNS = [
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
    "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
]  # fmt: skip
DISPOSITIONS = {"ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CONGESTION", "CANCEL", "UNKNOWN"}
_OUTCOMES = {
    "NO ANSWER": "no_answer",
    "BUSY": "no_answer",
    "FAILED": "no_answer",
    "CONGESTION": "no_answer",
    "CANCEL": "no_answer",
}
_CLID = re.compile(r'^\s*"?(?P<name>.*?)"?\s*<(?P<number>[^<>]*)>\s*$')
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class CdrLayout:
    log_unique_id: bool = True
    log_user_field: bool = True
    new_cdr_columns: bool = False
    time_zone: str = "UTC"

    @property
    def columns(self) -> list[str]:
        names = list(FIXED_COLUMNS)
        if self.log_unique_id:
            names.append("uniqueid")
        if self.log_user_field:
            names.append("userfield")
        if self.new_cdr_columns:
            names += ["peeraccount", "linkedid", "sequence"]
        return names


@dataclass(frozen=True)
class CdrLine:
    line_number: int
    record: IngestRecord | None
    errors: dict[str, list[str]] | None


def _local_time(raw: str, zone: ZoneInfo, column: str, *, required: bool) -> datetime | None:
    if not raw:
        if required:
            raise SourceLineError({column: ["This time is required."]})
        return None
    try:
        naive = datetime.strptime(raw, _TIME_FORMAT)  # noqa: DTZ007 - made aware just below
    except ValueError as exc:
        raise SourceLineError({column: [f"Expected YYYY-MM-DD HH:MM:SS, got {raw!r}."]}) from exc
    return naive.replace(tzinfo=zone)


def _seconds(raw: str, column: str) -> int:
    if not raw.isdigit():
        raise SourceLineError({column: [f"Expected whole seconds, got {raw!r}."]})
    return int(raw)


def caller_id_split(clid: str) -> tuple[str, str]:
    """`"Jane Doe" <4155552671>` -> ("Jane Doe", "4155552671")."""
    match = _CLID.match(clid)
    if not match:
        return "", clid.strip()
    return match["name"].strip(), match["number"].strip()


def line_map(fields: list[str], layout: CdrLayout, zone: ZoneInfo, *, source: str) -> IngestRecord:
    columns = layout.columns
    if len(fields) != len(columns):
        raise SourceLineError(
            {"line": [f"Expected {len(columns)} columns for this source, got {len(fields)}."]}
        )
    row = dict(zip(columns, fields, strict=True))
    errors: dict[str, list[str]] = {}
    if row["disposition"] not in DISPOSITIONS:
        errors["disposition"] = [
            f"Unknown disposition {row['disposition']!r}; expected one of {', '.join(sorted(DISPOSITIONS))}."
        ]
    parsed: dict = {}
    for column, parse in (
        ("start", lambda: _local_time(row["start"], zone, "start", required=True)),
        ("answer", lambda: _local_time(row["answer"], zone, "answer", required=False)),
        ("billsec", lambda: _seconds(row["billsec"], "billsec")),
        ("duration", lambda: _seconds(row["duration"], "duration")),
    ):
        try:
            parsed[column] = parse()
        except SourceLineError as exc:
            errors.update(exc.errors)
    if errors:
        raise SourceLineError(errors)
    name, clid_number = caller_id_split(row["clid"])
    src, dst = row["src"].strip(), row["dst"].strip()
    # An extension (1001) or anything else that is not a valid number is not a customer.
    if try_normalise_phone(src) is not None:
        direction, customer_phone = "inbound", src
    elif try_normalise_phone(dst) is not None:
        direction, customer_phone, name = "outbound", dst, ""
    else:
        direction, customer_phone, name = "inbound", "", ""
    external_id = row.get("uniqueid", "")
    if not external_id:
        # No uniqueid in this layout: the call leg's channel and start identify it.
        key = "|".join([row["channel"], row["start"], src, dst, row["dstchannel"]])
        external_id = "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:40]
    disposition = row["disposition"]
    return IngestRecord(
        source=source,
        external_id=external_id,
        channel="phone",
        direction=direction,
        occurred_at=parsed["start"],
        duration_seconds=parsed["billsec"],
        from_number=src or clid_number,
        to_number=dst,
        summary=f"Asterisk call {disposition.lower()}" + (f" ({name})" if name else ""),
        outcome=_OUTCOMES.get(disposition, ""),
        customer_phone=customer_phone,
        customer_name=name,
        disposition=disposition,
        extra={"disposition": disposition, "userfield": row.get("userfield", "")},
    )


def cdr_parse(text: str, layout: CdrLayout, *, source: str) -> list[CdrLine]:
    """Every non-empty line, in order, mapped or with its errors (1-based line numbers)."""
    zone = ZoneInfo(layout.time_zone)
    reader = csv.reader(io.StringIO(text), strict=True)
    results: list[CdrLine] = []
    while True:
        line_number = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            results.append(CdrLine(line_number, None, {"line": [f"Unreadable CSV: {exc}."]}))
            break
        if not fields or all(not value.strip() for value in fields):
            continue
        try:
            results.append(
                CdrLine(line_number, line_map(fields, layout, zone, source=source), None)
            )
        except SourceLineError as exc:
            results.append(CdrLine(line_number, None, exc.errors))
    return results
