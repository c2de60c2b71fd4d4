"""Admins edit escalation policies and calendars; promises change there through the services."""

from datetime import timedelta

import pytest
from django.utils import timezone

from followups.models import EscalationPolicy, FollowUp
from tests.admin_forms import form_errors, post_form
from tests.factories import UserFactory


@pytest.fixture
def superuser(db):
    return UserFactory(is_staff=True, is_superuser=True)


def test_policy_admin_refuses_a_priority_that_would_lengthen_times(client, superuser, team):
    client.force_login(superuser)
    form = {
        "team": team.pk,
        "reminder_lead_minutes": 60,
        "escalate_1_after_business_minutes": 240,
        "escalate_2_after_business_minutes": 960,
        "high_priority_percent": 150,
        "urgent_priority_percent": 25,
    }

    refused = client.post("/admin/followups/escalationpolicy/add/", form)
    accepted = client.post(
        "/admin/followups/escalationpolicy/add/", {**form, "high_priority_percent": 50}
    )

    assert refused.status_code == 200  # the form again, with the error
    assert "followups_policy_priority_only_shortens" in refused.content.decode()
    assert accepted.status_code == 302
    assert EscalationPolicy.objects.get().high_priority_percent == 50


def _promise(customer, owner, days=1):
    from followups import services

    return services.followup_promise(
        customer=customer,
        owner=owner,
        action="Call back",
        due_at=timezone.now() + timedelta(days=days),
    )


def test_a_promise_added_in_the_admin_is_promised_by_the_service(
    client, superuser, customer, rep, team
):
    client.force_login(superuser)
    due = timezone.now() + timedelta(days=2)

    response = post_form(
        client,
        "/admin/followups/followup/add/",
        {
            "customer": customer.pk,
            "owner": rep.pk,
            "action": "Send the refund date",
            "priority": "normal",
            "due_at_0": due.strftime("%Y-%m-%d"),
            "due_at_1": due.strftime("%H:%M:%S"),
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    followup = FollowUp.objects.get()
    assert (followup.owner, followup.team, followup.created_by) == (rep, team, superuser)
    assert followup.channel == "email"  # the customer's preferred channel, by the service
    assert followup.next_action_at is not None  # scheduled
    assert list(followup.events.values_list("kind", "actor")) == [("created", superuser.pk)]


def test_a_promise_the_service_refuses_is_shown_in_the_form_and_not_saved(
    client, superuser, customer, rep
):
    client.force_login(superuser)

    response = post_form(
        client,
        "/admin/followups/followup/add/",
        {
            "customer": customer.pk,
            "owner": rep.pk,
            "action": "Call back",
            "priority": "normal",
            "due_phrase": "by Fryday",
        },
    )

    errors = form_errors(response)
    assert list(errors) == ["due_phrase"]
    assert "by Fryday" in response.content.decode()
    assert not FollowUp.objects.exists()


def test_an_open_promise_is_reassigned_renegotiated_and_cancelled_through_the_services(
    client, superuser, customer, rep, other_rep
):
    followup = _promise(customer, rep)
    client.force_login(superuser)
    url = f"/admin/followups/followup/{followup.pk}/change/"
    new_due = timezone.localtime(followup.due_at + timedelta(days=1))
    moved = {
        "owner": other_rep.pk,
        "due_at_0": new_due.strftime("%Y-%m-%d"),
        "due_at_1": new_due.strftime("%H:%M:%S"),
        "reason": "Maria is away",
    }

    changed = post_form(client, url, moved)
    refused = post_form(client, url, {**moved, "close": "cancelled", "reason": ""})
    cancelled = post_form(client, url, {**moved, "close": "cancelled", "reason": "Customer left"})
    closed = post_form(client, url, {**moved, "owner": rep.pk})

    assert changed.status_code == 302, changed.content.decode()[:3000]
    assert form_errors(refused) == {"reason": ["Say why the promise is cancelled."]}
    assert cancelled.status_code == 302
    assert closed.status_code == 403  # a closed promise is read-only
    followup.refresh_from_db()
    assert (followup.owner, followup.status, followup.cancel_reason) == (
        other_rep,
        "cancelled",
        "Customer left",
    )
    assert followup.due_at == new_due.replace(microsecond=0)
    assert (followup.renegotiation_count, followup.cycle) == (1, 1)
    assert list(followup.events.order_by("pk").values_list("kind", flat=True)) == [
        "created",
        "reassigned",
        "renegotiated",
        "cancelled",
    ]


def test_promises_are_not_deleted_in_the_admin(client, superuser, customer, rep):
    followup = _promise(customer, rep)
    client.force_login(superuser)

    response = client.post(f"/admin/followups/followup/{followup.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert FollowUp.objects.filter(pk=followup.pk, status="open").exists()


def test_a_team_clock_changed_in_the_admin_reschedules_its_promises(
    client, superuser, team, django_capture_on_commit_callbacks
):
    from core.models import AuditEntry

    client.force_login(superuser)
    fields = {
        "name": team.name,
        "holiday_country": "US",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }

    with django_capture_on_commit_callbacks(execute=False) as renamed_only:
        client.post(f"/admin/crm/team/{team.pk}/change/", {**fields, "time_zone": team.time_zone})
    with django_capture_on_commit_callbacks(execute=False) as new_clock:
        response = client.post(
            f"/admin/crm/team/{team.pk}/change/", {**fields, "time_zone": "America/Chicago"}
        )

    assert response.status_code == 302
    assert (len(renamed_only), len(new_clock)) == (0, 1)
    team.refresh_from_db()
    assert team.time_zone == "America/Chicago"
    assert AuditEntry.objects.get(action="team.updated").details == {"fields": ["time_zone"]}
