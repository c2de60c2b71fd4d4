"""Idempotency-Key on single creates (core.idempotency), exercised on a create view."""

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from core.idempotency import idempotent
from core.models import IdempotencyRecord
from crm.models import Customer
from crm.services import customer_create
from tests.api_clients.helpers import bearer_client


class _Body(serializers.Serializer):
    full_name = serializers.CharField(max_length=200)
    explode = serializers.BooleanField(default=False)
    pause = serializers.FloatField(default=0)


class CustomerCreateView(APIView):
    required_scopes = {"POST": ["customers:write"]}

    @idempotent
    def post(self, request):
        body = _Body(data=request.data)
        body.is_valid(raise_exception=True)
        if body.validated_data["explode"]:
            raise RuntimeError("boom")
        time.sleep(body.validated_data["pause"])
        customer = customer_create(full_name=body.validated_data["full_name"])
        return Response(
            {"id": customer.pk, "full_name": customer.full_name}, status=status.HTTP_201_CREATED
        )


view = CustomerCreateView.as_view()
factory = APIRequestFactory()


def call(secret: str, body: dict, key: str | None = "key-1"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    response = view(factory.post("/customers/", body, format="json", **headers))
    response.render()
    return response


@pytest.fixture
def secret(db):
    return bearer_client("customers:write")[2]


def test_same_key_and_body_replays_first_response(secret):
    first = call(secret, {"full_name": "Jane"})
    second = call(secret, {"full_name": "Jane"})

    assert first.status_code == second.status_code == 201
    assert second.data == first.data
    assert second["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1


def test_same_key_other_body_is_422_and_does_nothing(secret):
    call(secret, {"full_name": "Jane"})

    response = call(secret, {"full_name": "John"})

    assert response.status_code == 422
    assert response.data["code"] == "idempotency_key_reused"
    assert list(Customer.objects.values_list("full_name", flat=True)) == ["Jane"]


def test_error_response_is_replayed_too(secret):
    first = call(secret, {"full_name": ""})
    second = call(secret, {"full_name": ""})

    assert first.status_code == second.status_code == 400
    assert second.data == first.data
    assert set(second.data["errors"]) == {"full_name"}


def test_without_key_every_request_does_the_work(secret):
    call(secret, {"full_name": "Jane"}, key=None)
    call(secret, {"full_name": "Jane"}, key=None)

    assert Customer.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_empty_or_too_long_key_is_400(secret, key):
    response = call(secret, {"full_name": "Jane"}, key=key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.data["errors"]
    assert Customer.objects.count() == 0


def test_key_of_255_characters_is_fine(secret):
    assert call(secret, {"full_name": "Jane"}, key="k" * 255).status_code == 201


def test_keys_are_scoped_to_the_client(secret):
    other = bearer_client("customers:write", name="other")[2]

    call(secret, {"full_name": "Jane"})
    response = call(other, {"full_name": "John"})

    assert response.status_code == 201
    assert Customer.objects.count() == 2


def test_after_24_hours_the_key_runs_again(secret):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        call(secret, {"full_name": "Jane"})
    with time_machine.travel(start + timedelta(hours=24, seconds=1), tick=False):
        response = call(secret, {"full_name": "Jane"})

    assert "Idempotent-Replayed" not in response
    assert Customer.objects.count() == 2


def test_server_error_is_not_stored_so_a_retry_runs(secret):
    with pytest.raises(RuntimeError):
        call(secret, {"full_name": "Jane", "explode": True})

    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_run_the_work_once():
    secret = bearer_client("customers:write", name="racer")[2]
    barrier = threading.Barrier(2)
    responses: list = []

    def go() -> None:
        try:
            barrier.wait()
            responses.append(call(secret, {"full_name": "Jane", "pause": 0.5}))
        finally:
            connection.close()

    threads = [threading.Thread(target=go) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].data == responses[1].data
    assert sorted(r.has_header("Idempotent-Replayed") for r in responses) == [False, True]
    assert Customer.objects.count() == 1


def test_purge_task_deletes_only_expired_records(secret):
    from core.tasks import idempotency_records_purge_expired

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        call(secret, {"full_name": "Old"}, key="old")
    with time_machine.travel(start + timedelta(hours=23), tick=False):
        call(secret, {"full_name": "New"}, key="new")
    with time_machine.travel(start + timedelta(hours=24, minutes=1), tick=False):
        deleted = idempotency_records_purge_expired()

    assert deleted == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
