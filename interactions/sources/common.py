"""The common ingest input every source maps to; the sync engine writes it."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class IngestRecord:
    """One interaction as an external system describes it.

    The customer is named by `customer_id`, or matched by `customer_phone` /
    `customer_email`; `customer_name` names a customer created for an
    unmatched caller (when the client allows that).
    """

    source: str
    external_id: str
    channel: str
    direction: str
    occurred_at: datetime
    duration_seconds: int = 0
    from_number: str = ""
    to_number: str = ""
    summary: str = ""
    outcome: str = ""
    category: str = ""
    rep: str = ""
    customer_id: int | None = None
    customer_phone: str = ""
    customer_email: str = ""
    customer_name: str = ""
    disposition: str = ""  # the phone system's own word for how the call ended
    recording_url: str = ""
    extra: dict = field(default_factory=dict)


class SourceLineError(Exception):
    """One input unit (a CSV line, a callback) cannot be mapped; names the fields."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors
