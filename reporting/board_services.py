"""The supervisor board's writes: bulk reassign and acknowledge an escalation."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from crm import access
from crm.models import TeamMembership
from followups import services as engine_services
from followups.models import FollowUp
from reporting.board_models import EscalationAcknowledgement
from reporting.board_selectors import board_scope

# A supervisor ticks rows on one screen; more than this in one submission is a
# mistake (or a script that should use the API one promise at a time).
BULK_REASSIGN_MAX = 500


@transaction.atomic
def followups_bulk_reassign(
    *,
    actor: AbstractBaseUser,
    followup_ids: Sequence[int],
    new_owner: AbstractBaseUser,
    note: str = "",
) -> list[FollowUp]:
    """Hand several open promises to another member of their team, all or nothing.

    Each promise goes through the engine's own reassign use case
    (`followups.services.followup_reassign`) so its history gets a
    "reassigned" event and pending reminders follow the new owner. Checks for
    the whole set run first, so one bad row changes nothing.
    """
    ids = sorted({int(pk) for pk in followup_ids})
    if not ids:
        raise ValidationError({"followups": ["Choose at least one promise."]})
    if len(ids) > BULK_REASSIGN_MAX:
        raise ValidationError(
            {"followups": [f"Reassign at most {BULK_REASSIGN_MAX} promises at once."]}
        )
    scope = board_scope(actor)
    # Lock in a stable order so two supervisors reassigning overlapping sets
    # cannot deadlock; the status is re-checked under the lock.
    followups = list(
        FollowUp.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")
    )
    found = {followup.pk for followup in followups}
    missing = [pk for pk in ids if pk not in found]
    if missing or any(not scope.allows_team(f.team_id) for f in followups):
        # Not found and not yours look the same: no probing other teams' ids.
        raise ValidationError({"followups": ["Some of these promises do not exist."]})
    closed = [f.pk for f in followups if f.status != FollowUp.Status.OPEN]
    if closed:
        raise ValidationError(
            {"followups": [f"Promises {closed} are no longer open; refresh the board."]}
        )
    if not new_owner.is_active:
        raise ValidationError({"new_owner": ["This user is inactive."]})
    member_team_ids = set(
        TeamMembership.objects.filter(user=new_owner).values_list("team_id", flat=True)
    )
    for followup in followups:
        if followup.team_id is None:
            if not access.is_staff_member(new_owner):
                raise ValidationError({"new_owner": ["Only team members can own promises."]})
        elif followup.team_id not in member_team_ids:
            raise ValidationError(
                {"new_owner": [f"{new_owner} is not a member of {followup.team}."]}
            )
    reassigned = []
    for followup in followups:
        if followup.owner_id == new_owner.pk:
            continue
        # The engine's use case: access rules, the "reassigned" event, and the
        # pending reminders that follow the owner (nested in this transaction).
        reassigned.append(
            engine_services.followup_reassign(
                followup_id=followup.pk, new_owner=new_owner, user=actor, reason=note
            )
        )
    return reassigned


@transaction.atomic
def escalation_acknowledge(
    *, actor: AbstractBaseUser, followup_id: int, note: str = ""
) -> EscalationAcknowledgement:
    """Record that a supervisor saw the promise's current escalation.

    Idempotent: acknowledging the same escalation again returns the first
    acknowledgement unchanged (two supervisors clicking at once is fine).
    """
    scope = board_scope(actor)
    followup = (
        FollowUp.objects.select_for_update(of=("self",))
        .filter(pk=followup_id)
        .only("pk", "team_id", "cycle", "escalation_level")
        .first()
    )
    if followup is None or not scope.allows_team(followup.team_id):
        raise PermissionDenied("No such escalation.")
    if followup.escalation_level < 1:
        raise ValidationError({"followup": ["This promise has not been escalated."]})
    existing = EscalationAcknowledgement.objects.filter(
        followup=followup, cycle=followup.cycle, level=followup.escalation_level
    ).first()
    if existing is not None:
        return existing
    acknowledgement = EscalationAcknowledgement(
        followup=followup,
        cycle=followup.cycle,
        level=followup.escalation_level,
        acknowledged_by=actor,
        acknowledged_at=timezone.now(),
        note=note,
    )
    acknowledgement.full_clean()
    acknowledgement.save()
    return acknowledgement
