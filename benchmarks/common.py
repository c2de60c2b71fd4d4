"""What every benchmark needs: its own PostgreSQL database and Django set up on it."""

import os
import sys
from urllib.parse import urlparse, urlunparse

import psycopg


def bench_database_url(suffix: str) -> str:
    """DATABASE_URL's database name plus `_bench_<suffix>`: never the tests' or the app's."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit(
            f"Set DATABASE_URL to a PostgreSQL database (the benchmark uses <name>_bench_{suffix})."
        )
    parts = urlparse(url)
    return urlunparse(parts._replace(path=parts.path + f"_bench_{suffix}"))


def ensure_database(url: str, *, recreate: bool) -> None:
    parts = urlparse(url)
    admin = urlunparse(parts._replace(path="/postgres"))
    name = parts.path.lstrip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and recreate:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def recreate_database(url: str) -> None:
    ensure_database(url, recreate=True)


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    # One JSON line per request would drown the figures (config/structured_logs.py).
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
