"""Teams, supervisors and reps for the supervisor board and metrics tests."""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group

from crm.access import ADMIN_GROUP
from crm.models import Team, TeamMembership
from tests import factories


@dataclass
class Org:
    east: Team
    west: Team
    sam: object  # supervisor of east
    ingrid: object  # supervisor of west
    maria: object  # rep in east
    james: object  # rep in east
    wei: object  # rep in west
    admin: object


def member(team: Team, role: str = TeamMembership.Role.REP, **user_fields):
    user = factories.UserFactory(**user_fields)
    factories.TeamMembershipFactory(team=team, user=user, role=role)
    return user


@pytest.fixture
def org(db) -> Org:
    east = factories.TeamFactory(name="East", time_zone="America/New_York", holiday_country="US")
    west = factories.TeamFactory(name="West", time_zone="Europe/London", holiday_country="GB")
    admin = factories.UserFactory(username="admin-user")
    admin.groups.add(Group.objects.get_or_create(name=ADMIN_GROUP)[0])
    return Org(
        east=east,
        west=west,
        sam=member(
            east,
            TeamMembership.Role.SUPERVISOR,
            username="sam",
            first_name="Sam",
            last_name="Okafor",
        ),
        ingrid=member(
            west,
            TeamMembership.Role.SUPERVISOR,
            username="ingrid",
            first_name="Ingrid",
            last_name="Berg",
        ),
        maria=member(east, username="maria", first_name="Maria", last_name="Lopez"),
        james=member(east, username="james", first_name="James", last_name="Hart"),
        wei=member(west, username="wei", first_name="Wei", last_name="Chen"),
        admin=admin,
    )


def promise(owner, team, due_at, **fields):
    """An open promise as the engine stores it (the factory, not the phrase parser)."""
    fields.setdefault("next_action_at", due_at)
    return factories.FollowUpFactory(owner=owner, team=team, due_at=due_at, **fields)


@pytest.fixture(autouse=True)
def _no_metrics_cache(settings):
    """Each test computes its figures (the cache is tested on its own)."""
    settings.METRICS_CACHE_SECONDS = 0
