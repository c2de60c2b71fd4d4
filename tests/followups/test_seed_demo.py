from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from crm.models import ConsentRecord, Customer, ProfileFact
from crm.selectors import duplicate_groups
from followups.models import FollowUp
from interactions.models import Feedback, Interaction

pytestmark = pytest.mark.django_db


def test_seed_demo_fills_profiles_and_is_idempotent():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    counts = (
        Customer.objects.count(),
        ProfileFact.objects.count(),
        ConsentRecord.objects.count(),
        Interaction.objects.count(),
        FollowUp.objects.count(),
    )

    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123

    assert (
        Customer.objects.count(),
        ProfileFact.objects.count(),
        ConsentRecord.objects.count(),
        Interaction.objects.count(),
        FollowUp.objects.count(),
    ) == counts
    assert counts[3] == 5000
    assert counts[4] == 800 + 600  # today's spread + a decided history
    # A history the metrics can read: kept on time, late, renegotiated, missed; CSAT for ~1/3.
    past = FollowUp.objects.filter(due_at__lt=timezone.now() - timedelta(days=2))
    assert past.filter(status="done", is_kept_on_time=True).count() >= 300
    assert past.filter(status="done", is_kept_on_time=False).count() >= 60
    assert past.filter(renegotiation_count__gt=0).count() >= 40
    assert past.filter(status="open").count() >= 40
    rateable = Interaction.objects.exclude(outcome__in=["no_answer", "voicemail"])
    answered = Feedback.objects.count() / rateable.count()
    assert 0.25 < answered < 0.4
    assert Interaction.objects.filter(is_repeat_contact=True).count() >= 100
    open_followups = FollowUp.objects.filter(status="open")
    assert open_followups.filter(is_overdue=True).exists()
    # Bulk-loaded promises still get reminders and escalations from the engine.
    assert not open_followups.filter(escalate_1_at__isnull=True).exists()
    assert Customer.objects.exclude(pronunciation="").exists()
    assert Customer.objects.exclude(pronouns="").exists()
    assert Customer.objects.filter(quiet_hours_start__isnull=False).exists()
    assert ProfileFact.objects.filter(is_pinned=True).count() >= 400
    assert len(duplicate_groups()) == 6
    assert not Customer.objects.filter(search_name="").exists()
