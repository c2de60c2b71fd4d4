"""Liveness and readiness probes (public contract: /healthz, /readyz)."""

from django.db import connection
from django.http import JsonResponse

from config.celery import app as celery_app

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


def readyz(request):
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    down = [name for name, error in checks.items() if error]
    body = {
        "status": "ok" if not down else "unavailable",
        "checks": {name: (error or "ok") for name, error in checks.items()},
    }
    if down:
        body["down"] = down
    return JsonResponse(body, status=503 if down else 200)
