"""Hand-built INSERTs follow Django's insert rules (crm/sql.py).

A `GeneratedField` and a `db_default` field are added to Interaction and Matter,
in the model and in the test database, for one test each; logging a contact
and syncing a batch must then write what Django's own insert would: never the
generated column, the database's default for the db_default one, and both read
back onto the returned instance.
"""

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection, models
from django.db.models import F, Value
from django.db.models.functions import Concat

from interactions.models import Interaction, Matter
from interactions.services import interaction_log
from interactions.sync import interaction_sync
from tests import factories

NOW = datetime(2026, 3, 5, 12, tzinfo=UTC)


def _added_fields(model: type[models.Model]) -> list[tuple[str, models.Field]]:
    if model is Interaction:
        generated = models.GeneratedField(
            expression=F("duration_seconds") * 2,
            output_field=models.IntegerField(),
            db_persist=True,
        )
    else:
        generated = models.GeneratedField(
            expression=Concat(F("status"), Value(":"), F("subject")),
            output_field=models.TextField(),
            db_persist=True,
        )
    return [
        ("test_generated", generated),
        ("test_db_default", models.CharField(max_length=20, db_default="from-the-database")),
    ]


def _forget_meta_caches(model: type[models.Model]) -> None:
    model._meta._expire_cache()
    # Not among the properties _expire_cache() clears (Django 5.2).
    model._meta.__dict__.pop("db_returning_fields", None)


@pytest.fixture
def extra_columns(db):
    """The two fields on both models and their columns in the (rolled back) test
    transaction; the models are restored afterwards."""
    added = []
    for model in (Interaction, Matter):
        for name, field in _added_fields(model):
            field.contribute_to_class(model, name)
            added.append((model, field))
        _forget_meta_caches(model)
    with connection.schema_editor(atomic=False) as editor:
        for model, field in added:
            editor.add_field(model, field)
    try:
        yield
    finally:
        for model, field in added:
            model._meta.local_fields.remove(field)
            delattr(model, field.attname)
        for model in (Interaction, Matter):
            _forget_meta_caches(model)


def _stored(model: type[models.Model], pk: int) -> tuple:
    return model.objects.values_list("test_generated", "test_db_default").get(pk=pk)


def test_logging_a_contact_writes_neither_column_and_reads_both_back(extra_columns):
    customer = factories.CustomerFactory()

    with time_machine.travel(NOW, tick=False):
        interaction = interaction_log(
            customer=customer,
            channel="phone",
            direction="inbound",
            occurred_at=NOW,
            duration_seconds=21,
            subject="Router",
        )

    assert interaction.matter_id is not None  # the one-statement path: it opened a matter
    assert _stored(Interaction, interaction.pk) == (42, "from-the-database")
    assert (interaction.test_generated, interaction.test_db_default) == (42, "from-the-database")
    assert _stored(Matter, interaction.matter_id) == ("open:Router", "from-the-database")
    matter = interaction.matter
    assert (matter.test_generated, matter.test_db_default) == ("open:Router", "from-the-database")


def test_logging_a_contact_with_its_own_value_for_the_db_default_field(extra_columns):
    customer = factories.CustomerFactory()
    interaction = Interaction(
        customer=customer,
        channel="email",
        direction="outbound",
        occurred_at=NOW,
        duration_seconds=5,
        test_db_default="given",
    )

    from interactions.matters import _matter_open

    with time_machine.travel(NOW, tick=False):
        _matter_open(interaction, customer_id=customer.pk)

    assert _stored(Interaction, interaction.pk) == (10, "given")
    assert interaction.test_generated == 10


def _record(n: int, customer, **overrides) -> dict:
    return {
        "source": "pbx",
        "external_id": f"call-{n}",
        "channel": "phone",
        "direction": "inbound",
        "occurred_at": "2026-03-05T10:00:00Z",
        "duration_seconds": 30 + n,
        "customer": customer.pk,
        **overrides,
    }


def test_a_synced_batch_is_created_updated_and_replayed(extra_columns):
    customer = factories.CustomerFactory()
    batch = [
        _record(1, customer),  # opens a matter of its own (reserved id)
        _record(2, customer, category="complaint"),  # joins by the window rule
        _record(3, customer, category="complaint"),  # the same matter
    ]

    with time_machine.travel(NOW, tick=False):
        created = interaction_sync(records=batch)
        replayed = interaction_sync(records=batch)
        changed = interaction_sync(records=[_record(1, customer, duration_seconds=50)])

    assert [r.status for r in created] == ["created", "created", "created"], created
    assert [r.status for r in replayed] == ["unchanged"] * 3
    assert [r.status for r in changed] == ["updated"]
    ids = [r.id for r in created]
    assert [_stored(Interaction, pk) for pk in ids] == [
        (100, "from-the-database"),
        (64, "from-the-database"),
        (66, "from-the-database"),
    ]
    matters = {pk: Interaction.objects.get(pk=pk).matter_id for pk in ids}
    assert matters[ids[1]] == matters[ids[2]] != matters[ids[0]]
    assert [_stored(Matter, matters[pk]) for pk in ids[:2]] == [
        ("open:", "from-the-database"),
        ("open:", "from-the-database"),
    ]
