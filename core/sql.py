"""Hand-built INSERTs that write what Django's own insert would write.

A few writes are set-based SQL the ORM cannot express: the one statement that
inserts a new contact together with the matter it opens, the batch sync's
upsert, the bulk insert of new matters. Their columns and values come from
here, so they follow the rules of `Model.save()` and `QuerySet.bulk_create()`
(django/db/models/base.py `_save_table`, sql/compiler.py `SQLInsertCompiler`):

- generated columns (`GeneratedField`, any field with `generated=True`) are
  never written, nor is the automatic primary key;
- a value that is the field's `db_default` (the `DatabaseDefault` sentinel a new
  instance holds) is the database's to fill: Django writes `DEFAULT`; an
  `INSERT ... SELECT` cannot, so the column is left out (which asks for the
  same default) when every row holds the sentinel;
- every other value is `field.pre_save(instance, add=True)` (`auto_now`,
  `auto_now_add`, ...) prepared by `field.get_db_prep_save(value, connection)`;
- `returning_fields` are those Django reads back after an insert
  (`_meta.db_returning_fields`: the primary key, generated and db_default
  columns), for statements that return the row to its instance.
"""

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections
from django.db.models import Field, Model
from django.db.models.expressions import DatabaseDefault
from psycopg.types.json import Json, Jsonb


def insert_fields(
    model: type[Model], *, exclude: Collection[str] = (), pk_set: bool = False
) -> list[Field]:
    """The fields Django's INSERT of a new `model` row writes, in model order
    (the automatic primary key only when the rows carry theirs), less those named
    (name or attname) in `exclude`: columns the caller writes itself, e.g. from
    another statement's RETURNING."""
    meta = model._meta
    return [
        field
        for field in meta.local_concrete_fields
        if not field.generated
        and (pk_set or field is not meta.auto_field)
        and field.name not in exclude
        and field.attname not in exclude
    ]


def returning_fields(model: type[Model]) -> tuple[Field, ...]:
    """The columns Django reads back after inserting a row of `model`."""
    return tuple(model._meta.db_returning_fields)


_UNSET = object()


@dataclass(frozen=True)
class InsertRows:
    fields: tuple[Field, ...]  # the columns to write, in order
    rows: list[list[Any]]  # one list of prepared values per instance, in `fields` order

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(field.column for field in self.fields)


def insert_rows(
    model: type[Model],
    instances: Sequence[Model],
    *,
    connection: Any,
    exclude: Collection[str] = (),
) -> InsertRows:
    """The columns and prepared values of inserting `instances` (new rows of
    `model`), as Django's insert computes them; `pre_save` runs on each instance
    (so `auto_now` values are set on it, as `save()` sets them). Rows that carry
    their primary key write it (all or none of them: bulk_create splits such a
    batch in two)."""
    with_pk = sum(instance.pk is not None for instance in instances)
    if with_pk not in (0, len(instances)):
        raise ValueError("Some rows carry their primary key and others do not.")
    fields = insert_fields(model, exclude=exclude, pk_set=bool(instances) and bool(with_pk))
    columns = [[field.pre_save(instance, add=True) for instance in instances] for field in fields]
    return _prepared(fields, columns, len(instances), connection)


class _Holder:
    """What `pre_save` reads and writes: the one attribute of its field."""


def insert_rows_from_values(
    model: type[Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    connection: Any,
    exclude: Collection[str] = (),
) -> InsertRows:
    """`insert_rows(model, [model(**values) for values in rows])` for batches of
    rows that name the same fields (by attname, or `pk`), without an instance
    per row (a 35-field model instance costs 20 us to build): a field no row names
    takes the default a new instance gets (a callable default is called for each
    row), and a field whose class has its own `pre_save` runs it for each row,
    except `auto_now`/`auto_now_add`: the rows are written by one statement, so
    they take one instant, read once (as PostgreSQL's `now()` is one per
    transaction); it is then one value, bound once, not prepared and sent again
    for each of a batch's rows. (No pre_init/post_init signals are sent.)"""
    meta = model._meta
    names = set(rows[0]) if rows else set()
    if any(len(row) != len(names) or row.keys() != names for row in rows):
        raise ValueError("Every row must name the same fields.")
    pk_name = "pk" if "pk" in names else meta.pk.attname
    pk_set = pk_name in names and all(row[pk_name] is not None for row in rows)
    if pk_name in names and not pk_set and any(row[pk_name] is not None for row in rows):
        raise ValueError("Some rows carry their primary key and others do not.")
    given = {(meta.pk.attname if name == "pk" else name): name for name in names}
    unknown = set(given) - {field.attname for field in meta.concrete_fields}
    if unknown:
        raise TypeError(f"{model.__name__} has no fields {sorted(unknown)}.")
    fields = insert_fields(model, exclude=exclude, pk_set=pk_set)
    probe = model()  # the defaults of a new instance
    columns = []
    for field in fields:
        if field.attname in given:
            key = given[field.attname]
            values = [row[key] for row in rows]
        elif field.has_default() and callable(field.default):
            values = [field.get_default() for _ in rows]
        else:
            values = [getattr(probe, field.attname)] * len(rows)
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            # pre_save ignores the value given and returns the clock: one reading.
            values = [_pre_save(field, values[0])] * len(rows) if rows else []
        elif type(field).pre_save is not Field.pre_save:
            values = [_pre_save(field, value) for value in values]
        columns.append(values)
    return _prepared(fields, columns, len(rows), connection)


def _pre_save(field: Field, value: Any) -> Any:
    holder = _Holder()
    setattr(holder, field.attname, value)
    return field.pre_save(holder, add=True)


def _prepared(
    fields: list[Field], columns: list[list[Any]], count: int, connection: Any
) -> InsertRows:
    """Leave out the columns that are the database's default in every row, and
    prepare the other values with `get_db_prep_save`."""
    connection = connections[connection.alias]  # not the proxy: read once per value below
    kept_fields, prepared_columns = [], []
    for field, values in zip(fields, columns, strict=True):
        defaults = sum(isinstance(value, DatabaseDefault) for value in values)
        if values and defaults == len(values):
            continue  # the database's default, for every row
        if defaults:
            raise ValueError(
                f"{field}: the database default in some rows and a value in others; "
                "an INSERT ... SELECT can only leave the whole column to the database."
            )
        prepared, last, last_prepared = [], _UNSET, None
        for value in values:
            # A default shared by every new instance ("", 0, a constant) is the same
            # object in each row: prepared once. Every other value is prepared.
            if value is not last:
                last, last_prepared = value, field.get_db_prep_save(value, connection)
            prepared.append(last_prepared)
        kept_fields.append(field)
        prepared_columns.append(prepared)
    return InsertRows(
        fields=tuple(kept_fields),
        rows=[list(row) for row in zip(*prepared_columns, strict=True)]
        if prepared_columns
        else [[] for _ in range(count)],
    )


# --- INSERT ... SELECT FROM jsonb_to_recordset(): any number of rows, two parameters ----


class RecordsetJSONEncoder(DjangoJSONEncoder):
    """Prepared values as JSON for jsonb_to_recordset(): datetimes with full
    microseconds (DjangoJSONEncoder keeps milliseconds), a JSON field's value as
    the JSON it stands for."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime):
            return o.isoformat()
        if isinstance(o, Json | Jsonb):
            return json.loads((o.dumps or json.dumps)(o.obj))
        return super().default(o)


@dataclass(frozen=True)
class RecordsetSelect:
    """`SELECT {expressions} FROM {source}` for an INSERT of `InsertRows`."""

    expressions: list[str]  # one per insert column, in order
    source: str  # jsonb_to_recordset(%s::jsonb) AS alias(...)
    params: list[Any]  # in text order: the constants' (in expressions), then the rows'


_TYPE_MODIFIER = re.compile(r"\([^)]*\)")


def cast_type(field: Field, connection: Any) -> str:
    """The column's type without its modifier, to cast a parameter to: an explicit
    `'long'::varchar(3)` truncates silently, while assigning the value to the
    column checks the length as the ORM's INSERT does."""
    return _TYPE_MODIFIER.sub("", field.db_type(connection))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Json | Jsonb) and isinstance(b, Json | Jsonb):
        return a.obj == b.obj
    return type(a) is type(b) and a == b


def recordset_select(insert: InsertRows, *, connection: Any, alias: str = "u") -> RecordsetSelect:
    """The rows of `insert` as one JSON parameter (a VALUES list of 1,000 rows
    would have tens of thousands of placeholders for the driver to scan and bind);
    a column with the same value in every row (a static default) is bound once."""
    expressions, constants, per_row, definitions = [], [], [], []
    for position, field in enumerate(insert.fields):
        first = insert.rows[0][position] if insert.rows else None
        db_type = field.db_type(connection)
        if insert.rows and all(
            row[position] is first or _same(row[position], first) for row in insert.rows
        ):
            expressions.append(f"%s::{cast_type(field, connection)}")
            constants.append(first)
        else:
            name = f"c{position}"
            expressions.append(f"{alias}.{name}")
            definitions.append(f"{name} {db_type}")
            per_row.append(position)
    if not definitions:  # jsonb_to_recordset needs a column: keep one row marker
        definitions.append("_row int")
    records = [{f"c{position}": row[position] for position in per_row} for row in insert.rows]
    return RecordsetSelect(
        expressions=expressions,
        source=f"jsonb_to_recordset(%s::jsonb) AS {alias}({', '.join(definitions)})",
        params=[*constants, json.dumps(records, cls=RecordsetJSONEncoder)],
    )
