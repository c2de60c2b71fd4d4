from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction

from interactions import matters, services
from interactions.models import Feedback, Interaction
from tests import factories

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def log(**overrides):
    arguments = {
        "customer": overrides.pop("customer", None) or factories.CustomerFactory(),
        "channel": "phone",
        "direction": "inbound",
        "occurred_at": NOW - timedelta(hours=1),
    }
    arguments.update(overrides)
    return services.interaction_log(**arguments)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"direction": "sideways"}, "direction"),
        ({"duration_seconds": -5}, "duration_seconds"),
        ({"occurred_at": NOW + timedelta(hours=1)}, "occurred_at"),
        ({"ended_at": NOW - timedelta(hours=2)}, "ended_at"),
        ({"category": "gossip"}, "category"),
        ({"sentiment": 3}, "sentiment"),
        ({"outcome": "maybe"}, "outcome"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(overrides, field):
    customer = factories.CustomerFactory()
    with time_machine.travel(NOW, tick=False), pytest.raises(ValidationError) as error:
        log(customer=customer, **overrides)

    assert field in error.value.message_dict
    assert Interaction.objects.count() == 0


def test_future_within_tolerance_is_accepted_and_ended_at_sets_duration():
    with time_machine.travel(NOW, tick=False):
        soon = log(occurred_at=NOW + timedelta(minutes=5))
        timed = log(occurred_at=NOW - timedelta(minutes=30), ended_at=NOW - timedelta(minutes=18))

    assert soon.pk is not None
    assert timed.duration_seconds == 720


def test_sentiment_range_is_a_database_constraint():
    with time_machine.travel(NOW, tick=False):
        interaction = log(sentiment=-2)

    with pytest.raises(IntegrityError), transaction.atomic():
        Interaction.objects.filter(pk=interaction.pk).update(sentiment=3)


def test_phone_numbers_become_e164_other_addresses_are_kept():
    with time_machine.travel(NOW, tick=False):
        interaction = log(from_number="(415) 555-2671", to_number="client:alice")

    assert (interaction.from_number, interaction.to_number) == ("+14155552671", "client:alice")


def test_logging_touches_the_customer_and_defaults_the_team_to_the_reps():
    team = factories.TeamFactory()
    rep = factories.UserFactory()
    factories.TeamMembershipFactory(team=team, user=rep)
    customer = factories.CustomerFactory()
    with time_machine.travel(NOW, tick=False):
        interaction = log(customer=customer, rep=rep)

    customer.refresh_from_db()
    assert customer.last_activity_at == NOW - timedelta(hours=1)
    assert interaction.team == team


class FailingExtension:
    prefix = "boom"
    template_name = "unused.html"

    def build_form(self, *, data, customer, user):
        return None

    def save(self, *, form, interaction, user):
        raise ValidationError({"due_at": ["Broken on purpose."]})


class RecordingExtension(FailingExtension):
    def __init__(self):
        self.saved = []

    def save(self, *, form, interaction, user):
        assert Interaction.objects.filter(pk=interaction.pk).exists()  # same transaction
        self.saved.append((form, interaction.pk, user))


def test_extensions_are_saved_with_the_interaction():
    extension = RecordingExtension()
    user = factories.UserFactory()
    with time_machine.travel(NOW, tick=False):
        interaction = services.interaction_log_with_extensions(
            extensions=[(extension, "the form")],
            user=user,
            customer=factories.CustomerFactory(),
            channel="phone",
            direction="inbound",
            occurred_at=NOW,
        )

    assert extension.saved == [("the form", interaction.pk, user)]


def test_a_failing_extension_rolls_the_interaction_back():
    customer = factories.CustomerFactory()
    with time_machine.travel(NOW, tick=False), pytest.raises(ValidationError):
        services.interaction_log_with_extensions(
            extensions=[(RecordingExtension(), None), (FailingExtension(), None)],
            user=None,
            customer=customer,
            channel="phone",
            direction="inbound",
            occurred_at=NOW,
        )

    assert Interaction.objects.count() == 0
    customer.refresh_from_db()
    assert customer.last_activity_at is None


def test_feedback_once_attached_to_interaction_and_matter():
    with time_machine.travel(NOW, tick=False):
        interaction = log(category="complaint")

    feedback = services.interaction_feedback_give(
        interaction_id=interaction.pk, score=4, comment="Kind"
    )

    assert (feedback.matter_id, feedback.score) == (interaction.matter_id, 4)
    with pytest.raises(ValidationError) as error:
        services.interaction_feedback_give(interaction_id=interaction.pk, score=1)
    assert "score" in error.value.message_dict
    assert Feedback.objects.get().score == 4


@pytest.mark.parametrize("score", [0, 6])
def test_feedback_score_out_of_range(score):
    with time_machine.travel(NOW, tick=False):
        interaction = log()

    with pytest.raises(ValidationError):
        services.interaction_feedback_give(interaction_id=interaction.pk, score=score)

    assert Feedback.objects.count() == 0


def test_update_outcome_resolved_resolves_the_matter():
    with time_machine.travel(NOW, tick=False):
        interaction = log(category="question")
        services.interaction_update(interaction=interaction, changes={"outcome": "resolved"})

    interaction.matter.refresh_from_db()
    assert interaction.matter.status == "resolved"


def test_update_refuses_unknown_fields():
    with time_machine.travel(NOW, tick=False):
        interaction = log()

    with pytest.raises(ValidationError) as error:
        services.interaction_update(interaction=interaction, changes={"source": "x"})

    assert "source" in error.value.message_dict


def _row(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_a_contact_opening_its_matter_is_stored_as_given_in_one_statement(
    rep, team, django_assert_num_queries
):
    """The new contact and its matter are one INSERT; the instance the
    service returns is the row as stored, ready to be saved again."""
    customer = factories.CustomerFactory()
    with time_machine.travel(NOW, tick=False):
        with django_assert_num_queries(1) as queries:
            matters._matter_open(
                Interaction(
                    customer=customer,
                    channel="email",
                    direction="outbound",
                    occurred_at=NOW - timedelta(hours=2),
                    duration_seconds=12,
                    rep=rep,
                    team=team,
                    subject="Refund " + "x" * 248,  # the longest allowed
                    summary="Line one\nline 'two' — ü",
                    outcome="resolved",
                    sentiment=2,
                    email_references=["<a@x>", "<b@x>"],
                    attachments=[{"name": "bill.pdf", "size": 120}],
                    email_to="ann@example.com",
                    source="manual",
                ),
                customer_id=customer.pk,
            )
        interaction = Interaction.objects.get()
    assert "INSERT" in queries.captured_queries[0]["sql"]

    matter = interaction.matter
    assert (matter.first_interaction_id, matter.customer_id) == (interaction.pk, customer.pk)
    assert (matter.status, matter.resolved_at) == ("resolved", NOW - timedelta(hours=2))
    assert matter.subject == interaction.subject == "Refund " + "x" * 248
    assert (matter.contact_count, interaction.is_repeat_contact) == (1, False)
    assert interaction.email_references == ["<a@x>", "<b@x>"]
    assert interaction.attachments == [{"name": "bill.pdf", "size": 120}]
    assert interaction.summary == "Line one\nline 'two' — ü"
    assert (interaction.rep_id, interaction.team_id, interaction.sentiment) == (rep.pk, team.pk, 2)
    assert interaction.created_at == interaction.updated_at == NOW


def test_a_value_too_long_for_its_column_is_refused_not_cut(rep):
    """As the ORM's INSERT: the one-statement path never truncates silently."""
    customer = factories.CustomerFactory()
    contact = Interaction(
        customer=customer,
        channel="phone",
        direction="inbound",
        occurred_at=NOW,
        location="x" * 256,
    )

    with pytest.raises(DataError), transaction.atomic():
        matters._matter_open(contact, customer_id=customer.pk)
    assert not Interaction.objects.exists()


def test_the_returned_contact_equals_its_row_and_saves_again(rep):
    with time_machine.travel(NOW, tick=False):
        logged = log(rep=rep, summary="first", email_references=["<a@x>"])
    stored = Interaction.objects.get(pk=logged.pk)

    assert _row(logged) == _row(stored)
    assert logged._state.adding is False
    logged.summary = "second"
    logged.save(update_fields=["summary"])
    assert Interaction.objects.get(pk=logged.pk).summary == "second"
    assert Interaction.objects.count() == 1
