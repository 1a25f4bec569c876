"""Prepared reads: a hot read's SQL compiled by the ORM once per shape, then only re-bound.

Building and compiling a rich queryset (the key list: visibility's EXISTS, the rotation
rule's CASE over two subqueries) cost about half of the list's server CPU, every request,
for the same SQL text each time. A `PreparedValues` keeps Django's own output — the SQL, its
parameters, the columns' names and converters — per *shape* (whatever decides the SQL
text: the actor, the filters given, the page size) and, on the next call of that shape,
only puts the call's values into their parameter slots and runs it.

The rules stay where they are written, in ORM expressions (kms.access, kms.services.
rotation): this module never writes SQL, it reuses what Django wrote. The values that
change from call to call (a clock, a cursor) are *binds*: the queryset is built once with a
sentinel in their place, and the sentinel's slots are found in the compiled parameters. A
shape whose sentinel Django inlined into the SQL text, or did not pass through as expected,
is never cached (compiled every call, as before): wrong rows are not a failure mode.
tests/services/test_prepared.py holds every shape to the ORM's own answer, on both
databases.

Caches are per thread (a Django connection is), bounded, least recently used first out.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import DateTimeField, Model, QuerySet

log = logging.getLogger(__name__)

CACHE_SIZE = 256
M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Bind:
    """A value that changes from call to call: its sentinel, and how Django adapts it to a parameter."""

    name: str
    sentinel: Any
    adapt: Callable[[Any, Any], Any]  # (value, connection) -> the parameter Django would pass


_DATETIME = DateTimeField()


def datetime_bind(name: str) -> Bind:
    """A datetime compared with a DateTimeField (adapted as the field adapts it: per database)."""
    return Bind(name, datetime(1901, 2, 3, 4, 5, 6, 789012, tzinfo=UTC),
                lambda value, conn: _DATETIME.get_db_prep_value(value, conn, prepared=True))  # fmt: skip


def str_bind(name: str) -> Bind:
    """A text compared for equality with a text column (its own parameter)."""
    return Bind(name, "\x1fegide-bind\x1f", lambda value, conn: str(value))


def int_bind(name: str) -> Bind:
    """A whole number compared with an integer column (its own parameter). The sentinel fits
    a 32-bit column (auth_user.id): Django compiles a value out of the column's range to no
    statement at all (EmptyResultSet), which must not be kept as "matches nothing"."""
    return Bind(name, -1_979_191_919, lambda value, conn: int(value))


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, Bind], ...]
    names: tuple[str, ...]
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]


@functools.cache
def columns(model: type[Model], prefix: str = "") -> tuple[str, ...]:
    """The `.values()` names of every concrete field of `model` (through `prefix`, e.g. "user__"),
    for a prepared read that hands model instances on (see `instance`)."""
    return tuple(f"{prefix}{field.attname}" for field in model._meta.concrete_fields)


def instance(model: type[M], row: dict[str, Any], prefix: str = "", using: str = "default") -> M:
    """A row of `columns(model, prefix)` as the ORM makes an instance from a row (Model.from_db)."""
    names = columns(model)
    return model.from_db(using, names, [row[name] for name in columns(model, prefix)])


_EMPTY = object()  # the shape matches nothing (a .none() queryset): no statement to run


class PreparedValues:
    """A `.values(...)` read whose compiled statement is kept per shape.

    `rows(shape, build, **binds)`: `build(**binds)` makes the queryset (called only when the
    shape is new, with sentinels for the binds); `shape` must hold everything else `build`
    reads (two calls with the same shape must build the same SQL text), and `build` must not
    branch on a bind's value: it is called with the sentinel, and that branch would be kept.
    """

    def __init__(self, name: str, *binds: Bind, using: str = "default") -> None:
        self.name = name
        self.binds = {bind.name: bind for bind in binds}
        self.using = using
        self._local = threading.local()

    def rows(self, shape: Hashable, build: Callable[..., QuerySet[Any]], **values: Any) -> list[dict[str, Any]]:
        cache = self._cache()
        key = (shape, frozenset(values))
        if key in cache:
            plan = cache[key]
            cache.move_to_end(key)
        else:
            plan = cache[key] = self._plan(build, values)
            if len(cache) > CACHE_SIZE:
                cache.popitem(last=False)
        if plan is None:  # not cacheable: the ORM, every call
            return list(build(**values))
        if plan is _EMPTY:
            return []
        return self._run(cast(_Plan, plan), values)

    def clear(self) -> None:
        """Forget this thread's statements (tests; nothing in them goes stale otherwise)."""
        self._cache().clear()

    def _cache(self) -> OrderedDict[Hashable, Any]:
        cache = getattr(self._local, "cache", None)
        if cache is None:
            cache = self._local.cache = OrderedDict()
        return cache

    def _plan(self, build: Callable[..., QuerySet[Any]], values: dict[str, Any]) -> _Plan | object | None:
        binds = [self.binds[name] for name in values]
        queryset = build(**{bind.name: bind.sentinel for bind in binds})
        query = queryset.query
        connection = connections[self.using]
        compiler = query.get_compiler(self.using)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            # Only a .none() shape matches nothing whatever the binds; anything else that
            # compiles to nothing may owe it to a sentinel: not kept, the ORM every call.
            return _EMPTY if query.is_empty() else None
        slots = []
        for bind in binds:
            mark = bind.adapt(bind.sentinel, connection)
            found = [i for i, param in enumerate(params) if type(param) is type(mark) and param == mark]
            if not found or str(mark) in sql or str(bind.sentinel) in sql:
                log.warning("prepared read %s: %r is not a parameter of its statement; compiled every call",
                            self.name, bind.name)  # fmt: skip
                return None
            slots += [(i, bind) for i in found]
        names = tuple(query.selected or (*query.extra_select, *query.values_select, *query.annotation_select))
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        converters = compiler.get_converters(fields)
        return _Plan(sql, tuple(params), tuple(slots), names,
                     tuple((pos, tuple(convs), expr) for pos, (convs, expr) in converters.items()))  # fmt: skip

    def _run(self, plan: _Plan, values: dict[str, Any]) -> list[dict[str, Any]]:
        connection = connections[self.using]
        params = list(plan.params)
        for i, bind in plan.slots:
            params[i] = bind.adapt(values[bind.name], connection)
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        names = plan.names
        if not plan.converters:
            return [dict(zip(names, row, strict=True)) for row in rows]
        out = []
        for row in rows:
            cells = list(row)
            for pos, convs, expression in plan.converters:
                value = cells[pos]
                for convert in convs:
                    value = convert(value, expression, connection)
                cells[pos] = value
            out.append(dict(zip(names, cells, strict=True)))
        return out
