"""Redis stopped for a while: work is still accepted; once it is back, every due transition happens."""

import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from django.utils import timezone

from crm.selectors import user_time_zone
from followups import services
from followups.models import FollowUp, FollowUpEvent
from interactions.models import Interaction
from tests.factories import CustomerFactory
from tests.processes import wait_for
from tests.reliability.builders import people

pytestmark = pytest.mark.reliability


def _overdue(ids) -> int:
    return FollowUpEvent.objects.filter(followup_id__in=ids, kind="overdue").count()


def test_work_is_accepted_while_redis_is_down_and_caught_up_after(
    celery_processes, throwaway_redis, client
):
    who = people()
    customer = CustomerFactory(time_zone="Europe/Berlin")
    env = {"REDIS_URL": throwaway_redis.url, "FOLLOWUP_SWEEP_SECONDS": "1"}
    worker = celery_processes("worker", **env)
    beat = celery_processes("beat", **env)
    before = services.followup_promise(
        customer=customer,
        owner=who["rep"],
        action="Before",
        due_at=timezone.now() + timedelta(seconds=2),
    )
    assert wait_for(lambda: _overdue([before.pk]) == 1, timeout=60), worker.output()[-3000:]

    throwaway_redis.stop()
    client.force_login(who["rep"])
    # The web side's cache and rate counters point at the stopped Redis too.
    dead_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": throwaway_redis.url,
        }
    }
    with override_settings(CACHES=dead_cache):
        created = [
            client.post(
                "/api/v1/followups/",
                {
                    "customer": customer.pk,
                    "action": f"During the outage {n}",
                    "due_at": (timezone.now() + timedelta(seconds=3)).isoformat(),
                },
                content_type="application/json",
            )
            for n in range(3)
        ]
        # The log form reads its times in the rep's own clock (issue 14).
        rep_zone = ZoneInfo(user_time_zone(who["rep"]))
        logged = client.post(
            f"/interactions/customers/{customer.pk}/log/",
            {
                "channel": "phone",
                "direction": "inbound",
                "occurred_at": timezone.localtime(timezone=rep_zone).strftime("%Y-%m-%dT%H:%M"),
                "duration_minutes": "3",
                "summary": "Called during the outage",
                "promise-make_promise": "on",
                "promise-action": "Promised on the log form",
                "promise-due_at": timezone.localtime(
                    timezone.now() + timedelta(seconds=3), timezone=rep_zone
                ).strftime("%Y-%m-%d %H:%M:%S"),
                "promise-priority": "normal",
            },
            HTTP_HX_REQUEST="true",
        )

    assert [response.status_code for response in created] == [201, 201, 201]
    assert logged.status_code == 200, logged.content.decode()[:2000]
    assert Interaction.objects.filter(summary="Called during the outage").exists()
    from_form = FollowUp.objects.get(action="Promised on the log form")
    ids = [response.json()["id"] for response in created]
    # Let all four promises fall due while the broker is still away.
    time.sleep(4)
    assert _overdue(ids) == 0
    assert _overdue([from_form.pk]) == 0

    throwaway_redis.start()

    caught_up = wait_for(lambda: _overdue([*ids, from_form.pk]) == 4, timeout=90, interval=1)
    assert caught_up, worker.output()[-4000:] + beat.output()[-2000:]
    assert _overdue([before.pk]) == 1
