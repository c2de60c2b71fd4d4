"""Reporting reads on a PostgreSQL read replica; every write and the sweep on the primary.

`DATABASE_REPLICA_URL` adds the `replica` database. Reads go there only inside
`reporting_reads()` (the supervisor board, metrics and exports open it for their
GET requests); everything else, writes, and reads made by services (which may
lock rows with SELECT ... FOR UPDATE, impossible on a standby) stay on `default`.
Without the setting the scope changes nothing, so one code path serves both.

The scope is a context variable, so threads and async tasks never share it.
A lazy queryset evaluated after the scope closed reads the primary: correct,
only not offloaded.
"""

import contextvars
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections
from django.template.response import TemplateResponse

PRIMARY = "default"
REPLICA = "replica"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_reporting_scope: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "rapport_reporting_reads", default=False
)


def replica_configured() -> bool:
    return REPLICA in connections.databases


@contextmanager
def reporting_reads() -> Iterator[None]:
    """Reads of the ORM inside go to the replica when there is one."""
    token = _reporting_scope.set(True)
    try:
        yield
    finally:
        _reporting_scope.reset(token)


def reporting_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """A view (function or DRF method) whose safe requests read from the replica.

    Unsafe methods (a bulk reassign on the board page) run outside the scope, so
    the services they call read and lock rows on the primary.
    """

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        request = next((arg for arg in args if hasattr(arg, "method")), None)
        if request is None or request.method not in SAFE_METHODS:
            return view(*args, **kwargs)
        with reporting_reads():
            response = view(*args, **kwargs)
            # A TemplateResponse renders later: render it while the scope is open.
            # (DRF's Response is no TemplateResponse: its data is read already.)
            if isinstance(response, TemplateResponse) and not response.is_rendered:
                response.render()
            return response

    return wrapped


def reporting_database() -> str:
    """The alias reporting reads use right now (for raw SQL through `connections[...]`)."""
    if _reporting_scope.get() and replica_configured():
        return REPLICA
    return PRIMARY


class PrimaryReplicaRouter:
    """Django's router: reads in the reporting scope to the replica, all else to the primary."""

    def db_for_read(self, model, **hints) -> str:
        return reporting_database()

    def db_for_write(self, model, **hints) -> str:
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # one database, two servers: rows relate whichever server read them

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == PRIMARY  # the replica follows the primary's WAL; never migrate it


def replica_lag_seconds() -> float | None:
    """How far the replica's data is behind the primary, in seconds; None without a replica.

    0 when it has replayed everything it received (an idle primary writes no WAL,
    so "now minus the last replayed commit" alone would grow while nothing is late).
    """
    if not replica_configured():
        return None
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(
            """
            SELECT CASE
                WHEN NOT pg_is_in_recovery() THEN 0
                WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
            END
            """
        )
        return float(cursor.fetchone()[0])
