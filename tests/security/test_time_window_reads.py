"""A row outside the time window, written straight into the database (an old bug,
a restore), never breaks a read: lists, feeds, pages, lookup, export, admin, rollup."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from reporting.metrics_rollup import metrics_rollup_refresh
from tests import factories

OUT_OF_RANGE = [
    "10000-01-01 04:59:59+00",  # 9999-12-31T23:59:59-05:00
    "0001-12-31 10:00:00+00 BC",  # 0001-01-01T00:00:00+14:00
    "9999-12-31 23:59:59+00",
    "0001-01-01 00:00:00+00",
]


def _drop_time_checks() -> None:
    """The constraints hold new rows; inside this test's transaction (rolled back)
    they are dropped, as on a database restored from before them."""
    with connection.cursor() as cursor:
        # Deferred foreign-key checks of the fixture's rows run first (ALTER TABLE
        # refuses a table with pending trigger events).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE conname LIKE %s",
            ["%_in_time_window"],
        )
        for table, name in cursor.fetchall():
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')  # noqa: S608


@pytest.fixture
def broken_world(world):
    _drop_time_checks()
    customer = world["customer"]
    rows = []
    for stamp in OUT_OF_RANGE:
        interaction = factories.InteractionFactory(
            customer=customer, rep=world["users"]["rep"], team=world["team_a"]
        )
        rows.append(interaction.pk)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE interactions_interaction SET occurred_at = %s::timestamptz, "
                "updated_at = %s::timestamptz WHERE id = %s",
                [stamp, stamp, interaction.pk],
            )
    followup = factories.FollowUpFactory(
        customer=customer, owner=world["users"]["rep"], team=world["team_a"]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE followups_followup SET due_at = %s::timestamptz, "
            "next_action_at = %s::timestamptz WHERE id = %s",
            [OUT_OF_RANGE[0], OUT_OF_RANGE[1], followup.pk],
        )
    return world


@pytest.mark.parametrize(
    ("role", "url"),
    [
        ("rep", "/api/v1/interactions/"),
        ("rep", "/api/v1/interactions/?updated_since=2000-01-01T00:00:00Z"),
        ("rep", "/api/v1/customers/{customer}/timeline/"),
        ("rep", "/interactions/customers/{customer}/timeline/"),
        ("rep", "/customers/{customer}/"),
        ("rep", "/api/v1/lookup/?phone=%2B14155550142"),
        ("rep", "/api/v1/followups/"),
        ("rep", "/followups/my-day/"),
        ("admin", "/api/v1/customers/{customer}/export/"),
        ("admin", "/admin/interactions/interaction/"),
        ("admin", "/admin/followups/followup/"),
        ("supervisor", "/supervisor/board/"),
    ],
)
def test_reads_answer_with_out_of_range_rows_stored(broken_world, client_for, role, url):
    client = client_for(broken_world["users"][role])

    response = client.get(url.format(customer=broken_world["customer"].pk))

    assert response.status_code == 200, response.content[:500]


def test_metrics_rollup_runs_with_out_of_range_rows_stored(broken_world):
    factories.InteractionFactory(
        customer=broken_world["customer"], occurred_at=timezone.now() - timedelta(days=1)
    )

    metrics_rollup_refresh()  # raises on failure
