"""Bulk state for the reliability tests (factories for the few, bulk_create for thousands)."""

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection

from crm.models import TeamMembership
from followups.models import FollowUp, FollowUpEvent, Notification
from tests.factories import CustomerFactory, TeamFactory, TeamMembershipFactory, UserFactory


def people(*, with_email: bool = False) -> dict:
    """A team with a rep and a supervisor, and an admin. Without e-mail
    addresses by default, so the thousands of transitions notify in-app only."""
    email = (lambda name: f"{name}@rapport.example") if with_email else (lambda name: "")
    team = TeamFactory()
    rep = TeamMembershipFactory(team=team, user=UserFactory(email=email("rep"))).user
    supervisor = TeamMembershipFactory(
        team=team, role=TeamMembership.Role.SUPERVISOR, user=UserFactory(email=email("sup"))
    ).user
    admin = UserFactory(email=email("admin"), is_superuser=True)
    return {"team": team, "rep": rep, "supervisor": supervisor, "admin": admin}


def scheduled_followups(
    count: int, *, start: datetime, step: timedelta, spread: int = 10, **who
) -> list[int]:
    """`count` open follow-ups whose reminder, due time and two escalations
    fall at start + k*step (k = 0..3), staggered over `spread` slots of a second."""
    customer = CustomerFactory()
    rows = []
    for index in range(count):
        base = start + timedelta(milliseconds=500 * (index % spread))
        rows.append(
            FollowUp(
                customer=customer,
                owner=who["rep"],
                team=who["team"],
                created_by=who["rep"],
                action=f"Promise {index}",
                remind_at=base,
                due_at=base + step,
                original_due_at=base + step,
                escalate_1_at=base + 2 * step,
                escalate_2_at=base + 3 * step,
                next_action_at=base,
            )
        )
    return [row.pk for row in FollowUp.objects.bulk_create(rows, batch_size=1000)]


def duplicate_transitions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {FollowUpEvent._meta.db_table} "  # noqa: S608
            "WHERE kind IN ('remind', 'overdue', 'escalate') "
            "GROUP BY followup_id, kind, level, cycle HAVING count(*) > 1) AS doubles"
        )
        return cursor.fetchone()[0]


def duplicate_notifications() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {Notification._meta.db_table} "  # noqa: S608
            "GROUP BY event_id, recipient_id, channel HAVING count(*) > 1) AS doubles"
        )
        return cursor.fetchone()[0]


User = get_user_model()
