"""Every touch of personal data leaves an audit entry, written by the action itself.

Each audited action is performed through its real endpoint or service and
must leave exactly the expected entry. Where the owning area has not wired
`core.audit.audit_record` into its service yet, the test is a strict xfail
(raising AssertionError) naming who must do it: wiring it turns the xfail
into a failure that asks for the marker to go.
"""

import pytest

from core.models import ApiClient, AuditEntry
from tests import factories

from .endpoints import discover_endpoints

pytestmark = pytest.mark.django_db


def _h4(what: str):
    return pytest.mark.xfail(
        strict=True,
        raises=AssertionError,
        reason=f"H4: core.services must call audit_record for {what}",
    )


@pytest.fixture
def customer(rep_a):
    customer = factories.CustomerFactory(full_name="Audited Person", owner=rep_a)
    factories.ContactPointFactory(customer=customer, value="+14155550177")
    return customer


@pytest.fixture
def rep_client(client_for, rep_a):
    return client_for(rep_a)


def _entries(action: str, **filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, **filters))


def _one(action: str, actor, customer_id) -> AuditEntry:
    entries = _entries(action, customer_id=customer_id)
    assert len(entries) == 1, [e.action for e in AuditEntry.objects.all()]
    assert entries[0].actor == actor
    return entries[0]


def test_viewing_the_customer_page_is_audited(rep_client, rep_a, customer):
    response = rep_client.get(f"/customers/{customer.pk}/")

    assert response.status_code == 200
    entry = _one("customer.viewed", rep_a, customer.pk)
    assert entry.target_type == "customer"
    assert entry.target_id == str(customer.pk)
    assert entry.ip_address == "127.0.0.1"


def test_reading_a_customer_through_the_api_is_audited(rep_client, rep_a, customer):
    response = rep_client.get(f"/api/v1/customers/{customer.pk}/")

    assert response.status_code == 200
    _one("customer.viewed", rep_a, customer.pk)


def test_a_customer_list_is_not_a_profile_view(rep_client, customer):
    rep_client.get("/api/v1/customers/")

    assert _entries("customer.viewed") == []


def test_creating_a_customer_is_audited(rep_client, rep_a):
    response = rep_client.post(
        "/api/v1/customers/",
        {"full_name": "New Person", "time_zone": "UTC"},
        content_type="application/json",
    )

    assert response.status_code == 201
    _one("customer.created", rep_a, response.json()["id"])


def test_changing_personal_details_is_audited_with_field_names_only(rep_client, rep_a, customer):
    response = rep_client.patch(
        f"/api/v1/customers/{customer.pk}/",
        {"preferred_name": "Secret Nickname"},
        content_type="application/json",
    )

    assert response.status_code == 200
    entry = _one("customer.updated", rep_a, customer.pk)
    assert "preferred_name" in str(entry.details)
    assert "Secret Nickname" not in str(entry.details)


def test_things_to_remember_changes_are_audited(rep_client, rep_a, customer):
    base = f"/api/v1/customers/{customer.pk}/facts/"
    created = rep_client.post(base, {"text": "Loves jazz"}, content_type="application/json")
    fact_id = created.json()["id"]
    rep_client.patch(f"{base}{fact_id}/", {"text": "Loves bebop"}, content_type="application/json")
    rep_client.delete(f"{base}{fact_id}/")

    assert [
        e.action for e in AuditEntry.objects.filter(customer_id=customer.pk).order_by("pk")
    ] == [
        "fact.created",
        "fact.edited",
        "fact.deleted",
    ]
    assert "bebop" not in str(list(AuditEntry.objects.values_list("details", flat=True)))


def test_contact_point_changes_are_audited(rep_client, rep_a, customer):
    base = f"/api/v1/customers/{customer.pk}/contact-points/"
    created = rep_client.post(
        base, {"kind": "email", "value": "someone@example.org"}, content_type="application/json"
    )
    rep_client.delete(f"{base}{created.json()['id']}/")

    _one("contact_point.added", rep_a, customer.pk)
    _one("contact_point.removed", rep_a, customer.pk)


def test_consent_changes_are_audited(rep_client, rep_a, customer):
    rep_client.post(
        f"/api/v1/customers/{customer.pk}/consents/",
        {"channel": "email", "status": "withdrawn", "method": "verbal"},
        content_type="application/json",
    )

    _one("consent.recorded", rep_a, customer.pk)


def test_merges_are_audited(client_for, supervisor_a, customer):
    duplicate = factories.CustomerFactory(full_name="Audited Person (dup)")

    response = client_for(supervisor_a).post(
        f"/api/v1/customers/{customer.pk}/merge/",
        {"source": duplicate.pk},
        content_type="application/json",
    )

    assert response.status_code == 200
    _one("customer.merged", supervisor_a, customer.pk)


def test_api_client_changes_are_audited():
    from core.services import api_client_create, api_client_revoke, api_client_rotate

    issued = api_client_create(name="pbx", scopes=["interactions:write"])
    api_client_rotate(client=issued.client)
    api_client_revoke(client=issued.client)

    actions = list(
        AuditEntry.objects.filter(target_type="api_client")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["api_client.created", "api_client.rotated", "api_client.revoked"]


def test_export_and_erasure_are_audited(client_for, admin_user, customer):
    client = client_for(admin_user)

    client.get(f"/api/v1/customers/{customer.pk}/export/")
    client.post(
        f"/api/v1/customers/{customer.pk}/erase/",
        {"confirm": True},
        content_type="application/json",
    )

    _one("customer.exported", admin_user, customer.pk)
    _one("customer.erased", admin_user, customer.pk)


def test_no_endpoint_writes_audit_entries():
    """Only reads of the trail exist, and only in the admin (which refuses writes)."""
    writable = []
    for endpoint in discover_endpoints():
        if endpoint.method == "GET":
            continue
        module = __import__(endpoint.view.rsplit(".", 1)[0], fromlist=["_"])
        source = open(module.__file__).read()  # noqa: PTH123, SIM115 - a quick scan
        if "AuditEntry" in source and "audit_record" not in source:
            writable.append(str(endpoint))

    assert writable == []


def test_audit_entries_cannot_be_changed_through_the_admin_by_anyone(client_for, admin_user, rep_a):
    from core.audit import audit_record

    entry = audit_record(actor=rep_a, action="customer.viewed", target_type="customer", target_id=1)
    client = client_for(admin_user)

    answers = [
        client.post(f"/admin/core/auditentry/{entry.pk}/change/", {"action": "x.y"}).status_code,
        client.post(f"/admin/core/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code,
        client.post("/admin/core/auditentry/add/", {"action": "x.y"}).status_code,
        client.post(
            "/admin/core/auditentry/", {"action": "delete_selected", "_selected_action": [entry.pk]}
        ).status_code,
    ]

    assert answers[:3] == [403, 403, 403]
    assert AuditEntry.objects.filter(pk=entry.pk, action="customer.viewed").exists()
    assert ApiClient.objects.count() == 0
