"""Bodies are bounded before they are read: a 200 MB request to a raw-body endpoint of a
real gunicorn worker answers 413 and the worker's memory stays flat."""

import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client

from tests.api_clients.helpers import bearer_client
from tests.processes import ROOT, process_env

HUGE = 200 * 1024 * 1024
CHUNK = b"x" * (1024 * 1024)  # the one buffer every megabyte is sent from
SERVER_LIMIT = 2 * 1024 * 1024
MAX_RSS_GROWTH = 16 * 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _worker_pid(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.2)
    raise AssertionError("gunicorn started no worker")


def _request(port: int, head: bytes, body: Iterator[bytes]) -> tuple[int, int]:
    """Send `head` then the body a chunk at a time, stopping as soon as the server
    answers; (status, body bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sent = 0
    with sock:
        sock.sendall(head)
        for chunk in body:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        answer = b""
        try:
            while b"\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except ConnectionResetError:
            pass
    assert answer, f"no answer after {sent} bytes"
    return int(answer.split(b" ", 2)[1]), sent


def _fixed(total: int) -> Iterator[bytes]:
    for _ in range(total // len(CHUNK)):
        yield CHUNK


def _chunked(total: int) -> Iterator[bytes]:
    frame = b"%x\r\n" % len(CHUNK) + CHUNK + b"\r\n"
    for _ in range(total // len(CHUNK)):
        yield frame
    yield b"0\r\n\r\n"


@pytest.fixture
def server(transactional_db, django_db_serialized_rollback, tmp_path):
    port = _free_port()
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
        ],  # fmt: skip
        cwd=ROOT,
        env=process_env(EMAIL_INGEST_MAX_BYTES=str(SERVER_LIMIT)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _ = _request(
                    port, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n", iter(())
                )
                if status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.3)
        yield port, _worker_pid(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _email_head(secret: str, framing: bytes) -> bytes:
    return (
        b"POST /api/v1/interactions/email/ HTTP/1.1\r\nHost: localhost\r\n"
        b"Authorization: Bearer " + secret.encode() + b"\r\n"
        b"Content-Type: message/rfc822\r\n" + framing + b"\r\n"
    )


@pytest.mark.parametrize(
    ("framing", "body"),
    [
        (b"Content-Length: %d\r\n" % HUGE, _fixed(HUGE)),
        (b"Transfer-Encoding: chunked\r\n", _chunked(HUGE)),
    ],
    ids=["content-length", "chunked"],
)
def test_200_mb_email_is_413_and_the_worker_stays_flat(server, framing, body):
    port, worker = server
    _, _, secret = bearer_client("interactions:write", name="mail-gateway")
    small = b"From: a@example.com\r\nSubject: hi\r\n\r\nHello\r\n"
    warm, _ = _request(
        port, _email_head(secret, b"Content-Length: %d\r\n" % len(small)), iter([small])
    )
    assert warm in (200, 201, 400)
    before = _rss(worker)

    status, _ = _request(port, _email_head(secret, framing), body)
    time.sleep(0.5)

    growth = _rss(worker) - before
    print(f"worker RSS {before / 2**20:.1f} MiB, grew {growth / 2**20:.2f} MiB")  # noqa: T201
    assert status == 413
    assert growth < MAX_RSS_GROWTH


@pytest.mark.parametrize(
    ("url", "content_type", "limit"),
    [
        ("/api/v1/interactions/email/", "message/rfc822", 25 * 1024 * 1024),
        ("/api/v1/integrations/asterisk/cdr/?source=hq", "text/csv", 5 * 1024 * 1024),
        ("/api/v1/integrations/twilio/voice/", "application/x-www-form-urlencoded", 64 * 1024),
    ],
)
def test_raw_body_endpoints_refuse_a_declared_oversize_with_413_json(db, url, content_type, limit):
    response = Client().generic(
        "POST", url, b"", content_type=content_type, CONTENT_LENGTH=str(limit + 1)
    )

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
