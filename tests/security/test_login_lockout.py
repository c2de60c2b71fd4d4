"""Login throttling: django-axes locks a username+address out after repeated failures."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from core.models import AuditEntry

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"


def _attempt(client, username, password, **extra):
    return client.post(LOGIN_URL, {"username": username, "password": password}, **extra)


def test_lockout_after_the_failure_limit_even_with_the_right_password(client_for, rep_a):
    client = client_for()
    limit = settings.AXES_FAILURE_LIMIT

    before = [_attempt(client, "rep_a", f"wrong-{n}").status_code for n in range(limit - 1)]
    last_failure = _attempt(client, "rep_a", "wrong-again")
    right_password = _attempt(client, "rep_a", PASSWORD)

    assert before == [200] * (limit - 1)  # the form again, with an error
    assert last_failure.status_code == 429
    assert right_password.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="auth.login").count() == 0
    assert AuditEntry.objects.filter(action="auth.login_failed").count() == limit + 1


def test_lockout_ends_after_the_cool_off(client_for, rep_a):
    client = client_for()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for n in range(settings.AXES_FAILURE_LIMIT):
            _attempt(client, "rep_a", f"wrong-{n}")
        assert _attempt(client, "rep_a", PASSWORD).status_code == 429

    with time_machine.travel(start + settings.AXES_COOLOFF_TIME + timedelta(seconds=1), tick=False):
        response = _attempt(client, "rep_a", PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(rep_a.pk)


def test_lockout_is_per_username_and_address(client_for, rep_a, rep_b):
    client = client_for()
    for n in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, "rep_a", f"wrong-{n}")

    other_user_same_address = _attempt(client_for(), "rep_b", PASSWORD)
    same_user_other_address = _attempt(client_for(), "rep_a", PASSWORD, REMOTE_ADDR="10.1.2.3")

    assert other_user_same_address.status_code == 302
    assert same_user_other_address.status_code == 302


def test_admin_login_is_throttled_too(client_for, admin_user):
    client = client_for()
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "admin", "password": f"wrong-{n}"})

    response = client.post("/admin/login/", {"username": "admin", "password": PASSWORD})

    assert response.status_code == 429


def test_a_success_before_the_limit_resets_the_count(client_for, rep_a):
    client = client_for()
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        _attempt(client, "rep_a", f"wrong-{n}")
    assert _attempt(client, "rep_a", PASSWORD).status_code == 302
    client.logout()

    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        _attempt(client, "rep_a", f"wrong-{n}")

    assert _attempt(client, "rep_a", PASSWORD).status_code == 302
