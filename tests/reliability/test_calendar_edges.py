"""Calendar edge cases end to end: the phrase, the stored UTC schedule, the sweep at the right instant."""

from datetime import UTC, datetime

import pytest
import time_machine

from followups import services, sweep
from followups.models import FollowUpEvent
from tests.factories import CustomerFactory
from tests.reliability.builders import people

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]


def _at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _promise_said_at(moment: datetime, phrase: str, customer_tz: str = "Europe/London"):
    who = people()
    with time_machine.travel(moment, tick=False):
        return services.followup_promise(
            customer=CustomerFactory(time_zone=customer_tz),
            owner=who["rep"],
            action="Call back",
            due_phrase=phrase,
        )


def _transitions_after_sweep(followup, moment: datetime) -> list[tuple[str, int]]:
    with time_machine.travel(moment, tick=False):
        sweep.followup_sweep()
    return list(
        FollowUpEvent.objects.filter(followup=followup, kind__in=["remind", "overdue", "escalate"])
        .order_by("pk")
        .values_list("kind", "level")
    )


def test_team_dst_change_over_the_weekend():
    # Friday 30 Oct 2026 16:00 EDT; New York falls back on Sunday 1 Nov.
    followup = _promise_said_at(_at(2026, 10, 30, 20, 0), "within 2 business hours")

    # One hour on Friday (to 17:00 EDT), one on Monday (09:00-10:00 EST = 15:00 UTC).
    assert followup.due_at == _at(2026, 11, 2, 15, 0)
    assert followup.escalate_1_at == _at(2026, 11, 2, 19, 0)
    assert _transitions_after_sweep(followup, _at(2026, 11, 2, 14, 59)) == [("remind", 0)]
    assert _transitions_after_sweep(followup, _at(2026, 11, 2, 15, 0)) == [
        ("remind", 0),
        ("overdue", 0),
    ]


def test_customer_dst_change_overnight():
    # Saturday 24 Oct 2026, 23:00 in London (BST); the clocks go back that night.
    followup = _promise_said_at(_at(2026, 10, 24, 22, 0), "tomorrow morning")

    assert followup.due_at == _at(2026, 10, 25, 12, 0)  # noon GMT on Sunday
    assert _transitions_after_sweep(followup, _at(2026, 10, 25, 10, 59)) == []
    assert _transitions_after_sweep(followup, _at(2026, 10, 25, 11, 0)) == [("remind", 0)]
    assert _transitions_after_sweep(followup, _at(2026, 10, 25, 12, 0))[-1] == ("overdue", 0)


def test_promise_made_on_a_holiday_eve():
    # Wednesday 25 Nov 2026, 16:00 EST; Thursday is Thanksgiving (US holiday).
    followup = _promise_said_at(_at(2026, 11, 25, 21, 0), "within 4 business hours")

    assert followup.due_at == _at(2026, 11, 27, 17, 0)  # Friday 12:00 EST
    assert followup.escalate_1_at == _at(2026, 11, 27, 21, 0)  # Friday 16:00
    # 16 business hours after due: 5 on Friday, 8 on Monday, 3 on Tuesday.
    assert followup.escalate_2_at == _at(2026, 12, 1, 17, 0)
    # Nothing happens on the holiday itself.
    assert _transitions_after_sweep(followup, _at(2026, 11, 26, 23, 0)) == []


def test_by_friday_said_on_friday_evening():
    followup = _promise_said_at(_at(2026, 11, 20, 23, 30), "by Friday")  # 18:30 EST

    assert followup.due_at == _at(2026, 11, 27, 22, 0)  # next Friday 17:00 EST
    assert _transitions_after_sweep(followup, _at(2026, 11, 21, 0, 0)) == []
