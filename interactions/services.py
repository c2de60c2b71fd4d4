"""Every write to the interaction log."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction

from crm.models import Customer, Team
from interactions.models import Interaction

User = get_user_model()


@transaction.atomic
def interaction_log(
    *,
    customer: Customer | None,
    channel: str,
    direction: str,
    occurred_at: datetime,
    duration_seconds: int = 0,
    rep: User | None = None,
    team: Team | None = None,
    summary: str = "",
    outcome: str = "",
    source: str = "manual",
    external_id: str = "",
) -> Interaction:
    interaction = Interaction(
        customer=customer,
        channel=channel,
        direction=direction,
        occurred_at=occurred_at,
        duration_seconds=duration_seconds,
        rep=rep,
        team=team,
        summary=summary,
        outcome=outcome,
        source=source,
        external_id=external_id,
    )
    interaction.full_clean()
    interaction.save()
    return interaction


def interaction_sync(*, records: list, creates_unmatched_customers: bool = False) -> list:
    """Batch upsert by (source, external_id); one SyncResult per record, in order.

    `records` is open JSON (each validated here); see interactions/sync.py for
    the guarantees (no duplicates under concurrent replays, bad items isolated).
    """
    from interactions.sync import interaction_records_upsert, record_validate

    return interaction_records_upsert(
        items=[record_validate(raw) for raw in records],
        creates_unmatched_customers=creates_unmatched_customers,
    )
