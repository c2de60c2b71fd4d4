"""The supervisor board's own table: who acknowledged an escalation, and when.

Kept apart from followups/models.py (the engine's tables) and loaded by
FollowupsConfig.ready(): the engine never reads it, the board and the
escalations inbox do.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from followups.models import FollowUp


class EscalationAcknowledgement(models.Model):
    """A supervisor (or admin) saw escalation `level` of a promise's `cycle`.

    One per (follow-up, cycle, level): acknowledging twice changes nothing, and
    a renegotiated promise that escalates again in its new cycle needs a new one.
    """

    followup = models.ForeignKey(
        FollowUp, on_delete=models.CASCADE, related_name="escalation_acknowledgements"
    )
    cycle = models.PositiveSmallIntegerField(default=0)
    level = models.PositiveSmallIntegerField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField()
    note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        db_table = "followups_escalationacknowledgement"  # born in followups (reporting/0001)
        ordering = ["-acknowledged_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["followup", "cycle", "level"], name="followups_escalation_ack_once"
            ),
            models.CheckConstraint(
                condition=Q(level__in=[1, 2]), name="followups_escalation_ack_level_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"level {self.level} of follow-up {self.followup_id} acknowledged"
