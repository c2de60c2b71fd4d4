"""Reports read from a real PostgreSQL streaming replica (issue 17).

The set-up makes its own: a throw-away primary (initdb), a standby cloned
from it with `pg_basebackup -R` (streaming replication), both on free ports,
removed afterwards. The shared server is not touched.
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.processes import ROOT, free_port

pytestmark = pytest.mark.reliability


class ThrowAwayCluster:
    def __init__(self, bindir: Path, data: Path, port: int, run_as: list[str]):
        self.bindir, self.data, self.port, self.run_as = bindir, data, port, run_as

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-l", str(self.data / "log"), "-w", "-o", options, "start")

    def stop(self) -> None:
        subprocess.run(
            [
                *self.run_as,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "stop",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=60,
        )

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture
def streaming_replica():
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdbs:
        pytest.skip("PostgreSQL server binaries are not installed")
    bindir = Path(initdbs[-1]).parent
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="rapport-replica-"))
    if run_as:
        shutil.chown(root, "postgres")
    primary = ThrowAwayCluster(bindir, root / "primary", free_port(), run_as)
    standby = ThrowAwayCluster(bindir, root / "standby", free_port(), run_as)
    try:
        subprocess.run(
            [
                *run_as,
                str(bindir / "initdb"),
                "-D",
                str(primary.data),
                "-U",
                "postgres",
                "-A",
                "trust",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=120,
        )
        primary.start()
        subprocess.run(
            [
                *run_as,
                str(bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "rapport",
            ],
            check=True,
            timeout=60,
        )
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
            cwd=ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                "DATABASE_URL": primary.url("rapport"),
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert migrate.returncode == 0, migrate.stderr
        # The standby: a base backup that writes its own primary_conninfo (-R).
        subprocess.run(
            [
                *run_as,
                str(bindir / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-D",
                str(standby.data),
                "-R",
                "-X",
                "stream",
            ],
            check=True,
            timeout=300,
        )
        standby.start()
        yield primary, standby
    finally:
        standby.stop()
        primary.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_reports_read_from_the_replica_and_everything_else_from_the_primary(streaming_replica):
    primary, standby = streaming_replica
    probe = subprocess.run(
        [sys.executable, "-m", "tests.reliability.replica_probe"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": primary.url("rapport"),
            "DATABASE_REPLICA_URL": standby.url("rapport"),
            "LOG_LEVEL": "WARNING",
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert probe.returncode == 0, probe.stderr

    result = json.loads(probe.stdout.strip().splitlines()[-1])
    # The board's counts came from the replica (and saw the promise written on the primary)...
    assert result["report_status"] == 200
    assert result["report_total"] == 1
    assert "followups_followup" in result["report_replica_tables"]
    # ...while the session and the user were read where they are written.
    assert "followups_followup" not in result["report_primary_tables"]
    assert "django_session" in result["report_primary_tables"]
    assert "django_session" not in result["report_replica_tables"]
    # A rep's page is no report: nothing of it is read from the replica.
    assert result["page_status"] == 200
    assert result["page_replica_queries"] == 0
    assert 0 <= result["lag_seconds"] < 5
