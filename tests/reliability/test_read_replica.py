"""Reporting reads on a real streaming replica (pg_basebackup -R from a throw-away primary)."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.reliability import postgres_servers

pytestmark = pytest.mark.reliability


@pytest.fixture(scope="module")
def primary_and_replica():
    folder = postgres_servers.workspace("replica")
    primary = postgres_servers.primary(folder)
    replica = None
    try:
        subprocess.run(
            [
                f"{postgres_servers.bin_dir()}/psql",
                primary.url("postgres"),
                "-qc",
                "CREATE DATABASE rapport",
            ],
            check=True,
            capture_output=True,
        )
        env = _env(primary.url("rapport"))
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
            cwd=postgres_servers.ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        replica = postgres_servers.streaming_replica(folder, of=primary)
        yield primary, replica
    finally:
        if replica is not None:
            replica.stop()
        primary.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def _team_overdue(html: str) -> int:
    """The team row's total overdue count on the board page."""
    row = re.search(r'<tr class="team-row".*?</tr>', html, re.S)
    assert row, html[-2000:]
    cell = re.search(r'data-column="total">.*?>(\d+)<', row.group(0), re.S)
    assert cell, row.group(0)
    return int(cell.group(1))


def test_reporting_reads_follow_the_replica_and_writes_stay_on_the_primary(primary_and_replica):
    primary, replica = primary_and_replica
    probe = subprocess.run(
        [sys.executable, "-m", "tests.reliability.replica_probe"],
        cwd=postgres_servers.ROOT,
        env=_env(primary.url("rapport"), DATABASE_REPLICA_URL=replica.url("rapport")),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    line = next(line for line in probe.stdout.splitlines() if line.startswith("PROBE "))
    seen = json.loads(line.removeprefix("PROBE "))

    assert seen["alias_in_scope"] == "replica"
    assert seen["alias_outside"] == "default"
    # Replay paused: the primary has the fourth promise, the reporting scope does not yet.
    assert seen["primary_count"] == 4
    assert seen["replica_count_while_paused"] == 3
    assert seen["lag_while_paused"] > 0
    assert seen["write_in_scope_on_primary"] is True
    assert seen["replica_count_after_resume"] == 4
    assert seen["lag_after_resume"] == 0
    # The Prometheus gauge an operator alerts on says the same.
    assert seen["scraped_lag_while_paused"] is not None
    assert seen["scraped_lag_while_paused"] > 0
    assert seen["scraped_lag_after_resume"] == 0
    # The board page itself read the replica: 3 overdue while paused, 4 after.
    assert seen["board_status_while_paused"] == 200
    assert _team_overdue(seen["board_html_while_paused"]) == 3
    assert _team_overdue(seen["board_html_after_resume"]) == 4
    # The metrics page and API answer from the replica and the page says so.
    assert seen["metrics_status"] == 200
    assert seen["metrics_says_replica"] is True
    assert seen["metrics_api_status"] == 200
