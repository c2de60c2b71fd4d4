from django.conf import settings
from django.db import models
from django.db.models import Q

from crm.models import Customer, Team
from crm.validators import validate_time_zone


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

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="interactions"
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
    summary = models.TextField(blank=True, default="", max_length=20000)
    outcome = models.CharField(max_length=32, choices=Outcome.choices, blank=True, default="")
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
        ]
        indexes = [
            models.Index(
                fields=["customer", "-occurred_at", "-id"], name="interactions_timeline_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.direction} {self.occurred_at:%Y-%m-%d %H:%M}"


class TwilioAccount(models.Model):
    """A Twilio account whose voice status callbacks Rapport accepts.

    The callback's AccountSid selects the row; its auth token (Fernet-encrypted
    at rest, crm.encryption) verifies X-Twilio-Signature.
    """

    account_sid = models.CharField(max_length=34, unique=True)
    auth_token_encrypted = models.TextField()
    friendly_name = models.CharField(max_length=100, blank=True, default="")
    is_active = models.BooleanField(default=True)
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
