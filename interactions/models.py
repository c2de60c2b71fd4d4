from django.conf import settings
from django.db import models
from django.db.models import Q

from crm.models import Customer, Team


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
