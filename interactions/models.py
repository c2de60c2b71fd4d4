import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from crm.models import Customer, Team
from crm.time_window import STORED_EARLIEST, STORED_LATEST
from crm.validators import validate_recording_url, validate_time_zone

SENTIMENT_MIN, SENTIMENT_MAX = -2, 2
FEEDBACK_SCORE_MIN, FEEDBACK_SCORE_MAX = 1, 5


class InteractionCategory(models.Model):
    """What an interaction is about; admins add their own beside the seeded six.

    Interactions point at `slug` (to_field), so API clients and the sync engine
    name a category by its slug ("complaint") and the column holds that text.
    """

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    is_active = models.BooleanField(
        default=True, help_text="Inactive: kept on history, not offered."
    )
    position = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "interaction categories"

    def __str__(self) -> str:
        return self.name


class Matter(models.Model):
    """Interactions about the same need. Repeat contacts and first-contact
    resolution are measured on matters (interactions.selectors)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="matters")
    # Indexed in Meta (a plain btree: a slug is never searched with LIKE).
    category = models.ForeignKey(
        InteractionCategory,
        to_field="slug",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="matters",
        db_index=False,
    )
    subject = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    # The contact that opened it: its rep, team and channel attribute the matter in metrics.
    first_interaction = models.ForeignKey(
        "Interaction", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    opened_at = models.DateTimeField()
    last_contact_at = models.DateTimeField()
    contact_count = models.PositiveIntegerField(default=0)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_contact_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "resolved"]),
                name="interactions_matter_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="open", resolved_at__isnull=True)
                | Q(status="resolved", resolved_at__isnull=False),
                name="interactions_matter_resolved_at_iff_resolved",
            ),
        ]
        indexes = [
            # The join-window lookup: open matters of one customer.
            models.Index(
                fields=["customer", "category", "-last_contact_at"],
                condition=Q(status="open"),
                name="interactions_matter_open_idx",
            ),
            models.Index(fields=["opened_at"], name="interactions_matter_opened_idx"),
            # Changed matters since a watermark (the metrics rollup's refresh).
            models.Index(fields=["updated_at"], name="interactions_matter_updated"),
            models.Index(fields=["category"], name="interactions_matter_category"),
        ]

    def __str__(self) -> str:
        return self.subject or f"Matter {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Interaction(models.Model):
    class Channel(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "E-mail"
        IN_PERSON = "in_person", "In person"
        CHAT = "chat", "Chat"
        SMS = "sms", "SMS"
        VIDEO = "video", "Video"

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class Outcome(models.TextChoices):
        RESOLVED = "resolved", "Resolved"
        PROMISE_MADE = "promise_made", "Promise made"
        ESCALATED = "escalated", "Escalated"
        NO_ANSWER = "no_answer", "No answer"
        VOICEMAIL = "voicemail", "Voicemail"
        INFORMATION_GIVEN = "information_given", "Information given"

    # Every index is written by every contact logged: customer and matter lead
    # the timeline and matter indexes (Meta), which serve their lookups too.
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="interactions",
        db_index=False,
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    direction = models.CharField(max_length=16, choices=Direction.choices)
    occurred_at = models.DateTimeField()
    duration_seconds = models.PositiveIntegerField(default=0)
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interactions",
    )
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="interactions"
    )
    subject = models.CharField(max_length=255, blank=True, default="")
    # The rep's notes (internal: never shown to the customer). For an ingested
    # e-mail, the message's text.
    summary = models.TextField("notes", blank=True, default="", max_length=20000)
    outcome = models.CharField(max_length=32, choices=Outcome.choices, blank=True, default="")
    category = models.ForeignKey(
        InteractionCategory,
        to_field="slug",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="interactions",
        db_index=False,  # a plain btree in Meta: a slug is never searched with LIKE
    )
    # The customer's mood as the rep judged it: -2 (very unhappy) .. +2 (very happy).
    sentiment = models.SmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(SENTIMENT_MIN), MaxValueValidator(SENTIMENT_MAX)],
    )
    matter = models.ForeignKey(
        Matter,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interactions",
        db_index=False,
    )
    # Joined an open matter (same need again): what first-contact resolution counts against.
    is_repeat_contact = models.BooleanField(default=False)
    # When the CSAT e-mail went to the customer: one request per contact.
    feedback_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Phone: E.164 when the value is a phone number, else as the system sent it
    # ("client:alice", extension "1001").
    from_number = models.CharField(max_length=64, blank=True, default="")
    to_number = models.CharField(max_length=64, blank=True, default="")
    recording_url = models.URLField(
        max_length=500, blank=True, default="", validators=[validate_recording_url]
    )
    disposition = models.CharField(max_length=32, blank=True, default="")
    # E-mail (RFC 5322 ids with their angle brackets).
    email_message_id = models.CharField(max_length=998, blank=True, default="")
    email_in_reply_to = models.CharField(max_length=998, blank=True, default="")
    email_references = models.JSONField(default=list, blank=True)
    email_from = models.CharField(max_length=998, blank=True, default="")
    email_to = models.TextField(blank=True, default="")
    email_cc = models.TextField(blank=True, default="")
    # [{"filename", "content_type", "size"}]: listed, not stored.
    attachments = models.JSONField(default=list, blank=True)
    # In person.
    location = models.CharField(max_length=255, blank=True, default="")
    # Where a synced record came from and its id there: the idempotency key.
    source = models.CharField(max_length=64, default="manual")
    external_id = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="interactions_unique_source_external_id",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=["phone", "email", "in_person", "chat", "sms", "video"]),
                name="interactions_channel_valid",
            ),
            models.CheckConstraint(
                condition=Q(direction__in=["inbound", "outbound"]),
                name="interactions_direction_valid",
            ),
            models.CheckConstraint(
                condition=Q(duration_seconds__gte=0), name="interactions_duration_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(sentiment__isnull=True)
                | Q(sentiment__gte=SENTIMENT_MIN, sentiment__lte=SENTIMENT_MAX),
                name="interactions_sentiment_range",
            ),
            # The stored time window (crm/time_window.py); new rows only on a
            # database that held older ones outside it (migration 0009).
            models.CheckConstraint(
                condition=Q(occurred_at__gte=STORED_EARLIEST, occurred_at__lt=STORED_LATEST),
                name="interactions_occurred_at_in_time_window",
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "-occurred_at", "-id"], name="interactions_timeline_idx"
            ),
            # E-mail threading looks replies up by their parent's Message-ID.
            models.Index(
                fields=["email_message_id"],
                condition=~Q(email_message_id=""),
                name="interactions_email_msgid_idx",
            ),
            models.Index(fields=["matter", "occurred_at"], name="interactions_matter_idx"),
            # Everything on some days, all customers (the metrics rollup recomputes by day).
            models.Index(fields=["occurred_at"], name="interactions_occurred_idx"),
            models.Index(fields=["category"], name="interactions_category_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.direction} {self.occurred_at:%Y-%m-%d %H:%M}"

    @property
    def safe_recording_url(self) -> str:
        """The recording link when it is one staff may click (https:, or http: where
        allowed), else "": a row stored before the check never becomes a live link."""
        from django.core.exceptions import ValidationError

        if not self.recording_url:
            return ""
        try:
            validate_recording_url(self.recording_url)
        except ValidationError:
            return ""
        return self.recording_url


class TwilioAccount(models.Model):
    """A Twilio account whose voice status callbacks Rapport accepts.

    The callback's AccountSid selects the row; its auth token (Fernet-encrypted
    at rest, core.encryption) verifies X-Twilio-Signature.
    """

    account_sid = models.CharField(max_length=34, unique=True)
    auth_token_encrypted = models.TextField()
    friendly_name = models.CharField(max_length=100, blank=True, default="")
    is_active = models.BooleanField(default=True)
    creates_unmatched_customers = models.BooleanField(
        default=False,
        help_text="A caller whose number matches no customer becomes a new customer "
        "(otherwise the call stays unmatched for a rep to assign).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account_sid"]
        constraints = [
            models.CheckConstraint(
                condition=Q(account_sid__regex=r"^AC[0-9a-f]{32}$"),
                name="interactions_twilio_account_sid_format",
            ),
        ]

    def __str__(self) -> str:
        return self.friendly_name or self.account_sid


class TwilioCall(models.Model):
    """Per-CallSid state, so out-of-order callbacks never regress a call.

    `From`/`To` are kept as Twilio sent them (`client:alice` is an address, not
    a phone number).
    """

    call_sid = models.CharField(max_length=34, unique=True)
    account = models.ForeignKey(TwilioAccount, on_delete=models.PROTECT, related_name="calls")
    interaction = models.OneToOneField(
        Interaction, on_delete=models.CASCADE, related_name="twilio_call"
    )
    status = models.CharField(max_length=16)
    sequence_number = models.IntegerField(default=-1)
    from_address = models.CharField(max_length=255, blank=True, default="")
    to_address = models.CharField(max_length=255, blank=True, default="")
    started_at = models.DateTimeField()
    last_params = models.JSONField(default=dict)  # the newest callback, unknown fields too
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.call_sid} ({self.status})"


class AsteriskSource(models.Model):
    """How one PBX writes Master.csv: the optional columns cdr.conf enables, its clock.

    Defaults match the sample cdr.conf (loguniqueid and loguserfield: 18 columns).
    Interactions from it get source `asterisk:<name>`.
    """

    name = models.SlugField(max_length=50, unique=True)
    log_unique_id = models.BooleanField(default=True)
    log_user_field = models.BooleanField(default=True)
    new_cdr_columns = models.BooleanField(default=False)  # peeraccount, linkedid, sequence
    # PBX local time unless cdr.conf says usegmtime=yes (then UTC).
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def column_count(self) -> int:
        return 16 + self.log_unique_id + self.log_user_field + 3 * self.new_cdr_columns


class FeedbackLink(models.Model):
    """The customer's CSAT link for one interaction: issued once, when the request
    is sent to the customer (never shown to staff). The signed token carries only
    this random id; it is valid until INTERACTION_FEEDBACK_MAX_AGE_DAYS after the
    interaction (interactions/feedback_links.py)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    interaction = models.OneToOneField(
        Interaction, on_delete=models.CASCADE, related_name="feedback_link"
    )
    issued_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"feedback link for interaction {self.interaction_id}"


class Feedback(models.Model):
    """A customer's CSAT answer to one interaction: once (unique), 1..5."""

    interaction = models.OneToOneField(
        Interaction, on_delete=models.CASCADE, related_name="feedback"
    )
    matter = models.ForeignKey(
        Matter, on_delete=models.SET_NULL, null=True, blank=True, related_name="feedback"
    )
    score = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(FEEDBACK_SCORE_MIN), MaxValueValidator(FEEDBACK_SCORE_MAX)]
    )
    comment = models.TextField(blank=True, default="", max_length=4000)
    # How the answer came: the customer's link (null: given another way, e.g. before links).
    link = models.ForeignKey(
        FeedbackLink, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "feedback"
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=FEEDBACK_SCORE_MIN, score__lte=FEEDBACK_SCORE_MAX),
                name="interactions_feedback_score_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.score}/5 for interaction {self.interaction_id}"


# --- interaction events, for listeners above this floor (interactions/events.py) ----------


class InteractionEventKind(models.TextChoices):
    LOGGED = "logged", "Logged"
    UPDATED = "updated", "Updated"
    FEEDBACK_RECEIVED = "feedback_received", "Feedback received"


class InteractionEventSubscription(models.Model):
    """An event kind something above this floor listens to (webhook endpoints:
    followups.webhooks keeps these rows). A kind nobody listens to is not
    recorded at all, so without webhooks logging and syncing write nothing more."""

    kind = models.CharField(max_length=32, primary_key=True, choices=InteractionEventKind.choices)

    def __str__(self) -> str:
        return self.kind


class InteractionEventOutbox(models.Model):
    """Interaction events not yet taken by their listener: one narrow row per
    writing transaction and kind (a sync batch's new contacts are one row),
    written in the same transaction as the interactions. followups.webhooks fans
    a row out into deliveries and deletes it."""

    kind = models.CharField(max_length=32, choices=InteractionEventKind.choices)
    interaction_ids = ArrayField(models.BigIntegerField())
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=InteractionEventKind.values),
                name="interactions_event_outbox_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {len(self.interaction_ids)} interactions"
