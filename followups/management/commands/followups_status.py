"""Is the engine on time? Sweep lag, outbox backlog, last sweep, stuck deliveries."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand

from followups import operations


class Command(BaseCommand):
    help = "Show the follow-up engine's lag, outbox backlog, last sweep and stuck deliveries."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="one JSON object instead of text")

    def handle(self, *args, **options):
        status = operations.engine_status()
        outbox = operations.outbox_report(now=status.now)
        threshold = settings.FOLLOWUP_SWEEP_LAG_THRESHOLD_SECONDS
        late = bool(threshold) and status.sweep_lag_seconds > threshold
        report = {
            "now": status.now.isoformat(),
            "sweep_lag_seconds": round(status.sweep_lag_seconds, 1),
            "sweep_lag_threshold_seconds": threshold,
            "sweep_late": late,
            "followups_due": status.due_count,
            "oldest_due_at": status.oldest_due_at.isoformat() if status.oldest_due_at else None,
            "last_sweep_at": status.last_sweep_at.isoformat() if status.last_sweep_at else None,
            "outbox_pending": status.outbox_pending,
            "outbox_oldest_pending_age_seconds": round(status.outbox_oldest_age_seconds, 1),
            "outbox_failing": status.outbox_failing,
            "outbox_failed": outbox.failed,
            "stuck_deliveries": [
                {
                    "id": row["pk"],
                    "kind": row["kind"],
                    "attempts": row["attempts"],
                    "next_attempt_at": row["next_attempt_at"].isoformat(),
                    "last_error": row["last_error"],
                }
                for row in outbox.stuck
            ],
        }
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
            return
        lag_line = f"{report['sweep_lag_seconds']} s (threshold {threshold} s)"
        self.stdout.write(f"sweep lag:        {lag_line}{'  LATE' if late else ''}")
        self.stdout.write(
            f"follow-ups due:   {status.due_count} (oldest {report['oldest_due_at']})"
        )
        self.stdout.write(f"last sweep:       {report['last_sweep_at'] or 'unknown'}")
        self.stdout.write(
            f"outbox pending:   {status.outbox_pending} "
            f"(oldest {report['outbox_oldest_pending_age_seconds']} s, "
            f"{status.outbox_failing} failing and retrying)"
        )
        self.stdout.write(f"outbox failed:    {outbox.failed} (given up; `outbox_retry --failed`)")
        self.stdout.write(f"stuck deliveries: {len(outbox.stuck)}")
        for row in report["stuck_deliveries"]:
            self.stdout.write(
                f"  #{row['id']} {row['kind']} attempts={row['attempts']} "
                f"due {row['next_attempt_at']} {row['last_error']}"
            )
