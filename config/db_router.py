"""Reporting reads on a PostgreSQL streaming replica, when DATABASE_REPLICA_URL is set.

Only the supervisors' reports read from the replica: GET and HEAD requests
under `REPLICA_READ_PATHS` (the board, the escalations inbox, the metrics
pages and their CSV exports, `/api/v1/metrics/`), and there only the tables
of the business apps. Everything else — every write, the sweep, deliveries,
sessions, users, API clients, audit — stays on the primary ("default"), so a
replica that lags never logs anyone out or hides a row someone just wrote on
a page that then writes. A replica's lag is on `/metrics`
(`rapport_database_replica_lag_seconds`).

https://docs.djangoproject.com/en/5.2/topics/db/multi-db/#automatic-database-routing
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connections

REPLICA = "replica"
# Tables a report reads; sessions, auth, axes and core (API clients, audit,
# idempotency) are read where they are written.
REPLICA_APPS = frozenset({"crm", "interactions", "followups", "reporting"})

_reads_from_replica: ContextVar[bool] = ContextVar("rapport_replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads() -> Iterator[None]:
    """Inside: reads of the business apps' tables go to the replica (if any)."""
    token = _reads_from_replica.set(True)
    try:
        yield
    finally:
        _reads_from_replica.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if (
            _reads_from_replica.get()
            and model._meta.app_label in REPLICA_APPS
            and replica_configured()
        ):
            return REPLICA
        return None  # Django's own choice: the instance's database, else default

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica is a copy of the primary: the same rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


class ReplicaReadsMiddleware:
    """Report pages (GET/HEAD under REPLICA_READ_PATHS) read from the replica."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.method in ("GET", "HEAD")
            and replica_configured()
            and request.path.startswith(tuple(settings.REPLICA_READ_PATHS))
        ):
            with replica_reads():
                return self.get_response(request)
        return self.get_response(request)


def replica_lag_seconds() -> float | None:
    """How far the replica's replay is behind: 0 when it has replayed all it has
    received, else the age of the last transaction it replayed. None without one."""
    if not replica_configured():
        return None
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 "
            "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
            "ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END"
        )
        return float(cursor.fetchone()[0])
