from django.conf import settings
from django.db import models
from django.db.models import Q


class CustomerImport(models.Model):
    """One uploaded customer file, its column mapping, and its dry run and run.

    Resumable: the run commits in batches, and each batch's transaction also
    moves `rows_done` (the checkpoint), so a run cut short (worker killed,
    deploy) continues after the last committed batch; no batch is half-applied.
    """

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        CHECKING = "checking", "Dry run in progress"
        CHECKED = "checked", "Dry run done"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"
        # IMPORT_RETENTION_DAYS after its last change: the file and the rows' details
        # (personal data of everyone in it) are removed; the counts stay.
        EXPIRED = "expired", "Expired (file and row details removed)"

    class Phase(models.TextChoices):
        DRY_RUN = "dry_run", "Dry run"
        RUN = "run", "Run"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    file_name = models.CharField(max_length=255)
    # The file as uploaded: the task, a resumed run and the error report re-read it.
    content = models.BinaryField()
    encoding = models.CharField(max_length=16)
    delimiter = models.CharField(max_length=1)
    header = models.JSONField(default=list)
    # One field name (or "" to ignore) per column of `header`.
    mapping = models.JSONField(default=list)
    region = models.CharField(max_length=2)  # phone numbers without + are read in this region
    time_zone = models.CharField(max_length=64, default="UTC")  # dates without an offset
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADED)
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.DRY_RUN)
    rows_total = models.PositiveIntegerField(default=0)
    # The checkpoint of the current phase: data records (not lines) handled and committed.
    rows_done = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    matched_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # Counts of the dry run, kept when the run starts.
    dry_run_summary = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True, default="")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rows_done__lte=models.F("rows_total")),
                name="spreadsheets_import_done_le_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if not self.rows_total else int(100 * self.rows_done / self.rows_total)

    @property
    def is_running(self) -> bool:
        return self.status in (self.Status.CHECKING, self.Status.IMPORTING)


class ImportRow(models.Model):
    """What one data record of the file did (or would do, in the dry run)."""

    class Outcome(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        MATCHED = "matched", "Matched, unchanged"
        ERROR = "error", "Error"

    customer_import = models.ForeignKey(
        CustomerImport, on_delete=models.CASCADE, related_name="rows"
    )
    phase = models.CharField(max_length=16, choices=CustomerImport.Phase.choices)
    line = models.PositiveIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    customer_id = models.BigIntegerField(null=True, blank=True)
    messages = models.JSONField(default=list, blank=True)
    # The original cells, kept for error rows only (the downloadable error report).
    cells = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["line"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer_import", "phase", "line"], name="spreadsheets_row_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer_import", "phase", "outcome", "line"],
                name="spreadsheets_row_outcome_idx",
            )
        ]

    def __str__(self) -> str:
        return f"line {self.line}: {self.outcome}"
