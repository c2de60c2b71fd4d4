"""The Django admin as a whole: titled Rapport, for admins, internal tables browse-only."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from core.models import IdempotencyRecord
from crm.models import TeamMembership
from tests.factories import TeamMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

# Written by the system (the API's replay store, metrics rollups, acknowledgements,
# the notification outbox, the audit trail, beat's schedule), never by hand.
INTERNAL_MODELS = {
    "IdempotencyRecord",
    "AuditEntry",
    "RollupState",
    "ContactDay",
    "ContactFact",
    "MatterFact",
    "MatterDeletion",
    "InteractionDeletion",
    "MatterDay",
    "PromiseFact",
    "PromiseDay",
    "PromiseLateness",
    "EscalationAcknowledgement",
    "Notification",
    "PeriodicTask",
    "PeriodicTasks",
    "IntervalSchedule",
    "CrontabSchedule",
    "SolarSchedule",
    "ClockedSchedule",
}


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def test_the_admin_is_titled_rapport(client, superuser):
    client.force_login(superuser)

    page = client.get(reverse("admin:index")).content.decode()

    assert "<title>Administration | Rapport admin</title>" in page
    assert ">Rapport</a>" in page
    assert "Django administration" not in page


def test_internal_tables_are_hidden_or_browse_only_in_the_admin(superuser):
    request = RequestFactory().get("/admin/")
    request.user = superuser
    internal = [model for model in apps.get_models() if model.__name__ in INTERNAL_MODELS]
    writable = [
        model.__name__
        for model in internal
        if admin.site.is_registered(model)
        and any(
            (
                admin.site._registry[model].has_add_permission(request),
                admin.site._registry[model].has_change_permission(request),
                admin.site._registry[model].has_delete_permission(request),
            )
        )
    ]

    assert len(internal) == len(INTERNAL_MODELS)  # every name still names a model
    assert writable == []


def test_idempotency_records_refuse_add_change_and_delete(client, superuser):
    record = IdempotencyRecord.objects.create(
        scope="user:1",
        key="k-1",
        fingerprint="f" * 64,
        response_status=201,
        created_at=timezone.now(),
    )
    client.force_login(superuser)
    base = "/admin/core/idempotencyrecord/"

    answers = [
        client.get(base).status_code,
        client.get(f"{base}{record.pk}/change/").status_code,
        client.post(f"{base}{record.pk}/change/", {"key": "k-2"}).status_code,
        client.post(f"{base}{record.pk}/delete/", {"post": "yes"}).status_code,
        client.post(f"{base}add/", {"key": "k-3"}).status_code,
    ]

    assert answers == [200, 200, 403, 403, 403]
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["k-1"]


def test_the_sweeps_schedule_cannot_be_deleted_or_changed_in_the_admin(client, superuser):
    every_minute = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    sweep = PeriodicTask.objects.create(
        name="followups-sweep", task="followups.tasks.sweep", interval=every_minute
    )
    client.force_login(superuser)
    base = "/admin/django_celery_beat/periodictask/"

    answers = [
        client.get(f"{base}{sweep.pk}/change/").status_code,
        client.post(f"{base}{sweep.pk}/delete/", {"post": "yes"}).status_code,
        client.post(f"{base}{sweep.pk}/change/", {"name": "x", "enabled": ""}).status_code,
        client.post(base, {"action": "disable_tasks", "_selected_action": [sweep.pk]}).status_code,
        client.post(
            f"/admin/django_celery_beat/intervalschedule/{every_minute.pk}/delete/",
            {"post": "yes"},
        ).status_code,
    ]

    # The list has no actions at all: the posted one is ignored and the list shown again.
    assert answers == [200, 403, 403, 200, 403]
    sweep.refresh_from_db()
    assert (sweep.name, sweep.enabled, sweep.interval_id) == (
        "followups-sweep",
        True,
        every_minute.pk,
    )


def _nav(client, user) -> str:
    client.force_login(user)
    return client.get(reverse("crm:customer-list")).content.decode()


def test_only_admins_see_the_admin_link(client, superuser):
    admin_link = f'href="{reverse("admin:index")}"'
    supervisor = TeamMembershipFactory(role=TeamMembership.Role.SUPERVISOR).user
    staff_supervisor = TeamMembershipFactory(role=TeamMembership.Role.SUPERVISOR).user
    staff_supervisor.is_staff = True  # as the demo made its supervisors before
    staff_supervisor.save(update_fields=["is_staff"])
    rep = TeamMembershipFactory(role=TeamMembership.Role.REP).user
    group_admin = UserFactory(is_staff=True)
    group_admin.groups.add(Group.objects.get_or_create(name="admins")[0])

    seen = {
        name: admin_link in _nav(client, user)
        for name, user in (
            ("supervisor", supervisor),
            ("staff supervisor", staff_supervisor),
            ("rep", rep),
            ("superuser", superuser),
            ("admins group", group_admin),
        )
    }

    assert seen == {
        "supervisor": False,
        "staff supervisor": False,
        "rep": False,
        "superuser": True,
        "admins group": True,
    }


def test_every_admin_list_and_add_page_opens_for_a_superuser(client, superuser):
    client.force_login(superuser)
    answers = {}
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        answers[f"{info[0]}.{info[1]} list"] = client.get(
            reverse("admin:{}_{}_changelist".format(*info))
        ).status_code
        add = client.get(reverse("admin:{}_{}_add".format(*info))).status_code
        expected_add = 200 if model_admin.has_add_permission(_request(superuser)) else 403
        answers[f"{info[0]}.{info[1]} add"] = add if add != expected_add else "ok"

    assert {name: code for name, code in answers.items() if code not in (200, "ok")} == {}


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


BIG_TABLE_CHANGE_LISTS = [
    "admin:interactions_interaction_changelist",
    "admin:crm_customer_changelist",
    "admin:followups_followup_changelist",
    "admin:interactions_matter_changelist",
    "admin:interactions_feedback_changelist",
    "admin:followups_notification_changelist",
    "admin:followups_webhookdelivery_changelist",
]


@pytest.mark.parametrize("url_name", BIG_TABLE_CHANGE_LISTS)
def test_big_tables_change_lists_never_read_the_whole_table(client, monkeypatch, url_name):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core import pagination
    from tests.factories import FollowUpFactory, InteractionFactory

    monkeypatch.setattr(pagination, "COUNT_CAP", 1)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for _ in range(2):
        FollowUpFactory(customer=InteractionFactory().customer)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(url_name))
    sql = [query["sql"].upper() for query in queries.captured_queries]

    assert response.status_code == 200
    # No date hierarchy or text-field filter finding its choices in every row...
    assert [query for query in sql if "DISTINCT" in query] == []
    # ...and the one count stops after COUNT_CAP + 1 rows (no "N total" of the table).
    counts = [query for query in sql if query.startswith("SELECT COUNT(")]
    assert len(counts) == 1
    assert "LIMIT 2" in counts[0]


def test_a_capped_change_list_says_more_than_the_cap(client, monkeypatch):
    from core import pagination
    from tests.factories import InteractionFactory

    monkeypatch.setattr(pagination, "COUNT_CAP", 1)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    InteractionFactory()
    InteractionFactory()

    html = client.get(reverse("admin:interactions_interaction_changelist")).content.decode()

    assert "More than 1 interactions" in html


def test_an_estimated_change_list_still_pages_and_says_about(client, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core import pagination
    from tests.factories import InteractionFactory

    # Given a count the planner prices too high (every count, here) and a small page
    monkeypatch.setattr(pagination, "COUNT_COST_LIMIT", -1)
    monkeypatch.setattr(admin.site._registry[InteractionFactory._meta.model], "list_per_page", 2)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for _ in range(3):
        InteractionFactory()

    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("admin:interactions_interaction_changelist")).content.decode()
    selects = [
        q["sql"] for q in queries.captured_queries if 'FROM "interactions_interaction"' in q["sql"]
    ]

    # Then the page says it is an estimate, and reads one page (and one row more), not all
    assert "About " in html
    assert all(" LIMIT " in sql for sql in selects)
    assert html.count('<th class="field-occurred_at') == 2
