"""The WSGI fast lane: data-plane requests answered before Django's handler.

`FastLane(django_app)` serves `POST /v1/kms/<operation>/<name>` with a bearer token
and a JSON body straight from the WSGI environ (kms.dataplane.views.serve) — no
URL resolver, no middleware, no HttpRequest. Everything else, and any data-plane
request it does not take, goes to Django unchanged. The answers are byte-for-byte
those of the Django view, plus the headers Django's security middleware would add.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.db import close_old_connections

from kms.dataplane.views import Call, is_fast, serve

PATH = re.compile(r"^/v1/kms/(encrypt|decrypt|sign|verify|datakey|rewrap)/([^/]+)$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_REASONS = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


def security_headers() -> list[tuple[str, str]]:
    headers = [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
        ("Cache-Control", "no-store"),
    ]
    if settings.SECURE_HSTS_SECONDS:
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        headers.append(("Strict-Transport-Security", value))
    return headers


class FastLane:
    def __init__(self, django_app: Callable[..., Iterable[bytes]]) -> None:
        self.django_app = django_app
        self.extra_headers = security_headers()

    def _take(self, environ: dict[str, Any]) -> re.Match[str] | None:
        match = PATH.match(environ.get("PATH_INFO", ""))
        if match is None or not is_fast(environ.get("REQUEST_METHOD", ""), "HTTP_AUTHORIZATION" in environ,
                                         environ.get("CONTENT_TYPE", ""), environ.get("QUERY_STRING", "")):
            return None
        if settings.SECURE_SSL_REDIRECT and environ.get("wsgi.url_scheme") != "https":
            forwarded = settings.SECURE_PROXY_SSL_HEADER
            if not forwarded or environ.get(forwarded[0]) != forwarded[1]:
                return None  # Django's middleware answers with its redirect
        return match

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        match = self._take(environ)
        if match is None:
            return self.django_app(environ, start_response)
        offered = environ.get("HTTP_X_REQUEST_ID", "")
        close_old_connections()  # what Django's request_started/finished signals would do
        try:
            reply = serve(self._call(environ, match, offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex))
        finally:
            close_old_connections()
        headers = [*reply.headers.items(), ("Content-Length", str(len(reply.body))), *self.extra_headers]
        start_response(_REASONS.get(reply.status, str(reply.status)), headers)
        return [reply.body]

    @staticmethod
    def _call(environ: dict[str, Any], match: re.Match[str], request_id: str) -> Call:
        length = environ.get("CONTENT_LENGTH", "")
        from kms.dataplane.views import body_too_large

        body = b"" if body_too_large(length) else _read(environ, length)
        return Call(match.group(1), _path_text(match.group(2)), environ.get("HTTP_AUTHORIZATION", ""),
                    environ.get("HTTP_X_EGIDE_CLIENT", ""), length, body, request_id,
                    environ.get("REMOTE_ADDR", ""))  # fmt: skip


def _path_text(raw: str) -> str:
    """PATH_INFO is already percent-decoded, as latin-1 (PEP 3333): decode it as Django does,
    once (decoding again would turn `%2561` into `a`)."""
    return raw.encode("latin-1").decode("utf-8", errors="replace")


def _read(environ: dict[str, Any], length: str) -> bytes:
    try:
        size = int(length or 0)
    except ValueError:
        size = 0
    stream = environ["wsgi.input"]
    return stream.read(size) if size > 0 else b""
