"""Prometheus metrics at `/metrics` (protected), correct with many processes.

Three kinds of figures, each where it can be right:

- Request latency and count by route and status, and Celery task outcomes,
  are counted in the process that did the work. With several gunicorn workers
  (and Celery's prefork children) each process writes its own memory-mapped
  file in `PROMETHEUS_MULTIPROC_DIR` (prometheus_client's multiprocess mode),
  and `/metrics`, whichever worker answers, adds up every file. The variable
  must be set in the environment before the process starts, the directory
  shared by the web and worker processes of one host and emptied when they
  are (re)started (docs/operations.md).
  https://prometheus.github.io/client_python/multiprocess/
- The engine's gauges (sweep lag, outbox backlog, failing deliveries, last
  sweep) are read from the database at scrape time (`followups.operations`),
  so every process answers the same and nothing has to be kept in step.

Who may scrape: a request carrying `Authorization: Bearer <METRICS_TOKEN>`
(when that setting is set) or coming from an address in
`METRICS_ALLOWED_NETWORKS` (default: loopback only). Anyone else gets 403.
"""

import hmac
import ipaddress
import logging
import os
import time
from functools import cache

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

# Rep-facing pages aim at p99 < 300 ms (issue 17): buckets are dense there.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Histogram(
    "rapport_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern, method and status.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
CELERY_TASKS = Counter(
    "rapport_celery_tasks",
    "Celery task runs by task name and outcome (success, failure, retry, ...).",
    ["task", "outcome"],
)
CELERY_TASK_DURATION = Histogram(
    "rapport_celery_task_duration_seconds",
    "Run time of Celery tasks by task name.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 120.0, 300.0),
)

UNMATCHED_ROUTE = "<unmatched>"


# --- requests ---------------------------------------------------------------------


class RequestMetricsMiddleware:
    """First in MIDDLEWARE: times everything the other middleware and the view do.

    The route label is the URL pattern (`api/v1/customers/<int:pk>/`), never the
    path, so ids do not multiply the series.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.route or match.view_name) if match else UNMATCHED_ROUTE
        HTTP_REQUESTS.labels(
            route=route or UNMATCHED_ROUTE, method=request.method, status=str(response.status_code)
        ).observe(time.perf_counter() - started)
        return response


# --- Celery -------------------------------------------------------------------------

_task_started: dict[str, float] = {}


def task_started(task_id=None, **kwargs) -> None:
    if task_id:
        _task_started[task_id] = time.perf_counter()


def task_finished(task_id=None, task=None, state=None, **kwargs) -> None:
    name = getattr(task, "name", None) or "unknown"
    CELERY_TASKS.labels(task=name, outcome=(state or "unknown").lower()).inc()
    started = _task_started.pop(task_id, None) if task_id else None
    if started is not None:
        CELERY_TASK_DURATION.labels(task=name).observe(time.perf_counter() - started)


def connect_celery_signals() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(task_started, weak=False, dispatch_uid="rapport-metrics-prerun")
    task_postrun.connect(task_finished, weak=False, dispatch_uid="rapport-metrics-postrun")


# --- the engine, from the database --------------------------------------------------


class EngineCollector:
    """Gauges computed at scrape time from two index-backed aggregates."""

    def describe(self):
        return []  # no database query when registered

    def collect(self):
        from followups.operations import engine_status

        try:
            status = engine_status()
        except Exception:  # database down: say so instead of failing the scrape
            logger.exception("Engine gauges could not be read")
            yield GaugeMetricFamily(
                "rapport_engine_up", "1 when the engine's gauges could be read.", value=0
            )
            return
        yield GaugeMetricFamily(
            "rapport_engine_up", "1 when the engine's gauges could be read.", value=1
        )
        yield GaugeMetricFamily(
            "rapport_followups_sweep_lag_seconds",
            "Now minus the oldest due transition (remind, overdue, escalate) not yet made.",
            value=status.sweep_lag_seconds,
        )
        yield GaugeMetricFamily(
            "rapport_followups_due",
            "Open follow-ups with a transition due and not yet made.",
            value=status.due_count,
        )
        yield GaugeMetricFamily(
            "rapport_outbox_pending",
            "E-mail notifications waiting to be delivered.",
            value=status.outbox_pending,
        )
        yield GaugeMetricFamily(
            "rapport_outbox_oldest_pending_age_seconds",
            "Age of the oldest e-mail notification waiting to be delivered.",
            value=status.outbox_oldest_age_seconds,
        )
        yield GaugeMetricFamily(
            "rapport_outbox_failing",
            "Pending e-mail notifications whose last delivery attempt failed (retrying).",
            value=status.outbox_failing,
        )
        yield GaugeMetricFamily(
            "rapport_followups_sweep_interval_seconds",
            "How often beat runs the sweep (FOLLOWUP_SWEEP_SECONDS).",
            value=settings.FOLLOWUP_SWEEP_SECONDS,
        )
        yield from _replica_gauge()
        if status.last_sweep_at is not None:
            yield GaugeMetricFamily(
                "rapport_followups_last_sweep_timestamp_seconds",
                "Unix time the last sweep finished.",
                value=status.last_sweep_at.timestamp(),
            )


def _replica_gauge():
    from core.db_routing import replica_configured, replica_lag_seconds

    if not replica_configured():
        return
    try:
        lag = replica_lag_seconds()
    except Exception:  # the replica is down: reports fall back to nothing, say so
        logger.exception("Replica lag could not be read")
        lag = -1.0
    yield GaugeMetricFamily(
        "rapport_database_replica_lag_seconds",
        "How far the read replica's replay is behind (-1: unreachable).",
        value=lag,
    )


@cache
def _engine_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EngineCollector())
    return registry


def render() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    return generate_latest(processes) + generate_latest(_engine_registry())


# --- the view ---------------------------------------------------------------------


def _allowed_networks() -> tuple:
    return tuple(
        ipaddress.ip_network(network, strict=False) for network in settings.METRICS_ALLOWED_NETWORKS
    )


def scrape_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
            return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in _allowed_networks())


@require_GET
def metrics_view(request):
    if not scrape_allowed(request):
        return JsonResponse(
            {
                "code": "forbidden",
                "detail": "Metrics need the metrics token or an allowed address.",
            },
            status=403,
        )
    return HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
