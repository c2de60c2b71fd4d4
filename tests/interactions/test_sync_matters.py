"""Synced contacts join matters by the same rule as logged ones, in the sync's transaction."""

import pytest

from interactions.models import Interaction, Matter
from tests import factories
from tests.api_clients.helpers import bearer_client

URL = "/api/v1/interactions/sync/"

pytestmark = pytest.mark.django_db


def record(n: int, customer, *, day: int = 5, **overrides):
    data = {
        "source": "pbx-hq",
        "external_id": f"call-{n}",
        "channel": "phone",
        "direction": "inbound",
        "occurred_at": f"2026-03-{day:02d}T10:00:00Z",
        "duration_seconds": 60,
    }
    if customer is not None:
        data["customer"] = customer.pk
    data.update(overrides)
    return data


@pytest.fixture
def sync(db):
    _, http, _ = bearer_client("interactions:write")

    def post(*records):
        response = http.post(URL, {"records": list(records)}, format="json")
        assert response.status_code == 200, response.content
        return response.json()["results"]

    return post


def test_each_uncategorised_contact_opens_its_own_matter(sync):
    customer = factories.CustomerFactory()

    results = sync(record(1, customer), record(2, customer, outcome="resolved"), record(3, None))

    calls = {r["index"]: Interaction.objects.get(pk=r["id"]) for r in results}
    first, resolved, unmatched = calls[0], calls[1], calls[2]
    assert unmatched.matter_id is None
    assert first.matter_id != resolved.matter_id
    assert not first.is_repeat_contact
    assert not resolved.is_repeat_contact
    open_matter = Matter.objects.get(pk=first.matter_id)
    assert (open_matter.customer_id, open_matter.category_id, open_matter.status) == (
        customer.pk,
        None,
        "open",
    )
    assert (open_matter.first_interaction_id, open_matter.contact_count) == (first.pk, 1)
    assert (open_matter.opened_at, open_matter.last_contact_at) == (
        first.occurred_at,
        first.occurred_at,
    )
    done = Matter.objects.get(pk=resolved.matter_id)
    assert (done.status, done.resolved_at) == ("resolved", resolved.occurred_at)


def test_categorised_contacts_join_within_the_window(sync):
    customer = factories.CustomerFactory()

    results = sync(
        record(1, customer, day=2, category="request"),
        record(2, customer, day=4, category="request", outcome="resolved"),
        record(3, customer, day=4, category="question"),
    )

    first, repeat, other = (Interaction.objects.get(pk=r["id"]) for r in results)
    assert repeat.matter_id == first.matter_id
    assert repeat.is_repeat_contact
    assert other.matter_id not in (None, first.matter_id)
    assert not other.is_repeat_contact
    matter = Matter.objects.get(pk=first.matter_id)
    assert (matter.contact_count, matter.status) == (2, "resolved")


def test_replays_and_repeated_keys_add_no_matters(sync):
    customer = factories.CustomerFactory()
    batch = [record(n, customer) for n in range(5)]
    sync(*batch)
    matters = set(Matter.objects.values_list("pk", flat=True))

    sync(*batch)
    sync(record(7, customer), record(7, customer, summary="second version of the same call"))

    assert Matter.objects.count() == len(matters) + 1
    assert set(Matter.objects.values_list("pk", flat=True)) >= matters
    call = Interaction.objects.get(external_id="call-7")
    assert call.summary == "second version of the same call"
    assert Matter.objects.get(first_interaction=call).contact_count == 1
    # Every synced contact with a customer is in exactly the matter it opened.
    assert not Interaction.objects.filter(customer=customer, matter__isnull=True).exists()


def test_a_rejected_record_leaves_no_matter_behind(sync):
    customer = factories.CustomerFactory()

    results = sync(record(1, customer), record(2, customer, category="no-such-category"))

    assert [r["status"] for r in results] == ["created", "error"]
    assert Matter.objects.count() == 1
    assert Matter.objects.get().first_interaction_id == results[0]["id"]
