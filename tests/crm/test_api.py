from datetime import UTC, datetime, time

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from crm.models import ContactPoint, Customer, ProfileFact
from crm.services import (
    consent_record,
    contact_point_add,
    customer_create,
    fact_add,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/"


def make_customer(index: int, *, points: int = 1, facts: int = 1, actor=None) -> Customer:
    customer = customer_create(full_name=f"Customer {index}", tags=["vip", f"t{index}"])
    for point in range(points):
        contact_point_add(
            customer=customer,
            kind="phone",
            value=f"+1415555{index:02d}{point:02d}",
            is_primary=point == 0,
        )
    for fact in range(facts):
        fact_add(customer=customer, text=f"Fact {fact}", actor=actor, is_pinned=fact == 0)
    consent_record(
        customer=customer, channel="email", status="granted", method="web_form", actor=actor
    )
    return customer


def test_create_read_update_a_full_profile(rep_api, rep):
    response = rep_api.post(
        URL,
        {
            "full_name": "Siobhán O'Brien",
            "preferred_name": "Shiv",
            "pronunciation": "shi-VAWN",
            "pronouns": "she/her",
            "time_zone": "Europe/Dublin",
            "preferred_language": "en_ie",
            "preferred_channel": "email",
            "quiet_hours_start": "21:00",
            "quiet_hours_end": "08:00",
            "accessibility_needs": "Hard of hearing.",
            "organisation": "Walsh & Co",
            "organisation_role": "Office manager",
            "owner": rep.pk,
            "tags": ["VIP"],
            "contact_points": [
                {"kind": "phone", "value": "087 123 4567", "region": "IE", "is_primary": True},
                {"kind": "email", "value": "Shiv@Example.ie", "is_primary": True},
            ],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["preferred_language"] == "en-IE"
    assert body["tags"] == ["vip"]
    assert [(p["kind"], p["value"]) for p in body["contact_points"]] == [
        ("email", "shiv@example.ie"),
        ("phone", "+353871234567"),
    ]
    assert body["consent"]["sms"]["status"] == "unknown"

    customer_id = body["id"]
    response = rep_api.patch(
        f"{URL}{customer_id}/", {"pronouns": "they/them", "tags": ["a", "b"]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["pronouns"] == "they/them"
    assert response.json()["tags"] == ["a", "b"]
    assert rep_api.get(f"{URL}{customer_id}/").json()["full_name"] == "Siobhán O'Brien"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"preferred_language": "xx-YY"}, "preferred_language"),
        ({"contact_points": [{"kind": "phone", "value": "12345"}]}, "contact_points[0].value"),
        (
            {"contact_points": [{"kind": "email", "value": "not-an-email"}]},
            "contact_points[0].value",
        ),
        (
            {
                "contact_points": [
                    {"kind": "email", "value": "a@example.org", "is_primary": True},
                    {"kind": "email", "value": "b@example.org", "is_primary": True},
                ]
            },
            "contact_points[1].is_primary",
        ),
        ({"quiet_hours_start": "22:00"}, "quiet_hours_end"),
        ({"preferred_channel": "pigeon"}, "preferred_channel"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_saves_nothing(rep_api, payload, field):
    response = rep_api.post(URL, {"full_name": "Ann Lee", **payload}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"], body
    assert Customer.objects.count() == 0
    assert ContactPoint.objects.count() == 0


def test_an_overlong_fact_is_a_400_naming_text(rep_api):
    customer = customer_create(full_name="Ann Lee")

    response = rep_api.post(f"{URL}{customer.pk}/facts/", {"text": "x" * 1001}, format="json")

    assert response.status_code == 400
    assert "text" in response.json()["errors"]
    assert ProfileFact.objects.count() == 0


def test_search_by_phone_in_another_format_and_by_email(rep_api):
    ann = customer_create(full_name="Ann Lee", phones=["+14155550100"], emails=["ann@example.org"])
    customer_create(full_name="Bob Stone", phones=["+14155550111"])

    by_phone = rep_api.get(URL, {"q": "(415) 555-0100"}).json()
    by_email = rep_api.get(URL, {"q": "ANN@example.org"}).json()
    by_name = rep_api.get(URL, {"q": "ann le"}).json()

    assert [row["id"] for row in by_phone["results"]] == [ann.pk]
    assert [row["id"] for row in by_email["results"]] == [ann.pk]
    assert [row["id"] for row in by_name["results"]] == [ann.pk]


def test_list_ordering_is_whitelisted(rep_api):
    response = rep_api.get(URL, {"ordering": "search_name"})

    assert response.status_code == 400
    assert "ordering" in response.json()["errors"]


def test_nested_contact_points(rep_api):
    customer = customer_create(full_name="Ann Lee", phones=["+14155550100"])
    url = f"{URL}{customer.pk}/contact-points/"

    created = rep_api.post(
        url,
        {"kind": "phone", "value": "+1 (650) 253-0000 ext. 123", "label": "work"},
        format="json",
    )
    assert created.status_code == 201
    assert (created.json()["value"], created.json()["extension"]) == ("+16502530000", "123")

    second_primary = rep_api.post(
        url, {"kind": "phone", "value": "+14155550177", "is_primary": True}, format="json"
    )
    assert second_primary.status_code == 400
    assert "is_primary" in second_primary.json()["errors"]

    promoted = rep_api.patch(f"{url}{created.json()['id']}/", {"is_primary": True}, format="json")
    assert promoted.status_code == 200
    assert list(
        customer.contact_points.filter(is_primary=True).values_list("value", flat=True)
    ) == ["+16502530000"]
    assert rep_api.delete(f"{url}{created.json()['id']}/").status_code == 204
    assert [p["value"] for p in rep_api.get(url).json()] == ["+14155550100"]


def test_nested_facts_with_history_and_soft_delete(rep_api, rep):
    customer = customer_create(full_name="Ann Lee")
    url = f"{URL}{customer.pk}/facts/"

    with time_machine.travel(datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False):
        created = rep_api.post(
            url,
            {"category": "family", "text": "<b>Mia</b> starts school", "origin_interaction_id": 55},
            format="json",
        )
    assert created.status_code == 201
    fact_id = created.json()["id"]
    assert created.json()["recorded_by"] == "rep"
    assert created.json()["recorded_at"] == "2026-03-02T09:00:00Z"
    assert rep_api.patch(f"{url}{fact_id}/", {"is_pinned": True}, format="json").status_code == 200
    assert rep_api.delete(f"{url}{fact_id}/").status_code == 204

    assert rep_api.get(url).json() == []
    assert [f["id"] for f in rep_api.get(url, {"include_deleted": "true"}).json()] == [fact_id]
    history = rep_api.get(f"{url}{fact_id}/history/").json()
    assert [entry["action"] for entry in history] == ["created", "edited", "deleted"]


def test_nested_consents(rep_api):
    customer = customer_create(full_name="Ann Lee")
    url = f"{URL}{customer.pk}/consents/"

    response = rep_api.post(
        url, {"channel": "sms", "status": "withdrawn", "method": "verbal"}, format="json"
    )
    bad = rep_api.post(
        url, {"channel": "fax", "status": "granted", "method": "verbal"}, format="json"
    )

    assert response.status_code == 201
    assert bad.status_code == 400
    assert "channel" in bad.json()["errors"]
    assert rep_api.get(f"{URL}{customer.pk}/").json()["consent"]["sms"]["status"] == "withdrawn"


def test_merge_through_the_api_and_old_ids_resolve(supervisor_api, rep_api):
    survivor = customer_create(full_name="Ann Lee", phones=["+14155550100"])
    duplicate = customer_create(full_name="Ann Lee", phones=["415-555-0100"], emails=["a@x.org"])

    candidates = rep_api.get(f"{URL}{survivor.pk}/duplicates/").json()
    assert [c["customer"]["id"] for c in candidates] == [duplicate.pk]
    groups = rep_api.get(f"{URL}duplicates/").json()
    assert groups == [
        {
            "kind": "phone",
            "value": "+14155550100",
            "customers": [
                {"id": survivor.pk, "full_name": "Ann Lee"},
                {"id": duplicate.pk, "full_name": "Ann Lee"},
            ],
        }
    ]

    forbidden = rep_api.post(f"{URL}{survivor.pk}/merge/", {"source": duplicate.pk}, format="json")
    assert forbidden.status_code == 403
    response = supervisor_api.post(
        f"{URL}{survivor.pk}/merge/", {"source": duplicate.pk}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["target"] == survivor.pk
    old = rep_api.get(f"{URL}{duplicate.pk}/")
    assert old.status_code == 200
    assert old.json()["id"] == survivor.pk
    assert "a@x.org" in [p["value"] for p in old.json()["contact_points"]]
    again = supervisor_api.post(
        f"{URL}{survivor.pk}/merge/", {"source": duplicate.pk}, format="json"
    )
    assert again.status_code == 400
    assert "source" in again.json()["errors"]


def test_users_outside_any_team_get_403(db):
    outsider = APIClient()
    outsider.force_login(UserFactory(username="outsider"))

    assert outsider.get(URL).status_code == 403
    assert APIClient().get(URL).status_code in (401, 403)


def _count_queries(client, url, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(captured)


def test_list_and_detail_query_counts_do_not_grow(rep_api, rep, django_assert_max_num_queries):
    few = [make_customer(index, points=1, facts=1, actor=rep) for index in range(2)]
    small_list = _count_queries(rep_api, URL)
    small_detail = _count_queries(rep_api, f"{URL}{few[0].pk}/")
    small_search = _count_queries(rep_api, URL, q="customer")

    many = [make_customer(index, points=4, facts=5, actor=rep) for index in range(10, 18)]
    assert _count_queries(rep_api, URL) == small_list
    assert _count_queries(rep_api, f"{URL}{many[0].pk}/") == small_detail
    assert _count_queries(rep_api, URL, q="customer") == small_search
    with django_assert_max_num_queries(10):
        rep_api.get(URL, {"q": "customer"})
    with django_assert_max_num_queries(11):  # +1: the audit entry of the read (H6)
        rep_api.get(f"{URL}{many[0].pk}/")
    assert _count_queries(rep_api, f"{URL}{many[0].pk}/facts/") == _count_queries(
        rep_api, f"{URL}{few[0].pk}/facts/"
    )


def test_quiet_hours_and_local_time_in_the_api(rep_api):
    customer = customer_create(
        full_name="Aiko",
        time_zone="Asia/Tokyo",
        quiet_hours_start=time(21),
        quiet_hours_end=time(8),
    )

    with time_machine.travel(datetime(2026, 6, 1, 13, 30, tzinfo=UTC), tick=False):
        body = rep_api.get(f"{URL}{customer.pk}/").json()

    assert body["local_time"].startswith("2026-06-01T22:30:00+09:00")
    assert body["is_quiet_now"] is True


def test_the_schema_documents_the_customer_api(rep_api):
    schema = rep_api.get("/api/schema/", {"format": "json"}).json()

    for path in [
        "/api/v1/customers/",
        "/api/v1/customers/{id}/",
        "/api/v1/customers/{id}/merge/",
        "/api/v1/customers/{id}/duplicates/",
        "/api/v1/customers/duplicates/",
        "/api/v1/customers/{customer_pk}/contact-points/",
        "/api/v1/customers/{customer_pk}/facts/",
        "/api/v1/customers/{customer_pk}/facts/{id}/history/",
        "/api/v1/customers/{customer_pk}/consents/",
    ]:
        assert path in schema["paths"], path
    assert schema["paths"]["/api/v1/customers/{id}/merge/"]["post"]["requestBody"]
