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
