from datetime import UTC, datetime

import pytest

from crm.models import Customer
from interactions.models import Interaction
from tests import factories
from tests.api_clients.helpers import bearer_client

URL = "/api/v1/interactions/sync/"


def record(n: int, **overrides):
    data = {
        "source": "pbx-hq",
        "external_id": f"call-{n}",
        "channel": "phone",
        "direction": "inbound",
        "occurred_at": "2026-03-05T10:00:00Z",
        "duration_seconds": 60 + n,
    }
    data.update(overrides)
    return data


@pytest.fixture
def sync_client(db):
    _, http, _ = bearer_client("interactions:write")
    return http


def test_creates_then_replay_is_unchanged(sync_client):
    body = {"records": [record(1), record(2)]}

    first = sync_client.post(URL, body, format="json")
    replay = sync_client.post(URL, body, format="json")

    assert first.status_code == 200
    assert [r["status"] for r in first.json()["results"]] == ["created", "created"]
    assert [r["status"] for r in replay.json()["results"]] == ["unchanged", "unchanged"]
    assert [r["id"] for r in replay.json()["results"]] == [r["id"] for r in first.json()["results"]]
    assert Interaction.objects.count() == 2


def test_replay_answers_each_source_s_own_row_for_a_shared_external_id(sync_client):
    body = {
        "records": [
            record(1),
            record(1, source="pbx-branch"),
            record(2, source="pbx-branch"),
            record(1, source="twilio-eu", duration_seconds=5),
        ]
    }
    first = sync_client.post(URL, body, format="json").json()["results"]

    body["records"][3]["duration_seconds"] = 6  # one changed among unchanged ones
    replay = sync_client.post(URL, body, format="json").json()["results"]

    assert [r["status"] for r in replay] == ["unchanged", "unchanged", "unchanged", "updated"]
    assert [r["id"] for r in replay] == [r["id"] for r in first]
    assert len({r["id"] for r in first}) == 4
    by_id = {i.pk: (i.source, i.external_id) for i in Interaction.objects.all()}
    assert [by_id[r["id"]] for r in replay] == [
        ("pbx-hq", "call-1"),
        ("pbx-branch", "call-1"),
        ("pbx-branch", "call-2"),
        ("twilio-eu", "call-1"),
    ]


def test_changed_record_is_updated_and_updated_at_moves(sync_client):
    first = sync_client.post(URL, {"records": [record(1)]}, format="json").json()["results"][0]
    before = Interaction.objects.get(pk=first["id"]).updated_at

    again = sync_client.post(
        URL, {"records": [record(1, summary="Called back", duration_seconds=5)]}, format="json"
    ).json()["results"][0]

    row = Interaction.objects.get(pk=first["id"])
    assert again == {"index": 0, "status": "updated", "id": first["id"], "errors": {}}
    assert (row.summary, row.duration_seconds) == ("Called back", 5)
    assert row.updated_at > before


def test_bad_items_never_block_good_ones(sync_client):
    body = {
        "records": [
            record(1),
            {"source": "pbx-hq", "external_id": "", "channel": "fax", "direction": "sideways"},
            "not an object",
            record(2, occurred_at="yesterday"),
            record(3, customer=999999),
            record(4, rep="nobody"),
            record(5),
        ]
    }

    results = sync_client.post(URL, body, format="json").json()["results"]

    assert [r["index"] for r in results] == list(range(7))
    assert [r["status"] for r in results] == ["created"] + ["error"] * 5 + ["created"]
    assert set(results[1]["errors"]) == {"external_id", "channel", "direction", "occurred_at"}
    assert results[2]["errors"] == {"non_field_errors": ["Expected an object."]}
    assert set(results[3]["errors"]) == {"occurred_at"}
    assert set(results[4]["errors"]) == {"customer"}
    assert set(results[5]["errors"]) == {"rep"}
    assert sorted(Interaction.objects.values_list("external_id", flat=True)) == ["call-1", "call-5"]


def test_customer_matched_by_id_phone_in_any_format_or_email(sync_client):
    by_id = factories.CustomerFactory()
    by_phone = factories.CustomerFactory()
    factories.ContactPointFactory(customer=by_phone, value="+14155552671")
    by_email = factories.CustomerFactory()
    factories.ContactPointFactory(customer=by_email, kind="email", value="jane@example.com")
    rep = factories.UserFactory(username="maria", email="Maria@Rapport.example")

    results = sync_client.post(
        URL,
        {
            "records": [
                record(1, customer=by_id.pk),
                record(2, customer_phone="(415) 555-2671"),
                record(3, customer_phone="+1 415-555-2671", rep="maria@rapport.example"),
                record(4, customer_email="JANE@example.com", rep="maria"),
                record(5, customer_phone="client:alice"),
                record(6, customer_phone="1001"),
            ]
        },
        format="json",
    ).json()["results"]

    rows = {i.external_id: i for i in Interaction.objects.all()}
    assert [r["status"] for r in results] == ["created"] * 6
    assert rows["call-1"].customer_id == by_id.pk
    assert rows["call-2"].customer_id == by_phone.pk
    assert (rows["call-3"].customer_id, rows["call-3"].rep_id) == (by_phone.pk, rep.pk)
    assert (rows["call-4"].customer_id, rows["call-4"].rep_id) == (by_email.pk, rep.pk)
    assert rows["call-5"].customer_id is None
    assert rows["call-6"].customer_id is None


def test_unmatched_caller_stays_unmatched_by_default(sync_client):
    sync_client.post(URL, {"records": [record(1, customer_phone="(415) 555-0199")]}, format="json")

    assert Interaction.objects.get().customer_id is None
    assert Customer.objects.count() == 0


def test_unmatched_caller_creates_customer_when_client_says_so(db):
    _, http, _ = bearer_client("interactions:write", creates_unmatched_customers=True)
    body = {
        "records": [
            record(1, customer_phone="(415) 555-0199", customer_name="Jane Doe"),
            record(2, customer_phone="+14155550199"),
            record(3, customer_email="new@example.com"),
        ]
    }

    http.post(URL, body, format="json")
    http.post(URL, body, format="json")

    jane = Customer.objects.get(contact_points__value="+14155550199")
    assert jane.full_name == "Jane Doe"
    assert Customer.objects.count() == 2
    assert set(Interaction.objects.values_list("customer_id", flat=True)) == {
        jane.pk,
        Customer.objects.get(contact_points__value="new@example.com").pk,
    }


def test_replay_without_customer_keeps_the_customer_a_rep_assigned(sync_client):
    first = sync_client.post(URL, {"records": [record(1)]}, format="json").json()["results"][0]
    customer = factories.CustomerFactory()
    Interaction.objects.filter(pk=first["id"]).update(customer=customer)

    replay = sync_client.post(URL, {"records": [record(1)]}, format="json").json()["results"][0]

    assert replay["status"] == "unchanged"
    assert Interaction.objects.get(pk=first["id"]).customer_id == customer.pk


def test_same_key_twice_in_one_batch_applies_in_order(sync_client):
    results = sync_client.post(
        URL, {"records": [record(1), record(1, summary="second")]}, format="json"
    ).json()["results"]

    assert [r["status"] for r in results] == ["created", "updated"]
    assert Interaction.objects.get().summary == "second"


def test_merged_customer_resolves_to_survivor(sync_client):
    survivor = factories.CustomerFactory()
    merged = factories.CustomerFactory(merged_into=survivor)

    sync_client.post(URL, {"records": [record(1, customer=merged.pk)]}, format="json")

    assert Interaction.objects.get().customer_id == survivor.pk


@pytest.mark.parametrize(
    "body",
    [{}, {"records": []}, {"records": "x"}, [], {"records": [record(n) for n in range(1001)]}],
)
def test_batch_shape_errors_name_records(sync_client, body):
    response = sync_client.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "records" in response.json()["errors"]
    assert Interaction.objects.count() == 0


def test_stored_values_are_exact(sync_client):
    sync_client.post(URL, {"records": [record(7, outcome="resolved", summary="ok")]}, format="json")

    row = Interaction.objects.get()
    assert (row.source, row.external_id, row.channel, row.direction) == (
        "pbx-hq",
        "call-7",
        "phone",
        "inbound",
    )
    assert row.occurred_at == datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
    assert (row.duration_seconds, row.outcome, row.summary) == (67, "resolved", "ok")


def test_sync_query_count_is_constant(sync_client, django_assert_max_num_queries):
    factories.CustomerFactory()
    records = [record(n, customer_phone=f"+1415555{n:04d}", rep="maria") for n in range(200)]
    factories.UserFactory(username="maria")

    with django_assert_max_num_queries(15):
        response = sync_client.post(URL, {"records": records}, format="json")

    assert [r["status"] for r in response.json()["results"]] == ["created"] * 200
