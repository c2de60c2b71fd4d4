"""Every write to follow-ups, including the sweep's transitions."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from crm.models import Customer, Team
from followups.models import FollowUp
from interactions.models import Interaction

User = get_user_model()

# Rows claimed per transaction: big enough to amortise the round trip, small
# enough that locks are held for milliseconds and a killed worker loses little.
SWEEP_BATCH_SIZE = 500


@transaction.atomic
def followup_promise(
    *,
    customer: Customer,
    owner: User,
    action: str,
    due_at: datetime,
    team: Team | None = None,
    origin_interaction: Interaction | None = None,
) -> FollowUp:
    followup = FollowUp(
        customer=customer,
        owner=owner,
        team=team,
        action=action,
        due_at=due_at,
        origin_interaction=origin_interaction,
        next_action_at=due_at,
    )
    followup.full_clean()
    followup.save()
    return followup


def followup_sweep(*, now: datetime | None = None) -> int:
    """Mark every open follow-up whose due time has passed as overdue.

    Claims due rows in batches with SKIP LOCKED, so two sweeps running at once
    split the work instead of doing it twice. Returns the rows transitioned.
    """
    now = now or timezone.now()
    transitioned = 0
    while True:
        with transaction.atomic():
            batch_ids = list(
                FollowUp.objects.filter(status=FollowUp.Status.OPEN, next_action_at__lte=now)
                .order_by("next_action_at", "pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:SWEEP_BATCH_SIZE]
            )
            if not batch_ids:
                return transitioned
            transitioned += FollowUp.objects.filter(pk__in=batch_ids).update(
                is_overdue=True, next_action_at=None, updated_at=now
            )
