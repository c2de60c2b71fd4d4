"""Liveness and readiness probes (public contract: /healthz, /readyz).

/readyz names each cause of a 503: the database, the broker, or the sweep
falling behind (its lag past FOLLOWUP_SWEEP_LAG_THRESHOLD_SECONDS).
"""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse

from config.celery import app as celery_app
from followups.operations import engine_status

BROKER_CHECK_TIMEOUT_SECONDS = 2


def healthz(request):
    return JsonResponse({"status": "ok"})


def _database_ok() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"
        return f"{type(exc).__name__}: {exc}"
    return None


def _broker_ok() -> str | None:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # kombu raises many kinds; all mean "down"
        return f"{type(exc).__name__}: {exc}"
    return None


def _sweep_ok() -> str | None:
    """The engine is on time: no due transition has waited past the threshold."""
    threshold = settings.FOLLOWUP_SWEEP_LAG_THRESHOLD_SECONDS
    if not threshold:
        return None
    try:
        status = engine_status()
    except Exception as exc:  # the database check names the cause
        return f"{type(exc).__name__}: {exc}"
    if status.sweep_lag_seconds > threshold:
        return (
            f"sweep lag {status.sweep_lag_seconds:.0f} s exceeds {threshold} s "
            f"({status.due_count} follow-ups with a transition due and not made)"
        )
    return None


def readyz(request):
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    if checks["database"] is None:  # else the database's error already names the cause
        checks["sweep"] = _sweep_ok()
    down = [name for name, error in checks.items() if error]
    body = {
        "status": "ok" if not down else "unavailable",
        "checks": {name: (error or "ok") for name, error in checks.items()},
    }
    if down:
        body["down"] = down
    return JsonResponse(body, status=503 if down else 200)
