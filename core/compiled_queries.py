"""Hot-path reads whose SQL the ORM compiles once per process, not on every call.

The ORM compiles a queryset each time it is evaluated. For the caller lookup's
reads (a screen-pop while the phone rings) that compiling was about a third of the
request's CPU, more than PostgreSQL took to answer (benchmarks/sync.py, lookup
p99). A `CompiledQuery` is a function from arguments to a queryset. The first
call with a shape of arguments (their types, and the lengths of lists) builds
the queryset from stand-in values, lets the ORM compile it, and keeps the SQL,
which parameter each stand-in became, and the compiler's column layout. Later
calls with that shape run the SQL with their own values and build instances as
Django's `ModelIterable` does (`Model.from_db`, the `select_related`
populators, annotations). The SQL is always the ORM's own, so a model change
changes it at the next start; tests/test_compiled_queries.py compares the rows
with the ORM's for the queries that use this.

Only what a stand-in can stand for is accepted: ints, strings, and lists of
either. A query whose stand-ins do not all reach the parameters (the ORM folded
one into the SQL text, or turned it into something else) is refused when it is
first compiled, and is then evaluated by the ORM on every call.
"""

from collections.abc import Callable
from itertools import count
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators

# Inside a 32-bit column's range (the ORM answers "no rows" for a value outside it,
# before any SQL), far from the small ids and constants a query holds.
_stand_ins = count(2_013_265_921)


def _shape(value: Any) -> tuple:
    if isinstance(value, bool) or not isinstance(value, int | str | list | tuple):
        raise TypeError(f"A compiled query takes ints, strings and lists of them, not {value!r}.")
    if isinstance(value, list | tuple):
        kinds = {type(item) for item in value}
        if len(kinds) > 1 or kinds - {int, str}:
            raise TypeError(f"A compiled query's list holds ints or strings: {value!r}.")
        return ("list", len(value), kinds.pop().__name__ if kinds else "")
    return (type(value).__name__,)


def _stand_in(shape: tuple) -> Any:
    if shape[0] == "list":
        _, length, kind = shape
        return [_stand_in((kind,)) for _ in range(length)]
    number = next(_stand_ins)
    return number if shape[0] == "int" else f"\x1fstand-in {number}\x1f"


def _flat(value: Any) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


class _Compiled:
    def __init__(self, queryset: QuerySet, stand_ins: list[Any], using: str) -> None:
        if queryset._prefetch_related_lookups:
            raise ValueError("prefetch_related is not compiled: prefetch by hand.")
        compiler = queryset.query.get_compiler(using=using)
        try:
            self.sql, params = compiler.as_sql()
        except EmptyResultSet as exc:
            raise ValueError("The ORM answers this shape without SQL.") from exc
        flat_stand_ins = [value for arg in stand_ins for value in _flat(arg)]
        wanted = set(flat_stand_ins)
        positions: dict[Any, int] = {}
        for position, param in enumerate(params):
            if type(param) in (int, str) and param in wanted:
                if param in positions:
                    raise ValueError("A stand-in reached the parameters twice.")
                positions[param] = position
        self.params = list(params)
        # (index into the flattened arguments, parameter position)
        self.slots = []
        for index, stand_in in enumerate(flat_stand_ins):
            if stand_in not in positions:
                raise ValueError("A stand-in did not reach the parameters.")
            self.slots.append((index, positions[stand_in]))
        self.compiler = compiler
        self.model = queryset.model
        klass_info = compiler.klass_info
        select = compiler.select
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [column[0].target.attname for column in select[self.start : self.end]]
        self.related_populators = get_related_populators(klass_info, select, using)
        self.annotation_col_map = compiler.annotation_col_map or {}

    def run(self, args: tuple, using: str) -> list[Model]:
        flat = [value for arg in args for value in _flat(arg)]
        params = list(self.params)
        for index, position in self.slots:
            params[position] = flat[index]
        with connections[using].cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        instances = []
        for row in self.compiler.results_iter(results=[rows]):
            instance = self.model.from_db(using, self.init_list, row[self.start : self.end])
            for populator in self.related_populators:
                populator.populate(row, instance)
            for name, position in self.annotation_col_map.items():
                setattr(instance, name, row[position])
            instances.append(instance)
        return instances


class CompiledQuery:
    """`CompiledQuery(build)(*args)` is `list(build(*args))`, compiled once per shape."""

    def __init__(self, build: Callable[..., QuerySet]) -> None:
        self.build = build
        self._compiled: dict[tuple, _Compiled | None] = {}

    def __call__(self, *args: Any, using: str = "default") -> list[Model]:
        key = (using, *(_shape(arg) for arg in args))
        compiled = self._compiled.get(key, False)
        if compiled is False:
            stand_ins = [_stand_in(_shape(arg)) for arg in args]
            try:
                compiled = _Compiled(self.build(*stand_ins), stand_ins, using)
            except ValueError:
                compiled = None  # not expressible with stand-ins: the ORM every time
            self._compiled[key] = compiled
        if compiled is None:
            return list(self.build(*args).using(using))
        return compiled.run(args, using)
