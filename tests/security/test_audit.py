"""The audit trail: entries appear for audited actions and can never be changed."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from core.audit import (
    ERASED_MARK,
    audit_entries_about_customer,
    audit_record,
    audit_redact_customer,
)
from core.models import AuditEntry
from tests import factories

pytestmark = pytest.mark.django_db


def _entry(actor, **overrides):
    values = {
        "actor": actor,
        "action": AuditEntry.Action.CUSTOMER_VIEWED,
        "target_type": "customer",
        "target_id": 7,
        "customer_id": 7,
        "details": {"fields": ["preferred_name"]},
    }
    return audit_record(**{**values, **overrides})


def test_audit_record_stores_who_what_and_when(rep_a):
    entry = _entry(rep_a)

    entry.refresh_from_db()
    assert entry.actor == rep_a
    assert entry.actor_label == "rep_a"
    assert entry.action == "customer.viewed"
    assert entry.target_id == "7"
    assert entry.customer_id == 7
    assert entry.details == {"fields": ["preferred_name"]}
    assert entry.occurred_at is not None


def test_audit_action_must_be_dotted(rep_a):
    with pytest.raises(Exception, match="action"):
        _entry(rep_a, action="Viewed It")
    assert AuditEntry.objects.count() == 0


def test_database_refuses_update_of_an_audit_row(rep_a):
    entry = _entry(rep_a)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(action="customer.erased")

    entry.refresh_from_db()
    assert entry.action == "customer.viewed"


def test_database_refuses_delete_of_an_audit_row(rep_a):
    entry = _entry(rep_a)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        entry.delete()
    with (
        connection.cursor() as cursor,
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
    ):
        cursor.execute("DELETE FROM crm_auditentry")

    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_redaction_flag_lets_only_details_change(rep_a):
    entry = _entry(rep_a)

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('rapport.audit_redaction', 'on', true)")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute(
                "UPDATE crm_auditentry SET actor_label = 'someone else' WHERE id = %s", [entry.pk]
            )

    entry.refresh_from_db()
    assert entry.actor_label == "rep_a"


def test_redact_customer_blanks_personal_values_and_leaves_the_rest(rep_a):
    leaky = _entry(rep_a, details={"old": "Loves Zanzibar sailing", "fields": ["text"]})
    other_customer = _entry(rep_a, customer_id=8, details={"old": "Loves Zanzibar sailing"})

    changed = audit_redact_customer(customer_id=7, personal_values=["zanzibar"])

    assert changed == 1
    leaky.refresh_from_db()
    other_customer.refresh_from_db()
    assert leaky.details == {"old": ERASED_MARK, "fields": ["text"]}
    assert other_customer.details == {"old": "Loves Zanzibar sailing"}
    # The flag ended with the redaction's transaction: a plain update is refused again.
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=leaky.pk).update(details={})


def test_entries_about_a_customer_survive_the_customer(rep_a):
    customer = factories.CustomerFactory()
    _entry(rep_a, target_id=customer.pk, customer_id=customer.pk)

    customer_id = customer.pk

    customer.delete()

    assert audit_entries_about_customer(customer_id=customer_id).count() == 1


def test_deleting_a_user_keeps_their_audit_rows(rep_a):
    entry = _entry(rep_a)

    rep_a.delete()

    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.actor_label == "rep_a"


def test_successful_and_failed_logins_and_logouts_are_audited(client_for, rep_a):
    client = client_for()

    client.post("/accounts/login/", {"username": "rep_a", "password": "wrong"})
    client.post(
        "/accounts/login/", {"username": "rep_a", "password": "correct horse battery staple"}
    )
    client.post("/accounts/logout/")

    actions = list(
        AuditEntry.objects.order_by("pk").values_list("action", "actor_label", "ip_address")
    )
    assert actions == [
        ("auth.login_failed", "rep_a", "127.0.0.1"),
        ("auth.login", "rep_a", "127.0.0.1"),
        ("auth.logout", "rep_a", "127.0.0.1"),
    ]
    failed = AuditEntry.objects.get(action="auth.login_failed")
    assert failed.actor is None
    assert "wrong" not in str(failed.details)


def test_admin_lists_and_filters_the_trail_read_only(client_for, admin_user, rep_a, rep_b):
    _entry(rep_a)
    _entry(rep_b, action=AuditEntry.Action.CUSTOMER_EXPORTED)
    entry = AuditEntry.objects.get(action="customer.exported")
    client = client_for(admin_user)

    listing = client.get("/admin/core/auditentry/", {"action": "customer.exported"})
    change_page = client.get(f"/admin/core/auditentry/{entry.pk}/change/")
    post_change = client.post(f"/admin/core/auditentry/{entry.pk}/change/", {"action": "x.y"})
    delete = client.post(f"/admin/core/auditentry/{entry.pk}/delete/", {"post": "yes"})
    add = client.get("/admin/core/auditentry/add/")

    assert listing.status_code == 200
    assert "rep_b" in listing.content.decode()
    assert "rep_a" not in listing.content.decode().split("result_list")[-1]
    assert change_page.status_code == 200
    assert b'name="_save"' not in change_page.content
    assert post_change.status_code == 403
    assert delete.status_code == 403
    assert add.status_code == 403
    entry.refresh_from_db()
    assert entry.action == "customer.exported"


def test_admin_trail_search_by_customer_id(client_for, admin_user, rep_a):
    _entry(rep_a, customer_id=4242, target_id=4242)
    client = client_for(admin_user)

    by_id = client.get("/admin/core/auditentry/", {"q": "4242"})
    by_text = client.get("/admin/core/auditentry/", {"q": "not-a-number"})

    assert by_id.status_code == 200
    assert "4242" in by_id.content.decode()
    assert by_text.status_code == 200


def test_only_admins_may_open_the_trail_in_the_admin(client_for, rep_a):
    staff_rep = rep_a
    staff_rep.is_staff = True
    staff_rep.save(update_fields=["is_staff"])

    response = client_for(staff_rep).get("/admin/core/auditentry/")

    assert response.status_code == 403


def test_audit_record_costs_one_query(rep_a, django_assert_num_queries):
    with django_assert_num_queries(1):
        _entry(rep_a)
