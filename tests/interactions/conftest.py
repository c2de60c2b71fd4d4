import pytest
from rest_framework.test import APIClient

from crm.models import ContactPoint
from tests import factories


@pytest.fixture
def team(db):
    return factories.TeamFactory(name="Support")


@pytest.fixture
def rep(team):
    user = factories.UserFactory(
        username="maria", email="maria@rapport.example", first_name="Maria", last_name="Rep"
    )
    factories.TeamMembershipFactory(team=team, user=user)
    return user


@pytest.fixture
def rep_client(rep):
    client = APIClient()
    client.force_login(rep)
    return client


@pytest.fixture
def customer(db):
    return factories.CustomerFactory(full_name="Ann Lee")


def email_contact(customer, address: str):
    return factories.ContactPointFactory(
        customer=customer, kind=ContactPoint.Kind.EMAIL, value=address.lower()
    )
