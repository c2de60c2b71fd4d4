"""An API client keeps working while the rate-limit Redis is down: never a 500.

A throw-away redis-server (never the shared one) is stopped while a phone
system creates promises and syncs call records; the throttle counts per process
meanwhile (core.throttling), still refuses a client over its limit, and goes
back to Redis once it answers again.
"""

import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import override_settings

from core import throttling
from core.models import ApiClient
from followups.models import FollowUp
from interactions.models import Interaction
from tests.api_clients.helpers import bearer_client
from tests.factories import CustomerFactory, TeamMembershipFactory

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]

# Mid-hour, so the hourly windows below never roll over during the test.
MID_HOUR = datetime(2026, 3, 5, 10, 20, tzinfo=UTC)


@pytest.fixture
def fresh_local_windows(monkeypatch):
    monkeypatch.setattr(throttling, "local_windows", throttling._LocalWindows())
    return throttling


def _cache_at(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


def _promise(http, customer, n: int):
    return http.post(
        "/api/v1/followups/",
        {
            "customer": customer.pk,
            "owner": customer.owner_id,
            "action": f"Call back {n}",
            "due_at": (MID_HOUR + timedelta(days=1)).isoformat(),
        },
        format="json",
    )


def _sync(http, n: int):
    record = {
        "source": "pbx",
        "external_id": f"call-{n}",
        "channel": "phone",
        "direction": "inbound",
        "occurred_at": (MID_HOUR - timedelta(minutes=n)).isoformat(),
        "duration_seconds": 60,
    }
    return http.post("/api/v1/interactions/sync/", {"records": [record]}, format="json")


def test_api_client_creates_promises_and_syncs_while_redis_is_down(
    throwaway_redis, fresh_local_windows, caplog
):
    customer = CustomerFactory(owner=TeamMembershipFactory().user)
    _, http, _ = bearer_client(*ApiClient.Scope.values, name="pbx-during-outage", rate_limit="10/h")
    with (
        override_settings(CACHES=_cache_at(throwaway_redis.url)),
        time_machine.travel(MID_HOUR, tick=True),
    ):
        # Redis up: two requests counted there.
        assert _promise(http, customer, 0).status_code == 201
        assert _sync(http, 0).status_code == 200
        assert fresh_local_windows.local_windows.degraded_requests == 0

        throwaway_redis.stop()
        with caplog.at_level(logging.WARNING, logger="core.throttling"):
            during = [_promise(http, customer, n).status_code for n in (1, 2, 3)]
            during += [_sync(http, n).status_code for n in (1, 2, 3)]

        # Never a 500: the work is accepted and stored.
        assert during == [201, 201, 201, 200, 200, 200]
        assert FollowUp.objects.filter(customer=customer).count() == 4
        assert Interaction.objects.filter(source="pbx").count() == 4
        assert fresh_local_windows.local_windows.degraded_requests == 6
        warnings = [r for r in caplog.records if r.name == "core.throttling"]
        assert len(warnings) == 1  # once per fallback period, not once per request
        assert "unreachable" in warnings[0].getMessage()

        # The limit still holds in this process: 10 an hour, 6 counted locally so far.
        more = [_sync(http, n).status_code for n in range(4, 9)]
        assert more == [200, 200, 200, 200, 429]

        # Redis back: after the fallback period, counting returns to Redis.
        throwaway_redis.start()
        fresh_local_windows.local_windows.down_until = 0.0
        assert _sync(http, 20).status_code == 200
        assert fresh_local_windows.local_windows.degraded_requests == 11
        keys = cache._cache.get_client().keys("*throttle*")
        assert len(keys) == 1  # the new window counter lives in Redis again
