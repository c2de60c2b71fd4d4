"""Data subject requests: export everything, erase everything personal, keep the metrics."""

import json
from datetime import time

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Count, Sum
from django.utils import timezone

from core.models import AuditEntry
from crm.models import ConsentRecord, ContactPoint, Customer, ProfileFact, Tag
from followups.models import FollowUp, FollowUpEvent
from interactions.models import Feedback, Interaction, Matter
from privacy import services as dsr_services
from tests import factories

pytestmark = pytest.mark.django_db

# Distinctive fragments of the customer's personal data: none may survive erasure.
DISTINCTIVE = [
    "Zephyrine",
    "Quillfeather",
    "ZEF-ih-reen",
    "Quokkavox",
    "Marmalade Gondolas",
    "Anemone",
    "theremin",
    "Xylocarp",
    "Bramblewick",
    "4155550123",
    "zephyrine.quill@example.org",
    "Honeysuckle Lane",
    "Velociraptor",
    "theremin course",
    "quillfeather-passport",
]


@pytest.fixture
def rich_customer(rep_a, team_a):
    """A customer with something distinctive in every personal field we know of."""
    customer = factories.CustomerFactory(
        full_name="Zephyrine Quillfeather",
        preferred_name="Zephy",
        pronunciation="ZEF-ih-reen",
        pronouns="she/her",
        accessibility_needs="Uses a Quokkavox hearing loop",
        organisation="Marmalade Gondolas Ltd",
        organisation_role="Chief Velociraptor Wrangler",
        quiet_hours_start=time(21),
        quiet_hours_end=time(8),
        preferred_language="en-GB",
        owner=rep_a,
    )
    customer.tags.add(Tag.objects.create(name="vip"))
    ContactPoint.objects.create(
        customer=customer, kind="phone", value="+14155550123", is_primary=True
    )
    ContactPoint.objects.create(
        customer=customer, kind="email", value="zephyrine.quill@example.org"
    )
    ContactPoint.objects.create(
        customer=customer, kind="address", value="7 Honeysuckle Lane, Leeds"
    )
    ConsentRecord.objects.create(
        customer=customer,
        channel="email",
        status="granted",
        method="verbal",
        note="Said yes while talking about Bramblewick",
        recorded_at=timezone.now(),
        recorded_by=rep_a,
    )
    fact = ProfileFact.objects.create(
        customer=customer,
        category="family",
        text="Daughter Anemone plays the theremin",
        recorded_by=rep_a,
        recorded_at=timezone.now(),
    )
    _fact_revision(fact, rep_a)
    matter = Matter.objects.create(
        customer=customer,
        subject="Xylocarp invoice dispute",
        opened_at=timezone.now(),
        last_contact_at=timezone.now(),
    )
    call = factories.InteractionFactory(
        customer=customer,
        rep=rep_a,
        team=team_a,
        channel="phone",
        outcome="promise_made",
        summary="Zephyrine called about the Xylocarp invoice",
        source="twilio",
        external_id="CA-replay-key-1",
        from_number="+14155550123",
        matter=matter,
    )
    mail = factories.InteractionFactory(
        customer=customer,
        rep=rep_a,
        team=team_a,
        channel="email",
        subject="Velociraptor paperwork",
        summary="Re: Xylocarp",
        email_from="Zephyrine Quillfeather <zephyrine.quill@example.org>",
        email_message_id="<a1@mail.example.org>",
        email_references=["<quillfeather-1@example.org>"],
        attachments=[{"filename": "quillfeather-passport.pdf", "size": 1024}],
    )
    Feedback.objects.create(
        interaction=mail, matter=matter, score=5, comment="Bramblewick was lovely"
    )
    promise = factories.FollowUpFactory(
        customer=customer,
        owner=rep_a,
        team=team_a,
        origin_interaction=call,
        action="Send Zephyrine the Xylocarp refund form",
    )
    FollowUpEvent.objects.create(
        followup=promise,
        kind="renegotiated",
        occurred_at=timezone.now(),
        actor=rep_a,
        details={
            "reason": "she is away at a theremin course",
            "old_due_at": "2026-11-20T10:00:00Z",
        },
    )
    factories.FollowUpFactory(
        customer=customer,
        owner=rep_a,
        team=team_a,
        action="Ask Quillfeather about Bramblewick",
        status="done",
        completed_at=timezone.now(),
        next_action_at=None,
    )
    return customer


def _fact_revision(fact, user):
    from crm.models import ProfileFactRevision

    ProfileFactRevision.objects.create(
        fact=fact,
        action="created",
        category=fact.category,
        text=fact.text,
        is_pinned=False,
        changed_by=user,
        changed_at=timezone.now(),
    )


@pytest.fixture
def bystander(rep_b, team_b):
    """Another customer whose data erasure must not touch."""
    other = factories.CustomerFactory(full_name="Ottoline Brackenbury")
    ContactPoint.objects.create(customer=other, kind="phone", value="+14155550999")
    factories.InteractionFactory(
        customer=other, rep=rep_b, team=team_b, summary="Ottoline's boiler"
    )
    factories.FollowUpFactory(customer=other, owner=rep_b, team=team_b, action="Call Ottoline")
    return other


def _text_columns() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = current_schema()
              AND data_type IN ('character varying', 'text', 'jsonb', 'json', 'character')
            ORDER BY table_name, column_name
            """
        )
        return cursor.fetchall()


def _where_found(value: str) -> list[str]:
    """Every table.column in the whole database holding `value` (case-insensitive)."""
    found = []
    with connection.cursor() as cursor:
        for table, column in _text_columns():
            cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE %s',  # noqa: S608 - names from information_schema
                [f"%{value}%"],
            )
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


def _metrics() -> dict:
    """Counts the metrics are built from, per period, channel, status and outcome."""
    interactions = Interaction.objects.values(
        "channel", "direction", "outcome", "team_id", "rep_id"
    )
    followups = FollowUp.objects.values(
        "status", "is_overdue", "escalation_level", "team_id", "owner_id"
    )
    return {
        "interactions": sorted(
            (
                tuple(row.values())
                for row in interactions.annotate(n=Count("pk"), seconds=Sum("duration_seconds"))
            ),
            key=repr,
        ),
        "followups": sorted(
            (tuple(row.values()) for row in followups.annotate(n=Count("pk"))), key=repr
        ),
        "customers": Customer.objects.count(),
        "csat": sorted(Feedback.objects.values_list("score", "created_at")),
        "matters": sorted(Matter.objects.values_list("status", "contact_count", "opened_at")),
        "interaction_times": sorted(Interaction.objects.values_list("occurred_at", flat=True)),
        "followup_times": sorted(
            FollowUp.objects.values_list("due_at", "completed_at", "created_at")
        ),
    }


def test_distinctive_values_are_in_the_database_before_erasure(rich_customer):
    # Guards the erasure test below: the search must find each value to begin with.
    missing = [value for value in DISTINCTIVE if not _where_found(value)]

    assert missing == []


def test_erasure_leaves_no_personal_value_in_any_table(rich_customer, bystander, admin_user, rep_a):
    from core.audit import audit_record

    # An entry whose details wrongly carry a personal value: erasure must scrub it too.
    audit_record(
        actor=rep_a,
        action="fact.edited",
        target_type="fact",
        target_id=1,
        customer_id=rich_customer.pk,
        details={"old": "Daughter Anemone plays the theremin"},
    )
    # The admin's history names the object by its str(): the customer's name.
    LogEntry.objects.create(
        user=admin_user,
        content_type=ContentType.objects.get_for_model(Customer),
        object_id=str(rich_customer.pk),
        object_repr=str(rich_customer),
        action_flag=CHANGE,
        change_message='[{"changed": {"fields": ["Organisation"]}}]',
    )
    generic_values = list(dsr_services.personal_values_of(customer=rich_customer))

    dsr_services.customer_erase(customer=rich_customer, actor=admin_user)

    leftovers = {value: _where_found(value) for value in [*DISTINCTIVE, *generic_values]}
    assert {value: where for value, where in leftovers.items() if where} == {}
    # The bystander is untouched.
    assert _where_found("Ottoline Brackenbury") == [
        "crm_customer.full_name",
        "crm_customer.search_name",
        # Name search's word table (crm.search): kept by triggers, erased with the name.
        "crm_customernameword.full_name",
    ]
    assert ContactPoint.objects.filter(customer=bystander).count() == 1


def _reports(now) -> dict:
    """The supervisors' metrics (H5's selectors), over all teams, for the current period."""
    from reporting.board_selectors import BoardScope
    from reporting.metrics_selectors import (
        complaint_report,
        contact_report,
        csat_report,
        default_metrics_filter,
        promise_report,
    )

    scope = BoardScope(is_admin=True)
    period = default_metrics_filter()
    return {
        "promises": promise_report(scope=scope, metrics_filter=period, now=now),
        "contacts": contact_report(scope=scope, metrics_filter=period, now=now),
        "complaints": complaint_report(scope=scope, metrics_filter=period),
        "csat": csat_report(scope=scope, metrics_filter=period),
    }


def test_erasure_keeps_counts_and_metrics_of_the_period(rich_customer, bystander, admin_user):
    now = timezone.now()
    before, reports_before = _metrics(), _reports(now)

    dsr_services.customer_erase(customer=rich_customer, actor=admin_user)

    assert _metrics() == before
    assert _reports(now) == reports_before
    # The comparison is not vacuous: the erased customer's promise is in the counts.
    assert reports_before["promises"]["open_now"] == 2
    erased = Customer.objects.get(pk=rich_customer.pk)
    assert erased.full_name == f"Erased customer {rich_customer.pk}"
    assert erased.owner_id == rich_customer.owner_id
    assert Interaction.objects.filter(customer=erased).count() == 2
    # Replay keys stay, or a replayed call would be counted twice.
    assert Interaction.objects.filter(source="twilio", external_id="CA-replay-key-1").count() == 1
    assert ContactPoint.objects.filter(customer=erased).count() == 0


def test_erasure_covers_calls_and_mails_never_matched_to_the_customer(rich_customer, admin_user):
    call = factories.InteractionFactory(
        customer=None, from_number="+14155550123", summary="Caller asked for Zephyrine"
    )
    mail = factories.InteractionFactory(
        customer=None, channel="email", email_from="zephyrine.quill@example.org", summary="Hi"
    )
    stranger = factories.InteractionFactory(customer=None, from_number="+14155550888")

    dsr_services.customer_erase(customer=rich_customer, actor=admin_user)

    call.refresh_from_db()
    mail.refresh_from_db()
    stranger.refresh_from_db()
    assert (call.from_number, call.summary) == ("", "")
    assert mail.email_from == ""
    assert stranger.from_number == "+14155550888"
    assert Interaction.objects.filter(customer__isnull=True).count() == 3


def test_erasure_covers_duplicates_merged_into_the_customer(rich_customer, admin_user):
    duplicate = factories.CustomerFactory(
        full_name="Zephyrine Q. Duplicate", merged_into=rich_customer
    )

    dsr_services.customer_erase(customer=rich_customer, actor=admin_user)

    duplicate.refresh_from_db()
    assert duplicate.full_name == f"Erased customer {duplicate.pk}"
    assert _where_found("Zephyrine") == []


def test_erasure_is_audited_and_repeatable(rich_customer, admin_user):
    first = dsr_services.customer_erase(customer=rich_customer, actor=admin_user)
    second = dsr_services.customer_erase(customer=rich_customer, actor=admin_user)

    entries = AuditEntry.objects.filter(action="customer.erased", customer_id=rich_customer.pk)
    assert entries.count() == 2
    assert entries.first().actor == admin_user
    assert first["interactions.interaction"] == 2
    assert first["crm.contactpoint"] == 3
    assert "crm.contactpoint" not in second


def test_only_admins_may_erase_or_export(rich_customer, rep_a, supervisor_a):
    from django.core.exceptions import PermissionDenied

    for user in (rep_a, supervisor_a):
        with pytest.raises(PermissionDenied):
            dsr_services.customer_erase(customer=rich_customer, actor=user)
        with pytest.raises(PermissionDenied):
            dsr_services.customer_export(customer=rich_customer, actor=user)

    assert Customer.objects.get(pk=rich_customer.pk).full_name == "Zephyrine Quillfeather"
    assert not AuditEntry.objects.filter(
        action__in=["customer.erased", "customer.exported"]
    ).exists()


def test_export_holds_everything_about_the_customer_and_nothing_of_others(
    rich_customer, bystander, admin_user, rep_a
):
    from core.audit import audit_record

    audit_record(
        actor=rep_a,
        action="customer.viewed",
        target_type="customer",
        target_id=rich_customer.pk,
        customer_id=rich_customer.pk,
    )

    document = dsr_services.customer_export(customer=rich_customer, actor=admin_user)

    text = json.dumps(document)
    assert document["format"] == "rapport.customer-export/1"
    assert document["profile"]["full_name"] == "Zephyrine Quillfeather"
    assert document["profile"]["tags"] == ["vip"]
    assert sorted(cp["value"] for cp in document["contact_points"]) == [
        "+14155550123",
        "7 Honeysuckle Lane, Leeds",
        "zephyrine.quill@example.org",
    ]
    assert [fact["text"] for fact in document["facts"]] == ["Daughter Anemone plays the theremin"]
    assert len(document["fact_revisions"]) == 1
    assert len(document["consent_records"]) == 1
    assert len(document["interactions"]) == 2
    assert len(document["followups"]) == 2
    assert "feedback" in document
    assert [entry["action"] for entry in document["audit_entries"]] == [
        "customer.viewed",
        "customer.exported",
    ]
    assert "Ottoline" not in text
    assert "+14155550999" not in text
    assert AuditEntry.objects.filter(action="customer.exported", actor=admin_user).count() == 1


def test_export_api_returns_the_document_to_admins(
    client_for, rich_customer, admin_user, django_assert_max_num_queries
):
    client = client_for(admin_user)

    with django_assert_max_num_queries(40):
        response = client.get(f"/api/v1/customers/{rich_customer.pk}/export/")

    assert response.status_code == 200
    assert response.json()["profile"]["full_name"] == "Zephyrine Quillfeather"
    assert "attachment" in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"


def test_erase_api_requires_confirmation(client_for, rich_customer, admin_user):
    client = client_for(admin_user)

    missing = client.post(
        f"/api/v1/customers/{rich_customer.pk}/erase/", {}, content_type="application/json"
    )
    false = client.post(
        f"/api/v1/customers/{rich_customer.pk}/erase/",
        {"confirm": False},
        content_type="application/json",
    )

    assert missing.status_code == 400
    assert "confirm" in missing.json()["errors"]
    assert false.status_code == 400
    assert "confirm" in false.json()["errors"]
    assert Customer.objects.get(pk=rich_customer.pk).full_name == "Zephyrine Quillfeather"


def test_erase_api_erases_for_admins(client_for, rich_customer, admin_user):
    response = client_for(admin_user).post(
        f"/api/v1/customers/{rich_customer.pk}/erase/",
        {"confirm": True},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["records"]["crm.customer"] == 1
    assert _where_found("Quillfeather") == []


@pytest.mark.parametrize("who", ["rep_a", "rep_b", "supervisor_a"])
def test_dsr_api_is_forbidden_to_non_admins(client_for, rich_customer, who, request):
    client = client_for(request.getfixturevalue(who))

    export = client.get(f"/api/v1/customers/{rich_customer.pk}/export/")
    erase = client.post(
        f"/api/v1/customers/{rich_customer.pk}/erase/",
        {"confirm": True},
        content_type="application/json",
    )

    assert export.status_code == 403
    assert erase.status_code == 403
    assert "Quillfeather" not in export.content.decode()
    assert Customer.objects.get(pk=rich_customer.pk).full_name == "Zephyrine Quillfeather"


def test_dsr_api_unknown_customer_is_404_for_admins_and_403_for_reps(client_for, admin_user, rep_a):
    assert client_for(admin_user).get("/api/v1/customers/999999/export/").status_code == 404
    assert client_for(rep_a).get("/api/v1/customers/999999/export/").status_code == 403


def test_admin_actions_export_and_erase(client_for, rich_customer, admin_user):
    client = client_for(admin_user)
    changelist = "/admin/crm/customer/"

    exported = client.post(
        changelist, {"action": "export_customers", "_selected_action": [rich_customer.pk]}
    )
    confirm_page = client.post(
        changelist, {"action": "erase_customers", "_selected_action": [rich_customer.pk]}
    )
    still_there = Customer.objects.get(pk=rich_customer.pk).full_name
    erased = client.post(
        changelist,
        {
            "action": "erase_customers",
            "_selected_action": [rich_customer.pk],
            "confirm_erase": "yes",
        },
    )

    assert exported.status_code == 200
    assert json.loads(exported.content)["profile"]["full_name"] == "Zephyrine Quillfeather"
    assert confirm_page.status_code == 200
    assert b"cannot be undone" in confirm_page.content
    assert still_there == "Zephyrine Quillfeather"
    assert erased.status_code == 302
    assert _where_found("Quillfeather") == []
    assert list(
        AuditEntry.objects.filter(customer_id=rich_customer.pk)
        .values_list("action", flat=True)
        .order_by("pk")
    ) == ["customer.exported", "customer.erased"]


def _queries_for(callable_) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        callable_()
    return len(captured.captured_queries)


@pytest.mark.parametrize("use_case", ["export", "erase"])
def test_dsr_query_count_does_not_grow_with_the_customers_history(use_case, admin_user, rep_a):
    def run_for(interactions: int) -> int:
        customer = factories.CustomerFactory()
        factories.ContactPointFactory(customer=customer)
        for _ in range(interactions):
            interaction = factories.InteractionFactory(customer=customer, rep=rep_a)
            factories.FollowUpFactory(
                customer=customer, owner=rep_a, origin_interaction=interaction
            )
        service = (
            dsr_services.customer_export if use_case == "export" else dsr_services.customer_erase
        )
        return _queries_for(lambda: service(customer=customer, actor=admin_user))

    small, large = run_for(1), run_for(6)

    # Erasure updates row by row (each row's free text differs); export reads set-wise.
    if use_case == "export":
        assert large == small
    else:
        # At most one UPDATE per extra row: 5 more interactions and 5 more promises.
        assert large - small <= 10


def test_every_app_below_privacy_is_walked_for_customer_data():
    """A new app with tables must be named in CUSTOMER_DATA_APPS, or its rows escape export and erasure."""
    from django.apps import apps

    from privacy.services import CUSTOMER_DATA_APPS

    project_apps = {
        config.label
        for config in apps.get_app_configs()
        if config.name.split(".")[0]
        in {"core", "crm", "interactions", "followups", "reporting", "spreadsheets"}
        or (config.models_module is not None and not config.name.startswith(("django", "rest_")))
    }
    third_party = {"axes", "django_celery_beat", "django_filters", "drf_spectacular", "privacy"}
    assert project_apps - third_party == set(CUSTOMER_DATA_APPS)
