"""Every write to the interaction log."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.errors import Conflict
from crm.models import Customer, Team, TeamMembership
from crm.phone import try_normalise_phone
from crm.time_window import occurred_at_problem
from interactions.events import interaction_events_record
from interactions.feedback_links import feedback_link_is_expired, feedback_token_for_link
from interactions.matters import (
    _matter_assign,
    _matter_reassign,
    _matter_set_resolved,
)
from interactions.models import (
    Feedback,
    FeedbackLink,
    Interaction,
    InteractionCategory,
    InteractionEventKind,
    Matter,
)
from interactions.selectors import interaction_day_for_customer

User = get_user_model()


def _phone_value(raw: str) -> str:
    """E.164 when it is a phone number; anything else (an extension, `client:alice`) as given."""
    text = (raw or "").strip()
    if not text:
        return ""
    normalised = try_normalise_phone(text)
    return normalised.e164 if normalised is not None else text


def _category(value: InteractionCategory | str | None) -> InteractionCategory | None:
    if value is None or value == "":
        return None
    if isinstance(value, InteractionCategory):
        return value
    category = InteractionCategory.objects.filter(slug=value).first()
    if category is None:
        raise ValidationError({"category": [f"Unknown category {value!r}."]})
    return category


def interaction_times_check(
    *, occurred_at: datetime | None, ended_at: datetime | None = None, duration_seconds: int | None
) -> None:
    """The bad-input rules shared by the form, the API and ingestion; names the field."""
    errors: dict[str, list[str]] = {}
    if occurred_at is not None:
        problem = occurred_at_problem(occurred_at)
        if problem:
            errors["occurred_at"] = [problem]
        elif ended_at is not None and ended_at < occurred_at:
            errors["ended_at"] = ["The end cannot be before the start."]
        elif ended_at is not None and (problem := occurred_at_problem(ended_at)):
            errors["ended_at"] = [problem]
    if duration_seconds is not None and duration_seconds < 0:
        errors["duration_seconds"] = ["Cannot be negative."]
    if errors:
        raise ValidationError(errors)


def _default_team(rep: Any) -> Team | None:
    if rep is None:
        return None
    membership = (
        TeamMembership.objects.filter(user=rep).select_related("team").order_by("pk").first()
    )
    return membership.team if membership else None


@transaction.atomic
def interaction_log(
    *,
    customer: Customer | None,
    channel: str,
    direction: str,
    occurred_at: datetime,
    duration_seconds: int = 0,
    ended_at: datetime | None = None,
    rep: User | None = None,
    team: Team | None = None,
    subject: str = "",
    summary: str = "",
    outcome: str = "",
    category: InteractionCategory | str | None = None,
    sentiment: int | None = None,
    from_number: str = "",
    to_number: str = "",
    recording_url: str = "",
    disposition: str = "",
    email_message_id: str = "",
    email_in_reply_to: str = "",
    email_references: Sequence[str] = (),
    email_from: str = "",
    email_to: str = "",
    email_cc: str = "",
    attachments: Sequence[dict] = (),
    location: str = "",
    source: str = "manual",
    external_id: str = "",
    matter: Matter | None = None,
) -> Interaction:
    """Log one interaction, put it in a matter and touch the customer's last activity.

    `ended_at`, when given, sets the duration. `matter` joins that matter
    explicitly (e-mail threading); otherwise the join-window rule decides
    (see `_matter_assign`). Raises ValidationError naming the field.
    """
    interaction_times_check(
        occurred_at=occurred_at, ended_at=ended_at, duration_seconds=duration_seconds
    )
    if ended_at is not None:
        duration_seconds = int((ended_at - occurred_at).total_seconds())
    if team is None:
        team = _default_team(rep)
    interaction = Interaction(
        customer=customer,
        channel=channel,
        direction=direction,
        occurred_at=occurred_at,
        duration_seconds=duration_seconds,
        rep=rep,
        team=team,
        subject=subject,
        summary=summary,
        outcome=outcome,
        category=_category(category),
        sentiment=sentiment,
        from_number=_phone_value(from_number),
        to_number=_phone_value(to_number),
        recording_url=recording_url,
        disposition=disposition,
        email_message_id=email_message_id,
        email_in_reply_to=email_in_reply_to,
        email_references=list(email_references),
        email_from=email_from,
        email_to=email_to,
        email_cc=email_cc,
        attachments=list(attachments),
        location=location,
        source=source,
        external_id=external_id,
    )
    # Field validation in Python; of the model's constraints only the unique
    # (source, external_id) needs a query to answer with a message. The check
    # constraints are mirrored by field validators and the checks above, and the
    # database still enforces all of them: validating each would cost a
    # savepoint and a query per constraint on every create.
    # Related rows passed as saved instances were just read, so their existence
    # checks (a query each) are skipped too.
    interaction.full_clean(
        exclude=[
            name
            for name, value in (("customer", customer), ("rep", rep), ("team", team))
            if value is not None and getattr(value, "pk", None) is not None
        ],
        validate_constraints=False,
    )
    if external_id and Interaction.objects.filter(source=source, external_id=external_id).exists():
        raise Conflict(
            {"external_id": [f"An interaction from {source!r} with this external_id exists."]}
        )
    _matter_assign(interaction, matter=matter)  # saves the interaction
    if customer is not None:
        _customer_touch(customer_id=customer.pk, at=occurred_at)
    interaction_events_record(events={InteractionEventKind.LOGGED: [interaction.pk]})
    return interaction


def _customer_touch(*, customer_id: int, at: datetime) -> None:
    from crm.services import customer_touch

    customer_touch(customer_id=customer_id, at=at)


@transaction.atomic
def interaction_log_with_extensions(
    *, extensions: Iterable[tuple[Any, Any]], user: Any, **log_arguments: Any
) -> Interaction:
    """The rep's form submission: log, then every InteractionFormExtension's save,
    in one transaction (interactions.hooks). `extensions` are (extension, valid form)."""
    # Inside this function's transaction already: no savepoint (interaction_log_attributed).
    interaction = interaction_log.__wrapped__(**log_arguments)
    for extension, form in extensions:
        extension.save(form=form, interaction=interaction, user=user)
    return interaction


# Fields a rep or API client may change after logging.
INTERACTION_EDITABLE_FIELDS = {
    "channel",
    "direction",
    "occurred_at",
    "duration_seconds",
    "rep",
    "team",
    "subject",
    "summary",
    "outcome",
    "category",
    "sentiment",
    "from_number",
    "to_number",
    "recording_url",
    "disposition",
    "location",
}


@transaction.atomic
def interaction_update(*, interaction: Interaction, changes: dict[str, Any]) -> Interaction:
    """Change the fields named in `changes`; an outcome of `resolved` resolves its matter."""
    unknown = set(changes) - INTERACTION_EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in unknown})
    changes = dict(changes)
    if "category" in changes:
        changes["category"] = _category(changes["category"])
    for name in ("from_number", "to_number"):
        if name in changes:
            changes[name] = _phone_value(changes[name])
    interaction_times_check(
        occurred_at=changes.get("occurred_at"),
        duration_seconds=changes.get("duration_seconds"),
    )
    old_category_id = interaction.category_id
    attnames = [Interaction._meta.get_field(name).attname for name in changes]
    before = [getattr(interaction, attname) for attname in attnames]
    for name, value in changes.items():
        setattr(interaction, name, value)
    interaction.full_clean()
    interaction.save(update_fields=[*changes, "updated_at"])
    if before != [getattr(interaction, attname) for attname in attnames]:
        interaction_events_record(events={InteractionEventKind.UPDATED: [interaction.pk]})
    if interaction.category_id != old_category_id and interaction.customer_id is not None:
        _matter_reassign(interaction)
    if "outcome" in changes and interaction.matter_id:
        matter = Matter.objects.select_for_update().get(pk=interaction.matter_id)
        if interaction.outcome == Interaction.Outcome.RESOLVED and matter.is_open:
            _matter_set_resolved(matter, at=interaction.occurred_at)
    return interaction


# --- feedback (CSAT) ---------------------------------------------------------------------


def feedback_link_issue(*, interaction_id: int) -> FeedbackLink:
    """The interaction's CSAT link: made once (the first call), the same one after."""
    link, _ = FeedbackLink.objects.get_or_create(interaction_id=interaction_id)
    return link


def feedback_token_make(*, interaction_id: int) -> str:
    """The token of the interaction's link, issuing the link when it has none."""
    return feedback_token_for_link(feedback_link_issue(interaction_id=interaction_id).pk)


def feedback_path(*, interaction_id: int) -> str:
    """The customer's page for the interaction's link (for the request e-mail)."""
    return reverse(
        "interactions:feedback", args=[feedback_token_make(interaction_id=interaction_id)]
    )


@transaction.atomic
def interaction_feedback_give(
    *, interaction_id: int, score: int, comment: str = "", link_id: Any = None
) -> Feedback:
    """The customer's 1..5 answer, once per interaction; attached to its matter too.
    `link_id` records the link it came through."""
    interaction = Interaction.objects.select_for_update().get(pk=interaction_id)
    if Feedback.objects.filter(interaction=interaction).exists():
        raise ValidationError({"score": ["Feedback for this contact was already given."]})
    feedback = Feedback(
        interaction=interaction,
        matter_id=interaction.matter_id,
        score=score,
        comment=comment,
        link_id=link_id,
    )
    feedback.full_clean()
    feedback.save()
    interaction_events_record(events={InteractionEventKind.FEEDBACK_RECEIVED: [interaction.pk]})
    return feedback


def _customer_email(customer_id: int) -> str:
    from crm.models import ContactPoint

    return (
        ContactPoint.objects.filter(customer_id=customer_id, kind=ContactPoint.Kind.EMAIL)
        .order_by("-is_primary", "pk")
        .values_list("value", flat=True)
        .first()
        or ""
    )


def interaction_feedback_request_send(*, interaction_id: int, base_url: str) -> bool:
    """E-mail the customer a signed feedback link for one contact.

    The message shows only what the customer already knows (channel, date,
    subject, the rep's first name), never the internal notes. Its Message-ID
    is derived from the interaction, so a retried send stays one message in
    the customer's thread. One request per contact: the send claims
    `feedback_requested_at` in the same transaction (a failed send leaves it
    unclaimed for the retry). Returns False when there is nobody to send to,
    feedback was already given or already requested.
    """
    interaction = (
        Interaction.objects.select_related("rep", "customer").filter(pk=interaction_id).first()
    )
    if interaction is None or interaction.customer_id is None:
        return False
    if Feedback.objects.filter(interaction_id=interaction_id).exists():
        return False
    if feedback_link_is_expired(occurred_at=interaction.occurred_at):
        return False  # too old to rate: the link would be dead on arrival
    address = _customer_email(interaction.customer_id)
    if not address:
        return False
    with transaction.atomic():
        claimed = Interaction.objects.filter(
            pk=interaction_id, feedback_requested_at__isnull=True
        ).update(feedback_requested_at=timezone.now())
        if not claimed:
            return False
        _feedback_request_email(interaction=interaction, address=address, base_url=base_url)
    return True


def _feedback_request_email(*, interaction: Interaction, address: str, base_url: str) -> None:
    from django.core.mail import EmailMessage
    from django.template.loader import render_to_string

    interaction_id = interaction.pk
    context = {
        "customer_name": interaction.customer.display_name,
        "channel": interaction.get_channel_display(),
        "occurred_on": interaction_day_for_customer(interaction=interaction),
        "subject": interaction.subject,
        "rep_first_name": interaction.rep.first_name if interaction.rep else "",
        "url": base_url.rstrip("/") + feedback_path(interaction_id=interaction_id),
    }
    message = EmailMessage(
        subject="How did we do?",
        body=render_to_string("interactions/feedback_request_email.txt", context),
        to=[address],
        headers={"Message-ID": f"<feedback-request-{interaction_id}@rapport.local>"},
    )
    message.send()
