"""A day under load (`make soak`): a 200-rep contact centre's traffic at 10x speed.

gunicorn (the production command: config/gunicorn.py, `--web-workers` workers, and
the bulk pool for batch uploads at a lower CPU priority, as docs/operations.md
deploys them), a Celery worker and beat run against a fresh PostgreSQL database and
Redis while
locust (headless) replays the day as browsers and integrations make it
(benchmarks/soak_locustfile.py says how the rate and mix are derived): reps
searching, opening customers (the page and the fragments it loads), logging
contacts with the page's form and promises due within minutes; the phone system
popping caller ids, uploading CDR lines and syncing call records back to back;
supervisors on the board and the metrics. The sweep meanwhile reminds and marks
overdue the promises falling due.

Reported (var/bench/soak.md): p50/p95/p99, rate and errors per route with who waits
for it, the sweep lag sampled every 5 s (goal: never above one sweep interval),
memory (PSS) of the web and worker processes after warm-up and at the end (goal:
growth under 10%), the database connections used, the sync client's throughput against
its rate measured alone in the same run (goal >= 50%), where the machine's CPU
went (web, database, worker, the load generator itself, everything else) and the
load average. Goal for rep-facing pages and lookups: p99 < 300 ms.

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
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import psutil

from benchmarks.common import bench_database_url, recreate_database, setup_django

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "var" / "bench"
# Each request of the mixed run (soak_locustfile.py): end time, route, ms waited, failed.
REQUEST_LOG = REPORTS / "soak-requests.tsv"
TIMELINE_SECONDS = 10
PASSWORD = "soak-password"  # noqa: S105 - a throw-away database's demo users
# Who waits for each route (the goal p99 < 300 ms is the reps'); everything a rep's
# browser loads for its pages counts, the nav's fragments included.
AUDIENCE = {
    "customer search page": "rep",
    "customer page": "rep",
    "log form": "rep",
    "promises panel": "rep",
    "timeline panel": "rep",
    "log form (post)": "rep",
    "my day": "rep",
    "nav bell": "rep, supervisor",
    "/api/v1/lookup/": "rep (screen-pop)",
    "login page": "rep, supervisor (sign-in, once a session)",
    "login": "rep, supervisor (sign-in, once a session)",
    "board page": "supervisor",
    "metrics page": "supervisor",
}
REP_FACING = {
    name for name, who in AUDIENCE.items() if who.startswith("rep") and "sign-in" not in who
}
SYNC_ROUTE = "/api/v1/interactions/sync/"
# The bulk pool's niceness: the kernel then gives it about a tenth of a core's share
# while the reps' pool wants the CPU (CFS weights 110 against 1024), all of it otherwise.
BULK_NICE = 10


# Without autovacuum (some shared test servers turn it off) the planner would plan
# every query of the run on the empty tables' statistics, and every GIN index
# (the trigram ones of name search and duplicates) would keep each inserted row
# in its pending list, scanned linearly on every use: no production database
# looks like that. The sampler then runs VACUUM ANALYZE this often, as
# autovacuum would (it vacuums inserted-into tables too, since PostgreSQL 13).
VACUUM_EVERY_SECONDS = 60


def autovacuum_is_on(conn) -> bool:
    (setting,) = conn.execute("SHOW autovacuum").fetchone()
    return setting == "on"


def refresh_statistics() -> str:
    """VACUUM ANALYZE the generated data (as autovacuum would before the first busy hour)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SHOW autovacuum")
        (autovacuum,) = cursor.fetchone()
    if autovacuum == "on":
        return "VACUUM ANALYZE after generating the data; autovacuum on during the run."
    return (
        "VACUUM ANALYZE after generating the data; autovacuum is off on this server, so "
        f"the sampler runs VACUUM ANALYZE every {VACUUM_EVERY_SECONDS} s in its place, at "
        "autovacuum's pace (cost delay 2 ms per 200 units)."
    )


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
    from interactions.models import AsteriskSource

    user_model = get_user_model()
    teams = [Team.objects.create(name=f"Soak team {n + 1}") for n in range(10)]
    password = make_password(PASSWORD)
    users = user_model.objects.bulk_create(
        # With addresses: reminders and overdue notices are e-mailed, as to real reps.
        [
            user_model(username=f"rep{n}", email=f"rep{n}@soak.example", password=password)
            for n in range(reps)
        ]
        + [
            user_model(username=f"sup{n}", email=f"sup{n}@soak.example", password=password)
            for n in range(supervisors)
        ]
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
    AsteriskSource.objects.create(name="soak-pbx")
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
    def __init__(
        self, env: dict, port: int, *, web_workers: int, web_threads: int, bulk: tuple[int, int]
    ) -> None:
        bin_dir = ROOT / ".venv" / "bin"
        logs = REPORTS / "soak-logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.env = {
            **env,
            "WEB_CONCURRENCY": str(web_workers),
            "GUNICORN_BIND": f"127.0.0.1:{port}",
        }
        if web_threads > 1:
            # gunicorn's own environment variable: gthread workers, this many threads each.
            self.env["GUNICORN_CMD_ARGS"] = f"--worker-class gthread --threads {web_threads}"
        self.procs = {}
        commands = {
            # The production command (Procfile.production): config/gunicorn.py's settings.
            "web": [str(bin_dir / "gunicorn"), "config.wsgi", "--config", "python:config.gunicorn"],
            "worker": [str(bin_dir / "celery"), "-A", "config", "worker", "--concurrency", "2",
                       "--hostname", "soak@%h", "--without-gossip", "--without-mingle", "-l", "WARNING"],
            "beat": [str(bin_dir / "celery"), "-A", "config", "beat", "-l", "WARNING",
                     "--schedule", str(logs / "beat-schedule")],
        }  # fmt: skip
        bulk_port, bulk_workers = bulk
        if bulk_workers:
            # The bulk pool (docs/operations.md): the proxy sends batch integration
            # endpoints here, at a lower CPU priority than the reps' pool.
            commands["web-bulk"] = ["nice", "-n", str(BULK_NICE), *commands["web"]]
        for role, command in commands.items():
            role_env = self.env
            if role == "web-bulk":
                role_env = {
                    **self.env,
                    "WEB_CONCURRENCY": str(bulk_workers),
                    "GUNICORN_BIND": f"127.0.0.1:{bulk_port}",
                }
                role_env.pop("GUNICORN_CMD_ARGS", None)
            self.procs[role] = subprocess.Popen(
                command,
                cwd=ROOT,
                env=role_env,
                stdout=open(logs / f"{role}.log", "w"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
            )
        for listening in [port, *([bulk_port] if bulk_workers else [])]:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", listening), timeout=1):
                        break
                except OSError:
                    time.sleep(0.3)
            else:
                raise RuntimeError(f"gunicorn did not start on port {listening}")

    def memory_mb(self) -> dict[str, dict[str, float]]:
        """RSS and PSS of each role's process tree. A forked child's RSS also counts the
        pages it shares with its parent, and grows as it touches them (copy-on-write
        makes them its own only when written), so the tree's summed RSS can grow with
        no new memory; PSS divides each shared page among its sharers: the tree's
        real cost, on which the growth goal is judged."""
        sizes = {}
        for role, proc in self.procs.items():
            rss = pss = 0
            try:
                parent = psutil.Process(proc.pid)
                for member in [parent, *parent.children(recursive=True)]:
                    try:
                        info = member.memory_full_info()
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        continue
                    rss += info.rss
                    pss += getattr(info, "pss", info.rss)
            except psutil.NoSuchProcess:
                pass
            sizes[role] = {"rss": rss / 2**20, "pss": pss / 2**20}
        return sizes

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


class CpuAccount:
    """CPU seconds used during the run by each role: the soak's own processes (web,
    worker, beat, the load generator), the PostgreSQL backends of its database, and
    everything else on the machine (other users of the cores), from /proc via psutil.

    Sampled, so a process that starts and ends between two samples is counted under
    "other"; the soak's processes and database connections live for the whole run."""

    def __init__(self, database: str, processes: "Processes") -> None:
        self.database, self.processes = database, processes
        self.first: dict[int, tuple[str, float]] = {}
        self.last: dict[int, float] = {}
        self.names: dict[int, str] = {}
        self.machine_start = psutil.cpu_times()
        self.machine_end = self.machine_start
        self.sample()

    def _role(self, proc: psutil.Process, roles: dict[int, str]) -> str:
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["name"] == "postgres" or cmdline.startswith("postgres:"):
            return "database" if f" {self.database} " in cmdline else "other"
        if proc.pid in roles:
            return roles[proc.pid]
        if proc.info["ppid"] in roles:  # a worker gunicorn forked since the last sample
            return roles[proc.info["ppid"]]
        if "locust" in cmdline:
            return "locust"
        return "other"

    def sample(self) -> None:
        roles = {}
        for role, proc in self.processes.procs.items():
            try:
                parent = psutil.Process(proc.pid)
                for member in [parent, *parent.children(recursive=True)]:
                    roles[member.pid] = role
            except psutil.NoSuchProcess:
                pass
        for proc in psutil.process_iter(["name", "cmdline", "cpu_times", "ppid"]):
            times = proc.info["cpu_times"]
            if times is None:
                continue
            used = times.user + times.system
            if proc.pid not in self.first:
                self.first[proc.pid] = (self._role(proc, roles), used)
                self.names[proc.pid] = proc.info["name"] or "?"
            self.last[proc.pid] = used
        self.machine_end = psutil.cpu_times()

    def other_by_name(self, top: int = 3) -> list[tuple[str, float]]:
        """The biggest users among the other processes seen (by process name)."""
        totals: dict[str, float] = {}
        for pid, (role, start) in self.first.items():
            if role == "other":
                name = self.names[pid]
                totals[name] = totals.get(name, 0.0) + self.last[pid] - start
        return sorted(totals.items(), key=lambda item: -item[1])[:top]

    def seconds_by_role(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for pid, (role, start) in self.first.items():
            totals[role] = totals.get(role, 0.0) + self.last[pid] - start
        busy = sum(
            getattr(self.machine_end, name) - getattr(self.machine_start, name)
            for name in ("user", "nice", "system", "irq", "softirq", "steal")
        )
        totals["other"] = max(0.0, busy - sum(v for k, v in totals.items() if k != "other"))
        totals["idle"] = (self.machine_end.idle - self.machine_start.idle) + (
            self.machine_end.iowait - self.machine_start.iowait
        )
        return totals


class MailSink:
    """The mail server the worker sends reminders and overdue notices to: aiosmtpd on
    loopback that accepts and counts each message (the test settings' locmem backend
    would keep every message sent in the worker's memory, django.core.mail.outbox)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.received = 0
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook)
        self.received += 1
        return "250 OK"

    def stop(self) -> None:
        self.controller.stop()


class Sampler(threading.Thread):
    """Every 5 s: the sweep lag, promises due, database connections, RSS, load
    average, CPU by role."""

    def __init__(self, url: str, processes: Processes) -> None:
        super().__init__(daemon=True)
        self.url, self.processes = url, processes
        self.samples: list[dict] = []
        self.vacuums: list[tuple[int, float]] = []  # (s since start, seconds taken)
        self.stopping = threading.Event()
        self.cpu = CpuAccount(urlparse(url).path.lstrip("/"), processes)

    def run(self) -> None:
        import psycopg

        from reporting.metrics_rollup import LOCK_KEY  # the refresh's advisory lock

        started = time.monotonic()
        vacuumed = started
        with psycopg.connect(self.url, autocommit=True) as conn:
            vacuums = not autovacuum_is_on(conn)
            if vacuums:
                # Autovacuum's own pace (autovacuum_vacuum_cost_delay/limit defaults):
                # it sleeps 2 ms after every 200 cost units instead of taking the
                # disk and a core for as long as it runs, as a bare VACUUM would.
                conn.execute("SET vacuum_cost_delay = '2ms'")
                conn.execute("SET vacuum_cost_limit = 200")
            while not self.stopping.wait(5):
                self.cpu.sample()
                if vacuums and time.monotonic() - vacuumed >= VACUUM_EVERY_SECONDS:
                    began = time.monotonic()
                    conn.execute("VACUUM ANALYZE")
                    vacuumed = time.monotonic()
                    self.vacuums.append((round(began - started), vacuumed - began))
                lag, due = conn.execute(
                    "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(next_action_at)), 0), count(*) "
                    "FROM followups_followup WHERE status = 'open' AND next_action_at <= now()"
                ).fetchone()
                (connections,) = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                ).fetchone()
                (rollup,) = conn.execute(
                    "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' "
                    "AND objid = %s AND granted",
                    [LOCK_KEY],
                ).fetchone()
                self.samples.append(
                    {
                        "t": round(time.monotonic() - started),
                        "sweep_lag_s": float(lag),
                        "due": due,
                        "db_connections": connections - 1,  # less the sampler's own
                        "memory_mb": self.processes.memory_mb(),
                        "load": os.getloadavg()[0],
                        "rollup": rollup,
                        "at": time.time(),
                    }
                )


def run_locust(
    *,
    host: str,
    data_file: Path,
    seconds: int,
    users: int,
    classes: list[str],
    prefix: str,
    request_log: Path | None = None,
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
            env={
                **os.environ,
                "SOAK_DATA": str(data_file),
                **({"SOAK_REQUEST_LOG": str(request_log)} if request_log else {}),
            },
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
    parser.add_argument(
        "--web-workers", type=int, default=4, help="gunicorn workers (WEB_CONCURRENCY)"
    )
    parser.add_argument(
        "--web-threads", type=int, default=1, help="threads per gunicorn worker (gthread if > 1)"
    )
    parser.add_argument(
        "--bulk-workers",
        type=int,
        default=1,
        help="gunicorn workers of the bulk pool that sync and CDR uploads go to, at nice "
        f"{BULK_NICE}, as docs/operations.md deploys it (0: they share the reps' pool)",
    )
    parser.add_argument(
        "--no-sync",
        action="store_true",
        help="leave the back-to-back sync client out (what it costs the reps)",
    )
    args = parser.parse_args()

    REPORTS.mkdir(parents=True, exist_ok=True)
    REQUEST_LOG.unlink(missing_ok=True)
    url = bench_database_url("soak")
    recreate_database(url)
    os.environ["FOLLOWUP_SWEEP_SECONDS"] = str(args.sweep_seconds)
    setup_django(url)
    started = time.monotonic()
    data = generate(reps=args.reps, supervisors=args.supervisors, customers=args.customers)
    data["sync_batch"] = args.sync_batch
    generation_seconds = time.monotonic() - started
    statistics_note = refresh_statistics()
    data_file = REPORTS / "soak-data.json"
    data_file.write_text(json.dumps(data))

    port = free_port()
    host = f"http://127.0.0.1:{port}"
    mail = MailSink()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.soak_settings",
        "DATABASE_URL": url,
        "FOLLOWUP_SWEEP_SECONDS": str(args.sweep_seconds),
        "PYTHONUNBUFFERED": "1",
        # Reminders and overdue notices go out over SMTP, as in production.
        "TEST_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_URL": f"smtp://127.0.0.1:{mail.port}",
    }
    bulk_port = free_port()
    if args.bulk_workers:
        # What the proxy would do by path: the integrations' batch uploads reach the bulk pool.
        data["bulk_host"] = f"http://127.0.0.1:{bulk_port}"
        data_file.write_text(json.dumps(data))
    processes = Processes(
        env, port, web_workers=args.web_workers, web_threads=args.web_threads,
        bulk=(bulk_port, args.bulk_workers),
    )  # fmt: skip
    try:
        time.sleep(5)
        isolated = {} if args.no_sync else run_locust(
            host=host, data_file=data_file, seconds=args.isolated_seconds, users=1,
            classes=["Sync"], prefix="soak-isolated",
        )  # fmt: skip
        sampler = Sampler(url, processes)
        sampler.start()
        web_logs = {
            REPORTS / "soak-logs" / f"{role}.log": 0 for role in ("web", "web-bulk")
            if role in processes.procs
        }  # fmt: skip
        web_logs = {log: log.stat().st_size for log in web_logs}
        # + the PBX's CDR uploads and (unless --no-sync) the sync client
        users = args.rep_users + args.supervisor_users + args.screen_pops + 1 + (not args.no_sync)
        routes = run_locust(host=host, data_file=data_file, seconds=args.seconds, users=users,
                            classes=["Rep", "Supervisor", "ScreenPop", "CdrUpload",
                                     *([] if args.no_sync else ["Sync"])],
                            prefix="soak", request_log=REQUEST_LOG)  # fmt: skip
        sampler.stopping.set()
        sampler.join()
        sampler.cpu.sample()
        memory_end = processes.memory_mb()
    finally:
        processes.stop()
        mail.stop()
    # "Start" is after a warm-up (a fifth of the run, at most a minute): the first
    # requests import modules and fill caches; growth after that is what leaks.
    warm = min(60, args.seconds // 5)
    memory_start = next(
        (sample["memory_mb"] for sample in sampler.samples if sample["t"] >= warm), memory_end
    )
    inside, per_second = server_times(web_logs)
    write_report(
        args, routes, isolated, sampler, memory_start, memory_end, generation_seconds,
        statistics_note, mail.received, inside, per_second,
    )  # fmt: skip


def server_times(logs: dict[Path, int]) -> tuple[dict[str, list[float]], list[int]]:
    """duration_ms of each request the web pools finished during the mixed run (each
    log read from the offset given), by route pattern, from their JSON request lines
    (config/structured_logs.py); and how many finished in each second of the run
    (their time has one-second resolution), quiet seconds included: how evenly the
    load arrived."""
    durations: dict[str, list[float]] = {}
    per_second: Counter[datetime] = Counter()
    for log, offset in logs.items():
        with open(log, "rb") as lines:
            lines.seek(offset)
            for raw in lines:
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                if line.get("message") == "request finished":
                    durations.setdefault(line["route"], []).append(float(line["duration_ms"]))
                    per_second[datetime.strptime(line["time"], "%Y-%m-%dT%H:%M:%S%z")] += 1
    if not per_second:
        return durations, []
    first, last = min(per_second), max(per_second)
    seconds = int((last - first).total_seconds()) + 1
    return durations, [per_second[first + timedelta(seconds=n)] for n in range(seconds)]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def _number(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def write_report(
    args, routes, isolated, sampler, memory_start, memory_end, generation_seconds,
    statistics_note, mails_received, inside, per_second,
) -> None:  # fmt: skip
    samples = sampler.samples
    lines = [
        "## soak: a day under load",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC for {args.seconds} s; {args.reps} reps "
        f"({args.rep_users} sessions, one contact each every 10 s), {args.supervisor_users} "
        f"supervisors, {args.screen_pops} screen-pop clients, a PBX uploading its CDR lines "
        f"every 10 s, one sync client back to back "
        f"({args.sync_batch} records a batch); {args.customers} customers (made in "
        f"{generation_seconds:.0f} s); gunicorn {args.web_workers} workers"
        + (f" x {args.web_threads} threads (gthread)" if args.web_threads > 1 else " (sync)")
        + (
            f" for the browsers and lookups, a bulk pool of {args.bulk_workers} at nice "
            f"{BULK_NICE} for sync and CDR uploads"
            if args.bulk_workers
            else ", every request in one pool"
        )
        + ", Celery worker (2), "
        f"beat; sweep every "
        f"{args.sweep_seconds} s. Load average at the end: "
        + " / ".join(f"{value:.1f}" for value in os.getloadavg())
        + ".",
        "",
        f"Statistics: {statistics_note}",
        "",
        "| route | who waits | requests | req/s | errors | p50 ms | p95 ms | p99 ms | "
        "p99 < 300 ms (reps' goal) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
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
        elif name in AUDIENCE:
            verdict = "(not a rep's) " + ("under" if p99 < 300 else "over")
        lines.append(
            f"| {name} | {AUDIENCE.get(name, 'integration')} | "
            f"{int(_number(row.get('Request Count')))} | {_number(row.get('Requests/s')):.1f} | "
            f"{errors} | {_number(row.get('50%')):.0f} | {_number(row.get('95%')):.0f} | "
            f"{p99:.0f} | {verdict} |"
        )
    total = routes.get("Aggregated", {})
    lines.append(
        f"| all | | {int(_number(total.get('Request Count')))} | "
        f"{_number(total.get('Requests/s')):.1f} | {int(_number(total.get('Failure Count')))} | "
        f"{_number(total.get('50%')):.0f} | {_number(total.get('95%')):.0f} | "
        f"{_number(total.get('99%')):.0f} | |"
    )
    lag_max = max((sample["sweep_lag_s"] for sample in samples), default=0.0)
    isolated_rate = _number(isolated.get(SYNC_ROUTE, {}).get("Requests/s")) * args.sync_batch
    soak_rate = _number(routes.get(SYNC_ROUTE, {}).get("Requests/s")) * args.sync_batch
    ratio = soak_rate / isolated_rate if isolated_rate else 0.0
    growth = {
        role: (memory_end[role]["pss"] - memory_start[role]["pss"]) / memory_start[role]["pss"]
        if memory_start[role]["pss"]
        else 0.0
        for role in memory_start
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
        "- Sync: left out (--no-sync)."
        if args.no_sync
        else f"- Sync: {soak_rate:.0f} records/s under the soak against {isolated_rate:.0f} "
        f"records/s alone, {ratio:.0%} (goal >= 50%).",
        "- Memory (PSS: shared pages divided among the processes sharing them) after "
        "warm-up and at the end: "
        + ", ".join(
            f"{role} {memory_start[role]['pss']:.0f} -> {memory_end[role]['pss']:.0f} MB "
            f"({growth[role]:+.0%})"
            for role in memory_start
        )
        + " (goal: growth under 10%); "
        + "RSS summed over each process tree: "
        + ", ".join(
            f"{role} {memory_start[role]['rss']:.0f} -> {memory_end[role]['rss']:.0f} MB"
            for role in memory_start
        )
        + ".",
        f"- Database connections used: at most {connections_max}.",
        f"- E-mails (reminders, overdue notices) the mail server received: {mails_received}.",
        *cpu_lines(sampler.cpu, samples),
        arrival_line(per_second),
        "",
        "Time inside the web server (its request log's duration_ms, from the view's "
        "first middleware to its response) by route: what the clients waited beyond "
        "this was spent queued for a free worker or on the wire.",
        "",
        "| route pattern | requests | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {route} | {len(values)} | {_percentile(values, 0.5):.0f} | "
            f"{_percentile(values, 0.95):.0f} | {_percentile(values, 0.99):.0f} | "
            f"{max(values):.0f} |"
            for route, values in sorted(inside.items(), key=lambda item: -len(item[1]))
        ),
        "",
        "VACUUM ANALYZE runs (s since start: seconds taken): "
        + (" ".join(f"{at}:{took:.1f}" for at, took in sampler.vacuums) or "none (autovacuum on)")
        + ".",
        "",
        "Memory over time (PSS MB; s since start: " + ", ".join(memory_start) + "), every 30 s:",
        "",
        " ".join(
            f"{s['t']}:" + "/".join(f"{s['memory_mb'][role]['pss']:.0f}" for role in memory_start)
            for s in samples[::6]
        ),
        "",
        "Sweep lag over time (s since start: lag s, promises due):",
        "",
        " ".join(f"{s['t']}:{s['sweep_lag_s']:.0f}/{s['due']}" for s in samples),
        *rep_timeline(samples),
        "",
    ]
    (REPORTS / "soak.md").write_text("\n".join(lines))
    print("\n".join(lines))


def rep_timeline(samples: list[dict]) -> list[str]:
    """The reps' p99 in each TIMELINE_SECONDS of the mixed run, beside what ran then:
    the metrics rollup (the sampler saw its lock held), a VACUUM of the sampler's.
    Slow answers that bunch where the rollup runs say where their time went."""
    if not REQUEST_LOG.exists():
        return []
    windows: dict[int, list[float]] = {}
    first = None
    with open(REQUEST_LOG) as lines:
        rows = [line.rstrip("\n").split("\t") for line in lines]
    rows = [row for row in rows if len(row) == 4 and row[1] in REP_FACING]
    if not rows:
        return []
    first = min(float(row[0]) for row in rows)
    for at, _name, waited, _failed in rows:
        windows.setdefault(int((float(at) - first) // TIMELINE_SECONDS), []).append(float(waited))
    rollup_windows = {
        int((sample["at"] - first) // TIMELINE_SECONDS) for sample in samples if sample["rollup"]
    }
    cells = []
    for window in sorted(windows):
        values = windows[window]
        mark = "R" if window in rollup_windows else ""
        cells.append(
            f"{window * TIMELINE_SECONDS}:{_percentile(values, 0.99):.0f}/{max(values):.0f}{mark}"
        )
    over = [window for window in windows if _percentile(windows[window], 0.99) >= 300]
    return [
        "",
        f"The reps' answers over time (s since the first: p99/max ms of the "
        f"{TIMELINE_SECONDS} s; R: the metrics rollup was seen running in it). "
        f"{len(over)} of {len(windows)} windows had a p99 at or over 300 ms, "
        f"{len([w for w in over if w in rollup_windows])} of them with the rollup seen "
        f"(it was seen in {len(rollup_windows & set(windows))}):",
        "",
        " ".join(cells),
    ]


def arrival_line(per_second: list[int]) -> str:
    """Requests the server finished per second: a mean near the median and a p95 near
    it say the load came spread over time, as calls do; a cycle of bursts and quiet
    seconds (as when every rep's pacing started at the same instant) shows as a
    median far below the mean and a max several times it."""
    if not per_second:
        return "- Requests finished per second at the server: none logged."
    ordered = sorted(per_second)
    mean = sum(ordered) / len(ordered)
    return (
        f"- Requests finished per second at the server (its request log, {len(ordered)} s): "
        f"mean {mean:.0f}, median {_percentile(ordered, 0.5):.0f}, p95 "
        f"{_percentile(ordered, 0.95):.0f}, max {ordered[-1]} (an even arrival keeps "
        "the median near the mean and the max within about twice it)."
    )


def cpu_lines(cpu: CpuAccount, samples: list[dict]) -> list[str]:
    """Where the machine's CPU went during the mixed run, and the load average."""
    used = cpu.seconds_by_role()
    capacity = sum(used.values()) or 1.0
    loads = sorted(sample["load"] for sample in samples) or [0.0]
    order = ["web", "web-bulk", "database", "worker", "beat", "locust", "other", "idle"]
    return [
        f"- CPU over the run ({psutil.cpu_count()} cores, {capacity:.0f} core-seconds): "
        + ", ".join(
            f"{role} {used.get(role, 0.0):.0f} s ({used.get(role, 0.0) / capacity:.0%})"
            for role in order
        )
        + ' ("database": the PostgreSQL backends of the soak\'s database; "other": every '
        "other process on the machine, the largest seen: "
        + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in cpu.other_by_name())
        + ").",
        f"- 1-minute load average during the run: min {loads[0]:.1f}, median "
        f"{loads[len(loads) // 2]:.1f}, max {loads[-1]:.1f}.",
    ]


if __name__ == "__main__":
    sys.exit(main())
