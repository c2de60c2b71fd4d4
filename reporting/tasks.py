"""Celery entry points of reporting: the metrics rollups' refresh, scheduled by beat.

The engine (followups) knows no report: beat runs this task beside the sweep.
"""

from celery import shared_task

from reporting import metrics_rollup

# The metrics rollups' refresh: touched days take well under a second; the rest
# of the budget back-fills a fresh install a chunk of days at a time.
METRICS_REFRESH_MAX_SECONDS = 40


@shared_task(name="reporting.tasks.metrics_refresh", time_limit=120, soft_time_limit=100)
def metrics_refresh() -> dict[str, int]:
    """Beat fires this every FOLLOWUP_SWEEP_SECONDS, so the metrics page's figures
    are never older than one sweep interval; safe to run twice at once."""
    result = metrics_rollup.metrics_rollup_refresh(max_seconds=METRICS_REFRESH_MAX_SECONDS)
    return {
        **{f"{name} days": days for name, days in result.days.items()},
        **{f"{name} facts": facts for name, facts in result.facts.items()},
    }
