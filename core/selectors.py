"""Reads of the shared API plumbing."""

from core.fixed_reads import FixedRowRead
from core.models import ApiClient

# Read on every API request: fixed SQL (core.fixed_reads), the service user joined.
_API_CLIENT_BY_PREFIX = FixedRowRead(ApiClient, key="prefix", related=["user"])


def api_client_by_prefix(*, prefix: str) -> ApiClient | None:
    """The client (revoked ones too) whose secret starts with `prefix`, its user read with it."""
    return _API_CLIENT_BY_PREFIX.get(prefix)
