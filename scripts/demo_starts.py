"""Does the demo survive repeated starts? N consecutive `make run` starts.

Each start runs `scripts/run.py` (what `make run` runs: embedded PostgreSQL,
migrate, seed_demo, honcho with the Procfile) on a free port, with no
DATABASE_URL or REDIS_URL, in its own session. A start passes when:

- /healthz answers, and a promise whose reminder is already due (created
  through `followups.services.followup_promise` once the web server answers)
  gets its reminder e-mail delivered (its Notification row `sent`): beat fired
  the sweep, the worker ran it and then ran the e-mail task it enqueued;
- `--alive` seconds (default 60) after the web server first answered, the web
  server, the worker and beat are all still running (process tree of the run,
  /healthz and /readyz 200) and honcho logged no process as stopped;
- the log holds no "Unrecoverable error", JSONDecodeError or Traceback;
- SIGTERM stops everything, the embedded PostgreSQL included, within 60 s.

    .venv/bin/python scripts/demo_starts.py --starts 30 [--alive 60] [--log-dir var/demo-starts]

Prints one line per start and a closing "N passed, N failed" line.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PGDATA = ROOT / "var" / "postgres"
BAD_LOG_LINES = ("Unrecoverable error", "JSONDecodeError", "Traceback")
REMINDER_DEADLINE = 150  # seconds after the web server answers: two sweeps (60 s) and slack

CREATE_DUE_REMINDER = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from crm.models import Customer
from followups.models import FollowUp
from followups.services import followup_promise

owner = get_user_model().objects.filter(username="maria").get()
customer = Customer.objects.order_by("pk").first()
followup = followup_promise(
    customer=customer,
    owner=owner,
    action="demo_starts check: call back",
    due_at=timezone.now() + timedelta(days=1),
)
# A reminder due now (a promise's own reminder is an hour before its due time).
now = timezone.now()
FollowUp.objects.filter(pk=followup.pk).update(remind_at=now, next_action_at=now)
print("FOLLOWUP", followup.pk, owner.email or "")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback)
            return response.status
    except Exception:  # noqa: BLE001
        return 0


def roles_alive(pid: int) -> dict[str, bool]:
    """Which of web, worker and beat run in the process tree of scripts/run.py."""
    found = {"web": False, "worker": False, "beat": False}
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return found
    for child in children:
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            cmd = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "manage.py runserver" in cmd:
            found["web"] = True
        elif "celery" in cmd and " worker" in cmd:
            found["worker"] = True
        elif "celery" in cmd and " beat" in cmd:
            found["beat"] = True
    return found


def reminder_status(followup_id: int, email: str) -> str | None:
    """The reminder's delivery status: the e-mail row, or the in-app row without an e-mail."""
    info = (PGDATA / "postmaster.pid").read_text().splitlines()
    with psycopg.connect(
        host=info[4], port=int(info[3]), user="postgres", dbname="rapport", connect_timeout=5
    ) as conn:
        row = conn.execute(
            "SELECT delivery_status FROM followups_notification"
            " WHERE followup_id = %s AND kind = 'remind' AND channel = %s",
            [followup_id, "email" if email else "in_app"],
        ).fetchone()
    return row[0] if row else None


def one_start(number: int, alive_seconds: int, log_dir: Path) -> tuple[bool, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({"RAPPORT_PORT": str(port), "PYTHONUNBUFFERED": "1"})
    log_path = log_dir / f"start-{number:02d}.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        run = subprocess.Popen(
            [sys.executable, "scripts/run.py"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        problems: list[str] = []
        followup_id, email, delivered_after = None, "", None
        try:
            base = f"http://127.0.0.1:{port}"
            while http_status(f"{base}/healthz") != 200:
                if run.poll() is not None:
                    return False, f"run.py exited ({run.returncode}) before the web server answered"
                if time.monotonic() - started > 300:
                    return False, "the web server did not answer within 300 s"
                time.sleep(1)
            web_up = time.monotonic()
            made = subprocess.run(
                [sys.executable, "manage.py", "shell", "-c", CREATE_DUE_REMINDER],
                cwd=ROOT,
                env={**env, "DATABASE_URL": f"postgres://postgres@/rapport?host={PGDATA}"},
                capture_output=True,
                text=True,
                check=False,
            )
            line = next((x for x in made.stdout.splitlines() if x.startswith("FOLLOWUP ")), "")
            if not line:
                return False, f"could not create the promise: {made.stderr[-500:]}"
            _, followup_id_text, *rest = line.split()
            followup_id, email = int(followup_id_text), (rest[0] if rest else "")
            while True:
                elapsed = time.monotonic() - web_up
                if delivered_after is None and reminder_status(followup_id, email) == "sent":
                    delivered_after = elapsed
                if elapsed >= alive_seconds and delivered_after is not None:
                    break
                if elapsed >= REMINDER_DEADLINE:
                    problems.append(f"reminder not delivered within {REMINDER_DEADLINE} s")
                    break
                if run.poll() is not None:
                    problems.append(f"run.py exited ({run.returncode})")
                    break
                time.sleep(2)
            alive = roles_alive(run.pid)
            if not all(alive.values()):
                problems.append(f"not alive: {[k for k, v in alive.items() if not v]}")
            for path in ("/healthz", "/readyz"):
                if (status := http_status(base + path)) != 200:
                    problems.append(f"{path} answered {status}")
            checked_at = time.monotonic() - web_up
        finally:
            if run.poll() is None:
                run.send_signal(signal.SIGTERM)
            try:
                run.wait(timeout=60)
            except subprocess.TimeoutExpired:
                problems.append("did not stop within 60 s of SIGTERM")
                os.killpg(run.pid, signal.SIGKILL)
                run.wait()
    text = log_path.read_text(errors="replace")
    before_stop = text.split("SIGTERM received", 1)[0]
    for marker in BAD_LOG_LINES:
        if marker in text:
            problems.append(f"log has {marker!r}")
    for role in ("web", "worker", "beat"):
        # honcho logs "<role>.1 stopped" for each exit; the first one, only after our SIGTERM
        if f"{role}.1 stopped" in before_stop:
            problems.append(f"honcho saw {role} stop before SIGTERM")
    if (PGDATA / "postmaster.pid").exists():
        problems.append("the embedded PostgreSQL still runs after the stop")
    summary = (
        f"web up after {web_up - started:.0f} s, reminder sent after "
        f"{delivered_after if delivered_after is None else round(delivered_after)} s, "
        f"all alive at {checked_at:.0f} s"
    )
    return (not problems), summary + ("; " + "; ".join(problems) if problems else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=30)
    parser.add_argument("--alive", type=int, default=60, help="seconds the processes must live")
    parser.add_argument("--log-dir", type=Path, default=ROOT / "var" / "demo-starts")
    args = parser.parse_args()
    args.log_dir.mkdir(parents=True, exist_ok=True)
    passed = failed = 0
    for number in range(1, args.starts + 1):
        ok, detail = one_start(number, args.alive, args.log_dir)
        passed, failed = passed + ok, failed + (not ok)
        print(f"start {number:2d}: {'PASS' if ok else 'FAIL'}  {detail}", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
