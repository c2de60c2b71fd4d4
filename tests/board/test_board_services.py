"""Bulk reassign and acknowledging an escalation."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from followups.models import FollowUp, FollowUpEvent
from reporting import board_services as services
from reporting.board_models import EscalationAcknowledgement
from tests.board.conftest import promise


@pytest.fixture
def overdue(org):
    past = timezone.now() - timedelta(hours=5)
    return [promise(org.maria, org.east, past, action=f"call back {i}") for i in range(3)]


def test_bulk_reassign_moves_every_promise_and_records_an_event(org, overdue):
    ids = [overdue[0].pk, overdue[1].pk]

    reassigned = services.followups_bulk_reassign(
        actor=org.sam, followup_ids=ids, new_owner=org.james, note="Maria is off sick"
    )

    assert sorted(f.pk for f in reassigned) == ids
    owners = dict(FollowUp.objects.values_list("pk", "owner_id"))
    assert owners == {ids[0]: org.james.pk, ids[1]: org.james.pk, overdue[2].pk: org.maria.pk}
    events = FollowUpEvent.objects.filter(kind=FollowUpEvent.Kind.REASSIGNED).order_by(
        "followup_id"
    )
    assert [(e.followup_id, e.actor_id, e.details["to"]) for e in events] == [
        (ids[0], org.sam.pk, org.james.pk),
        (ids[1], org.sam.pk, org.james.pk),
    ]


def test_bulk_reassign_to_someone_outside_the_team_changes_nothing(org, overdue):
    with pytest.raises(ValidationError) as error:
        services.followups_bulk_reassign(
            actor=org.sam, followup_ids=[f.pk for f in overdue], new_owner=org.wei
        )

    assert "new_owner" in error.value.message_dict
    assert set(FollowUp.objects.values_list("owner_id", flat=True)) == {org.maria.pk}
    assert not FollowUpEvent.objects.filter(kind=FollowUpEvent.Kind.REASSIGNED).exists()


def test_bulk_reassign_of_another_teams_promise_changes_nothing(org, overdue):
    west_promise = promise(org.wei, org.west, timezone.now() - timedelta(hours=1))

    with pytest.raises(ValidationError) as error:
        services.followups_bulk_reassign(
            actor=org.sam, followup_ids=[overdue[0].pk, west_promise.pk], new_owner=org.james
        )

    assert "followups" in error.value.message_dict
    assert FollowUp.objects.get(pk=overdue[0].pk).owner_id == org.maria.pk


def test_bulk_reassign_refuses_closed_promises_and_empty_selections(org, overdue):
    FollowUp.objects.filter(pk=overdue[0].pk).update(
        status="done", completed_at=timezone.now(), next_action_at=None
    )
    with pytest.raises(ValidationError, match="no longer open"):
        services.followups_bulk_reassign(
            actor=org.sam, followup_ids=[overdue[0].pk, overdue[1].pk], new_owner=org.james
        )
    with pytest.raises(ValidationError, match="at least one"):
        services.followups_bulk_reassign(actor=org.sam, followup_ids=[], new_owner=org.james)
    assert FollowUp.objects.get(pk=overdue[1].pk).owner_id == org.maria.pk


def test_a_rep_cannot_bulk_reassign(org, overdue):
    with pytest.raises(PermissionDenied):
        services.followups_bulk_reassign(
            actor=org.james, followup_ids=[overdue[0].pk], new_owner=org.james
        )
    assert FollowUp.objects.get(pk=overdue[0].pk).owner_id == org.maria.pk


def test_acknowledging_an_escalation_is_recorded_once(org):
    escalated = promise(
        org.maria, org.east, timezone.now() - timedelta(days=2), escalation_level=1, cycle=0
    )

    first = services.escalation_acknowledge(actor=org.sam, followup_id=escalated.pk, note="On it")
    again = services.escalation_acknowledge(actor=org.admin, followup_id=escalated.pk)

    assert again.pk == first.pk
    assert (first.level, first.cycle, first.acknowledged_by_id, first.note) == (
        1,
        0,
        org.sam.pk,
        "On it",
    )
    assert EscalationAcknowledgement.objects.count() == 1


def test_a_new_level_needs_a_new_acknowledgement(org):
    escalated = promise(org.maria, org.east, timezone.now() - timedelta(days=2), escalation_level=1)
    services.escalation_acknowledge(actor=org.sam, followup_id=escalated.pk)
    FollowUp.objects.filter(pk=escalated.pk).update(escalation_level=2)

    services.escalation_acknowledge(actor=org.admin, followup_id=escalated.pk)

    assert sorted(EscalationAcknowledgement.objects.values_list("level", flat=True)) == [1, 2]


def test_acknowledging_what_was_not_escalated_or_not_yours_is_refused(org):
    not_escalated = promise(org.maria, org.east, timezone.now() - timedelta(hours=1))
    west = promise(org.wei, org.west, timezone.now() - timedelta(days=2), escalation_level=1)

    with pytest.raises(ValidationError):
        services.escalation_acknowledge(actor=org.sam, followup_id=not_escalated.pk)
    with pytest.raises(PermissionDenied):
        services.escalation_acknowledge(actor=org.sam, followup_id=west.pk)
    with pytest.raises(PermissionDenied):
        services.escalation_acknowledge(actor=org.maria, followup_id=west.pk)
    assert not EscalationAcknowledgement.objects.exists()
