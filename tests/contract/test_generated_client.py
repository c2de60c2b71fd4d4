"""A client nobody here wrote: generated from /api/schema/ with openapi-python-client at
test time (never committed), then used for a day's integration against the real app.

Create a customer with contact points, log an interaction, sync a batch with one
bad record, read the change feed, promise and complete a follow-up. Every answer
is parsed by the generated models, so a schema that says less (or other) than
the API does fails here as it would fail an integrator.
"""

import importlib
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from config.wsgi import application
from core.models import ApiClient
from tests import factories
from tests.api_clients.helpers import bearer_client

GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture(scope="module")
def rapport_client(tmp_path_factory):
    """The generated package, imported from a temporary directory."""
    if not GENERATOR.exists():
        pytest.fail("openapi-python-client is not installed (requirements-dev.txt)")
    directory = tmp_path_factory.mktemp("generated")
    schema = SchemaGenerator().get_schema(request=None, public=True)
    schema_file = directory / "schema.json"
    schema_file.write_text(json.dumps(schema, default=str))
    subprocess.run(  # noqa: S603 - our own schema and the installed generator
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(schema_file),
            "--meta",
            "none",
            "--output-path",
            str(directory / "rapport_client"),
        ],
        check=True,
        capture_output=True,
        cwd=directory,
        timeout=120,
    )
    sys.path.insert(0, str(directory))
    try:
        yield importlib.import_module("rapport_client")
    finally:
        sys.path.remove(str(directory))
        for name in [m for m in sys.modules if m.split(".")[0] == "rapport_client"]:
            del sys.modules[name]


@pytest.fixture
def keep_test_connection(db):
    # As django.test.Client does: keep the test's connection (and transaction)
    # open across in-process WSGI calls.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _api(module: str):
    return importlib.import_module(f"rapport_client.api.v1.{module}")


def test_a_days_integration_with_a_generated_client(rapport_client, keep_test_connection, settings):
    settings.CHANGE_FEED_LAG_SECONDS = 0
    from rapport_client.models import (
        CompleteRequest,
        ContactPointCreateRequest,
        ContactPointKindEnum,
        CustomerDetail,
        CustomerWriteRequest,
        DirectionEnum,
        Error,
        FollowUpCreateRequest,
        FollowUpDetail,
        FollowUpStatusEnum,
        Interaction,
        InteractionChannelEnum,
        InteractionWriteRequest,
        PaginatedInteractionList,
        SyncRecordRequest,
        SyncRequestRequest,
        SyncResponse,
        SyncStatusEnum,
    )

    rep = factories.TeamMembershipFactory().user
    secret = bearer_client(*ApiClient.Scope.values, name="generated-client")[2]
    client = rapport_client.AuthenticatedClient(
        base_url="http://testserver",
        token=secret,
        raise_on_unexpected_status=True,  # an undocumented status is an error
        httpx_args={"transport": httpx.WSGITransport(app=application)},
    )
    started = timezone.now() - timedelta(seconds=1)

    customer = _api("v1_customers_create").sync(
        client=client,
        body=CustomerWriteRequest(
            full_name="Siobhán O'Brien",
            time_zone="Europe/Dublin",
            contact_points=[
                ContactPointCreateRequest(
                    kind=ContactPointKindEnum.PHONE, value="+353 87 123 4567", is_primary=True
                ),
                ContactPointCreateRequest(kind=ContactPointKindEnum.EMAIL, value="Shiv@Example.ie"),
            ],
        ),
    )
    assert isinstance(customer, CustomerDetail), customer
    assert sorted(point.value for point in customer.contact_points) == [
        "+353871234567",
        "shiv@example.ie",
    ]

    logged = _api("v1_interactions_create").sync(
        client=client,
        body=InteractionWriteRequest(
            customer=customer.id,
            channel=InteractionChannelEnum.PHONE,
            direction=DirectionEnum.INBOUND,
            occurred_at=datetime.now(UTC) - timedelta(minutes=5),
            duration_seconds=240,
            summary="Asked about the March invoice.",
        ),
    )
    assert isinstance(logged, Interaction), logged
    assert logged.customer == customer.id

    good = SyncRecordRequest(
        source="pbx-hq",
        external_id="1709632800.18",
        channel=InteractionChannelEnum.PHONE,
        direction=DirectionEnum.INBOUND,
        occurred_at=datetime.now(UTC) - timedelta(minutes=3),
        duration_seconds=184,
        customer_phone="087 123 4567",
    )
    bad = SyncRecordRequest(
        source="pbx-hq",
        external_id="",
        channel=InteractionChannelEnum.PHONE,
        direction=DirectionEnum.INBOUND,
        occurred_at=datetime.now(UTC) - timedelta(minutes=2),
    )
    synced = _api("interactions_sync").sync(
        client=client, body=SyncRequestRequest(records=[good, bad])
    )
    assert isinstance(synced, SyncResponse), synced
    assert [r.status for r in synced.results] == [SyncStatusEnum.CREATED, SyncStatusEnum.ERROR]
    assert "external_id" in synced.results[1].errors.additional_properties

    feed = _api("v1_interactions_list").sync(client=client, updated_since=started)
    assert isinstance(feed, PaginatedInteractionList), feed
    assert {row.id for row in feed.results} == {logged.id, synced.results[0].id}
    assert feed.has_more is False
    assert feed.next_  # the cursor to poll from next time

    promise = _api("v1_followups_create").sync(
        client=client,
        body=FollowUpCreateRequest(
            customer=customer.id,
            action="Call back with the corrected invoice",
            due_phrase="tomorrow morning",
            owner=rep.pk,
            origin_interaction=logged.id,
        ),
    )
    assert isinstance(promise, FollowUpDetail), promise
    done = _api("v1_followups_complete_create").sync(
        id=str(promise.id),
        client=client,
        body=CompleteRequest(note="Sent the corrected invoice.", interaction=logged.id),
    )
    assert isinstance(done, FollowUpDetail), done
    assert done.status == FollowUpStatusEnum.DONE

    # An error is parsed too: the one shape, naming the field. (An unknown field cannot
    # be sent: the schema forbids additional properties, so the model has none.)
    refused = _api("v1_customers_create").sync(
        client=client, body=CustomerWriteRequest(full_name="X", time_zone="Mars/Olympus")
    )
    assert isinstance(refused, Error)
    assert list(refused.errors.additional_properties) == ["time_zone"]
    assert not hasattr(CustomerWriteRequest(full_name="X"), "additional_properties")
