"""What a customer CSV row means: the columns Rapport reads and writes, and one
row parsed and validated into values ready to write. No database.

The same column names are written by the export (spreadsheets.selectors), so
an exported file imports back as it is.
"""

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from django.core.exceptions import ValidationError

from crm.models import ContactPoint, Customer
from crm.phone import normalise_email, normalise_phone
from crm.services import _check_quiet_hours, _clean_tags, _normalise_profile
from crm.validators import standardize_language_tag
from spreadsheets.csvfile import (
    normalise_header,
    parse_datetime_value,
    parse_time_value,
    read_cell,
)


@dataclass(frozen=True)
class Column:
    target: str
    label: str  # the header the export writes
    synonyms: tuple[str, ...] = ()


PROFILE_TEXT_FIELDS = (
    "full_name",
    "preferred_name",
    "pronunciation",
    "pronouns",
    "time_zone",
    "preferred_language",
    "preferred_channel",
    "accessibility_needs",
    "organisation",
    "organisation_role",
)
PROFILE_FIELDS = (*PROFILE_TEXT_FIELDS, "quiet_hours_start", "quiet_hours_end")

# (kind, label) of each contact column; labels without a column of their own
# are written to (and read from) the kind's plain column.
CONTACT_COLUMNS = {
    "phone_other": ("phone", "other"),
    "phone_mobile": ("phone", "mobile"),
    "phone_work": ("phone", "work"),
    "phone_home": ("phone", "home"),
    "email_other": ("email", "other"),
    "email_work": ("email", "work"),
    "email_home": ("email", "home"),
    "address_other": ("address", "other"),
    "address_work": ("address", "work"),
    "address_home": ("address", "home"),
}

COLUMNS = [
    Column("id", "ID", ("customerid", "rapportid")),
    Column("full_name", "Full name", ("name", "customername", "customer", "contactname")),
    Column("first_name", "First name", ("givenname", "forename", "first")),
    Column("last_name", "Last name", ("surname", "familyname", "last")),
    Column("preferred_name", "Preferred name", ("nickname", "knownas")),
    Column("pronunciation", "Pronunciation", ()),
    Column("pronouns", "Pronouns", ()),
    Column("time_zone", "Time zone", ("tz", "zone")),
    Column("preferred_language", "Language", ("preferredlanguage", "lang", "locale")),
    Column("preferred_channel", "Preferred channel", ("channel", "contactpreference")),
    Column("quiet_hours_start", "Quiet hours start", ("quietfrom", "donotdisturbfrom")),
    Column("quiet_hours_end", "Quiet hours end", ("quietuntil", "donotdisturbuntil")),
    Column("accessibility_needs", "Accessibility needs", ("accessibility",)),
    Column("organisation", "Organisation", ("organization", "company", "employer", "account")),
    Column("organisation_role", "Role", ("jobtitle", "title", "position", "organizationrole")),
    Column("phone_other", "Phone", ("telephone", "tel", "phonenumber", "telephonenumber")),
    Column("phone_mobile", "Mobile", ("cell", "cellphone", "mobilephone", "mobilenumber")),
    Column("phone_work", "Work phone", ("businessphone", "officephone")),
    Column("phone_home", "Home phone", ()),
    Column("email_other", "E-mail", ("mail", "emailaddress")),
    Column("email_work", "Work e-mail", ("businessemail",)),
    Column("email_home", "Home e-mail", ("personalemail",)),
    Column("address_other", "Address", ("postaladdress", "mailingaddress")),
    Column("address_work", "Work address", ("businessaddress",)),
    Column("address_home", "Home address", ()),
    Column("primary_phone", "Primary phone", ("mainphone",)),
    Column("primary_email", "Primary e-mail", ("mainemail",)),
    Column("tags", "Tags", ("labels",)),
    Column("notes", "Notes", ("note", "comments", "comment", "remarks", "thingstoremember")),
    Column("last_activity_at", "Last contact", ("lastcontacted", "lastactivity", "lastcall")),
]
COLUMN_BY_TARGET = {column.target: column for column in COLUMNS}
TARGETS = [column.target for column in COLUMNS]

_SUGGEST = {}
for _column in COLUMNS:
    if _column.target == "id":
        # Not suggested: an ID from another Rapport (or another system) would
        # match an unrelated customer here. Choose it to match on Rapport ids.
        continue
    for _name in (_column.target, _column.label, *_column.synonyms):
        _SUGGEST.setdefault(normalise_header(_name), _column.target)


def suggest_mapping(header: list[str]) -> list[str]:
    """One target (or "" to ignore) per column, from the header names; each
    target used once, by its first column."""
    used: set[str] = set()
    mapping = []
    for name in header:
        target = _SUGGEST.get(normalise_header(name), "")
        if target in used:
            target = ""
        if target:
            used.add(target)
        mapping.append(target)
    return mapping


def parse_mapping_option(text: str, header: list[str]) -> list[str]:
    """`--mapping "E-mail address=email_other,Cell=phone_mobile"` over the
    suggestions; a column may be named by its header or its 1-based number;
    `=` with nothing after it ignores the column."""
    mapping = suggest_mapping(header)
    by_name = {normalise_header(name): index for index, name in enumerate(header)}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        column, _, target = part.partition("=")
        column, target = column.strip(), target.strip()
        if column.isdigit() and 1 <= int(column) <= len(header):
            index = int(column) - 1
        elif normalise_header(column) in by_name:
            index = by_name[normalise_header(column)]
        else:
            raise ValueError(f"No column {column!r} in the header ({', '.join(header)}).")
        if target and target not in COLUMN_BY_TARGET:
            raise ValueError(f"Unknown field {target!r}; one of: {', '.join(TARGETS)}.")
        mapping = ["" if (t == target and target) else t for t in mapping]
        mapping[index] = target
    return mapping


def check_mapping(mapping: list[str]) -> list[str]:
    """Problems that make every row fail: say them before the dry run."""
    problems = []
    targets = [t for t in mapping if t]
    for target in set(targets):
        if targets.count(target) > 1:
            problems.append(f"'{COLUMN_BY_TARGET[target].label}' is chosen for several columns.")
    if not {"full_name", "first_name", "last_name"} & set(targets):
        problems.append("Choose the column with the customer's name.")
    return problems


# --- one row --------------------------------------------------------------------------


@dataclass
class CustomerRow:
    """One valid row: profile values given (blank cells absent), normalised contacts."""

    line: int
    customer_id: int | None = None
    profile: dict[str, Any] = field(default_factory=dict)
    # (kind, label, value, extension), in file order: the first of a kind becomes
    # a new customer's primary.
    contacts: list[tuple[str, str, str, str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    last_activity_at: datetime | None = None
    # kind -> (value, extension) a column names as the primary one.
    primary: dict[str, tuple[str, str]] = field(default_factory=dict)

    def contact_keys(self) -> list[tuple[str, str]]:
        return [(kind, value) for kind, _, value, _ in self.contacts if kind != "address"]


@dataclass
class RowError:
    line: int
    messages: list[str]


def _split(value: str, pattern: str) -> list[str]:
    return [part.strip() for part in re.split(pattern, value) if part.strip()]


@functools.lru_cache(maxsize=4096)
def _channel(value: str) -> str:
    wanted = normalise_header(value)
    for choice, label in Customer.Channel.choices:
        if wanted in (normalise_header(choice), normalise_header(label)):
            return choice
    raise ValidationError(f"'{value}' is not one of {', '.join(Customer.Channel.values)}.")


@functools.lru_cache(maxsize=1024)
def _standard_language(value: str) -> str:
    return standardize_language_tag(value)


@functools.lru_cache(maxsize=4096)
def _phone(raw: str, region: str) -> tuple[str, str]:
    phone = normalise_phone(raw, region=region)
    return phone.e164, phone.extension


class RowParser:
    def __init__(self, *, header: list[str], mapping: list[str], region: str, time_zone: str):
        self.header = header
        self.columns = [(index, target) for index, target in enumerate(mapping) if target]
        self.region = region
        self.time_zone = time_zone

    def parse(self, line: int, cells: list[str]) -> CustomerRow | RowError:
        row = CustomerRow(line=line)
        errors: list[str] = []
        names: dict[str, str] = {}
        for index, target in self.columns:
            raw = cells[index] if index < len(cells) else ""
            value = read_cell(raw)
            if not value:
                continue
            column = self.header[index] or f"column {index + 1}"
            try:
                self._read(row, names, target, value)
            except ValidationError as exc:
                errors.extend(f"{column}: {message}" for message in exc.messages)
            except ValueError as exc:
                errors.append(f"{column}: {exc}")
        for kind, (value, extension) in row.primary.items():
            # The primary goes first: a new customer's first of a kind is its primary.
            same = [c for c in row.contacts if c[0] == kind and c[2:] == (value, extension)]
            first = same[0] if same else (kind, "other", value, extension)
            row.contacts = [first, *(c for c in row.contacts if c != first)]
        if "full_name" not in row.profile:
            joined = " ".join(filter(None, (names.get("first_name"), names.get("last_name"))))
            if joined:
                row.profile["full_name"] = joined
        if not errors:
            errors.extend(self._validate_profile(row.profile))
        if len(cells) > len(self.header) and any(c.strip() for c in cells[len(self.header) :]):
            errors.append(
                f"The row has {len(cells)} cells but the header names {len(self.header)} "
                "(a delimiter inside an unquoted cell?)."
            )
        return RowError(line, errors) if errors else row

    def _read(self, row: CustomerRow, names: dict, target: str, value: str) -> None:
        if target == "id":
            if not value.isdigit() or not 0 < int(value) < 2**63:
                raise ValueError(f"'{value}' is not a Rapport customer id.")
            row.customer_id = int(value)
        elif target in ("first_name", "last_name"):
            names[target] = value
        elif target in ("quiet_hours_start", "quiet_hours_end"):
            row.profile[target] = parse_time_value(value)
        elif target == "preferred_channel":
            row.profile[target] = _channel(value)
        elif target in PROFILE_TEXT_FIELDS:
            row.profile[target] = value
        elif target in CONTACT_COLUMNS:
            kind, label = CONTACT_COLUMNS[target]
            for item in self._contact_values(kind, value):
                row.contacts.append((kind, label, *self._contact(kind, item)))
        elif target in ("primary_phone", "primary_email"):
            kind = target.removeprefix("primary_")
            row.primary[kind] = self._contact(kind, value)
        elif target == "tags":
            row.tags = _clean_tags(_split(value, r"[,;\n]"))
        elif target == "notes":
            row.notes = [text for text in _split(value, r"\r?\n") if text]
            for text in row.notes:
                if len(text) > 1000:
                    raise ValueError("A note line has at most 1000 characters.")
        elif target == "last_activity_at":
            row.last_activity_at = parse_datetime_value(value, time_zone=self.time_zone)

    @staticmethod
    def _contact_values(kind: str, value: str) -> list[str]:
        # Several per cell: one a line (phones and e-mails may also use ';',
        # e-mails ','); addresses, which have lines, are separated by a blank line.
        if kind == "address":
            return _split(value.replace("\r\n", "\n"), r"\n\s*\n")
        if kind == "email":
            return _split(value, r"[\n;,]")
        return _split(value, r"[\n;]")

    def _contact(self, kind: str, value: str) -> tuple[str, str]:
        if kind == "phone":
            return _phone(value, self.region)
        if kind == "email":
            try:
                return normalise_email(value), ""
            except ValidationError:
                raise ValidationError(f"'{value}' is not an e-mail address.") from None
        text = "\n".join(line.strip() for line in value.splitlines() if line.strip())
        if len(text) > ContactPoint._meta.get_field("value").max_length:
            raise ValueError("An address has at most 320 characters.")
        return text, ""

    @staticmethod
    def _validate_profile(profile: dict[str, Any]) -> list[str]:
        """The API's rules for the values this row gives (crm.services does the same)."""
        if not profile:
            return []
        values = dict(profile)
        language = values.pop("preferred_language", "")
        values = _normalise_profile(values)  # crm's rules (whitespace of the names)
        if language:
            values["preferred_language"] = _standard_language(language)  # the same, cached
        profile.update(values)
        return profile_errors(values)


def profile_errors(values: dict[str, Any]) -> list[str]:
    """Field validation of a customer's profile values: each model field's own
    clean() (max length, choices, the time-zone and language validators), as
    Customer.full_clean runs them, without its per-row constraint queries
    (the check constraints' conditions are the quiet-hours pair, checked by
    quiet_hours_errors, and the channel choices)."""
    errors = []
    for name, value in values.items():
        if name in PROFILE_FIELDS:
            label = COLUMN_BY_TARGET[name].label
            errors.extend(f"{label}: {message}" for message in _field_errors(name, value))
    return errors


# Time zones, languages and organisations repeat down a file; their validators
# (zoneinfo, langcodes) cost more than the rest of a row.
@functools.lru_cache(maxsize=16384)
def _field_errors(name: str, value: Any) -> tuple[str, ...]:
    try:
        Customer._meta.get_field(name).clean(value, None)
    except ValidationError as exc:
        return tuple(exc.messages)
    return ()


def quiet_hours_errors(start: time | None, end: time | None) -> list[str]:
    try:
        _check_quiet_hours(start, end)
    except ValidationError as exc:
        return [
            f"{COLUMN_BY_TARGET[name].label}: {message}"
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
    return []
