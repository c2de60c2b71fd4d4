"""Every write to follow-ups: the people's use cases and the sweep's transitions.

Use cases lock the follow-up row (`SELECT ... FOR UPDATE`), re-check its
status under the lock, change it, and append a `FollowUpEvent` in the same
transaction. The sweep is set-based SQL (DESIGN.md "Lessons": one statement
per batch, not a save per row).
"""

import logging
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.errors import Conflict
from crm import access
from crm.models import Customer, Team
from crm.time_window import due_at_problem
from followups import webhooks
from followups.models import (
    FollowUp,
    FollowUpEvent,
    Priority,
)
from followups.schedules import followup_due_at_from_phrase, followup_schedule, user_team
from interactions.models import Interaction

logger = logging.getLogger(__name__)
User = get_user_model()


# --- access -------------------------------------------------------------------


def followup_visibility_filter(user: AbstractBaseUser):
    """Q of follow-ups the user may see (team-private: their teams' promises or their own)."""
    if access.is_admin(user):
        return Q()
    return Q(team_id__in=access.team_ids_of(user)) | Q(owner_id=user.pk)


def _require_work(user: AbstractBaseUser, followup: FollowUp, *, by_api_client: bool) -> None:
    """Complete, renegotiate, cancel: the owner, anyone in its team, admins, and
    API clients holding followups:write (checked by the API's HasScope)."""
    if by_api_client or followup.owner_id == user.pk or access.is_admin(user):
        return
    if followup.team_id is not None and followup.team_id in access.team_ids_of(user):
        return
    raise PermissionDenied("Only the owner, the owning team and admins may change this promise.")


def _require_reassign(
    user: AbstractBaseUser, followup: FollowUp, new_owner, *, by_api_client: bool
) -> None:
    if by_api_client or access.is_admin(user):
        if followup.team_id is not None and followup.team_id not in access.team_ids_of(new_owner):
            raise ValidationError(
                {"owner": ["The new owner must be a member of the promise's team."]}
            )
        return
    allowed = followup.owner_id == user.pk or (
        followup.team_id is not None and followup.team_id in access.supervised_team_ids(user)
    )
    if not allowed:
        raise PermissionDenied("Only the owner, the team's supervisors and admins may reassign.")
    if followup.team_id is not None and followup.team_id not in access.team_ids_of(new_owner):
        raise ValidationError({"owner": ["The new owner must be a member of the promise's team."]})


def _locked(followup_id: int) -> FollowUp:
    return FollowUp.objects.select_for_update().get(pk=followup_id)


def _require_open(followup: FollowUp) -> None:
    if followup.status != FollowUp.Status.OPEN:
        raise Conflict(
            {"status": [f"This promise is already {followup.get_status_display().lower()}."]}
        )


def _event(
    followup: FollowUp, *, kind: str, actor, now: datetime, details: dict | None = None
) -> FollowUpEvent:
    event = FollowUpEvent.objects.create(
        followup=followup,
        kind=kind,
        cycle=followup.cycle,
        occurred_at=now,
        actor=actor,
        details=details or {},
    )
    webhooks.webhook_outbox_add(event_ids=[event.pk], now=now)  # in the change's transaction
    return event


# --- the people's use cases ---------------------------------------------------


@transaction.atomic
def followup_promise(
    *,
    customer: Customer,
    owner: AbstractBaseUser,
    action: str,
    due_at: datetime | None = None,
    due_phrase: str = "",
    team: Team | None = None,
    origin_interaction: Interaction | None = None,
    channel: str = "",
    priority: str = Priority.NORMAL,
    created_by: AbstractBaseUser | None = None,
    now: datetime | None = None,
    by_api_client: bool = False,
) -> FollowUp:
    """Record a promise made to a customer; due_at or a phrase ("by Friday")."""
    now = now or timezone.now()
    if team is None:
        team = user_team(owner)
    if due_at is None:
        if not due_phrase.strip():
            raise ValidationError({"due_at": ["Give a due time or say when (e.g. 'by Friday')."]})
        due_at = followup_due_at_from_phrase(
            phrase=due_phrase, now=now, team=team, customer=customer
        )
    if due_at <= now - timedelta(minutes=1):
        raise ValidationError({"due_at": ["A promise cannot be due in the past."]})
    if problem := due_at_problem(due_at, now=now):
        raise ValidationError({"due_at": [problem]})
    if team is not None and not access.is_admin(owner) and team.pk not in access.team_ids_of(owner):
        raise ValidationError({"owner": ["The owner must be a member of the promise's team."]})
    creator = created_by or owner
    if not by_api_client and creator.pk != owner.pk and not access.is_admin(creator):
        if team is None or team.pk not in access.team_ids_of(creator):
            raise PermissionDenied("Only the owner's team and admins may promise for them.")
    followup = FollowUp(
        customer=customer,
        owner=owner,
        team=team,
        created_by=created_by or owner,
        action=action.strip(),
        channel=channel or customer.preferred_channel,
        priority=priority,
        due_phrase=due_phrase.strip()[:100],
        due_at=due_at,
        original_due_at=due_at,
        origin_interaction=origin_interaction,
    )
    followup_schedule(followup=followup, now=now)
    # As interaction_log: fields are validated in Python; the check constraints are
    # mirrored by the field choices and the checks above (status open, level 0, the
    # due time's window) and the database still enforces them all, so validating
    # each would only add a savepoint and a query per constraint (21 round trips) to
    # every promise. Related rows passed as saved instances were just read: their
    # existence checks (a query each) are skipped too.
    followup.full_clean(
        exclude=[
            name
            for name, value in (
                ("customer", customer),
                ("owner", owner),
                ("team", team),
                ("created_by", created_by or owner),
                ("origin_interaction", origin_interaction),
            )
            if value is not None and getattr(value, "pk", None) is not None
        ],
        validate_constraints=False,
    )
    followup.save()
    _event(
        followup,
        kind=FollowUpEvent.Kind.CREATED,
        actor=created_by or owner,
        now=now,
        details={"due_at": due_at.isoformat(), "due_phrase": followup.due_phrase},
    )
    return followup


@transaction.atomic
def followup_complete(
    *,
    followup_id: int,
    user: AbstractBaseUser,
    note: str = "",
    kept_by_interaction: Interaction | None = None,
    now: datetime | None = None,
    by_api_client: bool = False,
) -> FollowUp:
    now = now or timezone.now()
    followup = _locked(followup_id)
    _require_work(user, followup, by_api_client=by_api_client)
    _require_open(followup)
    if kept_by_interaction is not None and kept_by_interaction.customer_id != followup.customer_id:
        raise ValidationError(
            {"interaction": ["The interaction must be with the promise's customer."]}
        )
    kept_at = kept_by_interaction.occurred_at if kept_by_interaction is not None else now
    followup.status = FollowUp.Status.DONE
    followup.completed_at = now
    followup.completed_by = user
    followup.completion_note = note.strip()
    followup.kept_by_interaction = kept_by_interaction
    followup.is_kept_on_time = kept_at <= followup.due_at
    followup.next_action_at = None
    followup.full_clean()
    followup.save(
        update_fields=[
            "status",
            "completed_at",
            "completed_by",
            "completion_note",
            "kept_by_interaction",
            "is_kept_on_time",
            "next_action_at",
            "updated_at",
        ]
    )
    _event(
        followup,
        kind=FollowUpEvent.Kind.KEPT if kept_by_interaction else FollowUpEvent.Kind.COMPLETED,
        actor=user,
        now=now,
        details={
            "note": followup.completion_note,
            "on_time": followup.is_kept_on_time,
            "interaction": kept_by_interaction.pk if kept_by_interaction else None,
        },
    )
    return followup


def followup_keep_with_interaction(
    *, followup_id: int, interaction: Interaction, user: AbstractBaseUser, note: str = ""
) -> FollowUp:
    """The owner marks a logged interaction with the customer as keeping the promise."""
    return followup_complete(
        followup_id=followup_id, user=user, note=note, kept_by_interaction=interaction
    )


@transaction.atomic
def followup_reassign(
    *,
    followup_id: int,
    new_owner: AbstractBaseUser,
    user: AbstractBaseUser,
    reason: str = "",
    now: datetime | None = None,
    by_api_client: bool = False,
) -> FollowUp:
    """Hand the promise to someone else; pending reminders follow (they are
    addressed to the owner at the time they fall due)."""
    now = now or timezone.now()
    followup = _locked(followup_id)
    _require_work(user, followup, by_api_client=by_api_client)
    _require_open(followup)
    _require_reassign(user, followup, new_owner, by_api_client=by_api_client)
    if not new_owner.is_active:
        raise ValidationError({"owner": ["The new owner's account is inactive."]})
    old_owner_id = followup.owner_id
    if old_owner_id == new_owner.pk:
        return followup
    followup.owner = new_owner
    followup.save(update_fields=["owner", "updated_at"])
    _event(
        followup,
        kind=FollowUpEvent.Kind.REASSIGNED,
        actor=user,
        now=now,
        details={"from": old_owner_id, "to": new_owner.pk, "reason": reason.strip()},
    )
    return followup


@transaction.atomic
def followup_renegotiate(
    *,
    followup_id: int,
    due_at: datetime | None = None,
    due_phrase: str = "",
    user: AbstractBaseUser,
    reason: str = "",
    now: datetime | None = None,
    by_api_client: bool = False,
) -> FollowUp:
    """The customer agreed a new due time: a new cycle of reminder/overdue/escalation.

    Counted in renegotiation_count, apart from misses (a miss is an overdue event).
    """
    now = now or timezone.now()
    followup = _locked(followup_id)
    _require_work(user, followup, by_api_client=by_api_client)
    _require_open(followup)
    if due_at is None:
        if not due_phrase.strip():
            raise ValidationError({"due_at": ["Give the new due time."]})
        due_at = followup_due_at_from_phrase(
            phrase=due_phrase, now=now, team=followup.team, customer=followup.customer
        )
    if due_at <= now:
        raise ValidationError({"due_at": ["The new due time must be in the future."]})
    if problem := due_at_problem(due_at, now=now):
        raise ValidationError({"due_at": [problem]})
    old_due_at = followup.due_at
    was_overdue = followup.is_overdue
    followup.due_at = due_at
    followup.due_phrase = due_phrase.strip()[:100]
    followup.cycle += 1
    followup.renegotiation_count += 1
    followup_schedule(followup=followup, now=now)
    followup.full_clean()
    followup.save()
    _event(
        followup,
        kind=FollowUpEvent.Kind.RENEGOTIATED,
        actor=user,
        now=now,
        details={
            "from": old_due_at.isoformat(),
            "to": due_at.isoformat(),
            "was_overdue": was_overdue,
            "reason": reason.strip(),
        },
    )
    return followup


@transaction.atomic
def followup_cancel(
    *,
    followup_id: int,
    user: AbstractBaseUser,
    reason: str,
    now: datetime | None = None,
    by_api_client: bool = False,
) -> FollowUp:
    now = now or timezone.now()
    if not reason.strip():
        raise ValidationError({"reason": ["Say why the promise is cancelled."]})
    followup = _locked(followup_id)
    _require_work(user, followup, by_api_client=by_api_client)
    _require_open(followup)
    followup.status = FollowUp.Status.CANCELLED
    followup.cancel_reason = reason.strip()[:500]
    followup.next_action_at = None
    followup.full_clean()
    followup.save(update_fields=["status", "cancel_reason", "next_action_at", "updated_at"])
    _event(
        followup,
        kind=FollowUpEvent.Kind.CANCELLED,
        actor=user,
        now=now,
        details={"reason": followup.cancel_reason},
    )
    return followup
