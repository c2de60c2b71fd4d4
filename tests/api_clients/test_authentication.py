import io
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import ApiClient
from core.services import api_client_revoke, api_client_rotate, secret_digest
from tests.api_clients.helpers import bearer_client

URL = "/api/v1/lookup/?phone=%2B14155552671"


def test_create_command_prints_secret_once_and_stores_only_a_digest(db):
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "create_api_client",
        "pbx",
        "--scope",
        "customers:read",
        "--scope",
        "interactions:write",
        stdout=out,
        stderr=err,
    )

    secret = out.getvalue().strip()
    client = ApiClient.objects.get(name="pbx")
    assert secret.startswith(f"rap_{client.prefix}_")
    assert len(secret) > 50
    assert client.secret_digest == secret_digest(secret)
    assert secret not in str(ApiClient.objects.filter(pk=client.pk).values().get())
    assert client.scopes == ["customers:read", "interactions:write"]
    assert not client.user.has_usable_password()
    assert "shown once" in err.getvalue()


def test_create_command_rejects_unknown_scope(db):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command(
            "create_api_client",
            "x",
            "--scope",
            "everything",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert ApiClient.objects.count() == 0


def test_bearer_secret_authenticates(db):
    _, http, _ = bearer_client("customers:read")

    assert http.get(URL).status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Bearer rap_000000000000_nope", "Bearer garbage", "Bearer "],
)
def test_wrong_or_malformed_secret_is_401_with_bearer_challenge(db, header):
    bearer_client("customers:read")
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=header)

    response = http.get(URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_right_prefix_wrong_secret_is_401(db):
    _, _, secret = bearer_client("customers:read")
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=f"Bearer {secret[:-4]}AAAA")

    assert http.get(URL).status_code == 401


def test_no_credentials_is_401(db):
    assert APIClient().get(URL).status_code == 401


def test_revoked_client_is_401_and_revoke_command_works(db):
    client, http, _ = bearer_client("customers:read")

    call_command("revoke_api_client", client.name, stdout=io.StringIO())

    client.refresh_from_db()
    assert (client.is_active, client.revoked_at is not None) == (False, True)
    assert http.get(URL).status_code == 401


def test_rotate_invalidates_old_secret_and_new_one_works(db):
    client, old_http, old_secret = bearer_client("customers:read")

    issued = api_client_rotate(client=client)

    new_http = APIClient()
    new_http.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    assert issued.secret != old_secret
    assert old_http.get(URL).status_code == 401
    assert new_http.get(URL).status_code == 200


def test_rotate_command_prints_new_secret(db):
    client, _, old_secret = bearer_client("customers:read")
    out = io.StringIO()

    call_command("rotate_api_client", client.name, stdout=out, stderr=io.StringIO())

    client.refresh_from_db()
    assert client.secret_digest == secret_digest(out.getvalue().strip())
    assert out.getvalue().strip() != old_secret


def test_rotating_a_revoked_client_reactivates_it(db):
    client, _, _ = bearer_client("customers:read")
    api_client_revoke(client=client)

    api_client_rotate(client=client)

    client.refresh_from_db()
    assert (client.is_active, client.revoked_at) == (True, None)


def test_last_used_is_written_at_most_once_a_minute(db, django_assert_num_queries):
    client, http, _ = bearer_client("customers:read")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        http.get(URL)
        client.refresh_from_db()
        assert client.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        http.get(URL)
        client.refresh_from_db()
        assert client.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        http.get(URL)
        client.refresh_from_db()
        assert client.last_used_at == start + timedelta(seconds=61)


def test_rate_limit_per_client_is_429_then_other_clients_unaffected(db):
    cache.clear()
    _, limited, _ = bearer_client("customers:read", name="limited", rate_limit="3/m")
    _, other, _ = bearer_client("customers:read", name="other", rate_limit="3/m")

    with time_machine.travel(timezone.now().replace(second=0), tick=False):
        codes = [limited.get(URL).status_code for _ in range(5)]
        other_code = other.get(URL).status_code
        retry_after = limited.get(URL)["Retry-After"]

    assert codes == [200, 200, 200, 429, 429]
    assert other_code == 200
    assert int(retry_after) == 60


def test_session_users_are_not_rate_limited_or_scoped(api_client):
    cache.clear()

    assert api_client.get(URL).status_code == 200


def test_rate_limit_window_expires_and_works_on_the_demo_local_cache(db, settings):
    from core.throttling import _window_count

    cache.clear()
    assert [_window_count("throttle:test", timeout=61) for _ in range(3)] == [1, 2, 3]
    redis_key = cache.make_and_validate_key("throttle:test")
    assert 0 < cache._cache.get_client(redis_key).ttl(redis_key) <= 61

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    _, limited, _ = bearer_client("customers:read", name="local", rate_limit="2/m")
    with time_machine.travel(timezone.now().replace(second=0), tick=False):
        codes = [limited.get(URL).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
