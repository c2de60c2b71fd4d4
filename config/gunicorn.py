"""gunicorn settings: `gunicorn config.wsgi --config python:config.gunicorn`.

Every value can still be given on the command line or in GUNICORN_CMD_ARGS.
https://docs.gunicorn.org/en/stable/settings.html
"""

import gc
import os

# Two workers per core is gunicorn's rule of thumb for I/O-bound Django views;
# each worker holds one PostgreSQL connection (CONN_MAX_AGE keeps it open).
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")  # noqa: S104 (behind the proxy)
# A request longer than this is killed and answered 502 by the proxy.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# Workers are recycled now and then, so a slow leak cannot grow without bound.
max_requests = 5000
max_requests_jitter = 500
# No access log: it would print query strings (`lookup/?phone=...` is personal
# data). The application logs one JSON line per request (config/structured_logs.py).
accesslog = None
# Should an operator turn it on (`--access-logfile -`), it logs method and path
# only: no query string (`%(U)s`, not `%(r)s`), no referrer (which repeats such URLs).
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(D)sus "%(a)s"'


def child_exit(server, worker) -> None:
    """prometheus_client multiprocess mode: a dead worker's live gauges are dropped."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:
    """The application is loaded: its modules, settings and class objects live as long
    as the worker. Frozen, the cyclic collector stops walking them at every full
    collection, which otherwise paused a request now and then for tens of ms (the
    p99 of the caller lookup, benchmarks/sync.py). https://docs.python.org/3/library/gc.html#gc.freeze"""
    gc.freeze()
