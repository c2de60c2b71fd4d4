"""Helpers for tests that call the API as an API client (Bearer secret)."""

from rest_framework.test import APIClient

from core.services import api_client_create


def bearer_client(
    *scopes: str,
    name: str | None = None,
    creates_unmatched_customers: bool = False,
    rate_limit: str = "",
):
    """(ApiClient, rest_framework APIClient sending its secret)."""
    issued = api_client_create(
        name=name or f"client-{'-'.join(s.replace(':', '_') for s in scopes) or 'none'}",
        scopes=list(scopes),
        creates_unmatched_customers=creates_unmatched_customers,
        rate_limit=rate_limit,
    )
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    return issued.client, http, issued.secret
