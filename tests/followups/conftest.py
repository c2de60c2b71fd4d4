from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group

from crm.models import TeamMembership
from tests.factories import CustomerFactory, TeamFactory, TeamMembershipFactory, UserFactory
from tests.followups.webhook_receiver import Receiver

# A Monday, 10:00 in New York (EST, UTC-5): the team is open.
MONDAY_10_NY = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)


@pytest.fixture
def team(db):
    return TeamFactory(time_zone="America/New_York", holiday_country="US")


@pytest.fixture
def rep(team):
    return TeamMembershipFactory(team=team, role=TeamMembership.Role.REP).user


@pytest.fixture
def other_rep(team):
    return TeamMembershipFactory(team=team, role=TeamMembership.Role.REP).user


@pytest.fixture
def supervisor(team):
    return TeamMembershipFactory(team=team, role=TeamMembership.Role.SUPERVISOR).user


@pytest.fixture
def admin_user(db):
    user = UserFactory()
    user.groups.add(Group.objects.get_or_create(name="admins")[0])
    return user


@pytest.fixture
def outsider(db):
    return TeamMembershipFactory().user


@pytest.fixture
def customer(db):
    return CustomerFactory(time_zone="Europe/London", preferred_channel="email")


@pytest.fixture
def receiver_factory():
    """Real webhook receivers on loopback: `make(statuses=[500], delay=0.0)`."""
    made = []

    def make(**kwargs):
        receiver = Receiver(**kwargs)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()
