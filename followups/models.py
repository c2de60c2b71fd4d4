from django.conf import settings
from django.db import models
from django.db.models import Q

from crm.models import Customer, Team
from interactions.models import Interaction


class FollowUp(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

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
    action = models.CharField(max_length=500)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    # When the engine next has something to do for this row (null when nothing).
    next_action_at = models.DateTimeField(null=True, blank=True)
    is_overdue = models.BooleanField(default=False)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)
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
        ]
        indexes = [
            # The sweep's index: only open rows, ordered by when they next need work.
            models.Index(
                fields=["next_action_at"],
                condition=Q(status="open"),
                name="followups_open_next_action_idx",
            ),
            models.Index(
                fields=["owner", "due_at"],
                condition=Q(status="open"),
                name="followups_open_owner_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} (due {self.due_at:%Y-%m-%d %H:%M})"
