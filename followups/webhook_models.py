"""Follow-up events out as webhooks: endpoints and the delivery outbox (followups.webhooks)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import ApiClient
from followups.models import FollowUpEvent

# Event types an endpoint may subscribe to: follow-up engine events, named for receivers.
WEBHOOK_EVENT_TYPES = {
    "created": "followup.promised",
    "remind": "followup.reminded",
    "overdue": "followup.overdue",
    "escalate": "followup.escalated",
    "completed": "followup.kept",
    "kept": "followup.kept",
    "reassigned": "followup.reassigned",
    "renegotiated": "followup.renegotiated",
    "cancelled": "followup.cancelled",
}


class WebhookEndpoint(models.Model):
    """A receiver registered by an API client (or an admin) for some event types.

    The signing secret (`whsec_…`, Standard Webhooks) is stored encrypted
    (crm.encryption) and shown once when the endpoint is made.
    """

    url = models.URLField(max_length=500)
    api_client = models.ForeignKey(
        ApiClient, on_delete=models.CASCADE, null=True, blank=True, related_name="webhooks"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    description = models.CharField(max_length=200, blank=True, default="")
    # Empty: every event type. Else a list of names from WEBHOOK_EVENT_TYPES' values.
    event_types = models.JSONField(default=list, blank=True)
    secret_encrypted = models.TextField(editable=False)
    is_active = models.BooleanField(default=True)
    # Since when every delivery has failed (None after any success); disabled after
    # WEBHOOK_DISABLE_AFTER_DAYS of that.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint: the outbox row, written in the event's transaction.

    `webhook_id` is the Standard Webhooks `webhook-id`: the same on every retry
    and replay, so a receiver keeps each event once.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (endpoint disabled)"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(
        FollowUpEvent, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    event_type = models.CharField(max_length=40)
    webhook_id = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once"),
        ]
        indexes = [
            # The sender reads due rows only: cost follows the backlog, not the table.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status="pending"),
                name="webhook_delivery_due_idx",
            ),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_log_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_id} -> {self.endpoint_id}"


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"
