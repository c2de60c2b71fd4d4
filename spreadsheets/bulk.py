"""Set-based INSERTs for the import's hot tables.

Django's bulk_create builds a model instance and prepares every field of
every row in Python (about half of the import's time at 100,000 rows,
measured); here the rows travel as one JSON array into
`INSERT ... SELECT ... FROM jsonb_to_recordset(...)` (the sync engine's
approach, interactions/sync.py), one short statement whatever the batch size.
Every concrete column is written: values the row does not give get the
model field's default, auto_now(_add) columns the statement's time. The
database's constraints and triggers run as for any insert.
"""

import json
from datetime import date, datetime, time
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone


class _Encoder(json.JSONEncoder):
    """Dates and times in full ISO form (DjangoJSONEncoder cuts microseconds)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime | date | time):
            return o.isoformat()
        return super().default(o)


def reserve_ids(model: type[Model], count: int) -> list[int]:
    """`count` new primary keys from the table's own sequence, in order."""
    if not count:
        return []
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def insert_rows(model: type[Model], rows: list[dict[str, Any]], *, now: datetime | None = None):
    """Insert `rows` (attname -> value; give "id" to choose the primary key)."""
    if not rows:
        return
    now = now or timezone.now()
    quote = connection.ops.quote_name
    fields = [
        f for f in model._meta.concrete_fields if not (f.primary_key and f.attname not in rows[0])
    ]
    definitions, records = [], [{} for _ in rows]
    for index, field in enumerate(fields):
        name = f"c{index}"
        definitions.append(f"{name} {field.db_type(connection)}")
        is_auto_time = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        if field.attname in rows[0]:
            for row, record in zip(rows, records, strict=True):
                record[name] = row[field.attname]
        else:
            default = now if is_auto_time else field.get_default()
            for record in records:
                record[name] = default
    columns = ", ".join(quote(f.column) for f in fields)
    selected = ", ".join(f"c{index}" for index in range(len(fields)))
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            # Only quoted column names and types from _meta are interpolated.
            f"INSERT INTO {table} ({columns}) SELECT {selected} "  # noqa: S608
            f"FROM jsonb_to_recordset(%s::jsonb) AS u({', '.join(definitions)})",
            [json.dumps(records, cls=_Encoder)],
        )
