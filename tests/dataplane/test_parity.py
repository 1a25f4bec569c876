"""Both transports of the one pipeline answer alike, and every request leaves one audit event.

The hostile-input corpus of the data plane (tests/security/test_hostile_input.py) is sent
twice, case by case: through the WSGI fast lane (the production entry point) and through
the Django view (the test client, as runserver serves it). Status, error code (or each
batch item's), the headers that matter and the audit event must be the same; and each
authenticated request must leave exactly one event, whichever door it took.
"""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import unquote_to_bytes

import pytest

from kms.models import AuditEvent
from tests.security.hostile.cases_dataplane import CASES
from tests.security.hostile.corpus import NOTHING, Case, World, _fresh_budgets, groups

GROUPS = groups(CASES)

DATA_PLANE = ("encrypt", "decrypt", "rewrap", "datakey", "sign", "verify")
COMPARED_HEADERS = (
    "Content-Type", "WWW-Authenticate", "Retry-After", "Allow", "X-Content-Type-Options",
    "X-Frame-Options", "Referrer-Policy", "Cache-Control", "Content-Security-Policy",
    "Cross-Origin-Opener-Policy",
)  # fmt: skip
EVENT_FIELDS = ("action", "outcome", "error_code", "key_name", "key_uid", "key_version", "actor_name",
                "auth_method", "source", "details")  # fmt: skip
CORPUS = [(name, case) for group in DATA_PLANE for name, case in GROUPS[group] if case.method == "POST"]


@pytest.fixture
def lane(monkeypatch: pytest.MonkeyPatch) -> Any:
    from egide_site.wsgi import application
    from kms.dataplane import wsgi

    # Keep the test's transaction: the lane and Django's handler (through its signals) would
    # close the connection around each request (see through_the_lane).
    monkeypatch.setattr(wsgi, "close_old_connections", lambda opened=None: [])
    return application


def body_of(case: Case, world: World) -> bytes | None:
    body = case.body(world) if callable(case.body) else case.body
    if body is NOTHING:
        return None
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def through_the_lane(app: Any, case: Case, body: bytes | None, token: str | None) -> tuple[int, dict, bytes]:
    path, _, query = case.path.partition("?")
    raw = body or b""
    environ = {
        "REQUEST_METHOD": case.method, "PATH_INFO": unquote_to_bytes(path).decode("iso-8859-1"),
        "QUERY_STRING": query, "SERVER_NAME": "testserver", "SERVER_PORT": "80", "HTTP_HOST": "testserver",
        "wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": str(len(raw)), "wsgi.url_scheme": "http",
        "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.errors": io.StringIO(),
        **case.headers,
    }  # fmt: skip
    if body is not None:
        environ["CONTENT_TYPE"] = case.content_type
    if token is not None and "HTTP_AUTHORIZATION" not in case.headers:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = int(status.split()[0]), dict(headers)

    from django.core import signals
    from django.db import close_old_connections

    # As Django's test client does: no connection closing by the handler's signals.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        chunks = app(environ, start_response)
        out = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return seen["status"], seen["headers"], out


def through_django(client: Any, case: Case, body: bytes | None, token: str | None) -> tuple[int, dict, bytes]:
    kwargs: dict[str, Any] = dict(case.headers)
    if token is not None and "HTTP_AUTHORIZATION" not in kwargs:
        kwargs["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if body is not None:
        kwargs.update(data=body, content_type=case.content_type)
    response = client.generic(case.method, case.path, **kwargs)
    return response.status_code, dict(response.headers), response.content


def answer(status: int, headers: dict, body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return {"status": status, "not JSON": body[:100]}
    if "error" in parsed:
        shape: Any = parsed["error"]["code"]
    elif isinstance(parsed.get("data"), dict) and "batch" in parsed["data"]:
        shape = [item.get("error", {}).get("code", "ok") for item in parsed["data"]["batch"]]
    elif "data" in parsed:
        shape = sorted(parsed["data"])
    else:
        shape = {"unexpected": parsed}
    return {"status": status, "shape": shape, "headers": {h: headers.get(h) for h in COMPARED_HEADERS},
            "request_id": bool(headers.get("X-Request-Id"))}  # fmt: skip


def new_events(after_seq: int) -> list[dict[str, Any]]:
    return list(AuditEvent.objects.filter(seq__gt=after_seq).order_by("seq").values(*EVENT_FIELDS))


def last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


@pytest.mark.parametrize("group", DATA_PLANE)
def test_both_transports_answer_and_audit_every_hostile_case_alike(
    group: str, world: World, root: Any, lane: Any, client: Any
) -> None:
    from kms.services.actor import Actor
    from kms.services.tokens import token_create

    token = token_create(actor=Actor.system(), user=root)[1]
    failures = []
    cases = [(name, case) for name, case in CORPUS if name.split(" ")[0] == group]
    assert cases
    for name, case in cases:
        body = body_of(case, world)
        user_token = None if case.anonymous else token
        answers, events = [], []
        for send, target in ((through_the_lane, lane), (through_django, client)):
            _fresh_budgets()
            seq = last_seq()
            answers.append(answer(*send(target, case, body, user_token)))
            events.append(new_events(seq))
        lane_answer, django_answer = answers
        if lane_answer != django_answer:
            failures.append(f"{name}: lane {lane_answer} != django {django_answer}")
        # Unauthenticated, or no operation at that URL (a name with a slash): nothing to audit.
        operation = lane_answer["status"] != 401 and lane_answer.get("shape") != "not_found"
        if [len(e) for e in events] != [int(operation)] * 2:
            failures.append(f"{name}: {[len(e) for e in events]} audit events (expected one each)")
        elif events[0] != events[1]:
            failures.append(f"{name}: audit lane {events[0]} != django {events[1]}")
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(failures)


@pytest.mark.parametrize("group", DATA_PLANE)
def test_with_the_spool_every_hostile_request_ships_exactly_one_event(
    group: str, world: World, root: Any, lane: Any, client: Any, spooled: Any
) -> None:
    """The production sink: each request's line reaches the chain, none jams the shipper."""
    from kms.services import audit_spool as spool
    from kms.services.actor import Actor
    from kms.services.audit import verify_chain
    from kms.services.tokens import token_create

    token = token_create(actor=Actor.system(), user=root)[1]
    failures = []
    cases = [(name, case) for name, case in CORPUS if name.split(" ")[0] == group]
    for name, case in cases:
        body = body_of(case, world)
        for door, send, target in (("lane", through_the_lane, lane), ("django", through_django, client)):
            _fresh_budgets()
            reply = answer(*send(target, case, body, None if case.anonymous else token))
            expected = int(reply["status"] != 401 and reply.get("shape") != "not_found")
            shipped = spool.ship_all(remove_orphans=False)
            if shipped != expected:
                failures.append(f"{name} ({door}): {shipped} events shipped, expected {expected}")
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures)
    assert verify_chain().ok
    assert not AuditEvent.objects.filter(action=spool.QUARANTINE_ACTION).exists()


# --- the third transport: the event loop (kms.dataplane.rsgi) -------------------------------


def through_the_loop(lane: Any, case: Case, body: bytes | None, token: str | None) -> tuple[tuple, bool]:
    """The RSGI transport's two halves, as granian runs them: first on the event loop with no
    database (a query there fails the test), then — on NeedsDatabase — the WSGI application
    where the database may be used (the test's thread: its database is the test's)."""
    from django.db import connection

    from kms.dataplane.rsgi import Lane
    from kms.dataplane.wsgi import FastLane

    assert isinstance(lane, FastLane)
    path, _, query = case.path.partition("?")
    raw = body or b""
    environ = {
        "REQUEST_METHOD": case.method, "PATH_INFO": unquote_to_bytes(path).decode("iso-8859-1"),
        "QUERY_STRING": query, "SERVER_NAME": "testserver", "SERVER_PORT": "80", "HTTP_HOST": "testserver",
        "wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": str(len(raw)), "wsgi.url_scheme": "http",
        "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.errors": io.StringIO(),
        **case.headers,
    }  # fmt: skip
    if body is not None:
        environ["CONTENT_TYPE"] = case.content_type
    if token is not None and "HTTP_AUTHORIZATION" not in case.headers:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    def no_database(*args: Any) -> Any:
        raise AssertionError(f"the event loop's half used the database: {args[1][:120]}")

    loop_lane = Lane(lane)
    with connection.execute_wrapper(no_database):
        here = loop_lane.here(environ)
    if here is not None:
        return (here[0], dict(here[1]), here[2]), True
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        status, headers, chunks = loop_lane.in_thread(environ)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return (status, dict(headers), b"".join(chunks)), False


@pytest.mark.parametrize("group", DATA_PLANE)
def test_the_event_loop_transport_answers_and_audits_like_django(
    group: str, world: World, root: Any, lane: Any, client: Any, spooled: Any
) -> None:
    """Each case through Django, then twice through the event-loop transport (RSGI): the first
    fills the caches (a miss: the thread), the second is answered on the loop where the
    caches allow. Both must answer and audit as Django does."""
    from django.test import override_settings

    from kms.dataplane.state import CACHE
    from kms.services import audit_spool as spool
    from kms.services.actor import Actor
    from kms.services.tokens import token_create

    token = token_create(actor=Actor.system(), user=root)[1]
    failures, on_loop = [], 0
    cases = [(name, case) for name, case in CORPUS if name.split(" ")[0] == group]

    def events_of(send: Any) -> tuple[Any, list[dict[str, Any]]]:
        _fresh_budgets()
        seq = last_seq()
        result = send()
        spool.ship_all(remove_orphans=False)
        return result, new_events(seq)

    for name, case in cases:
        body = body_of(case, world)
        user_token = None if case.anonymous else token
        reference, django_events = events_of(
            lambda c=case, b=body, t=user_token: answer(*through_django(client, c, b, t))
        )
        CACHE.clear()
        with override_settings(EGIDE_STATE_WINDOW_MS=60_000):  # a window: hits are possible
            for attempt in ("first", "second"):
                (got, here), events = events_of(lambda c=case, b=body, t=user_token: through_the_loop(lane, c, b, t))
                on_loop += here and attempt == "second"
                if answer(*got) != reference:
                    failures.append(f"{name} ({attempt}, {'loop' if here else 'thread'}): "
                                    f"{answer(*got)} != django {reference}")  # fmt: skip
                elif events != django_events:
                    failures.append(f"{name} ({attempt}): audit {events} != django {django_events}")
        CACHE.clear()
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(failures)
    authenticated = [c for _, c in cases if not c.anonymous]
    assert on_loop or not authenticated, "no case was answered on the event loop"
