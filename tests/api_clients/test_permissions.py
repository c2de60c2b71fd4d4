"""Each scope allows what it names and nothing else (API clients); sessions pass by login."""

import pytest
from rest_framework.test import APIClient

from crm.models import ApiClient
from tests.api_clients.helpers import bearer_client
from tests.contract.asterisk_fixtures import cdr_line

SYNC_BODY = {
    "records": [
        {
            "source": "s",
            "external_id": "1",
            "channel": "phone",
            "direction": "inbound",
            "occurred_at": "2026-03-05T10:00:00Z",
        }
    ]
}

# (name, scope it needs, request)
ENDPOINTS = [
    ("lookup", "customers:read", lambda c: c.get("/api/v1/lookup/?phone=4155552671")),
    (
        "sync",
        "interactions:write",
        lambda c: c.post("/api/v1/interactions/sync/", SYNC_BODY, format="json"),
    ),
    (
        "asterisk",
        "interactions:write",
        lambda c: c.post(
            "/api/v1/integrations/asterisk/cdr/", data=cdr_line().encode(), content_type="text/csv"
        ),
    ),
]


@pytest.mark.parametrize("scope", ApiClient.Scope.values)
@pytest.mark.parametrize(("endpoint", "needed", "call"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_scope_allows_exactly_what_it_names(db, scope, endpoint, needed, call):
    _, http, _ = bearer_client(scope)

    status = call(http).status_code

    if scope == needed:
        assert status == 200
    else:
        assert status == 403


@pytest.mark.parametrize(("endpoint", "needed", "call"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_client_without_scopes_is_refused(db, endpoint, needed, call):
    _, http, _ = bearer_client()

    response = call(http)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(("endpoint", "needed", "call"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_session_user_passes_without_scopes(api_client, endpoint, needed, call):
    assert call(api_client).status_code == 200


@pytest.mark.parametrize(("endpoint", "needed", "call"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_anonymous_is_401(db, endpoint, needed, call):
    assert call(APIClient()).status_code == 401


def test_view_without_declared_scopes_is_closed_to_api_clients(db):
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    class Undeclared(APIView):
        def get(self, request):
            from rest_framework.response import Response

            return Response({"ok": True})

    _, _, secret = bearer_client(*ApiClient.Scope.values, name="all-scopes")
    request = APIRequestFactory().get("/x", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert Undeclared.as_view()(request).status_code == 403
