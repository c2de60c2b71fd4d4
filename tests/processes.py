"""Start real Celery worker and beat processes against the test database.

Used by integration and reliability tests: the processes see only committed
rows, so tests using them need `transactional_db`.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    settings = connection.settings_dict
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    if host.startswith("/"):  # a unix socket folder (the embedded PostgreSQL)
        return f"postgres://{user}{password}@/{settings['NAME']}?host={host}&port={port}"
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


def process_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": test_database_url(),
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


class CeleryProcess:
    def __init__(self, kind: str, log_path: Path, env: dict[str, str], extra_args: list[str]):
        self.kind = kind
        self.log_path = log_path
        args = [sys.executable, "-m", "celery", "-A", "config", kind, "--loglevel=INFO"]
        if kind == "worker":
            args += ["--concurrency=1", "--without-gossip", "--without-mingle", "--pool=prefork"]
        if kind == "beat":
            args += ["--schedule", str(log_path.with_suffix(".schedule"))]
        args += extra_args
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)

    def stop(self, timeout: float = 15) -> None:
        self.kill(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.process.wait(timeout=5)
        self._log.close()

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")


def flush_broker(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def wait_for(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class GunicornProcess:
    """`gunicorn config.wsgi` on a free loopback port, as production runs it."""

    def __init__(self, log_path: Path, env: dict[str, str], workers: int = 2):
        self.port = free_port()
        self.log_path = log_path
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        args = [gunicorn, "config.wsgi", "--config", "python:config.gunicorn"]
        args += ["--workers", str(workers), "--bind", f"127.0.0.1:{self.port}"]
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        import urllib.error
        import urllib.request

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None  # a redirect is an answer to look at, not to follow

        request = urllib.request.Request(self.url + path, headers=headers or {})  # noqa: S310
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def wait_until_up(self, timeout: float = 60) -> None:
        def answers() -> bool:
            assert self.process.poll() is None, self.output()
            try:
                return self.get("/healthz")[0] == 200
            except OSError:
                return False

        assert wait_for(answers, timeout=timeout), self.output()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")
