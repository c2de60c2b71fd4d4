"""Pre-aggregated service metrics: the tables the metrics page sums instead of
scanning millions of interactions and promises on every request.

Loaded by FollowupsConfig.ready() like board_models. Every row here is derived
(from interactions, matters, feedback and follow-ups) by
reporting/metrics_rollup.py, which the `reporting.tasks.metrics_refresh` beat
task runs every FOLLOWUP_SWEEP_SECONDS: the figures are never older than one
sweep interval. Nothing else writes them, and nothing is lost by truncating
them (the next refresh rebuilds what is missing, falling back meanwhile to
computing the figures on the request).

Rollup rows exist at three levels so that any filter sums a few thousand rows
at most: LEVEL_ALL (every team; team_id = rep_id = 0), LEVEL_TEAM (per team;
rep_id = 0) and LEVEL_REP (per team and rep). A missing team or rep is 0.
Days are UTC days, as the metrics page's range and ISO weeks are.
"""

from django.db import models

LEVEL_ALL = 0
LEVEL_TEAM = 1
LEVEL_REP = 2


class RollupState(models.Model):
    """How far one rollup reaches: every day from `covered_from` on (the future
    included) is exact as of `watermark`; days before are still being back-filled
    (or `complete`: there is nothing older)."""

    name = models.CharField(max_length=32, primary_key=True)
    covered_from = models.DateField(null=True, blank=True)
    complete = models.BooleanField(default=False)
    # Source rows changed after this instant are still to be folded in.
    watermark = models.DateTimeField(null=True, blank=True)
    # Feedback has no updated_at: the highest id already folded in.
    feedback_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    # The oldest transaction id still running when the last refresh began to read
    # (pg_snapshot_xmin): rows written by older transactions were folded in by it.
    snapshot_xmin = models.BigIntegerField(null=True, blank=True)

    class Meta:
        db_table = "followups_rollupstate"  # born in followups (reporting/0001)

    def __str__(self) -> str:
        return f"{self.name} rollup from {self.covered_from}"


class _Keyed(models.Model):
    level = models.PositiveSmallIntegerField()
    day = models.DateField()
    team_id = models.BigIntegerField()
    rep_id = models.BigIntegerField()
    channel = models.CharField(max_length=16, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{type(self).__name__} {self.day} level {self.level} team {self.team_id}"


class ContactDay(_Keyed):
    """Interactions per day, team, rep, channel, outcome and (for complaints) category."""

    outcome = models.CharField(max_length=32, blank=True)
    # The category slug when it is a complaint, else "": complaints are charted by category.
    complaint_category = models.CharField(max_length=40, blank=True)
    interactions = models.IntegerField()
    with_customer = models.IntegerField()  # CSAT asks: with a customer (and a rateable outcome)
    responses = models.IntegerField()  # feedback on those
    score_sum = models.BigIntegerField()
    duration_sum = models.BigIntegerField()

    class Meta:
        db_table = "followups_contactday"  # born in followups (reporting/0001)
        # One row per key: a refresh adds each change's difference to its row.
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "day", "level", "team_id", "rep_id", "channel", "outcome",
                    "complaint_category",
                ],
                name="reporting_contactday_key",
            )
        ]  # fmt: skip
        indexes = [
            models.Index(fields=["level", "team_id", "day"], name="followups_contactday_team"),
            models.Index(fields=["level", "rep_id", "day"], name="followups_contactday_rep"),
            models.Index(fields=["day"], name="followups_contactday_day"),
        ]


class ContactFact(models.Model):
    """One interaction's part of its ContactDay row: a refresh subtracts the part it
    recorded and adds the new one, for the interactions written since the last,
    instead of regrouping every interaction of each day it touched (a second a
    refresh once a day holds a million; a busy sync's day does)."""

    interaction_id = models.BigIntegerField(primary_key=True)
    day = models.DateField()
    team_id = models.BigIntegerField()
    rep_id = models.BigIntegerField()
    channel = models.CharField(max_length=16, blank=True)
    outcome = models.CharField(max_length=32, blank=True)
    complaint_category = models.CharField(max_length=40, blank=True)
    with_customer = models.BooleanField()
    responded = models.BooleanField()  # feedback, on a contact with a customer
    score = models.IntegerField(null=True, blank=True)  # that feedback's score
    duration_seconds = models.BigIntegerField()

    class Meta:
        db_table = "reporting_contactfact"
        indexes = [models.Index(fields=["day"], name="reporting_contactfact_day")]

    def __str__(self) -> str:
        return f"interaction {self.interaction_id} on {self.day}"


class InteractionDeletion(models.Model):
    """An interaction deleted since the last metrics refresh: its ContactFact is still
    to be taken off its day. Written only by a trigger on interactions_interaction
    (migration 0004), as MatterDeletion is."""

    interaction_id = models.BigIntegerField(primary_key=True)

    class Meta:
        managed = False
        db_table = "reporting_interactiondeletion"

    def __str__(self) -> str:
        return f"interaction {self.interaction_id} deleted"


class MatterDeletion(models.Model):
    """A matter deleted since the last metrics refresh (an emptied matter goes when its
    last contact moves to another): its fact and day are still to be corrected.

    Written only by the database: a trigger on interactions_matter (migration 0002)
    records every delete, whatever path it takes; the refresh takes the rows it
    corrects. Before, a refresh found such facts by checking every fact of every
    customer it saw contacted against the matters: most of a refresh under a busy
    sync, and more with every matter an install has ever had."""

    matter_id = models.BigIntegerField(primary_key=True)

    class Meta:
        managed = False
        db_table = "reporting_matterdeletion"

    def __str__(self) -> str:
        return f"matter {self.matter_id} deleted"


class MatterFact(models.Model):
    """One matter's figures, attributed to its first contact: kept per matter
    because whether it was a repeat depends on later contacts of its customer."""

    matter_id = models.BigIntegerField(primary_key=True)
    day = models.DateField()
    opened_at = models.DateTimeField()
    team_id = models.BigIntegerField()
    rep_id = models.BigIntegerField()
    channel = models.CharField(max_length=16, blank=True)
    customer_id = models.BigIntegerField()
    category_id = models.CharField(max_length=40, null=True, blank=True)  # noqa: DJ001 - as the source
    resolved_first_contact = models.BooleanField()
    repeat_7d = models.BooleanField()
    repeat_30d = models.BooleanField()
    # The contact that made it a repeat: if it changes, so may this fact.
    repeat_interaction_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        db_table = "followups_matterfact"  # born in followups (reporting/0001)
        indexes = [
            models.Index(fields=["day"], name="followups_matterfact_day"),
            models.Index(
                fields=["customer_id", "category_id", "opened_at"],
                name="followups_matterfact_customer",
            ),
            models.Index(
                fields=["repeat_interaction_id"],
                condition=models.Q(repeat_interaction_id__isnull=False),
                name="followups_matterfact_repeat",
            ),
        ]

    def __str__(self) -> str:
        return f"matter {self.matter_id} opened {self.day}"


class MatterDay(_Keyed):
    """Matters opened per day (by their first contact's team, rep and channel)."""

    matters = models.IntegerField()
    resolved_first_contact = models.IntegerField()
    repeat_7d = models.IntegerField()
    repeat_30d = models.IntegerField()

    class Meta:
        db_table = "followups_matterday"  # born in followups (reporting/0001)
        # One row per key: a refresh adds each change's difference to its row.
        constraints = [
            models.UniqueConstraint(
                fields=["day", "level", "team_id", "rep_id", "channel"],
                name="reporting_matterday_key",
            )
        ]
        indexes = [
            models.Index(fields=["level", "team_id", "day"], name="followups_matterday_team"),
            models.Index(fields=["level", "rep_id", "day"], name="followups_matterday_rep"),
            models.Index(fields=["day"], name="followups_matterday_day"),
        ]


class PromiseFact(models.Model):
    """One promise's outcome figures by its (latest agreed) due day; kept per
    promise so a renegotiation that moves the due day also leaves the old day."""

    followup_id = models.BigIntegerField(primary_key=True)
    day = models.DateField()
    team_id = models.BigIntegerField()
    rep_id = models.BigIntegerField()
    channel = models.CharField(max_length=16, blank=True)
    kept_on_time = models.BooleanField()
    kept_late = models.BooleanField()
    renegotiation_count = models.IntegerField()
    lateness_seconds = models.BigIntegerField(null=True, blank=True)  # kept late only

    class Meta:
        db_table = "followups_promisefact"  # born in followups (reporting/0001)
        indexes = [models.Index(fields=["day"], name="followups_promisefact_day")]

    def __str__(self) -> str:
        return f"follow-up {self.followup_id} due {self.day}"


class PromiseDay(_Keyed):
    """Promises due per day that were not cancelled (open or done)."""

    due = models.IntegerField()
    kept_on_time = models.IntegerField()
    kept_late = models.IntegerField()
    renegotiated = models.IntegerField()
    renegotiations = models.IntegerField()

    class Meta:
        db_table = "followups_promiseday"  # born in followups (reporting/0001)
        indexes = [
            models.Index(fields=["level", "team_id", "day"], name="followups_promiseday_team"),
            models.Index(fields=["level", "rep_id", "day"], name="followups_promiseday_rep"),
            models.Index(fields=["day"], name="followups_promiseday_day"),
        ]


class PromiseLateness(_Keyed):
    """Histogram of the lateness of promises kept late: per bucket (about 4.4 %
    wide, see metrics_rollup.lateness_bucket) the count and the sum of seconds,
    so a median is read from the bucket's mean: exact when the middle values
    are alone in their buckets, otherwise within the bucket's width."""

    bucket = models.PositiveSmallIntegerField()
    count = models.IntegerField()
    seconds_sum = models.BigIntegerField()

    class Meta:
        db_table = "followups_promiselateness"  # born in followups (reporting/0001)
        indexes = [
            models.Index(fields=["level", "team_id", "day"], name="followups_lateness_team"),
            models.Index(fields=["level", "rep_id", "day"], name="followups_lateness_rep"),
            models.Index(fields=["day"], name="followups_lateness_day"),
        ]
