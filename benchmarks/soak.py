"""A day under load (issue 17): `make soak`, never part of `make test`.

    python -m benchmarks.soak [--minutes 10] [--reps 200] [--speed 10]

On a throw-away database `<DATABASE_URL db>_bench_soak` with the demo data,
starts what production runs — gunicorn (2 workers), a Celery worker and beat,
on the production settings — and replays a contact centre's day at `--speed`
times real pace with locust, headless (benchmarks/soak_locustfile.py): caller
lookups, searches, timelines, interactions with promises, overdue lists,
supervisors' figures, sync batches and CDR uploads, while the sweep and the
deliveries run. Every 5 s it samples the sweep lag and outbox from /metrics,
the resident memory of the web and worker processes and the database
connections in use. Writes var/bench/soak.md: p50/p95/p99 per route, errors,
sweep lag over time, RSS at start and end, connections.

Goals: rep-facing routes p99 < 300 ms, 0 errors, sweep lag never above one
sweep interval, RSS growth under 10 %.
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import bench_database_url, recreate_database, setup_django

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "var" / "bench"
REPORT = REPORTS / "soak.md"
REP_FACING = {"lookup by phone", "customer search", "timeline", "log interaction", "promise"}
GOAL_P99_MS = 300


def prepare(url: str) -> dict:
    """Demo data and one API client with every scope; what the locustfile needs."""
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from core.services import api_client_create
    from crm.access import ADMIN_GROUP
    from crm.models import ContactPoint, TeamMembership

    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: PTH123, SIM115
    issued = api_client_create(
        name="soak",
        scopes=[
            "customers:read",
            "customers:write",
            "interactions:read",
            "interactions:write",
            "followups:read",
            "followups:write",
        ],
        rate_limit="1000000/m",
    )
    # The supervisors' figures are read by the same client: an admin's view (all teams).
    issued.client.user.groups.add(Group.objects.get_or_create(name=ADMIN_GROUP)[0])
    phones = ContactPoint.objects.filter(kind="phone").select_related("customer")
    customers = [
        {"id": point.customer_id, "name": point.customer.full_name, "phone": point.value}
        for point in phones.order_by("pk")[:400]
    ]
    reps = list(
        TeamMembership.objects.filter(role="rep").values_list("user_id", flat=True).distinct()
    )
    assert customers, "seed_demo made no customers"
    assert reps, "seed_demo made no reps"
    return {"secret": issued.secret, "customers": customers, "reps": reps}


def rss_kb(pid: int) -> int:
    """Resident memory of a process and all its children (gunicorn/celery workers)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status") as status:  # noqa: PTH123
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            with open(f"/proc/{current}/task/{current}/children") as children:  # noqa: PTH123
                pending.extend(int(child) for child in children.read().split())
        except OSError:
            continue
    return total


class Sampler(threading.Thread):
    def __init__(self, web, worker_pid: int, database: str, interval: float = 5):
        super().__init__(daemon=True)
        self.web, self.worker_pid, self.database, self.interval = (
            web,
            worker_pid,
            database,
            interval,
        )
        self.samples: list[dict] = []
        self.stopped = threading.Event()

    def sample(self) -> dict:
        from django.db import connection
        from prometheus_client.parser import text_string_to_metric_families

        values = {}
        try:
            text = self.web.get("/metrics")[1]
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if not sample.labels:
                        values[sample.name] = sample.value
        except (OSError, ValueError):
            pass
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [self.database]
            )
            (connections,) = cursor.fetchone()
        return {
            "t": time.monotonic(),
            "lag": values.get("rapport_followups_sweep_lag_seconds"),
            "outbox": values.get("rapport_outbox_pending"),
            "web_rss_kb": rss_kb(self.web.process.pid),
            "worker_rss_kb": rss_kb(self.worker_pid),
            "connections": connections,
        }

    def run(self) -> None:
        while not self.stopped.is_set():
            self.samples.append(self.sample())
            self.stopped.wait(self.interval)


def percentiles(stats_csv: Path) -> list[dict]:
    with stats_csv.open() as handle:
        return [row for row in csv.DictReader(handle) if row["Name"] != "Aggregated"]


def main() -> int:  # noqa: PLR0915
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", 10)))
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--speed", type=float, default=10)
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        sys.exit("Set REDIS_URL: the soak runs the real broker.")

    url = bench_database_url("soak")
    recreate_database(url)
    setup_django(url)
    from tests.processes import CeleryProcess, GunicornProcess

    data = prepare(url)
    work = Path(tempfile.mkdtemp(prefix="rapport-soak-"))
    (work / "metrics").mkdir()
    data_file = work / "data.json"
    data_file.write_text(json.dumps(data))
    sweep_seconds = max(6, round(60 / args.speed))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "soak-" + "0a1b2c3d" * 6,
        "DEBUG": "false",
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "FOLLOWUP_SWEEP_SECONDS": str(sweep_seconds),
        "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics"),
        "STATIC_ROOT": str(work / "static"),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    web = GunicornProcess(work / "web.log", env, workers=2)
    worker = CeleryProcess("worker", work / "worker.log", env, ["--concurrency=2"])
    beat = CeleryProcess("beat", work / "beat.log", env, [])
    sampler = None
    try:
        web.wait_until_up()
        time.sleep(5)  # the worker and beat connect meanwhile; the sweep catches up anyway
        sampler = Sampler(web, worker.process.pid, url.rsplit("/", 1)[-1])
        sampler.start()
        users = args.reps + max(1, args.reps // 20) + 2
        started = time.monotonic()
        locust = subprocess.run(
            [
                str(Path(sys.executable).with_name("locust")),
                "-f",
                str(ROOT / "benchmarks" / "soak_locustfile.py"),
                "--headless",
                "--only-summary",
                "-u",
                str(users),
                "-r",
                str(max(1, users // 10)),
                "--run-time",
                f"{int(args.minutes * 60)}s",
                "--host",
                web.url,
                "--csv",
                str(work / "soak"),
            ],
            cwd=ROOT,
            env={**env, "SOAK_DATA": str(data_file), "SOAK_SPEED": str(args.speed)},
            capture_output=True,
            text=True,
        )
        elapsed = time.monotonic() - started
    finally:
        if sampler is not None:
            sampler.stopped.set()
            sampler.join(timeout=10)
        web.stop()
        worker.stop()
        beat.stop()
    if locust.returncode not in (0, 1):  # 1: some requests failed, reported below
        print(locust.stderr[-3000:])
        return 1

    rows = percentiles(work / "soak_stats.csv")
    samples = sampler.samples
    lags = [s["lag"] for s in samples if s["lag"] is not None]
    first, last = samples[1] if len(samples) > 1 else samples[0], samples[-1]
    growth = {
        kind: (last[f"{kind}_rss_kb"] - first[f"{kind}_rss_kb"]) / max(first[f"{kind}_rss_kb"], 1)
        for kind in ("web", "worker")
    }
    failures = sum(int(row["Failure Count"]) for row in rows)
    requests = sum(int(row["Request Count"]) for row in rows)
    slow = [
        row["Name"]
        for row in rows
        if row["Name"] in REP_FACING and float(row["99%"] or 0) >= GOAL_P99_MS
    ]
    lines = [
        "# A day under load (issue 17)",
        "",
        f"Run {datetime.now(tz=UTC):%Y-%m-%d %H:%M} UTC: {args.minutes:g} minutes at {args.speed:g}x "
        f"a working day's pace, {args.reps} reps, on production settings (gunicorn 2 workers, "
        f"one Celery worker with 2 processes, beat every {sweep_seconds} s), locust headless on "
        f"the same 2 shared cores (load average {', '.join(f'{v:.1f}' for v in os.getloadavg())}).",
        "",
        f"Requests: {requests:,} in {elapsed:.0f} s; errors: **{failures}** (goal 0).",
        "",
        "| route | requests | errors | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {row['Name']} | {row['Request Count']} | {row['Failure Count']} | {row['50%']} "
            f"| {row['95%']} | {row['99%']} |"
            for row in rows
        ),
        "",
        f"- Rep-facing routes with p99 >= {GOAL_P99_MS} ms: {', '.join(slow) or 'none'}.",
        f"- Sweep lag (every 5 s): max {max(lags, default=0):.0f} s, median "
        f"{statistics.median(lags) if lags else 0:.0f} s; interval {sweep_seconds} s "
        f"({'met' if max(lags, default=0) <= sweep_seconds else 'NOT met'}: never above one interval).",
        f"- Outbox pending at the end: {last['outbox']}.",
        f"- RSS web (gunicorn master + workers): {first['web_rss_kb'] / 1024:.0f} MB -> "
        f"{last['web_rss_kb'] / 1024:.0f} MB ({growth['web'] * 100:+.1f} %); worker: "
        f"{first['worker_rss_kb'] / 1024:.0f} MB -> {last['worker_rss_kb'] / 1024:.0f} MB "
        f"({growth['worker'] * 100:+.1f} %) (goal under 10 %).",
        f"- Database connections in use: max {max(s['connections'] for s in samples)}.",
        "",
        "Sweep lag over time (s): " + " ".join(f"{lag:.0f}" for lag in lags),
    ]
    REPORTS.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
