"""Production hardening: check --deploy, CSP, cookies, request size limits, secrets."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent.parent


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        # DJANGO_ALLOW_ASYNC_UNSAFE is the browser tests' switch, never a deployment's.
        if k
        not in (
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "DJANGO_SETTINGS_MODULE",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        )
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings.production", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION_ENV = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "rapport.example.com",
    "DEBUG": "false",
    "EMAIL_URL": "smtp://mail.example.com:587",
}


def test_check_deploy_has_no_security_warnings_with_production_settings():
    result = _manage(
        "check", "--deploy", "--tag", "security", "--fail-level", "WARNING", **PRODUCTION_ENV
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_has_no_errors_and_no_security_related_warnings_at_all():
    result = _manage("check", "--deploy", **PRODUCTION_ENV)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Any check id of security, CSRF, sessions or axes would be a hardening gap.
    # (drf_spectacular.W001 enum-name collisions are schema naming, not security.)
    assert not re.search(r"\((security|csrf|sessions|axes|auth|admin)\.[A-Z]\d+\)", output), output


def test_production_settings_read_every_secret_from_the_environment():
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECRET_KEY == __import__('os').environ['SECRET_KEY'], s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.CSRF_COOKIE_HTTPONLY, s.SESSION_COOKIE_HTTPONLY, "
        "s.SECURE_HSTS_SECONDS >= 31536000, s.SECURE_SSL_REDIRECT, "
        "s.SESSION_COOKIE_NAME.startswith('__Host-'), bool(s.CONTENT_SECURITY_POLICY))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings.production", **PRODUCTION_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True"] * 9


def test_no_secret_literal_in_base_or_production_settings():
    for name in ("base.py", "production.py"):
        text = (ROOT / "config" / "settings" / name).read_text()
        assert not re.search(r"SECRET_KEY\s*=\s*[\"']", text), name
        assert not re.search(r"(PASSWORD|TOKEN)\s*=\s*[\"'][^\"']+[\"']", text), name


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_and_frame_denial(client):
    response = client.get("/accounts/login/")

    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_api_docs_page_runs_under_the_policy_without_inline_script(admin_client):
    response = admin_client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    # Every <script> has a src: no inline script the policy would block.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    # Swagger UI is served by the project (drf-spectacular-sidecar), not a CDN.
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui-dist" in source for source in sources)
    assert [s for s in sources if s.startswith(("http:", "https:", "//"))] == []


@pytest.mark.django_db
def test_the_policy_names_no_third_party_origin(client):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]

    for directive in policy.split(";"):
        name, *sources = directive.split()
        for source in sources:
            assert source in ("'self'", "'none'", "'unsafe-inline'", "data:"), (name, source)


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_http_only(client, rep_a):
    response = client.post(
        "/accounts/login/", {"username": "rep_a", "password": "correct horse battery staple"}
    )
    login_page = client.get("/accounts/login/")

    assert response.cookies["sessionid"]["httponly"]
    assert response.cookies["sessionid"]["samesite"] == "Lax"
    csrf = login_page.cookies.get("csrftoken") or client.cookies["csrftoken"]
    assert csrf["httponly"]


@pytest.mark.django_db
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_oversized_form_body_is_refused_not_processed(client, rep_a):
    response = client.post(
        "/accounts/login/", {"username": "rep_a", "password": "x", "padding": "a" * 5000}
    )

    assert response.status_code == 400


@pytest.mark.django_db
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_oversized_api_body_is_refused_with_a_json_error(client, rep_a):
    client.force_login(rep_a)

    response = client.post(
        "/api/v1/customers/",
        data='{"full_name": "' + "a" * 5000 + '"}',
        content_type="application/json",
    )

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def _columns_containing(value: str) -> list[str]:
    from django.db import connection

    found = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() "
            "AND data_type IN ('character varying', 'text', 'jsonb', 'json')"
        )
        for table, column in cursor.fetchall():
            cursor.execute(
                # strpos, not LIKE: "_" in a secret would be a LIKE wildcard.
                f'SELECT count(*) FROM "{table}" WHERE strpos("{column}"::text, %s) > 0',  # noqa: S608 - names from information_schema
                [value],
            )
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


@pytest.mark.django_db
def test_api_client_secrets_are_not_stored_in_plain_text():
    from core.services import api_client_create, api_client_rotate

    issued = api_client_create(name="pbx", scopes=["interactions:write"])
    rotated = api_client_rotate(client=issued.client)

    for secret in (issued.secret, rotated.secret):
        # rap_<prefix>_<random>; the random part itself may hold "_" (token_urlsafe).
        random_part = secret.split("_", 2)[2]
        assert _columns_containing(random_part) == []


@pytest.mark.django_db
def test_webhook_tokens_are_encrypted_at_rest():
    from interactions.integrations import twilio_account_add
    from interactions.models import TwilioAccount

    token = "f3e1d2c4b5a69788" * 2
    twilio_account_add(account_sid="AC" + "0" * 32, auth_token=token)

    assert _columns_containing(token) == []
    assert TwilioAccount.objects.get().auth_token_encrypted != token


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/api/v1/customers/?q=a%00b", "/api/v1/interactions/?channel=%00", "/customers/?q=%00"],
)
def test_a_nul_byte_in_a_query_parameter_is_a_400_naming_it(admin_client, path):
    response = admin_client.get(path)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {path.split("?")[1].split("=")[0]}
