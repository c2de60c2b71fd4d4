"""Timeline: newest first across channels, filters, constant query count, stable cursor."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from interactions import selectors, services
from tests import factories

pytestmark = pytest.mark.django_db
BASE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def log(customer, minutes, channel="phone", category=None, rep=None):
    return services.interaction_log(
        customer=customer,
        channel=channel,
        direction="inbound",
        occurred_at=BASE + timedelta(minutes=minutes),
        category=category,
        rep=rep,
        subject=f"at {minutes}",
    )


def test_all_channels_newest_first_and_filters(customer):
    call = log(customer, 0, "phone", "complaint")
    mail = log(customer, 10, "email", "question")
    visit = log(customer, 20, "in_person", "complaint")
    log(factories.CustomerFactory(), 30)  # someone else's

    page = selectors.customer_timeline(customer_id=customer.pk)
    assert [i.pk for i in page.items] == [visit.pk, mail.pk, call.pk]
    assert page.next_cursor is None
    by_channel = selectors.customer_timeline(customer_id=customer.pk, channel="email")
    assert [i.pk for i in by_channel.items] == [mail.pk]
    by_category = selectors.customer_timeline(customer_id=customer.pk, category="complaint")
    assert [i.pk for i in by_category.items] == [visit.pk, call.pk]
    by_matter = selectors.customer_timeline(customer_id=customer.pk, matter_id=call.matter_id)
    assert [i.pk for i in by_matter.items] == [visit.pk, call.pk]


@pytest.mark.parametrize("count", [3, 30])
def test_query_count_is_constant(customer, count, django_assert_num_queries):
    rep = factories.UserFactory()
    for minute in range(count):
        interaction = log(customer, minute, "phone", "complaint", rep=rep)
    services.interaction_feedback_give(interaction_id=interaction.pk, score=5)

    with django_assert_num_queries(1):
        page = selectors.customer_timeline(customer_id=customer.pk, page_size=25)
        # Everything the fragment and the API render is loaded by that one query
        # (their customer is the page's own: only its id is read).
        [
            (i.rep.get_full_name(), i.rep.username, i.category.name, i.matter.status)
            + (i.customer_id, i.team_id)
            for i in page.items
        ]
        [getattr(i, "feedback", None) for i in page.items]


def test_cursor_pagination_is_stable_while_new_interactions_arrive(customer):
    logged = [log(customer, minute) for minute in range(7)]  # oldest first
    newest_first = [i.pk for i in reversed(logged)]

    first = selectors.customer_timeline(customer_id=customer.pk, page_size=3)
    # Meanwhile: two new contacts, one backdated between pages, one at the same instant.
    newer = log(customer, 100)
    same_time = log(customer, 3)
    second = selectors.customer_timeline(
        customer_id=customer.pk, page_size=3, cursor=first.next_cursor
    )
    third = selectors.customer_timeline(
        customer_id=customer.pk, page_size=3, cursor=second.next_cursor
    )

    seen = [i.pk for page in (first, second, third) for i in page.items]
    # No repeats, no skips: the newer contact is above page one (not re-shown), the one
    # at an older instant appears in its place (same time, higher id comes first).
    assert seen == newest_first[:3] + [same_time.pk] + newest_first[3:]
    assert newer.pk not in seen
    assert third.next_cursor is None


@pytest.mark.parametrize("cursor", ["garbage", "W10", "WyJ4IiwgMV0", "bnVsbA"])
def test_bad_cursor_is_a_validation_error(customer, cursor):
    with pytest.raises(ValidationError) as error:
        selectors.customer_timeline(customer_id=customer.pk, cursor=cursor)

    assert "cursor" in error.value.message_dict
