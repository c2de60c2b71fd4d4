"""E-mail ingestion: a raw RFC 5322 message becomes one e-mail interaction.

`interaction_email_ingest` is the service the API calls. Parsing lives in
interactions/sources/email.py; this module decides who the message is from
and about, which matter it threads into, and makes a re-delivery a no-op.

- Idempotent: the interaction's (source "email", external_id) is the
  Message-ID, or a hash of the message's identity headers and body when it has
  none (interactions.sources.email._synthetic_id). A re-delivery returns the
  interaction logged the first time; concurrent deliveries are serialised by a
  transaction-scoped advisory lock on that key, and the partial unique
  constraint on (source, external_id) is the last word.
- Direction: from a Rapport user's address -> outbound (the customer is the
  first recipient who is one); otherwise inbound from the sender.
- Threading (RFC 5322 §3.6.4): In-Reply-To, then any id in References, then
  the normalised subject ("Re:", "AW:", "SV:" stripped) among the same
  customer's e-mails in open matters.
"""

from dataclasses import dataclass
from email.utils import getaddresses

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crm.selectors import customers_by_email
from crm.time_window import occurred_at_problem
from interactions.matters import _transaction_lock
from interactions.models import Interaction, Matter
from interactions.services import interaction_log
from interactions.sources.email import (
    EmailParseError,
    ParsedEmail,
    email_parse,
    subject_normalise,
)

EMAIL_SOURCE = "email"
# Subject threading looks this far back among a customer's e-mails.
SUBJECT_THREAD_CANDIDATES = 50


def _thread_parent(parsed: ParsedEmail) -> Interaction | None:
    ids = parsed.thread_ids
    if not ids:
        return None
    candidates = {
        i.email_message_id: i
        for i in Interaction.objects.filter(
            channel=Interaction.Channel.EMAIL, email_message_id__in=ids
        ).select_related("matter")
    }
    for message_id in ids:  # In-Reply-To first, then References newest first
        if message_id in candidates:
            return candidates[message_id]
    return None


def _subject_parent(parsed: ParsedEmail, customer_id: int) -> Interaction | None:
    wanted = subject_normalise(parsed.subject)
    if not wanted:
        return None
    recent = (
        Interaction.objects.filter(
            customer_id=customer_id,
            channel=Interaction.Channel.EMAIL,
            matter__status=Matter.Status.OPEN,
        )
        .select_related("matter")
        .order_by("-occurred_at", "-pk")[:SUBJECT_THREAD_CANDIDATES]
    )
    for interaction in recent:
        if subject_normalise(interaction.subject) == wanted:
            return interaction
    return None


def _participants(interaction: Interaction) -> set[str]:
    """Every address on a logged message (From, To, Cc), lower-case."""
    headers = [interaction.email_from, interaction.email_to, interaction.email_cc]
    return {address.lower() for _, address in getaddresses(headers) if address}


@dataclass(frozen=True)
class EmailIngestResult:
    interaction: Interaction
    created: bool  # False: a re-delivery of a message already logged


def interaction_email_ingest(*, raw: bytes, is_outgoing_gateway: bool = False) -> EmailIngestResult:
    """Log one message. Headers are not taken on their word:

    - It is outbound (by the rep whose address is in From:) only when it came
      through the team's outgoing mail gateway (`is_outgoing_gateway`: an API
      client with the `email:outbound` scope); otherwise it is inbound whatever
      its From: says, and a rep's address as sender matches no customer.
    - It joins a thread (In-Reply-To / References) of a customer's matter only
      when its sender is that customer or a participant of the message it
      answers; else it lands unmatched, for a rep to file.
    """
    try:
        parsed = email_parse(raw)
    except EmailParseError as exc:
        raise ValidationError(exc.errors) from exc
    now = timezone.now()
    occurred_at = parsed.date or now
    if problem := occurred_at_problem(occurred_at, now=now):
        raise ValidationError({"date": [f"The Date header: {problem}"]})
    with transaction.atomic():
        _transaction_lock(f"rapport.email:{parsed.external_id}")
        existing = Interaction.objects.filter(
            source=EMAIL_SOURCE, external_id=parsed.external_id
        ).first()
        if existing is not None:
            return EmailIngestResult(interaction=existing, created=False)
        User = get_user_model()
        rep = (
            User.objects.filter(is_active=True, email__iexact=parsed.from_address)
            .order_by("pk")
            .first()
            if is_outgoing_gateway
            else None
        )
        customer = None
        if rep is not None:
            direction = Interaction.Direction.OUTBOUND
            for address in parsed.to_addresses + parsed.cc_addresses:
                customer = customers_by_email(email=address).first()
                if customer is not None:
                    break
        else:
            direction = Interaction.Direction.INBOUND
            customer = customers_by_email(email=parsed.from_address).first()
        parent = _thread_parent(parsed)
        if parent is not None and customer is None and rep is None:
            if parsed.from_address.lower() in _participants(parent):
                customer = parent.customer
            else:
                parent = None  # a stranger's reply: unmatched, never filed by its headers
        elif customer is None and parent is not None:
            customer = parent.customer  # a rep's reply through the gateway
        if parent is None and customer is not None:
            parent = _subject_parent(parsed, customer.pk)
        matter = None
        if parent is not None and parent.matter is not None and parent.matter.is_open:
            if customer is None or parent.matter.customer_id == customer.pk:
                matter = parent.matter
        interaction = interaction_log(
            customer=customer,
            channel=Interaction.Channel.EMAIL,
            direction=direction,
            occurred_at=occurred_at,
            rep=rep,
            subject=parsed.subject,
            summary=parsed.text,
            email_message_id=parsed.message_id,
            email_in_reply_to=parsed.in_reply_to,
            email_references=parsed.references,
            email_from=parsed.from_header,
            email_to=parsed.to_header,
            email_cc=parsed.cc_header,
            attachments=[a.as_dict() for a in parsed.attachments],
            source=EMAIL_SOURCE,
            external_id=parsed.external_id,
            matter=matter,
        )
        return EmailIngestResult(interaction=interaction, created=True)
