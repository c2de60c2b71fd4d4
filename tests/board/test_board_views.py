"""The supervisor pages: board, list fragment, bulk reassign, escalations; query counts."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.models import TeamMembership
from followups.models import FollowUp
from reporting.board_models import EscalationAcknowledgement
from tests.board.conftest import member, promise

NOW = datetime(2026, 5, 6, 15, 0, tzinfo=UTC)  # a Wednesday, 11:00 in New York


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def grow(org, reps: int, promises_per_rep: int) -> None:
    for r in range(reps):
        rep = member(org.east, username=f"rep{r}-{reps}")
        for p in range(promises_per_rep):
            promise(
                rep,
                org.east,
                NOW - timedelta(hours=1 + 7 * p),
                escalation_level=p % 3,
            )


def queries_for(client, url: str) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response


def test_board_page_query_count_does_not_grow_with_reps_or_promises(client, org, frozen):
    client.force_login(org.sam)
    grow(org, reps=2, promises_per_rep=2)
    small, _ = queries_for(client, reverse("board:board"))

    grow(org, reps=12, promises_per_rep=6)
    large, response = queries_for(client, reverse("board:board"))

    assert large == small
    # counts, acknowledged escalations and owners: one query each; the viewer's zone 1
    assert large <= 18
    body = response.content.decode()
    assert "76 overdue promises" in body  # 2*2 + 12*6
    assert body.count('class="rep-row"') == 14


@pytest.mark.parametrize("fragment", ["board:summary", "board:list"])
def test_board_fragments_query_count_is_constant(client, org, frozen, fragment):
    client.force_login(org.admin)
    grow(org, reps=1, promises_per_rep=2)
    small, _ = queries_for(client, reverse(fragment))
    grow(org, reps=8, promises_per_rep=5)
    large, _ = queries_for(client, reverse(fragment))
    assert large == small


def test_each_count_links_to_a_list_of_that_length(client, org, frozen):
    client.force_login(org.sam)
    promise(org.maria, org.east, NOW - timedelta(minutes=20))
    promise(org.maria, org.east, NOW - timedelta(days=9), escalation_level=1)
    promise(org.james, org.east, NOW - timedelta(days=9))

    summary = client.get(reverse("board:summary")).content.decode()
    response = client.get(
        reverse("board:list"), {"team": org.east.pk, "owner": org.maria.pk, "bucket": "over_3d"}
    )

    assert f"owner={org.maria.pk}&amp;bucket=over_3d" in summary
    body = response.content.decode()
    assert "1 overdue promise" in body
    assert body.count('name="followup"') == 1


def test_the_list_opens_the_customer(client, org, frozen):
    client.force_login(org.sam)
    followup = promise(org.maria, org.east, NOW - timedelta(hours=2))
    body = client.get(reverse("board:list")).content.decode()
    assert f'href="/customers/{followup.customer_id}/"' in body


def test_bad_filters_are_a_400_not_a_500(client, org):
    client.force_login(org.sam)
    assert client.get(reverse("board:list"), {"bucket": "forever"}).status_code == 400
    assert client.get(reverse("board:list"), {"team": "east"}).status_code == 400
    assert client.get(reverse("board:escalations"), {"state": "x"}).status_code == 400


def test_reps_and_strangers_get_no_board(client, org):
    client.force_login(org.maria)
    assert client.get(reverse("board:board")).status_code == 403
    client.logout()
    assert client.get(reverse("board:board")).status_code == 302


def test_htmx_bulk_reassign_returns_the_list_and_refreshes_the_counts(client, org, frozen):
    client.force_login(org.sam)
    first = promise(org.maria, org.east, NOW - timedelta(hours=2))
    second = promise(org.maria, org.east, NOW - timedelta(hours=3))
    promise(org.maria, org.east, NOW - timedelta(hours=4))

    response = client.post(
        reverse("board:reassign") + f"?owner={org.maria.pk}",
        {"followup": [first.pk, second.pk], "new_owner": org.james.pk},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert response["HX-Trigger"] == "board-changed"
    body = response.content.decode()
    assert "Reassigned 2 promises" in body
    assert "1 overdue promise" in body  # the list was filtered to Maria's
    assert set(
        FollowUp.objects.filter(pk__in=[first.pk, second.pk]).values_list("owner_id", flat=True)
    ) == {org.james.pk}


def test_plain_post_bulk_reassign_redirects_back(client, org, frozen):
    client.force_login(org.sam)
    first = promise(org.maria, org.east, NOW - timedelta(hours=2))
    response = client.post(
        reverse("board:reassign"),
        {
            "followup": [first.pk],
            "new_owner": org.james.pk,
            "next": "/supervisor/board/?bucket=under_4h",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/supervisor/board/?bucket=under_4h"
    assert FollowUp.objects.get(pk=first.pk).owner_id == org.james.pk


def test_bulk_reassign_error_is_shown_and_changes_nothing(client, org, frozen):
    client.force_login(org.sam)
    first = promise(org.maria, org.east, NOW - timedelta(hours=2))
    response = client.post(
        reverse("board:reassign"),
        {"followup": [first.pk], "new_owner": org.wei.pk},
        HTTP_HX_REQUEST="true",
    )
    assert "is not a member of East" in response.content.decode()
    assert FollowUp.objects.get(pk=first.pk).owner_id == org.maria.pk


def test_escalations_inbox_lists_and_acknowledges(client, org, frozen):
    client.force_login(org.sam)
    escalated = promise(org.maria, org.east, NOW - timedelta(days=2), escalation_level=1)
    promise(org.wei, org.west, NOW - timedelta(days=2), escalation_level=1)  # not Sam's

    body = client.get(reverse("board:escalations")).content.decode()
    assert body.count("data-followup=") == 1

    response = client.post(
        reverse("board:acknowledge", args=[escalated.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "acknowledged by Sam Okafor" in response.content.decode()
    assert EscalationAcknowledgement.objects.get().acknowledged_by_id == org.sam.pk
    assert "data-followup=" not in client.get(reverse("board:escalations")).content.decode()
    acked = client.get(reverse("board:escalations"), {"state": "acknowledged"}).content.decode()
    assert acked.count("data-followup=") == 1


def test_escalations_inbox_query_count_is_constant(client, org, frozen):
    client.force_login(org.sam)
    promise(org.maria, org.east, NOW - timedelta(days=2), escalation_level=1)
    small, _ = queries_for(client, reverse("board:escalations") + "?state=all")
    for i in range(15):
        promise(
            member(org.east, username=f"esc{i}"),
            org.east,
            NOW - timedelta(days=3),
            escalation_level=2,
        )
    large, _ = queries_for(client, reverse("board:escalations") + "?state=all")
    assert large == small


def test_escalations_inbox_shows_the_newest_escalation_first_and_caps_its_count(
    client, org, frozen, monkeypatch
):
    from reporting import board_views

    monkeypatch.setattr(board_views, "INBOX_PAGE_SIZE", 2)
    monkeypatch.setattr(board_views, "INBOX_COUNT_CAP", 3)
    client.force_login(org.sam)
    rows = [
        promise(
            org.maria,
            org.east,
            NOW - timedelta(days=5),
            escalation_level=level,
            escalate_1_at=NOW - timedelta(days=4, hours=hours),
            escalate_2_at=NOW - timedelta(days=3, hours=hours),
        )
        for level, hours in [(1, 1), (2, 2), (1, 3), (2, 4)]
    ]

    first = client.get(reverse("board:escalations")).content.decode()
    second = client.get(reverse("board:escalations"), {"page": 2}).content.decode()

    def shown(body):
        return [int(part.split('"')[0]) for part in body.split('data-followup="')[1:]]

    # Level 2 rows escalated a day after level 1 ones: newest escalation first.
    assert shown(first) + shown(second) == [rows[1].pk, rows[3].pk, rows[0].pk]
    assert "Page 1 of 2 (the newest 3" in first


def test_supervisor_of_two_teams_can_reassign_within_each(client, org, frozen):
    TeamMembership.objects.create(team=org.west, user=org.sam, role=TeamMembership.Role.SUPERVISOR)
    client.force_login(org.sam)
    west = promise(org.wei, org.west, NOW - timedelta(hours=2))
    body = client.get(reverse("board:board")).content.decode()
    assert "West" in body
    assert "East" in body
    client.post(reverse("board:reassign"), {"followup": [west.pk], "new_owner": org.ingrid.pk})
    assert FollowUp.objects.get(pk=west.pk).owner_id == org.ingrid.pk


def test_the_topbar_board_link_is_for_supervisors_only(client, org, django_assert_num_queries):
    client.force_login(org.sam)
    assert 'href="/supervisor/board/"' in client.get("/customers/").content.decode()
    client.force_login(org.maria)
    # The link is decided from the roles the page has read anyway: no query, no request.
    # session, user, roles and zone, the capped count's price (EXPLAIN) and the count
    # (no customers: no rows to read)
    with django_assert_num_queries(5):
        html = client.get("/customers/").content.decode()
    assert 'href="/supervisor/board/"' not in html
    assert "/supervisor/nav/" not in html
