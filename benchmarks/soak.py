"""A day under load (`make soak`): a 200-rep contact centre's traffic at 10x speed.

gunicorn (4 workers, README's production command), a Celery worker and beat run
against a fresh PostgreSQL database and Redis while locust (headless) replays
the day: reps searching, opening customers, reading timelines, logging contacts
and promises due within minutes; the phone system popping caller ids and
syncing call records back to back; supervisors on the board and the metrics.
The sweep meanwhile reminds and marks overdue the promises falling due.

Reported (var/bench/soak.md): p50/p95/p99 and errors per route, the sweep lag
sampled every 5 s (goal: never above one sweep interval), RSS of the web and
worker processes after warm-up and at the end (goal: growth under 10%), the database
connections used, and the sync client's throughput against its rate measured
alone in the same run (goal >= 50%). Goal for rep-facing pages and lookups:
p99 < 300 ms.

    python -m benchmarks.soak --seconds 600        # the issue's 10 minutes
    python -m benchmarks.soak --seconds 60 --customers 1000   # a quick look
"""

import argparse
import csv
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

from benchmarks.common import bench_database_url, recreate_database, setup_django

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "var" / "bench"
PASSWORD = "soak-password"  # noqa: S105 - a throw-away database's demo users
REP_FACING = {
    "customer search page",
    "customer page",
    "/api/v1/customers/{id}/timeline/",
    "/api/v1/interactions/ (create)",
    "/api/v1/followups/ (create)",
    "my day",
    "/api/v1/lookup/",
}
SYNC_ROUTE = "/api/v1/interactions/sync/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def generate(*, reps: int, supervisors: int, customers: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from core.services import api_client_create
    from crm.models import Team, TeamMembership
    from crm.services import customer_create

    user_model = get_user_model()
    teams = [Team.objects.create(name=f"Soak team {n + 1}") for n in range(10)]
    password = make_password(PASSWORD)
    users = user_model.objects.bulk_create(
        [user_model(username=f"rep{n}", password=password) for n in range(reps)]
        + [user_model(username=f"sup{n}", password=password) for n in range(supervisors)]
    )
    rep_users, supervisor_users = users[:reps], users[reps:]
    TeamMembership.objects.bulk_create(
        [
            TeamMembership(user=user, team=teams[n % len(teams)], role=TeamMembership.Role.REP)
            for n, user in enumerate(rep_users)
        ]
        + [
            TeamMembership(
                user=user, team=teams[n % len(teams)], role=TeamMembership.Role.SUPERVISOR
            )
            for n, user in enumerate(supervisor_users)
        ]
    )
    rows = []
    last_names = [
        "Okafor",
        "Lindqvist",
        "Tanaka",
        "Moreau",
        "Kowalski",
        "Haddad",
        "Silva",
        "Brennan",
    ]
    first_names = [
        "Ada",
        "Bruno",
        "Chiara",
        "Dev",
        "Elena",
        "Farid",
        "Grace",
        "Hiro",
        "Ines",
        "Jonas",
    ]
    rng = random.Random(7)  # noqa: S311
    for n in range(customers):
        first, last = rng.choice(first_names), f"{rng.choice(last_names)}{n}"
        phone = f"+1415{5000000 + n:07d}"
        customer = customer_create(
            full_name=f"{first} {last}", phones=[phone], time_zone="America/New_York"
        )
        rows.append({"id": customer.pk, "last_name": last, "phone": phone})
    issued = api_client_create(
        name="soak-pbx",
        scopes=[
            "customers:read",
            "customers:write",
            "interactions:read",
            "interactions:write",
            "followups:read",
            "followups:write",
        ],
        rate_limit="100000/m",
    )
    return {
        "password": PASSWORD,
        "reps": [user.username for user in rep_users],
        "rep_ids": {user.username: user.pk for user in rep_users},
        "supervisors": [user.username for user in supervisor_users],
        "customers": rows,
        "api_secret": issued.secret,
    }


class Processes:
    def __init__(self, env: dict, port: int, sweep_seconds: int) -> None:
        bin_dir = ROOT / ".venv" / "bin"
        logs = REPORTS / "soak-logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.env = env
        self.procs = {}
        commands = {
            "web": [str(bin_dir / "gunicorn"), "config.wsgi", "--workers", "4", "--bind", f"127.0.0.1:{port}"],
            "worker": [str(bin_dir / "celery"), "-A", "config", "worker", "--concurrency", "2",
                       "--hostname", "soak@%h", "--without-gossip", "--without-mingle", "-l", "WARNING"],
            "beat": [str(bin_dir / "celery"), "-A", "config", "beat", "-l", "WARNING",
                     "--schedule", str(logs / "beat-schedule")],
        }  # fmt: skip
        for role, command in commands.items():
            self.procs[role] = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=open(logs / f"{role}.log", "w"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError("gunicorn did not start")

    def rss_mb(self) -> dict[str, float]:
        sizes = {}
        for role, proc in self.procs.items():
            try:
                parent = psutil.Process(proc.pid)
                tree = [parent, *parent.children(recursive=True)]
                sizes[role] = sum(p.memory_info().rss for p in tree if p.is_running()) / 2**20
            except psutil.NoSuchProcess:
                sizes[role] = 0.0
        return sizes

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


class Sampler(threading.Thread):
    """Every 5 s: the sweep lag, promises due, database connections, RSS."""

    def __init__(self, url: str, processes: Processes) -> None:
        super().__init__(daemon=True)
        self.url, self.processes = url, processes
        self.samples: list[dict] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        import psycopg

        started = time.monotonic()
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stopping.wait(5):
                lag, due = conn.execute(
                    "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(next_action_at)), 0), count(*) "
                    "FROM followups_followup WHERE status = 'open' AND next_action_at <= now()"
                ).fetchone()
                (connections,) = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                ).fetchone()
                self.samples.append(
                    {
                        "t": round(time.monotonic() - started),
                        "sweep_lag_s": float(lag),
                        "due": due,
                        "db_connections": connections - 1,  # less the sampler's own
                        "rss_mb": self.processes.rss_mb(),
                    }
                )


def run_locust(
    *, host: str, data_file: Path, seconds: int, users: int, classes: list[str], prefix: str
) -> dict:
    csv_prefix = REPORTS / prefix
    command = [
        str(ROOT / ".venv" / "bin" / "locust"), "-f", str(ROOT / "benchmarks" / "soak_locustfile.py"),
        "--headless", "--host", host, "--users", str(users), "--spawn-rate", "20",
        "--run-time", f"{seconds}s", "--csv", str(csv_prefix), "--only-summary",
        "--stop-timeout", "10", "--loglevel", "WARNING", *classes,
    ]  # fmt: skip
    with open(REPORTS / "soak-logs" / f"{prefix}-locust.log", "w") as log:
        subprocess.run(
            command,
            cwd=ROOT,
            env={**os.environ, "SOAK_DATA": str(data_file)},
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    routes = {}
    with open(f"{csv_prefix}_stats.csv") as stats:
        for row in csv.DictReader(stats):
            routes[row["Name"]] = row
    return routes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--supervisors", type=int, default=20)
    parser.add_argument("--rep-users", type=int, default=40, help="concurrent rep sessions")
    parser.add_argument("--supervisor-users", type=int, default=10)
    parser.add_argument("--screen-pops", type=int, default=4)
    parser.add_argument("--sweep-seconds", type=int, default=30)
    parser.add_argument("--sync-batch", type=int, default=100)
    parser.add_argument("--isolated-seconds", type=int, default=30)
    args = parser.parse_args()

    REPORTS.mkdir(parents=True, exist_ok=True)
    url = bench_database_url("soak")
    recreate_database(url)
    os.environ["FOLLOWUP_SWEEP_SECONDS"] = str(args.sweep_seconds)
    setup_django(url)
    started = time.monotonic()
    data = generate(reps=args.reps, supervisors=args.supervisors, customers=args.customers)
    data["sync_batch"] = args.sync_batch
    generation_seconds = time.monotonic() - started
    data_file = REPORTS / "soak-data.json"
    data_file.write_text(json.dumps(data))

    port = free_port()
    host = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.soak_settings",
        "DATABASE_URL": url,
        "FOLLOWUP_SWEEP_SECONDS": str(args.sweep_seconds),
        "PYTHONUNBUFFERED": "1",
    }
    processes = Processes(env, port, args.sweep_seconds)
    try:
        time.sleep(5)
        isolated = run_locust(host=host, data_file=data_file, seconds=args.isolated_seconds,
                              users=1, classes=["Sync"], prefix="soak-isolated")  # fmt: skip
        sampler = Sampler(url, processes)
        sampler.start()
        users = args.rep_users + args.supervisor_users + args.screen_pops + 1
        routes = run_locust(host=host, data_file=data_file, seconds=args.seconds, users=users,
                            classes=["Rep", "Supervisor", "ScreenPop", "Sync"], prefix="soak")  # fmt: skip
        sampler.stopping.set()
        sampler.join()
        rss_end = processes.rss_mb()
    finally:
        processes.stop()
    # "Start" is after a warm-up (a fifth of the run, at most a minute): the first
    # requests import modules and fill caches; growth after that is what leaks.
    warm = min(60, args.seconds // 5)
    rss_start = next(
        (sample["rss_mb"] for sample in sampler.samples if sample["t"] >= warm), rss_end
    )
    write_report(args, routes, isolated, sampler.samples, rss_start, rss_end, generation_seconds)


def _number(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def write_report(args, routes, isolated, samples, rss_start, rss_end, generation_seconds) -> None:
    lines = [
        "## soak: a day under load",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC for {args.seconds} s; {args.reps} reps "
        f"({args.rep_users} sessions, one contact each every 10 s), {args.supervisor_users} "
        f"supervisors, {args.screen_pops} screen-pop clients, one sync client back to back "
        f"({args.sync_batch} records a batch); {args.customers} customers (made in "
        f"{generation_seconds:.0f} s); gunicorn 4 workers, Celery worker (2), beat; sweep every "
        f"{args.sweep_seconds} s. Load average at the end: "
        + " / ".join(f"{value:.1f}" for value in os.getloadavg())
        + ".",
        "",
        "| route | requests | errors | p50 ms | p95 ms | p99 ms | rep-facing p99 < 300 ms |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    total_errors = 0
    worst_rep_p99 = 0.0
    for name, row in sorted(routes.items()):
        if name == "Aggregated":
            continue
        p99 = _number(row.get("99%"))
        errors = int(_number(row.get("Failure Count")))
        total_errors += errors
        verdict = ""
        if name in REP_FACING:
            worst_rep_p99 = max(worst_rep_p99, p99)
            verdict = "met" if p99 < 300 else "**missed**"
        lines.append(
            f"| {name} | {int(_number(row.get('Request Count')))} | {errors} | "
            f"{_number(row.get('50%')):.0f} | {_number(row.get('95%')):.0f} | {p99:.0f} | {verdict} |"
        )
    lag_max = max((sample["sweep_lag_s"] for sample in samples), default=0.0)
    isolated_rate = _number(isolated.get(SYNC_ROUTE, {}).get("Requests/s")) * args.sync_batch
    soak_rate = _number(routes.get(SYNC_ROUTE, {}).get("Requests/s")) * args.sync_batch
    ratio = soak_rate / isolated_rate if isolated_rate else 0.0
    growth = {
        role: (rss_end[role] - rss_start[role]) / rss_start[role] if rss_start.get(role) else 0.0
        for role in rss_start
    }
    connections_max = max((sample["db_connections"] for sample in samples), default=0)
    lines += [
        "",
        f"- Errors: {total_errors} (goal 0).",
        f"- Worst rep-facing p99: {worst_rep_p99:.0f} ms (goal < 300 ms).",
        f"- Sweep lag: at most {lag_max:.1f} s over {len(samples)} samples (goal <= "
        f"{args.sweep_seconds} s, one interval): "
        + ("met" if lag_max <= args.sweep_seconds else "**missed**")
        + ".",
        f"- Sync: {soak_rate:.0f} records/s under the soak against {isolated_rate:.0f} records/s "
        f"alone, {ratio:.0%} (goal >= 50%).",
        "- RSS after warm-up and at the end: "
        + ", ".join(
            f"{role} {rss_start[role]:.0f} -> {rss_end[role]:.0f} MB ({growth[role]:+.0%})"
            for role in rss_start
        )
        + " (goal: growth under 10%).",
        f"- Database connections used: at most {connections_max}.",
        "",
        "Sweep lag over time (s since start: lag s, promises due):",
        "",
        " ".join(f"{s['t']}:{s['sweep_lag_s']:.0f}/{s['due']}" for s in samples),
        "",
    ]
    (REPORTS / "soak.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
