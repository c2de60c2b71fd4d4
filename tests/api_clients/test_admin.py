"""API clients in the admin: create shows the secret once; revoke and rotate actions."""

from core.models import ApiClient
from core.services import secret_digest
from tests import factories
from tests.api_clients.helpers import bearer_client

CHANGELIST = "/admin/core/apiclient/"


def _admin(client):
    admin = factories.UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)


def test_admin_add_creates_client_and_shows_secret_once(db, client):
    _admin(client)

    response = client.post(
        CHANGELIST + "add/",
        {"name": "gateway", "scopes": ["interactions:write"], "rate_limit": ""},
        follow=True,
    )

    created = ApiClient.objects.get(name="gateway")
    messages = [str(m) for m in response.context["messages"]]
    secret = next(m for m in messages if "shown once" in m).rsplit(": ", 1)[1]
    assert created.secret_digest == secret_digest(secret)
    assert created.scopes == ["interactions:write"]


def test_admin_revoke_and_rotate_actions(db, client):
    revoked, _, _ = bearer_client("customers:read", name="a")
    rotated, _, old_secret = bearer_client("customers:read", name="b")
    _admin(client)

    client.post(CHANGELIST, {"action": "revoke_selected", "_selected_action": [revoked.pk]})
    client.post(CHANGELIST, {"action": "rotate_selected", "_selected_action": [rotated.pk]})

    revoked.refresh_from_db()
    rotated.refresh_from_db()
    assert revoked.is_active is False
    assert rotated.secret_digest != secret_digest(old_secret)


def test_admin_change_goes_through_the_service_and_is_audited(db, client):
    from core.models import AuditEntry

    api_client, _, _ = bearer_client("customers:read", name="gateway")
    _admin(client)

    response = client.post(
        f"{CHANGELIST}{api_client.pk}/change/",
        {
            "name": "gateway",
            "scopes": ["customers:read", "interactions:write"],
            "creates_unmatched_customers": "on",
            "rate_limit": "",
        },
    )
    deleted = client.post(f"{CHANGELIST}{api_client.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302, response.content.decode()[:2000]
    api_client.refresh_from_db()
    assert api_client.scopes == ["customers:read", "interactions:write"]
    assert api_client.creates_unmatched_customers is True
    entry = AuditEntry.objects.get(action="api_client.changed")
    assert entry.details == {
        "name": "gateway",
        "fields": ["creates_unmatched_customers", "scopes"],
        "scopes": ["customers:read", "interactions:write"],
    }
    assert deleted.status_code == 403  # revoke instead: the audit trail keeps naming it
    assert ApiClient.objects.filter(pk=api_client.pk).exists()
