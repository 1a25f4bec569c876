"""kms.db_adapters: PostgreSQL timestamps parsed in C read back exactly as Django's own loader reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL loader")


@postgres_only
def test_every_connection_reads_timestamps_with_the_c_backed_loader():
    from kms.db_adapters import _loader_for

    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, 0)
    assert loader.__qualname__ == _loader_for(connection.timezone).__qualname__
    assert loader.timezone == connection.timezone  # what Django's per-cursor check compares


@postgres_only
@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_a_timestamp_reads_back_as_djangos_loader_reads_it(moment):
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    class Django(BaseTzLoader):
        timezone = connection.timezone

    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz::text, %s::timestamptz", [moment, moment])
        text, read = cursor.fetchone()
    expected = Django(1184, connection.connection).load(text.encode())
    assert read == expected == moment
    assert read.tzinfo is expected.tzinfo
    assert read.utcoffset() == timedelta(0)
