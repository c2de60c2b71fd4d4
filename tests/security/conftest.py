"""People of every role, in two teams, for the security tests."""

import pytest
from django.test import Client

from crm.models import TeamMembership
from tests import factories

from .world import world  # noqa: F401 - the shared access-test world, as a fixture

PASSWORD = "correct horse battery staple"


@pytest.fixture
def team_a(db):
    return factories.TeamFactory(name="Team A")


@pytest.fixture
def team_b(db):
    return factories.TeamFactory(name="Team B")


@pytest.fixture
def rep_a(team_a):
    user = factories.UserFactory(username="rep_a")
    factories.TeamMembershipFactory(team=team_a, user=user, role=TeamMembership.Role.REP)
    return user


@pytest.fixture
def rep_b(team_b):
    user = factories.UserFactory(username="rep_b")
    factories.TeamMembershipFactory(team=team_b, user=user, role=TeamMembership.Role.REP)
    return user


@pytest.fixture
def supervisor_a(team_a):
    user = factories.UserFactory(username="supervisor_a")
    factories.TeamMembershipFactory(team=team_a, user=user, role=TeamMembership.Role.SUPERVISOR)
    return user


@pytest.fixture
def admin_user(db):
    return factories.UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def client_for():
    def make(user=None, *, enforce_csrf_checks: bool = False) -> Client:
        client = Client(enforce_csrf_checks=enforce_csrf_checks)
        if user is not None:
            client.force_login(user)
        return client

    return make
