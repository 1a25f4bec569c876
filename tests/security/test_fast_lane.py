"""Hostile requests through the production entry point (egide_site.wsgi.application), where
bearer-token data-plane requests take the WSGI fast lane (kms.dataplane.wsgi) and skip
Django's handler and middleware: the lane must refuse them as Django would, in the one
JSON error shape, change nothing, and add the security headers itself.

The Django test client never reaches the lane, hence these WSGI calls. PATH_INFO is given
as a WSGI server gives it: already percent-decoded, as latin-1 text.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.dataplane.conftest import wsgi_call
from tests.security.conftest import db_state

BODY = b'{"plaintext": "QQ=="}'


@pytest.fixture
def app(db: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from egide_site.wsgi import application
    from kms.dataplane import wsgi

    # The lane closes stale connections around a request, as Django's signals do; here that
    # would close the test's transaction. (tests/dataplane runs the lane with it, on real
    # transactions.)
    monkeypatch.setattr(wsgi, "close_old_connections", lambda opened=None: [])
    return application


@pytest.fixture
def bearer(root: Any, create_key: Any) -> str:
    from kms.services.actor import Actor
    from kms.services.tokens import token_create

    create_key("k")
    create_key("a")
    return token_create(actor=Actor.system(), user=root)[1]


CASES = {
    # name: (path as PATH_INFO, body, extra environ, status, code)
    "name with NUL": ("/v1/kms/encrypt/a\x00b", BODY, {}, 404, "key_not_found"),
    "name with newline": ("/v1/kms/encrypt/k\n", BODY, {}, 404, "key_not_found"),
    "name in UTF-8 bytes": ("/v1/kms/encrypt/caf\xc3\xa9", BODY, {}, 404, "key_not_found"),
    "name of 129 characters": ("/v1/kms/encrypt/" + "a" * 129, BODY, {}, 404, "key_not_found"),
    # A server decodes %2561 to %61 once; decoding again would serve key "a".
    "name decoded twice": ("/v1/kms/encrypt/%61", BODY, {}, 404, "key_not_found"),
    "body over the limit": (
        "/v1/kms/encrypt/k",
        b"{" + b" " * (4 * 2**20) + b"}",
        {},
        413,
        "payload_too_large",
    ),
    "content length over the limit": (
        "/v1/kms/encrypt/k",
        BODY,
        {"CONTENT_LENGTH": str(2**40)},
        413,
        "payload_too_large",
    ),
    "content length short": (
        "/v1/kms/encrypt/k",
        BODY,
        {"CONTENT_LENGTH": "5"},
        400,
        "invalid_request",
    ),
    "content length not a number": (
        "/v1/kms/encrypt/k",
        BODY,
        {"CONTENT_LENGTH": "abc"},
        400,
        "invalid_request",
    ),
    "content length negative": (
        "/v1/kms/encrypt/k",
        BODY,
        {"CONTENT_LENGTH": "-1"},
        400,
        "invalid_request",
    ),
    "body deep nesting": (
        "/v1/kms/encrypt/k",
        b"[" * 100_000 + b"]" * 100_000,
        {},
        400,
        "invalid_request",
    ),
    "body invalid utf-8": (
        "/v1/kms/encrypt/k",
        b'{"plaintext": "\xff"}',
        {},
        400,
        "invalid_request",
    ),
    "body lone surrogate": ("/v1/kms/decrypt/k", b'{"ciphertext": "\\ud800"}', {}, 400, None),
    "body NaN": ("/v1/kms/encrypt/k", b'{"plaintext": NaN}', {}, 400, "invalid_request"),
    "body array": ("/v1/kms/encrypt/k", b"[]", {}, 400, "invalid_request"),
    "batch over the item limit": (
        "/v1/kms/encrypt/k",
        json.dumps({"batch": [{"plaintext": "QQ=="}] * 1001}).encode(),
        {},
        400,
        "invalid_request",
    ),
    "token latin-1": (
        "/v1/kms/encrypt/k",
        BODY,
        {"HTTP_AUTHORIZATION": "Bearer egd_\xe9\xe9"},
        401,
        "unauthenticated",
    ),
    "token very long": (
        "/v1/kms/encrypt/k",
        BODY,
        {"HTTP_AUTHORIZATION": "Bearer egd_" + "A" * 100_000},
        401,
        "unauthenticated",
    ),
    "token empty": (
        "/v1/kms/encrypt/k",
        BODY,
        {"HTTP_AUTHORIZATION": "Bearer "},
        401,
        "unauthenticated",
    ),
}


def test_hostile_requests_through_the_fast_lane_are_refused_and_change_nothing(app: Any, bearer: str) -> None:
    failures = []
    before = db_state()
    for name, (path, body, extra, status, code) in CASES.items():
        try:
            got, headers, raw = wsgi_call(app, path, body, bearer, extra=extra)
            answer = json.loads(raw)
            assert (got, set(answer)) == (status, {"error"}), (got, raw[:200])
            assert code is None or answer["error"]["code"] == code, answer
            assert headers["Content-Type"].startswith("application/json"), headers
            assert headers["X-Content-Type-Options"] == "nosniff", headers
            assert headers["X-Frame-Options"] == "DENY", headers
            assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], headers
            assert "unsafe" not in headers["Content-Security-Policy"], headers
            assert headers["Cache-Control"] == "no-store", headers
        except (AssertionError, ValueError, KeyError) as exc:
            failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]}")
        except Exception as exc:  # noqa: BLE001 - escaping the lane: a 500 in production
            failures.append(f"{name}: raised {type(exc).__name__}: {str(exc)[:200]}")
        after = db_state()
        if after != before:
            failures.append(f"{name}: the database changed")
        before = after
    if failures:
        pytest.fail(f"{len(failures)} of {len(CASES)} cases failed:\n" + "\n".join(failures), pytrace=False)


def test_a_fast_lane_success_carries_the_security_headers(app: Any, bearer: str) -> None:
    status, headers, raw = wsgi_call(app, "/v1/kms/encrypt/k", BODY, bearer)
    assert status == 200, raw[:300]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin" and headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_the_fast_lane_adds_hsts_in_production(settings: Any, app: Any, bearer: str) -> None:
    from django.core.handlers.wsgi import WSGIHandler

    from kms.dataplane.wsgi import FastLane

    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_SSL_REDIRECT = False
    status, headers, _ = wsgi_call(FastLane(WSGIHandler()), "/v1/kms/encrypt/k", BODY, bearer,
                                   extra={"wsgi.url_scheme": "https"})  # fmt: skip
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    # As Django's SecurityMiddleware: never over plain HTTP (a browser ignores it there anyway).
    status, headers, _ = wsgi_call(FastLane(WSGIHandler()), "/v1/kms/encrypt/k", BODY, bearer)
    assert status == 200 and "Strict-Transport-Security" not in headers
