"""Chaos fixtures: a throw-away Redis we may stop, a real SMTP server on loopback.

Everything here is real: PostgreSQL, Redis, Celery worker and beat processes,
an SMTP server speaking the protocol. Nothing is mocked.
"""

import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path

import pytest

from tests.processes import wait_for

pytestmark = pytest.mark.reliability


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise RuntimeError("no free port")


class ThrowAwayRedis:
    """Our own redis-server, so stopping it never disturbs the shared one."""

    def __init__(self, directory: Path, port: int):
        self.directory = directory
        self.port = port
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for(self.is_up, timeout=10), "redis-server did not start"

    def is_up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def throwaway_redis(tmp_path):
    redis = ThrowAwayRedis(tmp_path, free_port(63801))
    redis.start()
    yield redis
    redis.stop()


@dataclass
class LoopbackSmtp:
    """aiosmtpd on 127.0.0.1 that answers 451 (try later) while `refusing`."""

    port: int
    refusing: bool = True
    refused: int = 0
    received: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        with self.lock:
            if self.refusing:
                self.refused += 1
                return "451 4.3.0 Mailbox temporarily unavailable, try later"
            self.received.append(message_from_bytes(envelope.original_content or b""))
        return "250 OK"


@pytest.fixture
def loopback_smtp():
    from aiosmtpd.controller import Controller

    handler = LoopbackSmtp(port=free_port(60025))
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    time.sleep(0.1)
    yield handler
    controller.stop()
