"""Past interactions from CSV go through the sync engine: same matching, same idempotency."""

import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from crm import services as crm_services
from interactions.models import Interaction
from interactions.sync import interaction_sync
from spreadsheets import selectors
from spreadsheets.interaction_import import interactions_import
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HISTORY = (
    b"Date;Phone;E-mail;Type;Direction;Notes;Duration;Agent\n"
    b"05/03/2025 14:30;0171 2345678;;Call;In;Asked about the bill;2:05;maria\n"
    b"06/03/2025 09:00;;ann@example.com;E-mail;Out;Sent the invoice, again;;\n"
    b"07/03/2025;+49 171 2345678;;Visit;Inbound;Came by the shop;;\n"
    b"07/03/2025;+49 171 2345678;;Visit;Inbound;Came by the shop;;\n"
    b"31/02/2025;0171 2345678;;Call;In;;;\n"
    b"08/03/2025;;;Fax;In;;;\n"
)


@pytest.fixture
def people(db):
    UserFactory(username="maria")
    anna = crm_services.customer_create(full_name="Anna Schmidt", phones=["+491712345678"])
    ann = crm_services.customer_create(full_name="Ann Lee", emails=["ann@example.com"])
    return anna, ann


def test_history_file_matches_customers_like_the_sync_api(people):
    anna, ann = people
    result = interactions_import(content=HISTORY, region="DE", time_zone="Europe/Berlin")
    statuses = {row.line: row.status for row in result.rows}
    assert statuses == {
        2: "created",
        3: "created",
        4: "created",
        5: "unchanged",
        6: "error",
        7: "error",
    }
    errors = {row.line: row.messages for row in result.rows if row.status == "error"}
    assert "31/02/2025" in errors[6][0]
    assert "Channel" in errors[7][0]
    call = Interaction.objects.get(channel="phone")
    assert call.customer_id == anna.pk
    assert call.occurred_at == datetime(2025, 3, 5, 13, 30, tzinfo=UTC)
    assert call.duration_seconds == 125
    assert call.rep.username == "maria"
    assert call.direction == "inbound"
    assert call.source == "csv-import"
    assert call.external_id.startswith("row-")
    assert Interaction.objects.get(channel="email").customer_id == ann.pk
    assert Interaction.objects.filter(channel="in_person").count() == 1


def test_reimport_is_idempotent_and_dry_run_writes_nothing(people):
    dry = interactions_import(content=HISTORY, region="DE", dry_run=True)
    assert dry.count("created") == 3
    assert Interaction.objects.count() == 0
    interactions_import(content=HISTORY, region="DE")
    ids = sorted(Interaction.objects.values_list("pk", flat=True))
    again = interactions_import(content=HISTORY, region="DE")
    assert (again.count("created"), again.count("unchanged")) == (0, 4)
    assert sorted(Interaction.objects.values_list("pk", flat=True)) == ids


def test_an_id_column_is_the_sync_apis_external_id(people):
    anna, _ = people
    interaction_sync(
        records=[
            {
                "source": "pbx",
                "external_id": "call-1",
                "channel": "phone",
                "direction": "inbound",
                "occurred_at": "2025-03-05T10:00:00Z",
                "customer_phone": "+491712345678",
            }
        ]
    )
    content = (
        b"Source,Call ID,Time,Phone,Channel,Direction,Notes\n"
        b"pbx,call-1,2025-03-05T10:00:00Z,+491712345678,phone,inbound,Now with notes\n"
    )
    result = interactions_import(content=content)
    assert [row.status for row in result.rows] == ["updated"]
    assert Interaction.objects.get().summary == "Now with notes"


def test_export_then_import_is_unchanged(people):
    interactions_import(content=HISTORY, region="DE")
    exported = "".join(
        selectors.interaction_export_lines(interactions=Interaction.objects.all())
    ).encode()
    result = interactions_import(content=exported)
    assert {row.status for row in result.rows} == {"unchanged"}
    assert len(result.rows) == 3


def test_import_interactions_command(tmp_path, people):
    path = tmp_path / "history.csv"
    path.write_bytes(HISTORY)
    out = io.StringIO()
    call_command(
        "import_interactions",
        str(path),
        "--region",
        "DE",
        "--mapping",
        "Agent=",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert "3 were created" in out.getvalue()
    assert "line 7:" in out.getvalue()
    assert Interaction.objects.filter(rep__isnull=True).count() == 3
