"""gunicorn settings: `gunicorn config.wsgi --config python:config.gunicorn`.

Every value can still be given on the command line or in GUNICORN_CMD_ARGS.
https://docs.gunicorn.org/en/stable/settings.html
"""

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


def child_exit(server, worker) -> None:
    """prometheus_client multiprocess mode: a dead worker's live gauges are dropped."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
