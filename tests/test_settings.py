import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load_production(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings.production", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_debug_on():
    result = _load_production(DEBUG="true", SECRET_KEY="x" * 50)

    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_production_refuses_a_missing_secret_key():
    result = _load_production(DEBUG="false")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_starts_with_a_real_secret_and_debug_off():
    result = _load_production(
        DEBUG="false", SECRET_KEY="k3y-" + "a1b2c3d4" * 6, EMAIL_URL="smtp://mail.example.com:587"
    )

    assert result.returncode == 0, result.stderr


def _local_settings(*names: str, **env: str) -> list[str]:
    """The repr of each named setting, loaded in a fresh process without DATABASE_URL/REDIS_URL."""
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    code = "import django; django.setup(); from django.conf import settings as s; " + "; ".join(
        f"print(repr({name}))" for name in names
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings.local", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-len(names) :]


def test_the_demo_runs_on_the_embedded_postgresql_and_uses_it_as_broker():
    engine, host, name, transport, url, remote = _local_settings(
        "s.DATABASES['default']['ENGINE']",
        "s.DATABASES['default']['HOST']",
        "s.DATABASES['default']['NAME']",
        "s.CELERY_BROKER_TRANSPORT",
        "s.CELERY_BROKER_URL",
        "s.CELERY_WORKER_ENABLE_REMOTE_CONTROL",
    )

    assert engine == repr("config.postgresql")  # Django's, loading out-of-range times clamped
    assert host == repr(str(ROOT / "var" / "postgres"))  # the unix socket folder
    assert name == repr("rapport")
    assert transport == repr("config.demo_broker:Transport")
    socket = str(ROOT / "var" / "postgres").replace("/", "%2F")
    assert url == repr(f"postgresql://postgres@/rapport?host={socket}")
    assert remote == "False"


def test_a_socket_database_url_reaches_django_and_the_broker_as_host_and_port():
    host, port, url = _local_settings(
        "s.DATABASES['default']['HOST']",
        "s.DATABASES['default']['PORT']",
        "s.CELERY_BROKER_URL",
        DATABASE_URL="postgres://app:pw@/crm?host=/run/pg&port=5433",
    )

    assert host == repr("/run/pg")
    assert port == "5433"
    assert url == repr("postgresql://app:pw@/crm?host=%2Frun%2Fpg&port=5433")


def test_with_redis_the_broker_is_redis():
    (url,) = _local_settings("s.CELERY_BROKER_URL", REDIS_URL="redis://127.0.0.1:6379/9")

    assert url == repr("redis://127.0.0.1:6379/9")


# --- Server entry points get production unless told otherwise (issue 17) -------

REAL_SECRET = "k3y-" + "a1b2c3d4" * 6


def _clean_environment(**extra: str) -> dict[str, str]:
    """What a fresh systemd unit or container gives: no DJANGO_SETTINGS_MODULE; its mail
    server named (production refuses the console backend)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(ROOT / "var"),
        "EMAIL_URL": "smtp://mail.example.com:587",
    }
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)


def _celery() -> str:
    return str(Path(sys.executable).with_name("celery"))


def test_wsgi_entry_point_refuses_to_start_from_a_clean_environment_without_a_secret():
    result = _run([sys.executable, "-c", "import config.wsgi"], _clean_environment())

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_wsgi_entry_point_loads_production_settings_from_a_clean_environment():
    code = (
        "import config.wsgi\n"
        "from django.conf import settings\n"
        "print(settings.SETTINGS_MODULE, settings.DEBUG, settings.SESSION_COOKIE_SECURE)\n"
    )
    result = _run([sys.executable, "-c", code], _clean_environment(SECRET_KEY=REAL_SECRET))

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["config.settings.production", "False", "True"]


def test_celery_entry_point_refuses_to_start_from_a_clean_environment_without_a_secret():
    result = _run([_celery(), "-A", "config", "report"], _clean_environment())

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_celery_entry_point_loads_production_settings_from_a_clean_environment():
    env = _clean_environment(SECRET_KEY=REAL_SECRET, REDIS_URL="redis://127.0.0.1:6379/0")
    result = _run([_celery(), "-A", "config", "report"], env)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "SETTINGS_MODULE: 'config.settings.production'" in lines
    assert "DEBUG: False" in lines


def test_manage_py_keeps_the_local_settings():
    code = "from django.conf import settings; print(settings.SETTINGS_MODULE, settings.DEBUG)"
    args = [sys.executable, "manage.py", "shell", "--no-imports", "-c", code]
    result = _run(args, _clean_environment())

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["config.settings.local", "True"]


def test_gunicorn_serves_production_settings_from_a_clean_environment(tmp_path):
    import socket
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = _clean_environment(SECRET_KEY=REAL_SECRET)
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [gunicorn, "config.wsgi", "--workers", "1", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)

    def get(path: str) -> tuple[int, str]:
        try:
            with opener.open(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                return response.status, response.headers.get("Location", "")
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", "")

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = get("/healthz")
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.3)
        login = get("/accounts/login/")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    # Probes are answered over plain HTTP; a page is sent to HTTPS: production's SSL redirect.
    assert health == (200, "")
    assert login == (301, f"https://127.0.0.1:{port}/accounts/login/")


def test_production_reports_errors_to_sentry_only_when_a_dsn_is_given():
    code = (
        "import django; django.setup()\n"
        "import sentry_sdk\n"
        "client = sentry_sdk.get_client()\n"
        "print(client.is_active(), client.options['send_default_pii'])\n"
    )
    env = {"SECRET_KEY": REAL_SECRET, "DJANGO_SETTINGS_MODULE": "config.settings.production"}
    without = _run([sys.executable, "-c", code], _clean_environment(**env))
    dsn = "https://0123456789abcdef@sentry.invalid/1"
    with_dsn = _run([sys.executable, "-c", code], _clean_environment(**env, SENTRY_DSN=dsn))

    assert without.returncode == 0, without.stderr
    assert without.stdout.split()[0] == "False"
    assert with_dsn.returncode == 0, with_dsn.stderr
    assert with_dsn.stdout.split() == ["True", "False"]


def test_production_refuses_the_console_mail_backend_unless_allowed():
    key = "k3y-" + "a1b2c3d4" * 6
    clean = {k: v for k, v in os.environ.items() if k != "EMAIL_URL"}
    refused = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DEBUG": "false",
            "SECRET_KEY": key,
        },  # fmt: skip
        capture_output=True,
        text=True,
        timeout=60,
    )
    allowed = _load_production(DEBUG="false", SECRET_KEY=key, EMAIL_ALLOW_CONSOLE="true")

    assert refused.returncode != 0
    assert "EMAIL_URL must name a real mail server" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr


def test_server_processes_freeze_their_loaded_application():
    """gunicorn workers (config/gunicorn.py) and Celery worker processes (config/celery.py)
    move what is loaded at start out of the cyclic collector's full walks."""
    import gc

    from celery.signals import worker_process_init

    from config import gunicorn
    from config.celery import _gc_freeze

    gc.unfreeze()
    try:
        gunicorn.post_worker_init(worker=None)
        assert gc.get_freeze_count() > 0
        gc.unfreeze()
        assert gc.get_freeze_count() == 0
        _gc_freeze(sender=None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    # Connected strongly (weak=False): the receiver itself is held.
    assert _gc_freeze in [receiver for _, receiver in worker_process_init.receivers]


def _unit(name: str) -> dict[str, str]:
    """A systemd unit's Key=value lines (the last one of a key wins, as in systemd)."""
    lines = (ROOT / "deploy" / "systemd" / name).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def test_the_target_starts_every_unit_the_guide_ships_and_only_those():
    shipped = {path.name for path in (ROOT / "deploy" / "systemd").glob("*.service")}
    assert set(_unit("rapport.target")["Wants"].split()) == shipped


def test_the_bulk_pool_is_the_web_command_on_its_own_port_at_a_lower_priority():
    web, bulk = _unit("rapport-web.service"), _unit("rapport-web-bulk.service")
    assert int(bulk.get("Nice", "0")) > int(web.get("Nice", "0"))
    web_command = web["ExecStart"].split(" --bind ")[0]
    assert bulk["ExecStart"].startswith(web_command + " ")
    assert "--workers 1" in bulk["ExecStart"]
    assert web["ExecStart"].split(" --bind ")[1] != bulk["ExecStart"].split(" --bind ")[1]
    operations = (ROOT / "docs" / "operations.md").read_text()
    assert "rapport-web-bulk.service" in operations
    bind = bulk["ExecStart"].split(" --bind ")[1]
    assert f"server {bind};" in operations  # the proxy example routes to that pool
