"""Run in a subprocess against a throw-away primary and its streaming replica
(tests/reliability/test_read_replica.py); prints one JSON object."""

import json
import time
from datetime import timedelta

import django

django.setup()

from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from config.db_router import replica_lag_seconds  # noqa: E402
from crm.models import TeamMembership  # noqa: E402
from followups.models import FollowUp  # noqa: E402
from tests.factories import FollowUpFactory, TeamMembershipFactory  # noqa: E402

setup_test_environment()
rep = TeamMembershipFactory(role=TeamMembership.Role.REP)
supervisor = TeamMembershipFactory(team=rep.team, role=TeamMembership.Role.SUPERVISOR).user
overdue = FollowUpFactory(owner=rep.user, team=rep.team, due_at=timezone.now() - timedelta(hours=2))
deadline = time.monotonic() + 30
while not FollowUp.objects.using("replica").filter(pk=overdue.pk).exists():
    assert time.monotonic() < deadline, "the replica never received the row"
    time.sleep(0.1)

client = Client()
client.force_login(supervisor)  # the session is written to, and read from, the primary


def tables(queries) -> list[str]:
    names = ("followups_followup", "django_session", "auth_user", "crm_teammembership")
    return sorted({name for query in queries for name in names if name in query["sql"]})


with (
    CaptureQueriesContext(connections["replica"]) as report_replica,
    CaptureQueriesContext(connections["default"]) as report_primary,
):
    report = client.get("/api/v1/metrics/board/")
with (
    CaptureQueriesContext(connections["replica"]) as page_replica,
    CaptureQueriesContext(connections["default"]) as page_primary,
):
    page = client.get(f"/customers/{overdue.customer_id}/")

print(
    json.dumps(
        {
            "report_status": report.status_code,
            "report_total": report.json().get("total"),
            "report_replica_tables": tables(report_replica.captured_queries),
            "report_primary_tables": tables(report_primary.captured_queries),
            "page_status": page.status_code,
            "page_replica_queries": len(page_replica.captured_queries),
            "lag_seconds": replica_lag_seconds(),
        }
    )
)
