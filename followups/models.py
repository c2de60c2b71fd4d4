"""Promises (follow-ups), their history, the business calendar, escalation
policies and the notification outbox.

The engine's contract (DESIGN.md, "The follow-up engine"): every open
follow-up stores the time of its next transition in `next_action_at`; the
sweep claims due rows over a partial index of open rows, records each
transition as a `FollowUpEvent` whose unique key makes it exactly-once, and
writes `Notification` rows (the outbox) in the same transaction.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Case, F, Q, When

from core.models import ApiClient
from crm.models import Customer, Team
from crm.time_window import STORED_EARLIEST, STORED_LATEST
from interactions.models import Interaction, InteractionEventKind


class Priority(models.TextChoices):
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


# When the current escalation level was due: the second level's time from level 2.
ESCALATION_SCHEDULED_AT = Case(
    When(escalation_level__gte=2, then=F("escalate_2_at")), default=F("escalate_1_at")
)


class FollowUp(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    class Channel(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "E-mail"
        SMS = "sms", "SMS"
        IN_PERSON = "in_person", "In person"
        VIDEO = "video", "Video"
        CHAT = "chat", "Chat"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="followups")
    origin_interaction = models.ForeignKey(
        Interaction,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="promised_followups",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="followups"
    )
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="followups"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    action = models.CharField(max_length=500)
    # How to reach the customer; defaults to the customer's preferred channel.
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True, default="")
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    # What the rep said ("by Friday"), kept so the history shows how due_at was derived.
    due_phrase = models.CharField(max_length=100, blank=True, default="")
    due_at = models.DateTimeField()
    # The first agreed due time; renegotiations move due_at, never this.
    original_due_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)

    # --- the engine's bookkeeping ------------------------------------------
    # The schedule of the current cycle, computed once by services.followup_schedule
    # (business time needs the calendar, so the sweep never computes it per row).
    remind_at = models.DateTimeField(null=True, blank=True)
    escalate_1_at = models.DateTimeField(null=True, blank=True)
    escalate_2_at = models.DateTimeField(null=True, blank=True)
    # When the engine next has something to do for this row (null when nothing).
    next_action_at = models.DateTimeField(null=True, blank=True)
    is_reminded = models.BooleanField(default=False)
    is_overdue = models.BooleanField(default=False)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    # Bumped by each renegotiation: a new agreed due time starts a new cycle of
    # transitions (part of the events' unique key).
    cycle = models.PositiveSmallIntegerField(default=0)
    renegotiation_count = models.PositiveSmallIntegerField(default=0)

    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    completion_note = models.TextField(blank=True, default="", max_length=5000)
    kept_by_interaction = models.ForeignKey(
        Interaction,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="kept_followups",
    )
    # Null until done; true when completed at or before the (latest agreed) due time.
    is_kept_on_time = models.BooleanField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["due_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "done", "cancelled"]),
                name="followups_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(next_action_at__isnull=True),
                name="followups_closed_has_no_next_action",
            ),
            models.CheckConstraint(
                condition=Q(priority__in=["normal", "high", "urgent"]),
                name="followups_priority_valid",
            ),
            models.CheckConstraint(
                condition=Q(escalation_level__lte=2), name="followups_escalation_level_max"
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(completed_at__isnull=False),
                name="followups_done_has_completed_at",
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | ~Q(cancel_reason=""),
                name="followups_cancelled_has_reason",
            ),
            # The stored time window (crm/time_window.py; migration 0009).
            models.CheckConstraint(
                condition=Q(due_at__gte=STORED_EARLIEST, due_at__lt=STORED_LATEST),
                name="followups_due_at_in_time_window",
            ),
        ]
        indexes = [
            # The sweep's index: only open rows, in the order the sweep claims them
            # (when they next need work, then id), so a claim reads its batch off
            # the front of the index and its cost follows the due work, not the
            # table (DESIGN.md). Ordering a claim by id alone let the planner walk
            # the primary key through every open row (benchmarks/sweep.py).
            models.Index(
                fields=["next_action_at", "id"],
                condition=Q(status="open"),
                name="followups_open_next_action_idx",
            ),
            models.Index(
                fields=["owner", "due_at"],
                condition=Q(status="open"),
                name="followups_open_owner_due_idx",
            ),
            models.Index(
                fields=["team", "due_at"],
                condition=Q(status="open"),
                name="followups_open_team_due_idx",
            ),
            models.Index(fields=["customer", "status", "due_at"], name="followups_customer_idx"),
            # The board's list across all teams (admins), most overdue first.
            models.Index(
                fields=["due_at", "id"], condition=Q(status="open"), name="followups_open_due_idx"
            ),
            # The supervisor board's grouped counts (reporting/board_selectors.py):
            # an index-only scan of the open promises, however many there are.
            models.Index(
                fields=["team", "owner", "due_at"],
                include=["escalation_level"],
                condition=Q(status="open"),
                name="followups_board_open_idx",
            ),
            # The escalations inbox, newest escalation first: a page reads its rows
            # off the front instead of sorting every escalated promise.
            models.Index(
                ESCALATION_SCHEDULED_AT.desc(),
                F("id").desc(),
                condition=Q(escalation_level__gte=1),
                name="followups_escalated_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} (due {self.due_at:%Y-%m-%d %H:%M})"


class FollowUpEvent(models.Model):
    """One entry on a follow-up's history: a transition of the engine or a person's change.

    Engine transitions (remind, overdue, escalate) are unique per
    (follow-up, kind, level, cycle): the sweep inserts with ON CONFLICT DO
    NOTHING and acts only on rows it actually inserted, so two beats, a
    redelivered task or a worker killed mid-batch never make a second one.
    """

    class Kind(models.TextChoices):
        CREATED = "created", "Promised"
        REMIND = "remind", "Reminder sent"
        OVERDUE = "overdue", "Became overdue"
        ESCALATE = "escalate", "Escalated"
        COMPLETED = "completed", "Completed"
        KEPT = "kept", "Kept by an interaction"
        REASSIGNED = "reassigned", "Reassigned"
        RENEGOTIATED = "renegotiated", "Due date renegotiated"
        CANCELLED = "cancelled", "Cancelled"

    TRANSITION_KINDS = ("remind", "overdue", "escalate")

    followup = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Escalation level for "escalate" (1, 2); 0 otherwise.
    level = models.PositiveSmallIntegerField(default=0)
    cycle = models.PositiveSmallIntegerField(default=0)
    occurred_at = models.DateTimeField()
    # The transition's scheduled time (engine events): how late the sweep was.
    scheduled_at = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Old and new values, the note or reason: what a person reading the history needs.
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["followup", "kind", "level", "cycle"],
                condition=Q(kind__in=["remind", "overdue", "escalate"]),
                name="followups_event_transition_once",
            ),
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "created",
                        "remind",
                        "overdue",
                        "escalate",
                        "completed",
                        "kept",
                        "reassigned",
                        "renegotiated",
                        "cancelled",
                    ]
                ),
                name="followups_event_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind="escalate", level__in=[1, 2]) | (~Q(kind="escalate") & Q(level=0)),
                name="followups_event_level_valid",
            ),
        ]
        indexes = [models.Index(fields=["followup", "occurred_at"], name="followups_event_idx")]

    def __str__(self) -> str:
        return f"{self.kind}/{self.level} of follow-up {self.followup_id}"


class Notification(models.Model):
    """The outbox: one row per (transition, recipient, channel).

    In-app rows are delivered by existing (the bell reads them); e-mail rows
    are sent by `followups.tasks.deliver_notification` with retries and a
    stable Message-ID derived from `message_key`, so a retried send is the
    same message to the recipient's mail client.
    """

    class Channel(models.TextChoices):
        IN_APP = "in_app", "In the app"
        EMAIL = "email", "E-mail"

    class DeliveryStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followup_notifications"
    )
    followup = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="notifications")
    event = models.ForeignKey(FollowUpEvent, on_delete=models.CASCADE, related_name="notifications")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    kind = models.CharField(max_length=16)
    level = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    delivery_status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    message_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient", "channel"], name="followups_notification_once"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=["in_app", "email"]), name="followups_notification_channel"
            ),
            models.CheckConstraint(
                condition=Q(delivery_status__in=["pending", "sent", "failed"]),
                name="followups_notification_status_valid",
            ),
        ]
        indexes = [
            # The bell: unread in-app notifications of one user.
            models.Index(
                fields=["recipient", "-created_at"],
                condition=Q(channel="in_app", read_at__isnull=True),
                name="followups_notif_unread_idx",
            ),
            models.Index(
                fields=["recipient", "-created_at"],
                condition=Q(channel="in_app"),
                name="followups_notif_inbox_idx",
            ),
            # The outbox relay: pending e-mails by when they may be tried next.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(delivery_status="pending"),
                name="followups_notif_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.kind} to {self.recipient_id}"

    @property
    def message_id(self) -> str:
        """Stable RFC 5322 Message-ID: the same for every retry of this notification."""
        return f"<{self.message_key.hex}.followup@rapport.invalid>"


class BusinessHours(models.Model):
    """One opening interval of a team's week, in the team's time zone.

    A team without rows uses DEFAULT_BUSINESS_HOURS (Mon-Fri 09:00-17:00).
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="business_hours")
    weekday = models.PositiveSmallIntegerField(
        choices=[
            (0, "Monday"),
            (1, "Tuesday"),
            (2, "Wednesday"),
            (3, "Thursday"),
            (4, "Friday"),
            (5, "Saturday"),
            (6, "Sunday"),
        ]
    )
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["team", "weekday", "opens_at"]
        verbose_name_plural = "business hours"
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="followups_hours_weekday"),
            models.CheckConstraint(
                condition=Q(opens_at__lt=models.F("closes_at")), name="followups_hours_order"
            ),
            models.UniqueConstraint(
                fields=["team", "weekday", "opens_at"], name="followups_hours_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team}: {self.get_weekday_display()} {self.opens_at}-{self.closes_at}"


class Closure(models.Model):
    """A day the team is closed beyond public holidays (company day off, office move)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField()
    reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["team", "date"]
        constraints = [
            models.UniqueConstraint(fields=["team", "date"], name="followups_closure_unique")
        ]

    def __str__(self) -> str:
        return f"{self.team} closed {self.date}"


class EscalationPolicy(models.Model):
    """When a team's promises are reminded and escalated (admin-editable).

    A team without a row uses the defaults below. Priority may only shorten the
    times (percentages <= 100); nothing about the customer's size or value
    enters the calculation (DESIGN.md: respect every customer).
    """

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="escalation_policy")
    # Wall-clock minutes before due_at: the reminder to the owner.
    reminder_lead_minutes = models.PositiveIntegerField(default=60)
    # Business minutes after due_at (team calendar): level 1 to the team's supervisors.
    escalate_1_after_business_minutes = models.PositiveIntegerField(default=4 * 60)
    # Business minutes after due_at: level 2 to the admins.
    escalate_2_after_business_minutes = models.PositiveIntegerField(default=16 * 60)
    high_priority_percent = models.PositiveSmallIntegerField(default=50)
    urgent_priority_percent = models.PositiveSmallIntegerField(default=25)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "escalation policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(high_priority_percent__gte=1, high_priority_percent__lte=100)
                & Q(urgent_priority_percent__gte=1, urgent_priority_percent__lte=100),
                name="followups_policy_priority_only_shortens",
            ),
            models.CheckConstraint(
                condition=Q(
                    escalate_2_after_business_minutes__gt=models.F(
                        "escalate_1_after_business_minutes"
                    )
                ),
                name="followups_policy_levels_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"Escalation policy of {self.team}"


# Webhook endpoints and deliveries live in their own module (followups.webhooks).


# --- webhooks: follow-up events out, from the same outbox (followups.webhooks) ------------

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
# Interaction events (interactions/events.py), for endpoints whose client may read interactions.
INTERACTION_WEBHOOK_EVENT_TYPES = {
    InteractionEventKind.LOGGED: "interaction.logged",
    InteractionEventKind.UPDATED: "interaction.updated",
    InteractionEventKind.FEEDBACK_RECEIVED: "interaction.feedback_received",
}
WEBHOOK_EVENT_TYPE_NAMES = sorted(
    set(WEBHOOK_EVENT_TYPES.values()) | set(INTERACTION_WEBHOOK_EVENT_TYPES.values())
)


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


class WebhookOutbox(models.Model):
    """Follow-up events not yet fanned out to the webhook endpoints (followups.webhooks).

    One narrow row per writing transaction, whatever the number of endpoints: a
    sweep batch writes one row holding its events' ids, a person's change one
    holding its event's id, and only while some endpoint is active. The fan-out
    turns a row into deliveries and deletes it in one transaction, off the sweep.
    """

    event_ids = ArrayField(models.BigIntegerField())
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{len(self.event_ids)} follow-up events"


class WebhookDelivery(models.Model):
    """One event for one endpoint, expanded from an outbox row by the fan-out.

    `webhook_id` is the Standard Webhooks `webhook-id`, derived from the event
    and the endpoint: the same on every retry and replay, so a receiver keeps
    each event once.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (endpoint disabled)"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The event: a follow-up's, or an interaction's (its kind is `event_type`).
    event = models.ForeignKey(
        FollowUpEvent,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_deliveries",
    )
    interaction = models.ForeignKey(
        Interaction,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_deliveries",
    )
    event_type = models.CharField(
        max_length=40, choices=[(name, name) for name in WEBHOOK_EVENT_TYPE_NAMES]
    )
    webhook_id = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    # When the event happened (the payload's `timestamp`).
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once"),
            models.CheckConstraint(
                condition=Q(event__isnull=False, interaction__isnull=True)
                | Q(event__isnull=True, interaction__isnull=False),
                name="webhook_delivery_one_subject",
            ),
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
