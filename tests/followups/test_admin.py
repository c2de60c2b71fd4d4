"""Admins edit escalation policies and calendars; promises are read-only there."""

import pytest

from followups.models import EscalationPolicy
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


def test_promise_admin_is_read_only(client, superuser, customer, rep):
    from datetime import timedelta

    from django.utils import timezone

    from followups import services

    followup = services.followup_promise(
        customer=customer, owner=rep, action="Call", due_at=timezone.now() + timedelta(days=1)
    )
    client.force_login(superuser)

    assert client.get("/admin/followups/followup/").status_code == 200
    assert client.get(f"/admin/followups/followup/{followup.pk}/change/").status_code == 200
    assert client.get("/admin/followups/followup/add/").status_code == 403
