"""The join-window rule, manual linking, and FCR / repeat-contact metrics on a scripted history."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from interactions import matters, selectors, services
from interactions.models import Interaction, Matter
from tests import factories

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 15, tzinfo=UTC)


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def log(customer, day, category, *, outcome="", rep=None, channel="phone", hour=10):
    return services.interaction_log(
        customer=customer,
        channel=channel,
        direction="inbound",
        occurred_at=at(day, hour),
        rep=rep,
        category=category,
        outcome=outcome,
    )


@pytest.fixture
def history():
    """Window 7 days (the default). Comments give the expected matter of each contact."""
    support, other_team = factories.TeamFactory(), factories.TeamFactory()
    maria, james = factories.UserFactory(), factories.UserFactory()
    factories.TeamMembershipFactory(team=support, user=maria)
    factories.TeamMembershipFactory(team=other_team, user=james)
    a, b, c = factories.CustomerFactory(), factories.CustomerFactory(), factories.CustomerFactory()
    h = {"support": support, "other_team": other_team, "maria": maria, "james": james}
    h["a1"] = log(a, 1, "complaint", rep=maria)  # M1 opens
    h["a2"] = log(a, 3, "complaint", rep=maria)  # joins M1: repeat
    h["a3"] = log(a, 5, "complaint", rep=maria, outcome="resolved")  # joins M1, resolves it
    h["a4"] = log(a, 6, "complaint", rep=maria, outcome="resolved")  # M1 resolved: M2, FCR
    h["a5"] = log(a, 6, "question", rep=maria, outcome="resolved", hour=11)  # M3, FCR
    h["b1"] = log(b, 1, "request", rep=maria)  # M4 opens, stays open
    h["b2"] = log(b, 9, "request", rep=maria, outcome="resolved")  # 8 days later: M5, FCR
    h["b3"] = log(b, 10, "request", rep=maria)  # M5 resolved: M6 opens
    h["b4"] = log(b, 12, "request", rep=maria)  # joins M6: repeat
    h["c1"] = log(c, 2, "feedback", rep=james, channel="email", outcome="resolved")  # M7, FCR
    for value in list(h.values()):
        if isinstance(value, Interaction):
            value.refresh_from_db()
    return h


def test_join_window_rule_groups_the_scripted_history(history):
    h = history
    assert h["a1"].matter_id == h["a2"].matter_id == h["a3"].matter_id
    assert len({h[k].matter_id for k in ("a1", "a4", "a5", "b1", "b2", "b3", "c1")}) == 7
    assert h["b3"].matter_id == h["b4"].matter_id
    repeats = sorted(k for k, v in h.items() if isinstance(v, Interaction) and v.is_repeat_contact)
    assert repeats == ["a2", "a3", "b4"]
    m1 = Matter.objects.get(pk=h["a1"].matter_id)
    assert (m1.status, m1.contact_count, m1.resolved_at) == ("resolved", 3, at(5))
    assert m1.first_interaction_id == h["a1"].pk
    assert Matter.objects.get(pk=h["b1"].matter_id).status == "open"
    assert Matter.objects.count() == 7


def test_fcr_and_repeat_rate_exact_values(history):
    assert selectors.matter_fcr_rate(start=START, end=END) == {
        "matters": 7,
        "resolved": 5,
        "resolved_first_contact": 4,
        "rate": 0.5714,
    }
    assert selectors.matter_repeat_contact_rate(start=START, end=END) == {
        "contacts": 10,
        "repeat_contacts": 3,
        "rate": 0.3,
    }


def test_metrics_filters_by_team_rep_channel_and_range(history):
    h = history
    by_team = selectors.matter_fcr_rate(start=START, end=END, team_ids=[h["support"].pk])
    assert (by_team["matters"], by_team["resolved_first_contact"]) == (6, 3)
    by_rep = selectors.matter_fcr_rate(start=START, end=END, rep_ids=[h["james"].pk])
    assert by_rep == {"matters": 1, "resolved": 1, "resolved_first_contact": 1, "rate": 1.0}
    by_channel = selectors.matter_repeat_contact_rate(start=START, end=END, channel="email")
    assert by_channel == {"contacts": 1, "repeat_contacts": 0, "rate": 0.0}
    # Half-open range: matters opened on 1-5 March are M1, M4, M7.
    early = selectors.matter_fcr_rate(start=START, end=at(5, 0))
    assert (early["matters"], early["resolved_first_contact"]) == (3, 1)
    empty = selectors.matter_fcr_rate(start=at(20), end=at(21))
    assert empty == {"matters": 0, "resolved": 0, "resolved_first_contact": 0, "rate": None}


def test_window_is_a_setting(settings):
    settings.INTERACTION_MATTER_WINDOW_DAYS = 10
    customer = factories.CustomerFactory()
    first = log(customer, 1, "request")

    later = log(customer, 9, "request")

    assert later.matter_id == first.matter_id
    assert later.is_repeat_contact is True


def test_other_category_or_customer_never_joins():
    customer, other = factories.CustomerFactory(), factories.CustomerFactory()
    first = log(customer, 1, "complaint")

    different_category = log(customer, 2, "question")
    different_customer = log(other, 2, "complaint")
    no_category = log(customer, 2, None)

    assert len({first.matter_id, different_category.matter_id, different_customer.matter_id}) == 3
    assert no_category.matter_id not in {first.matter_id, different_category.matter_id}
    assert not any(
        i.is_repeat_contact for i in (different_category, different_customer, no_category)
    )


def test_interaction_without_customer_gets_no_matter():
    interaction = services.interaction_log(
        customer=None, channel="phone", direction="inbound", occurred_at=at(1), category="other"
    )

    assert interaction.matter_id is None
    assert Matter.objects.count() == 0


def test_link_and_unlink_by_hand_recount_both_matters(history):
    h = history
    m2, m3 = h["a4"].matter_id, h["a5"].matter_id

    matters.interaction_matter_link(interaction=h["a5"], matter=Matter.objects.get(pk=m2))

    h["a5"].refresh_from_db()
    assert h["a5"].matter_id == m2
    assert h["a5"].is_repeat_contact is True  # a4 came first (10:00 < 11:00)
    assert Matter.objects.get(pk=m2).contact_count == 2
    assert not Matter.objects.filter(pk=m3).exists()  # left empty: removed

    matters.interaction_matter_unlink(interaction=h["a5"])

    h["a5"].refresh_from_db()
    assert h["a5"].matter_id not in (m2, m3)
    assert h["a5"].is_repeat_contact is False
    assert Matter.objects.get(pk=m2).contact_count == 1
    assert Matter.objects.get(pk=h["a5"].matter_id).status == "resolved"


def test_link_to_another_customers_matter_is_refused(history):
    h = history
    before = h["a1"].matter_id

    with pytest.raises(ValidationError) as error:
        matters.interaction_matter_link(
            interaction=h["a1"], matter=Matter.objects.get(pk=h["b1"].matter_id)
        )

    assert "matter" in error.value.message_dict
    h["a1"].refresh_from_db()
    assert h["a1"].matter_id == before


def test_resolve_and_reopen(history):
    matter = Matter.objects.get(pk=history["b1"].matter_id)

    matters.matter_resolve(matter=matter, at=at(14))
    matter.refresh_from_db()
    assert (matter.status, matter.resolved_at) == ("resolved", at(14))

    matters.matter_reopen(matter=matter)
    matter.refresh_from_db()
    assert (matter.status, matter.resolved_at) == ("open", None)


def test_uncategorised_contacts_never_join_by_the_window():
    customer = factories.CustomerFactory()
    first = log(customer, 1, None)

    second = log(customer, 1, None, hour=11)

    assert first.matter_id != second.matter_id
    assert second.is_repeat_contact is False


def test_bulk_assign_matches_logging_one_by_one(history):
    """The scripted history again, written in bulk (like the demo seed or a sync),
    then grouped by interaction_matters_assign: the same matters and metrics."""
    one_by_one_fcr = selectors.matter_fcr_rate(start=START, end=END)
    one_by_one_repeat = selectors.matter_repeat_contact_rate(start=START, end=END)
    rows = list(Interaction.objects.order_by("pk"))
    Interaction.objects.update(matter=None, is_repeat_contact=False)
    Matter.objects.all().delete()

    assigned = matters.interaction_matters_assign(interaction_ids=[i.pk for i in reversed(rows)])

    assert assigned == 10
    assert selectors.matter_fcr_rate(start=START, end=END) == one_by_one_fcr
    assert selectors.matter_repeat_contact_rate(start=START, end=END) == one_by_one_repeat
    repeats = sorted(i.pk for i in Interaction.objects.filter(is_repeat_contact=True))
    assert repeats == sorted(history[k].pk for k in ("a2", "a3", "b4"))
    # Already assigned: a second run changes nothing.
    assert matters.interaction_matters_assign(interaction_ids=[i.pk for i in rows]) == 0


def test_bulk_assign_joins_an_existing_open_matter():
    customer = factories.CustomerFactory()
    first = log(customer, 1, "request")
    later = factories.InteractionFactory(
        customer=customer, occurred_at=at(3), category_id="request", outcome="resolved"
    )

    matters.interaction_matters_assign(interaction_ids=[later.pk])

    later.refresh_from_db()
    matter = Matter.objects.get(pk=first.matter_id)
    assert (later.matter_id, later.is_repeat_contact) == (matter.pk, True)
    assert (matter.contact_count, matter.status, matter.resolved_at) == (2, "resolved", at(3))


def test_recategorised_contact_leaves_its_matter_and_joins_by_the_new_category():
    customer = factories.CustomerFactory()
    billing = log(customer, 1, "complaint")
    request = log(customer, 2, "request")
    wrongly_filed = log(customer, 3, "complaint")  # really the same request again
    old_matter_id = wrongly_filed.matter_id
    assert old_matter_id == billing.matter_id

    services.interaction_update(interaction=wrongly_filed, changes={"category": "request"})

    wrongly_filed.refresh_from_db()
    assert (wrongly_filed.matter_id, wrongly_filed.is_repeat_contact) == (request.matter_id, True)
    joined = Matter.objects.get(pk=request.matter_id)
    assert (joined.contact_count, joined.last_contact_at) == (2, at(3))
    left = Matter.objects.get(pk=old_matter_id)
    assert (left.contact_count, left.last_contact_at) == (1, at(1))


def test_recategorising_a_matters_only_contact_moves_it_and_drops_the_empty_matter():
    customer = factories.CustomerFactory()
    only = log(customer, 1, "question")
    old_matter_id = only.matter_id

    services.interaction_update(interaction=only, changes={"category": "complaint"})

    only.refresh_from_db()
    assert not Matter.objects.filter(pk=old_matter_id).exists()
    matter = Matter.objects.get(pk=only.matter_id)
    assert (matter.category_id, matter.first_interaction_id, only.is_repeat_contact) == (
        "complaint",
        only.pk,
        False,
    )
