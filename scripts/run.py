"""`make run`: the demo in the foreground; one Ctrl-C stops everything.

Without DATABASE_URL it starts the embedded PostgreSQL under var/postgres
(scripts/embedded_db.py) and stops it again on the way out. Then it migrates,
seeds the demo data, prepares the demo broker's tables (when REDIS_URL is not
set, Celery's broker is kombu's SQLAlchemy transport on the same database) and
runs the Procfile (web, worker, beat) under honcho.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import embedded_db  # noqa: E402

ROOT = embedded_db.ROOT
BIN = Path(sys.executable).parent

# Both the worker and beat would create the broker's tables and the `celery`
# queue row on their first connection; done once here, they never race.
# kombu keeps delivered messages (visible = false); the previous runs' go.
PREPARE_BROKER = """
from django.db import connection
from config.celery import app
with app.connection_for_write() as conn:
    app.amqp.queues[app.conf.task_default_queue](conn.default_channel).declare()
with connection.cursor() as cursor:
    cursor.execute("DELETE FROM kombu_message WHERE NOT visible")
"""


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def main() -> int:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    embedded = not env.get("DATABASE_URL")
    if embedded:
        print(f"[run] starting the embedded PostgreSQL in {embedded_db.DEFAULT_PGDATA}", flush=True)
        _, env["DATABASE_URL"] = embedded_db.start(stop_at_exit=False)
    honcho = None
    try:
        manage("migrate", "--no-input", env=env)
        manage("seed_demo", env=env)
        if not env.get("REDIS_URL"):
            manage("shell", "-c", PREPARE_BROKER, env=env)
        port = env.get("RAPPORT_PORT", "8000")
        print(
            f"\nRapport is starting on http://127.0.0.1:{port}/"
            f"  (admin: http://127.0.0.1:{port}/admin/)\n",
            flush=True,
        )
        # Ctrl-C reaches honcho (same process group) and it stops its processes;
        # this process waits for that. A SIGTERM sent to this process alone is
        # passed on to honcho.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        honcho = subprocess.Popen(
            [str(BIN / "honcho"), "start", "-f", "Procfile"], cwd=ROOT, env=env
        )
        signal.signal(signal.SIGTERM, lambda *_: honcho.send_signal(signal.SIGTERM))
        return honcho.wait()
    finally:
        if honcho is not None and honcho.poll() is None:
            honcho.terminate()
            honcho.wait()
        if embedded:
            embedded_db.stop()


if __name__ == "__main__":
    sys.exit(main())
