"""Each scope allows what it names and nothing else (API clients); sessions pass by login."""

import pytest
from rest_framework.test import APIClient

from core.models import ApiClient
from interactions.models import AsteriskSource
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


def _new_customer_id() -> int:
    from tests import factories

    return factories.CustomerFactory().pk


def _followup_body() -> dict:
    from tests import factories

    owner = factories.UserFactory()
    factories.TeamMembershipFactory(user=owner)
    return {
        "customer": _new_customer_id(),
        "action": "Call back",
        "due_at": "2030-01-01T10:00:00Z",
        "owner": owner.pk,
    }


# Other apps' resources: the same rule holds across the API.
OTHER_ENDPOINTS = [
    ("customers-list", "customers:read", lambda c: c.get("/api/v1/customers/")),
    (
        "customers-create",
        "customers:write",
        lambda c: c.post("/api/v1/customers/", {"full_name": "X"}, format="json"),
    ),
    ("interactions-list", "interactions:read", lambda c: c.get("/api/v1/interactions/")),
    (
        "interactions-create",
        "interactions:write",
        lambda c: c.post(
            "/api/v1/interactions/",
            {
                **SYNC_BODY["records"][0],
                "customer": _new_customer_id(),
                "source": "manual",
                "external_id": "",
            },
            format="json",
        ),
    ),
    ("followups-list", "followups:read", lambda c: c.get("/api/v1/followups/")),
    (
        "followups-create",
        "followups:write",
        lambda c: c.post("/api/v1/followups/", _followup_body(), format="json"),
    ),
]


def _asterisk_upload(http):
    AsteriskSource.objects.get_or_create(name="asterisk")
    return http.post(
        "/api/v1/integrations/asterisk/cdr/", data=cdr_line().encode(), content_type="text/csv"
    )


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
        lambda c: _asterisk_upload(c),
    ),
]


ALL_ENDPOINTS = ENDPOINTS + OTHER_ENDPOINTS


@pytest.mark.parametrize("scope", ApiClient.Scope.values)
@pytest.mark.parametrize(
    ("endpoint", "needed", "call"), ALL_ENDPOINTS, ids=[e[0] for e in ALL_ENDPOINTS]
)
def test_scope_allows_exactly_what_it_names(db, scope, endpoint, needed, call):
    _, http, _ = bearer_client(scope)

    response = call(http)

    if scope == needed:
        assert response.status_code in (200, 201), response.content
    else:
        assert response.status_code == 403


@pytest.mark.parametrize(
    ("endpoint", "needed", "call"), ALL_ENDPOINTS, ids=[e[0] for e in ALL_ENDPOINTS]
)
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
