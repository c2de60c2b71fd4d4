"""Run in a process whose settings name a primary and a streaming replica
(DATABASE_URL, DATABASE_REPLICA_URL); prints what it saw as one JSON line.

Pausing the replica's replay makes a write on the primary invisible there, so a
count read in the reporting scope that misses the write proves the read went to
the replica, and one outside the scope that sees it proves the rest did not.
"""

import json
import os
import time
from datetime import timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
django.setup()

from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from core.db_routing import REPLICA, replica_lag_seconds, reporting_reads  # noqa: E402
from crm.models import TeamMembership  # noqa: E402
from followups.models import FollowUp  # noqa: E402
from tests.factories import (  # noqa: E402
    FollowUpFactory,
    TeamFactory,
    TeamMembershipFactory,
    UserFactory,
)


def wait_caught_up(timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while replica_lag_seconds() != 0 or _replica_count() != FollowUp.objects.count():
        if time.monotonic() > deadline:
            raise TimeoutError("the replica did not catch up")
        time.sleep(0.1)


def _replica_count() -> int:
    with reporting_reads():
        return FollowUp.objects.count()


def _replay(action: str) -> None:
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(f"SELECT pg_wal_replay_{action}()")


def _scraped_replica_lag(client: Client) -> float | None:
    """The replica-lag gauge as a Prometheus scrape of /metrics reads it."""
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    for line in response.content.decode().splitlines():
        if line.startswith("rapport_database_replica_lag_seconds "):
            return float(line.split()[1])
    return None


def main() -> None:
    seen: dict = {}
    team = TeamFactory(name="Replica team")
    supervisor = UserFactory(username="replica-sup")
    TeamMembershipFactory(user=supervisor, team=team, role=TeamMembership.Role.SUPERVISOR)
    rep = UserFactory(username="replica-rep")
    TeamMembershipFactory(user=rep, team=team)
    past = timezone.now() - timedelta(days=2)
    for _ in range(3):
        FollowUpFactory(owner=rep, team=team, due_at=past, next_action_at=past)
    wait_caught_up()
    with reporting_reads():
        seen["alias_in_scope"] = FollowUp.objects.all().db
    seen["alias_outside"] = FollowUp.objects.all().db

    _replay("pause")
    FollowUpFactory(owner=rep, team=team, due_at=past, next_action_at=past)
    time.sleep(1.2)
    seen["primary_count"] = FollowUp.objects.count()
    seen["replica_count_while_paused"] = _replica_count()
    seen["lag_while_paused"] = replica_lag_seconds()
    client = Client(HTTP_HOST="localhost")  # ALLOWED_HOSTS outside pytest-django
    client.force_login(supervisor)
    board = client.get("/supervisor/board/")
    seen["board_status_while_paused"] = board.status_code
    seen["board_html_while_paused"] = board.content.decode()
    seen["scraped_lag_while_paused"] = _scraped_replica_lag(client)

    with reporting_reads():  # a write inside the scope still goes to the primary
        TeamFactory(name="Written in the reporting scope")
    from crm.models import Team

    seen["write_in_scope_on_primary"] = Team.objects.filter(
        name="Written in the reporting scope"
    ).exists()

    _replay("resume")
    wait_caught_up()
    seen["replica_count_after_resume"] = _replica_count()
    seen["lag_after_resume"] = replica_lag_seconds()
    board = client.get("/supervisor/board/")
    seen["board_html_after_resume"] = board.content.decode()
    seen["scraped_lag_after_resume"] = _scraped_replica_lag(client)
    metrics = client.get("/supervisor/metrics/")
    seen["metrics_status"] = metrics.status_code
    seen["metrics_says_replica"] = "Read from a replica" in metrics.content.decode()
    api = client.get("/api/v1/metrics/promises/")
    seen["metrics_api_status"] = api.status_code
    print("PROBE " + json.dumps(seen))


if __name__ == "__main__":
    main()
