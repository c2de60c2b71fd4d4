"""Replays, including 8 concurrent ones, of one 1,000-record batch: exactly 1,000 rows."""

import threading

import pytest
from django.db import connection

from interactions.models import Interaction
from tests.api_clients.helpers import bearer_client
from tests.interactions.test_sync_api import URL, record

BATCH = [record(n, customer_phone=f"+1415555{n:04d}") for n in range(1000)]


def _post_in_thread(secret: str, body: dict, out: list, barrier: threading.Barrier) -> None:
    from rest_framework.test import APIClient

    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    try:
        barrier.wait()
        response = http.post(URL, body, format="json")
        out.append((response.status_code, [r["status"] for r in response.json()["results"]]))
    finally:
        connection.close()


def test_sequential_replays_end_with_exactly_1000(db):
    _, http, _ = bearer_client("interactions:write")

    statuses = [
        [r["status"] for r in http.post(URL, {"records": BATCH}, format="json").json()["results"]]
        for _ in range(3)
    ]

    assert statuses[0] == ["created"] * 1000
    assert statuses[1] == statuses[2] == ["unchanged"] * 1000
    assert Interaction.objects.count() == 1000


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("creates_customers", [False, True])
def test_eight_concurrent_replays_end_with_exactly_1000(creates_customers):
    from crm.models import Customer

    _, _, secret = bearer_client(
        "interactions:write",
        name=f"c-{creates_customers}",
        creates_unmatched_customers=creates_customers,
    )
    out: list = []
    barrier = threading.Barrier(8)
    threads = [
        threading.Thread(target=_post_in_thread, args=(secret, {"records": BATCH}, out, barrier))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert [code for code, _ in out] == [200] * 8
    created = sum(statuses.count("created") for _, statuses in out)
    unchanged = sum(statuses.count("unchanged") for _, statuses in out)
    assert (created, unchanged) == (1000, 7000)
    assert Interaction.objects.count() == 1000
    assert Interaction.objects.values("source", "external_id").distinct().count() == 1000
    assert Customer.objects.count() == (1000 if creates_customers else 0)
