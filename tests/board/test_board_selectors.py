"""The overdue board: aging in business time, and counts that equal their lists."""

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied

from followups.models import FollowUp
from reporting import board_selectors as selectors
from tests.board.conftest import promise
from tests.factories import UserFactory

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")


def local(zone, *args) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)


def buckets_by_action(scope, as_of) -> dict[str, str]:
    queryset = selectors.board_overdue_followups(scope=scope, as_of=as_of)
    return dict(queryset.values_list("action", "aging_bucket"))


def test_aging_is_business_time_across_the_new_york_dst_weekend(org):
    # Given promises of the New York team; DST began on Sunday 8 March 2026,
    # and "now" is Monday 10:00 EDT (business hours Mon-Fri 09:00-17:00).
    as_of = local(NEW_YORK, 2026, 3, 9, 10, 0)
    promise(org.maria, org.east, local(NEW_YORK, 2026, 3, 6, 16, 0), action="fri 16:00")
    promise(org.maria, org.east, local(NEW_YORK, 2026, 3, 6, 12, 0), action="fri 12:00")
    promise(org.maria, org.east, local(NEW_YORK, 2026, 3, 5, 10, 0), action="thu 10:00")
    promise(org.james, org.east, local(NEW_YORK, 2026, 3, 3, 9, 30), action="tue 09:30")
    promise(org.james, org.east, local(NEW_YORK, 2026, 3, 9, 9, 59), action="mon 09:59")
    promise(org.james, org.east, local(NEW_YORK, 2026, 3, 9, 10, 1), action="not yet due")

    # When the board reads them as the supervisor
    scope = selectors.board_scope(org.sam)
    buckets = buckets_by_action(scope, as_of)

    # Then age counts only open hours: Fri 16:00 -> Mon 10:00 is 2 business hours
    # (65 wall-clock hours), Fri 12:00 is 6, Thu 10:00 is 16, Tue 09:30 is 32.5.
    assert buckets == {
        "fri 16:00": selectors.UNDER_4H,
        "fri 12:00": selectors.FROM_4H_TO_1D,
        "thu 10:00": selectors.FROM_1D_TO_3D,
        "tue 09:30": selectors.OVER_3D,
        "mon 09:59": selectors.UNDER_4H,
    }


def test_aging_is_business_time_across_the_london_dst_weekend(org):
    # BST began on Sunday 29 March 2026; "now" is Monday 09:30 BST (08:30 UTC).
    as_of = local(LONDON, 2026, 3, 30, 9, 30)
    promise(org.wei, org.west, local(LONDON, 2026, 3, 27, 15, 0), action="fri 15:00")
    promise(org.wei, org.west, local(LONDON, 2026, 3, 27, 13, 0), action="fri 13:00")
    promise(org.wei, org.west, local(LONDON, 2026, 3, 26, 9, 0), action="thu 09:00")
    promise(org.wei, org.west, local(LONDON, 2026, 3, 23, 17, 0), action="mon 17:00")
    # The same instant is 04:30 in New York: its Friday 16:00 promise is 1 business hour old.
    promise(org.maria, org.east, local(NEW_YORK, 2026, 3, 27, 16, 0), action="east fri 16:00")

    buckets = buckets_by_action(selectors.board_scope(org.admin), as_of)

    assert buckets == {
        "fri 15:00": selectors.UNDER_4H,  # 2 h Friday + 0.5 h Monday
        "fri 13:00": selectors.FROM_4H_TO_1D,  # 4.5 h
        "thu 09:00": selectors.FROM_1D_TO_3D,  # 16.5 h
        "mon 17:00": selectors.OVER_3D,  # 32.5 h
        "east fri 16:00": selectors.UNDER_4H,
    }


def test_a_public_holiday_is_not_business_time(org):
    # Good Friday (3 April 2026) is a public holiday in England: the London team is closed.
    as_of = local(LONDON, 2026, 4, 6, 9, 0)  # Easter Monday is a holiday too: still closed
    promise(org.wei, org.west, local(LONDON, 2026, 4, 2, 16, 0), action="thu 16:00")

    buckets = buckets_by_action(selectors.board_scope(org.ingrid), as_of)

    assert buckets == {"thu 16:00": selectors.UNDER_4H}  # one business hour (Thu 16-17)


def _assert_every_count_equals_its_list(scope, as_of) -> int:
    board = selectors.board_summary(scope=scope, as_of=as_of)
    checked = 0

    def check(count: int, **filter_fields) -> None:
        nonlocal checked
        board_filter = selectors.BoardFilter(**filter_fields)
        listed = selectors.board_list(scope=scope, as_of=as_of, board_filter=board_filter)
        assert len(list(listed)) == count, filter_fields
        assert listed.count() == count, filter_fields
        checked += 1

    def check_all(item, **base) -> None:
        check(item.total, **base)
        for bucket in selectors.AGING_BUCKET_KEYS:
            check(item.counts[bucket], bucket=bucket, **base)
        for level in selectors.ESCALATION_LEVELS:
            check(item.levels[level], escalation_level=level, **base)
        assert sum(item.counts.values()) == item.total

    check_all(board)
    for team in board.teams:
        team_base = {"team_id": team.team_id} if team.team_id else {"without_team": True}
        check_all(team, **team_base)
        for row in team.rows:
            check_all(row, owner_id=row.owner_id, **team_base)
    return checked


@pytest.mark.parametrize(
    "as_of",
    [
        local(NEW_YORK, 2026, 3, 9, 10, 0),  # the Monday after US DST starts
        local(LONDON, 2026, 3, 30, 9, 30),  # the Monday after UK DST starts
        local(NEW_YORK, 2026, 11, 2, 11, 15),  # the Monday after US DST ends
        local(LONDON, 2026, 10, 26, 16, 45),  # the Monday after UK DST ends
        datetime(2026, 3, 8, 7, 30, tzinfo=UTC),  # Sunday, the hour New York skips
    ],
    ids=["us-spring", "uk-spring", "us-fall", "uk-fall", "us-skipped-hour"],
)
def test_every_board_count_equals_the_length_of_its_list(org, as_of):
    # Given promises due at scattered times over the previous 10 days in both
    # teams and without a team, some escalated, some done (never on the board)
    rng = random.Random(as_of.timestamp())
    owners = [(org.maria, org.east), (org.james, org.east), (org.wei, org.west), (org.wei, None)]
    for index in range(60):
        owner, team = owners[index % len(owners)]
        due_at = as_of - timedelta(minutes=rng.randint(-600, 10 * 24 * 60))
        status = FollowUp.Status.DONE if index % 7 == 0 else FollowUp.Status.OPEN
        extra = {"completed_at": due_at, "next_action_at": None} if status == "done" else {}
        promise(owner, team, due_at, status=status, escalation_level=index % 3, **extra)

    # Then for admins (everything) and each supervisor (own team), every count
    # on the board equals the length of the list it links to
    for user in (org.admin, org.sam, org.ingrid):
        scope = selectors.board_scope(user)
        assert _assert_every_count_equals_its_list(scope, as_of) > 7

    # And the total is every open promise past due, in scope
    admin_board = selectors.board_summary(scope=selectors.board_scope(org.admin), as_of=as_of)
    assert admin_board.total == FollowUp.objects.filter(status="open", due_at__lt=as_of).count()


def test_supervisors_see_only_their_teams_and_reps_see_no_board(org):
    now = datetime(2026, 5, 5, 15, 0, tzinfo=UTC)
    promise(org.maria, org.east, now - timedelta(hours=1), action="east")
    promise(org.wei, org.west, now - timedelta(hours=1), action="west")
    promise(org.wei, None, now - timedelta(hours=1), action="no team")

    assert set(buckets_by_action(selectors.board_scope(org.sam), now)) == {"east"}
    assert set(buckets_by_action(selectors.board_scope(org.ingrid), now)) == {"west"}
    assert set(buckets_by_action(selectors.board_scope(org.admin), now)) == {
        "east",
        "west",
        "no team",
    }
    with pytest.raises(PermissionDenied):
        selectors.board_scope(org.maria)
    with pytest.raises(PermissionDenied):
        selectors.board_scope(UserFactory())


def test_board_groups_by_team_and_rep_most_behind_first(org):
    now = datetime(2026, 5, 5, 15, 0, tzinfo=UTC)  # Tuesday
    promise(org.maria, org.east, now - timedelta(minutes=30))
    promise(org.james, org.east, now - timedelta(minutes=30))
    promise(org.james, org.east, now - timedelta(days=6), escalation_level=2)
    promise(org.james, org.east, now + timedelta(hours=1))  # not due: not counted

    board = selectors.board_summary(scope=selectors.board_scope(org.sam), as_of=now)

    [east] = board.teams
    assert east.team_name == "East"
    assert [(row.owner_name, row.total) for row in east.rows] == [
        ("James Hart", 2),
        ("Maria Lopez", 1),
    ]
    assert east.counts == {"under_4h": 2, "4h_1d": 0, "1d_3d": 0, "over_3d": 1}
    assert east.levels == {1: 0, 2: 1}
    assert east.unacknowledged == 1


def test_unacknowledged_counts_only_the_current_escalation_without_acknowledgement(org):
    from reporting.board_models import EscalationAcknowledgement

    now = datetime(2026, 5, 5, 15, 0, tzinfo=UTC)
    acked = promise(org.james, org.east, now - timedelta(days=6), escalation_level=2)
    old_level = promise(org.james, org.east, now - timedelta(days=6), escalation_level=2)
    old_cycle = promise(org.maria, org.east, now - timedelta(days=6), escalation_level=1, cycle=1)
    west = promise(org.wei, org.west, now - timedelta(days=6), escalation_level=1)
    for followup, cycle, level in (
        (acked, 0, 2),
        (old_level, 0, 1),
        (old_cycle, 0, 1),
        (west, 0, 1),
    ):
        EscalationAcknowledgement.objects.create(
            followup=followup,
            cycle=cycle,
            level=level,
            acknowledged_by=org.sam,
            acknowledged_at=now,
        )

    board = selectors.board_summary(scope=selectors.board_scope(org.sam), as_of=now)
    admin_board = selectors.board_summary(scope=selectors.board_scope(org.admin), as_of=now)

    [east] = board.teams
    assert {row.owner_name: row.unacknowledged for row in east.rows} == {
        "James Hart": 1,  # level 1 was acknowledged, the promise is at level 2 now
        "Maria Lopez": 1,  # acknowledged in an earlier cycle
    }
    assert board.unacknowledged == 2
    assert admin_board.unacknowledged == 2  # west's one is acknowledged
