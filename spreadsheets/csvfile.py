"""Reading the CSV files people bring: encodings, delimiters, line numbers, dates.

Parsing only, no database. What a spreadsheet program writes when asked for
"CSV" varies: Excel on Windows writes cp1252 (or UTF-8 with a byte-order mark
when told "CSV UTF-8"), European locales separate with semicolons because the
comma is their decimal mark, "Unicode text" is UTF-16 with tabs.
"""

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

DELIMITERS = ",;\t"
# Enough lines for csv.Sniffer to see the pattern without reading a 10 MB file twice.
SNIFF_CHARS = 64 * 1024


class CsvFileError(ValueError):
    """The file as a whole cannot be read (not a CSV file, no header)."""


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str


def decode(content: bytes) -> Decoded:
    """Bytes -> text: UTF-8 with or without BOM, UTF-16 with BOM, else cp1252 / latin-1.

    A file that is valid UTF-8 is read as UTF-8 (cp1252 text with accents is
    almost never valid UTF-8); otherwise Excel's Windows code page, and latin-1
    for the five bytes cp1252 leaves undefined (latin-1 decodes any byte)."""
    if content.startswith(b"\xef\xbb\xbf"):
        return Decoded(content[3:].decode("utf-8", errors="replace"), "utf-8-sig")
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Decoded(content.decode("utf-16"), "utf-16")
    try:
        return Decoded(content.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return Decoded(content.decode("cp1252"), "cp1252")
    except UnicodeDecodeError:
        return Decoded(content.decode("latin-1"), "latin-1")


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab, whichever the start of the file is written in."""
    sample = text[:SNIFF_CHARS]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        pass
    # The Sniffer gives up on one-column or ragged samples: count in the header line.
    first_line = sample.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass(frozen=True)
class Record:
    line: int  # the physical line the record starts on (the header is line 1)
    cells: list[str]


@dataclass
class CsvTable:
    encoding: str
    delimiter: str
    header: list[str]
    text: str

    def records(self, *, skip: int = 0) -> Iterator[Record]:
        """Data records after the header, blank lines left out; `skip` records
        are passed over (resuming at a checkpoint)."""
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)
        next(reader, None)
        consumed = reader.line_num
        seen = 0
        for cells in reader:
            start, consumed = consumed + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # an empty (trailing) line, or ";;;" Excel leaves below the data
            seen += 1
            if seen <= skip:
                continue
            yield Record(start, cells)

    def count(self) -> int:
        return sum(1 for _ in self.records())


def open_table(content: bytes) -> CsvTable:
    decoded = decode(content)
    text = decoded.text
    if "\x00" in text:
        raise CsvFileError("This is not a CSV file (it contains NUL bytes).")
    if not text.strip():
        raise CsvFileError("The file is empty.")
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise CsvFileError("The file has no header row.") from exc
    header = [cell.strip().lstrip("\ufeff") for cell in header]
    if not any(header):
        raise CsvFileError("The first line must name the columns (a header row).")
    return CsvTable(encoding=decoded.encoding, delimiter=delimiter, header=header, text=text)


def normalise_header(name: str) -> str:
    """'E-mail ' -> 'email', 'First name' -> 'firstname': how headers are compared."""
    return re.sub(r"[^0-9a-z]", "", name.casefold())


# --- dates ---------------------------------------------------------------------------

_DAY_FIRST = re.compile(
    r"(?P<d>\d{1,2})[/.\-](?P<m>\d{1,2})[/.\-](?P<y>\d{4})"
    r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
)


def parse_datetime_value(text: str, *, time_zone: str) -> datetime:
    """ISO 8601 (2026-03-05, 2026-03-05T10:00:00Z) or day first (05/03/2026,
    05.03.2026 14:30). A time without an offset is in `time_zone`.

    Raises ValueError with a message naming the accepted forms."""
    value = text.strip()
    match = _DAY_FIRST.fullmatch(value)
    try:
        if match:
            parsed = datetime(  # noqa: DTZ001 - the zone is attached below
                int(match["y"]),
                int(match["m"]),
                int(match["d"]),
                int(match["H"] or 0),
                int(match["M"] or 0),
                int(match["S"] or 0),
            )
        else:
            parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"'{value}' is not a date: write dd/mm/yyyy (05/03/2026) or yyyy-mm-dd, "
            "optionally with a time (14:30)."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(time_zone))
    return parsed


def parse_time_value(text: str) -> time:
    value = text.strip()
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})(?::(\d{2}))?", value)
    if not match:
        raise ValueError(f"'{value}' is not a time of day: write it as 21:00.")
    try:
        return time(int(match[1]), int(match[2]), int(match[3] or 0))
    except ValueError:
        raise ValueError(f"'{value}' is not a time of day: write it as 21:00.") from None


def format_datetime(value: datetime | date | None) -> str:
    return "" if value is None else value.isoformat()


# A cell a spreadsheet program would run as a formula ("=HYPERLINK(...)", "@SUM",
# "-2+3"); an E.164 phone number or a plain number is left alone.
_FORMULA = re.compile(r"^(?:[=@\t\r]|[+\-](?![0-9 ().]*$))")


def defuse(cell: str) -> str:
    """A customer-typed value as a text cell: prefixed with ' when it would be a
    formula (OWASP's CSV-injection advice); read_cell takes the ' off again."""
    return "'" + cell if _FORMULA.match(cell) else cell


def read_cell(cell: str) -> str:
    """The value of a cell, without the ' that defuse() put before a formula."""
    value = cell.strip()
    if value.startswith("'") and _FORMULA.match(value[1:]):
        return value[1:]
    return value


def write_rows(rows: Iterator[list[str]]) -> Iterator[str]:
    """CSV text line by line (for a StreamingHttpResponse): quoted where needed,
    CRLF like Excel, a BOM first so Excel opens the UTF-8 as UTF-8; every cell
    defused (no formula runs when the file is opened)."""

    class _Line:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(_Line())
    yield "\ufeff"
    for row in rows:
        yield writer.writerow([defuse(cell) for cell in row])
