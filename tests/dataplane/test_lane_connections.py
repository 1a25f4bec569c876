"""The fast lane does what Django's request_started/finished signals do to connections, once
looked up a request: every connection broken or past its age is closed at the start and again
at the end (CONN_MAX_AGE=0 closes there), a thread's first request included."""

from __future__ import annotations

from typing import Any

import pytest

from kms.dataplane import wsgi


class FakeConnection:
    def __init__(self) -> None:
        self.checks = 0

    def close_if_unusable_or_obsolete(self) -> None:
        self.checks += 1


class FakeConnections:
    def __init__(self, opened: list[FakeConnection]) -> None:
        self.opened, self.lookups = opened, 0

    def all(self, initialized_only: bool = False) -> list[FakeConnection]:
        assert initialized_only, "only this thread's connections: opening none to check them"
        self.lookups += 1
        return list(self.opened)


def test_start_and_end_check_every_connection_looked_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = FakeConnection()
    handler = FakeConnections([conn])
    monkeypatch.setattr(wsgi, "connections", handler)
    opened = wsgi.close_old_connections()  # request_started
    wsgi.close_old_connections(opened)  # request_finished
    assert conn.checks == 2 and handler.lookups == 1


def test_a_threads_first_request_checks_the_connection_it_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    handler = FakeConnections([])
    monkeypatch.setattr(wsgi, "connections", handler)
    opened = wsgi.close_old_connections()  # no connection yet in this thread
    conn = FakeConnection()
    handler.opened.append(conn)  # the request opened one (a cache miss read the database)
    wsgi.close_old_connections(opened)
    assert conn.checks == 1 and handler.lookups == 2


@pytest.mark.django_db
def test_the_lane_calls_it_around_each_request(monkeypatch: pytest.MonkeyPatch, bearer: str) -> None:
    from egide_site.wsgi import application
    from tests.dataplane.conftest import wsgi_call

    calls: list[Any] = []

    def spy(opened: list[Any] | None = None) -> list[Any]:
        calls.append(opened)
        return ["the start's list"]

    monkeypatch.setattr(wsgi, "close_old_connections", spy)
    status, _, _ = wsgi_call(application, "/v1/kms/encrypt/none", b'{"plaintext": "AAAA"}', bearer)
    assert status == 404
    assert calls == [None, ["the start's list"]]
