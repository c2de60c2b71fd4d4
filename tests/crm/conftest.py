import pytest
from rest_framework.test import APIClient

from crm.models import TeamMembership
from tests.factories import TeamMembershipFactory, UserFactory


@pytest.fixture
def rep(db):
    return TeamMembershipFactory(
        role=TeamMembership.Role.REP, user=UserFactory(username="rep")
    ).user


@pytest.fixture
def supervisor(db):
    return TeamMembershipFactory(
        role=TeamMembership.Role.SUPERVISOR, user=UserFactory(username="supervisor")
    ).user


@pytest.fixture
def rep_api(rep):
    client = APIClient()
    client.force_login(rep)
    return client


@pytest.fixture
def supervisor_api(supervisor):
    client = APIClient()
    client.force_login(supervisor)
    return client


@pytest.fixture
def rep_browser(client, rep):
    client.force_login(rep)
    return client
