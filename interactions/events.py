"""Interaction events (logged, updated, feedback received) for listeners above this floor.

Every write that makes or changes an interaction records its event here, in its
own transaction: one narrow `InteractionEventOutbox` row per call and kind,
holding the interactions' ids (a sync batch of 1,000 new contacts is one row).
Only kinds someone listens to are recorded (`InteractionEventSubscription`,
kept by followups.webhooks for the webhook endpoints): the check is part of the
one INSERT, so without listeners a write costs one statement that writes
nothing. The floor above reads the outbox and deletes what it took; this floor
never imports it.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from interactions.models import (
    Interaction,
    InteractionEventKind,
    InteractionEventOutbox,
    InteractionEventSubscription,
)


def interaction_events_record(
    *, events: Mapping[str, Iterable[int]], occurred_at: datetime | None = None
) -> None:
    """Record `{kind: interaction ids}` in the caller's transaction, one row per kind
    someone listens to; nothing when nobody does or no id is given."""
    by_kind = {kind: sorted(set(ids)) for kind, ids in events.items()}
    unknown = set(by_kind) - set(InteractionEventKind.values)
    if unknown:
        raise ValueError(f"Unknown interaction event kinds: {sorted(unknown)}")
    by_kind = {kind: ids for kind, ids in by_kind.items() if ids}
    if not by_kind:
        return
    outbox = InteractionEventOutbox._meta.db_table
    subscription = InteractionEventSubscription._meta.db_table
    rows = ", ".join(["(%s, %s::bigint[])"] * len(by_kind))
    with connection.cursor() as cursor:
        # A VALUES list, not JSON to unpack: planned and run in a fraction of the time,
        # and this runs in every interaction write.
        cursor.execute(
            f"INSERT INTO {outbox} (kind, interaction_ids, occurred_at) "  # noqa: S608
            f"SELECT e.kind, e.ids, %s FROM (VALUES {rows}) AS e(kind, ids) "
            f"WHERE EXISTS (SELECT 1 FROM {subscription} s WHERE s.kind = e.kind)",
            [occurred_at or timezone.now(), *(v for item in by_kind.items() for v in item)],
        )


@transaction.atomic
def interaction_event_subscriptions_set(*, kinds: Iterable[str]) -> None:
    """The kinds someone listens to from now on (the others stop being recorded)."""
    wanted = set(kinds)
    unknown = wanted - set(InteractionEventKind.values)
    if unknown:
        raise ValueError(f"Unknown interaction event kinds: {sorted(unknown)}")
    InteractionEventSubscription.objects.exclude(kind__in=wanted).delete()
    InteractionEventSubscription.objects.bulk_create(
        [InteractionEventSubscription(kind=kind) for kind in sorted(wanted)],
        ignore_conflicts=True,
    )


def customer_merged(*, source_id: int, target_id: int, moved: Mapping[str, list]) -> None:
    """settings.CUSTOMER_MERGE_HOOKS: the interactions a merge moved to the survivor
    now name another customer, an update each (in the merge's transaction)."""
    label = f"{Interaction._meta.label_lower}.{Interaction._meta.get_field('customer').name}"
    interaction_events_record(events={InteractionEventKind.UPDATED: moved.get(label, [])})
