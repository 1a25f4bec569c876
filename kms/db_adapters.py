"""PostgreSQL: timestamps read by psycopg's C parser, not Django's pure-Python subclass.

Django reads every `timestamptz` through its own loader (a subclass of psycopg's Python
TimestamptzLoader, to attach the connection's time zone), so psycopg's C implementation
is never used: a page of 100 keys parsed ~200 timestamps in Python, a fifth of the list's
server CPU (cProfile, docs/benchmarks.md). Here each new connection gets a loader with
Django's exact behaviour — the value as psycopg reads it, given the connection's time zone
— whose parsing is psycopg's own C loader when the binary build is installed. Django keeps
it: its per-cursor check compares the loader's `timezone` attribute, which is the same.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.signals import connection_created


def _loader_for(timezone: Any) -> type:
    from psycopg.adapt import AdaptersMap, Loader
    from psycopg.postgres import adapters, types
    from psycopg.pq import Format

    oid = types["timestamptz"].oid
    fast = AdaptersMap(adapters).get_loader(oid, Format.TEXT)  # psycopg's own: C when built

    class TimestamptzInZone(Loader):
        """Django's BaseTzLoader, parsing in C: the value, with the connection's zone."""

        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._parse = fast(oid, context).load

        def load(self, data: Any) -> Any:
            return self._parse(data).replace(tzinfo=timezone)

    TimestamptzInZone.timezone = timezone  # type: ignore[attr-defined]  # what Django compares
    return TimestamptzInZone


def _on_connect(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor != "postgresql":
        return
    connection.connection.adapters.register_loader("timestamptz", _loader_for(connection.timezone))


def connect() -> None:
    connection_created.connect(_on_connect, dispatch_uid="kms-timestamptz-loader")
