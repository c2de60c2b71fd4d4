"""Use cases for phone systems: Twilio status callbacks and Asterisk CDR uploads.

Both map their format with interactions/sources/* and write through the sync
engine (interactions/sync.py), so they share its no-duplicates guarantees.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from interactions.events import interaction_events_record
from interactions.models import (
    AsteriskSource,
    Interaction,
    InteractionEventKind,
    TwilioAccount,
    TwilioCall,
)
from interactions.sources import asterisk, twilio
from interactions.sources.common import IngestRecord, SourceLineError
from interactions.sync import _advisory_lock, interaction_records_upsert, record_check


def _matters_assign(results: list) -> None:
    """New calls join matters (repeat contacts) like logged and synced ones do, in
    the same transaction as the rows."""
    from interactions.matters import interaction_matters_assign

    interaction_matters_assign(
        interaction_ids=[r.id for r in results if r.status == "created" and r.id]
    )


@dataclass(frozen=True)
class TwilioOutcome:
    interaction_id: int
    applied: bool  # False when an older callback arrived after a newer one


def _is_newer(*, sequence: int, status: str, call: TwilioCall) -> bool:
    if sequence >= 0 and call.sequence_number >= 0:
        return sequence > call.sequence_number
    return twilio.STATUS_RANK[status] > twilio.STATUS_RANK.get(call.status, -1)


@transaction.atomic
def twilio_callback_apply(
    *, account: TwilioAccount, params: Mapping[str, str], received_at: datetime
) -> TwilioOutcome:
    """One interaction per CallSid; an earlier status never overwrites a later one.

    Raises SourceLineError for a callback that cannot be mapped.
    """
    record, sequence, status = twilio.callback_parse(params, received_at=received_at)
    checked = record_check(record)
    if not isinstance(checked, IngestRecord):
        raise SourceLineError(checked)
    # Serialise the callbacks of one call (they can arrive together).
    _advisory_lock([f"rapport.twilio-call:{record.external_id}"])
    call = TwilioCall.objects.select_for_update().filter(call_sid=record.external_id).first()
    if call is not None and call.account_id != account.pk:
        raise PermissionDenied("This call belongs to another Twilio account.")
    if call is not None:
        if not _is_newer(sequence=sequence, status=status, call=call):
            if record.occurred_at < call.started_at:
                # A late early callback still tells when the call started.
                call.started_at = record.occurred_at
                call.save(update_fields=["started_at", "updated_at"])
                Interaction.objects.filter(pk=call.interaction_id).update(
                    occurred_at=record.occurred_at, updated_at=timezone.now()
                )
                interaction_events_record(
                    events={InteractionEventKind.UPDATED: [call.interaction_id]}
                )
            return TwilioOutcome(call.interaction_id, applied=False)
        record.occurred_at = min(call.started_at, record.occurred_at)
    (result,) = interaction_records_upsert(
        items=[record],
        creates_unmatched_customers=account.creates_unmatched_customers,
        on_written=_matters_assign,
    )
    if result.status == "error":
        raise SourceLineError(result.errors)
    if call is None:
        call = TwilioCall(call_sid=record.external_id, account=account, interaction_id=result.id)
    call.status = status
    call.sequence_number = sequence
    call.from_address = params.get("From", "")[:255]
    call.to_address = params.get("To", "")[:255]
    call.started_at = record.occurred_at
    call.last_params = dict(params)
    call.save()
    return TwilioOutcome(result.id, applied=True)


def asterisk_source_layout(*, name: str) -> asterisk.CdrLayout:
    source = AsteriskSource.objects.filter(name=name).first()
    if source is None:
        return asterisk.CdrLayout()  # the sample cdr.conf: 18 columns, UTC
    return asterisk.CdrLayout(
        log_unique_id=source.log_unique_id,
        log_user_field=source.log_user_field,
        new_cdr_columns=source.new_cdr_columns,
        time_zone=source.time_zone,
    )


def asterisk_cdr_ingest(
    *, text: str, source_name: str, creates_unmatched_customers: bool = False
) -> list[dict]:
    """Every non-empty line's result: {"line", "status", "id", "errors"}; good lines kept."""
    layout = asterisk_source_layout(name=source_name)
    lines = asterisk.cdr_parse(text, layout, source=f"asterisk:{source_name}")
    items = [line.record if line.record is not None else line.errors for line in lines]
    results = interaction_records_upsert(
        items=items,
        creates_unmatched_customers=creates_unmatched_customers,
        on_written=_matters_assign,
    )
    return [
        {"line": line.line_number, "status": r.status, "id": r.id, "errors": r.errors}
        for line, r in zip(lines, results, strict=True)
    ]


@transaction.atomic
def twilio_account_add(
    *,
    account_sid: str,
    auth_token: str,
    friendly_name: str = "",
    creates_unmatched_customers: bool | None = None,
) -> TwilioAccount:
    """Register (or update the token of) a Twilio account; the token is stored encrypted.
    `creates_unmatched_customers` None keeps the account's setting (off for a new one)."""
    from core.encryption import encrypt_text

    account = TwilioAccount.objects.select_for_update().filter(account_sid=account_sid).first()
    if account is None:
        account = TwilioAccount(account_sid=account_sid)
    account.auth_token_encrypted = encrypt_text(auth_token)
    account.friendly_name = friendly_name or account.friendly_name
    if creates_unmatched_customers is not None:
        account.creates_unmatched_customers = creates_unmatched_customers
    account.is_active = True
    account.full_clean()
    account.save()
    return account
