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
    result = _load_production(DEBUG="false", SECRET_KEY="k3y-" + "a1b2c3d4" * 6)

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

    assert engine == repr("django.db.backends.postgresql")
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
