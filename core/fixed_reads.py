"""Hot-path reads of one row by a unique key, with SQL built once per process.

The ORM compiles a query on every call: for `ApiClient` with its user that is
about 0.5 ms of Python per API request, more than the database takes to answer
(measured in benchmarks/sync.py). Authentication runs on every request, so
these few reads keep their SQL text and the fields' converters from the first
call and build model instances with `Model.from_db`, as the ORM itself does.
Everything else reads through the ORM.
"""

from collections.abc import Sequence
from typing import Any

from django.db import connections, models


class FixedRowRead:
    """`SELECT <model's columns> [, <relation's columns>] FROM … WHERE <key> = %s`.

    `related` names forward one-to-one or foreign-key fields of `model` to read
    in the same statement (an inner join: the relation must be NOT NULL); the
    instance comes back with them cached, as `select_related` leaves it.
    """

    def __init__(self, model: type[models.Model], *, key: str, related: Sequence[str] = ()):
        self.model = model
        self.key = key
        self.related = tuple(related)
        self._prepared: dict[str, tuple[str, list, tuple | None]] = {}

    def _prepare(self, alias: str) -> tuple[str, list, tuple | None]:
        connection = connections[alias]
        quote = connection.ops.quote_name
        meta = self.model._meta
        parts = [(self.model, meta.db_table, "t0", None)]
        joins = []
        for number, name in enumerate(self.related, start=1):
            field = meta.get_field(name)
            if field.null or not field.many_to_one and not field.one_to_one:
                raise ValueError(f"{name}: only a NOT NULL forward relation can be joined.")
            related_model = field.related_model
            table_alias = f"t{number}"
            parts.append((related_model, related_model._meta.db_table, table_alias, field))
            joins.append(
                f" JOIN {quote(related_model._meta.db_table)} {table_alias} ON "
                f"{table_alias}.{quote(field.target_field.column)} = t0.{quote(field.column)}"
            )
        columns, layout = [], []
        for part_model, _table, table_alias, via in parts:
            fields = part_model._meta.concrete_fields
            start = len(columns)
            for field in fields:
                columns.append(f"{table_alias}.{quote(field.column)}")
            converters = []
            for index, field in enumerate(fields, start=start):
                column = field.get_col(table_alias)
                functions = connection.ops.get_db_converters(column)
                functions += column.get_db_converters(connection)
                if functions:
                    converters.append((index, column, functions))
            layout.append((part_model, via, start, [f.attname for f in fields], converters))
        key_field = meta.get_field(self.key)
        key_column = key_field.column
        key_range = None
        if isinstance(key_field, models.IntegerField | models.AutoField):
            key_range = connection.ops.integer_field_range(key_field.get_internal_type())
        sql = (
            f"SELECT {', '.join(columns)} FROM {quote(meta.db_table)} t0{''.join(joins)} "  # noqa: S608 - names from _meta
            f"WHERE t0.{quote(key_column)} = %s"
        )
        return sql, layout, key_range

    def get(self, value: Any, *, using: str = "default") -> models.Model | None:
        """The row whose key equals `value`, or None."""
        prepared = self._prepared.get(using)
        if prepared is None:
            prepared = self._prepared[using] = self._prepare(using)
        sql, layout, key_range = prepared
        if key_range is not None and not _in_range(value, key_range):
            return None  # no row can hold it, as the ORM answers
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(sql, [value])
            row = cursor.fetchone()
        if row is None:
            return None
        row = list(row)
        instances = []
        for part_model, via, start, attnames, converters in layout:
            for index, column, functions in converters:
                for function in functions:
                    row[index] = function(row[index], column, connection)
            instance = part_model.from_db(using, attnames, row[start : start + len(attnames)])
            instances.append((instance, via))
        main = instances[0][0]
        for instance, via in instances[1:]:
            via.set_cached_value(main, instance)
        return main


def _in_range(value: int, bounds: tuple[int | None, int | None]) -> bool:
    low, high = bounds
    return (low is None or value >= low) and (high is None or value <= high)
