"""factory_boy factories shared by every test package."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from crm.models import ContactPoint, Customer, Team, TeamMembership
from followups.models import FollowUp
from interactions.models import Interaction


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@rapport.example")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("correct horse battery staple")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    time_zone = "America/New_York"
    holiday_country = "US"


class TeamMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamMembership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    role = TeamMembership.Role.REP


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    full_name = factory.Faker("name")
    time_zone = "Europe/London"


class ContactPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactPoint

    customer = factory.SubFactory(CustomerFactory)
    kind = ContactPoint.Kind.PHONE
    value = factory.Sequence(lambda n: f"+1415555{n % 10000:04d}")
    label = ContactPoint.Label.MOBILE


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    channel = Interaction.Channel.PHONE
    direction = Interaction.Direction.INBOUND
    occurred_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    duration_seconds = 120
    rep = factory.SubFactory(UserFactory)
    summary = "Asked about the bill."


class FollowUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowUp

    customer = factory.SubFactory(CustomerFactory)
    owner = factory.SubFactory(UserFactory)
    action = "Call back with the answer"
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    next_action_at = factory.SelfAttribute("due_at")
