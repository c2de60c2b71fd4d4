"""crm/sql.py: the columns and values of hand-built INSERTs, as Django's insert has them."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import DataError, connection, models
from django.db.models.expressions import DatabaseDefault
from django.test.utils import isolate_apps

from core.sql import insert_fields, insert_rows, insert_rows_from_values, recordset_select
from crm.models import Tag
from interactions.models import Interaction, Matter


@pytest.fixture
def probe():
    """A model that is never migrated (only its fields are read), outside the app registry."""
    with isolate_apps("crm"):

        class Probe(models.Model):  # noqa: DJ008
            name = models.CharField(max_length=10)
            doubled = models.GeneratedField(
                expression=models.F("size") * 2,
                output_field=models.IntegerField(),
                db_persist=True,
            )
            size = models.IntegerField(default=1)
            label = models.CharField(max_length=10, db_default="db")
            stamped = models.DateTimeField(auto_now_add=True)

            class Meta:
                app_label = "crm"

        yield Probe


def test_insert_fields_leave_out_the_generated_column_and_the_automatic_key(probe):
    assert [f.name for f in insert_fields(probe)] == ["name", "size", "label", "stamped"]
    assert [f.name for f in insert_fields(probe, pk_set=True)][0] == "id"
    assert "matter" not in [f.name for f in insert_fields(Interaction, exclude=["matter_id"])]


def test_a_column_left_to_the_database_in_every_row_is_not_written(probe):
    rows = [probe(name="a"), probe(name="b", size=3)]
    assert all(isinstance(row.label, DatabaseDefault) for row in rows)

    insert = insert_rows(probe, rows, connection=connection)

    assert insert.columns == ("name", "size", "stamped")
    assert [row[:2] for row in insert.rows] == [["a", 1], ["b", 3]]
    assert rows[0].stamped is not None  # pre_save ran, as save() runs it
    assert insert.rows[0][2] == rows[0].stamped


def test_a_value_given_for_a_db_default_field_is_written(probe):
    insert = insert_rows(probe, [probe(name="a", label="mine")], connection=connection)

    assert insert.columns == ("name", "size", "label", "stamped")
    assert insert.rows[0][2] == "mine"


def test_mixed_rows_are_refused_rather_than_written_wrong(probe):
    with pytest.raises(ValueError, match="label"):
        insert_rows(probe, [probe(name="a"), probe(name="b", label="x")], connection=connection)
    with pytest.raises(ValueError, match="primary key"):
        insert_rows(probe, [probe(pk=1, name="a"), probe(name="b")], connection=connection)


def test_recordset_binds_a_value_shared_by_every_row_once():
    insert = insert_rows(
        Matter,
        [Matter(customer_id=1, opened_at="2026-03-05T10:00:00Z", subject=s) for s in "ab"],
        connection=connection,
    )
    select = recordset_select(insert, connection=connection)

    per_row = [e for e in select.expressions if e.startswith("u.")]
    subject = insert.columns.index("subject")
    assert select.expressions[subject] == f"u.c{subject}"
    status = insert.columns.index("status")
    assert select.expressions[status] == "%s::varchar"  # no length: assignment checks it
    assert len(per_row) < len(insert.columns)
    assert select.params[-1].count('"c') == 2 * len(per_row)


@pytest.mark.django_db
def test_a_value_too_long_is_refused_not_truncated():
    insert = insert_rows(Tag, [Tag(name="x" * 41)], connection=connection)
    select = recordset_select(insert, connection=connection)
    sql = (
        f"INSERT INTO crm_tag ({', '.join(insert.columns)}) "  # noqa: S608
        f"SELECT {', '.join(select.expressions)} FROM {select.source}"
    )

    with pytest.raises(DataError), connection.cursor() as cursor:
        cursor.execute(sql, select.params)


def test_rows_from_values_are_what_instances_of_those_values_give(probe):
    rows = [{"name": "a"}, {"name": "b"}]
    with time_machine.travel(datetime(2026, 3, 5, 10, tzinfo=UTC), tick=False):
        from_values = insert_rows_from_values(probe, rows, connection=connection)
        from_instances = insert_rows(probe, [probe(**row) for row in rows], connection=connection)

    assert from_values == from_instances
    assert from_values.columns == ("name", "size", "stamped")
    with_label = insert_rows_from_values(
        probe, [{"name": "a", "label": "x"}], connection=connection
    )
    assert with_label.columns == ("name", "size", "label", "stamped")
    with pytest.raises(TypeError, match="nope"):
        insert_rows_from_values(probe, [{"nope": 1}], connection=connection)
    with pytest.raises(ValueError, match="same fields"):
        insert_rows_from_values(probe, [{"name": "a"}, {"size": 2}], connection=connection)


def test_a_batch_takes_one_instant_for_its_auto_now_columns_bound_once(probe):
    """The clock ticks between rows (tick=True); the batch is one statement, so one
    reading stamps every row, and recordset_select binds it as one parameter."""
    rows = [{"name": str(n)} for n in range(50)]
    with time_machine.travel(datetime(2026, 3, 5, 10, tzinfo=UTC), tick=True):
        insert = insert_rows_from_values(probe, rows, connection=connection)
    stamped = insert.columns.index("stamped")
    instants = {row[stamped] for row in insert.rows}
    assert len(instants) == 1
    assert next(iter(instants)) >= datetime(2026, 3, 5, 10, tzinfo=UTC)
    select = recordset_select(insert, connection=connection)
    assert select.expressions[stamped] == "%s::timestamp with time zone"
    assert next(iter(instants)) in select.params
