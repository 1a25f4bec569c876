"""The WSGI fast lane: data-plane requests with a bearer token answered before Django's handler.

`FastLane(django_app)` takes `POST /v1/kms/<operation>/<name>` carrying an Authorization
header straight from the WSGI environ — no URL resolver, no middleware, no HttpRequest —
and hands it to the one pipeline (kms.dataplane.pipeline), exactly as the Django view
(kms.dataplane.views) does. Everything else (sessions, other methods and paths) goes to
Django unchanged. The answers carry the headers Django's middleware would add.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from typing import Any

from django.db import connections

from kms import request_ids
from kms.dataplane import config, parse
from kms.dataplane.ops import OPERATIONS
from kms.dataplane.pipeline import Request, serve
from kms.dataplane.reply import Reply
from kms.transit import views as transit_views

PATH = re.compile(rf"^/v1/kms/({'|'.join(OPERATIONS)})/([^/]+)$")
_REASONS = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


class FastLane:
    def __init__(self, django_app: Callable[..., Iterable[bytes]]) -> None:
        self.django_app = django_app

    def _take(self, environ: dict[str, Any]) -> re.Match[str] | None:
        if environ.get("REQUEST_METHOD") != "POST" or "HTTP_AUTHORIZATION" not in environ:
            return None
        match = PATH.match(environ.get("PATH_INFO", ""))
        if match is None:
            return None
        if not self._secure_enough(environ):
            return None  # Django's middleware answers with its redirect
        return match

    @staticmethod
    def _secure_enough(environ: dict[str, Any]) -> bool:
        conf = config.current()
        if conf.ssl_redirect and environ.get("wsgi.url_scheme") != "https":
            forwarded = conf.proxy_ssl_header
            if not forwarded or environ.get(forwarded[0]) != forwarded[1]:
                return False
        return True

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        match = self._take(environ)
        # The Transit dialect's hot paths (kms.transit.views): the same lane, its own codec.
        transit = match is None and transit_views.take(environ) and self._secure_enough(environ)
        if match is None and not transit:
            return self.django_app(environ, start_response)
        opened = close_old_connections()  # what Django's request_started/finished signals would do
        try:
            if transit:
                request_id = _request_id(environ)
                body = _read(environ, environ.get("CONTENT_LENGTH", ""))
                reply = transit_views.serve_environ(environ, body, _host(environ), request_id)
                status, headers, out = self.wire(environ, reply)
            else:
                assert match is not None
                status, headers, out = self.answer(environ, match)
        finally:
            close_old_connections(opened)
        start_response(_REASONS.get(status, str(status)), headers)
        return [out]

    def answer(self, environ: dict[str, Any], match: re.Match[str], *,
               database: bool = True) -> tuple[int, list[tuple[str, str]], bytes]:  # fmt: skip
        """A data-plane request taken by `_take`: status, headers, body (kms.dataplane.rsgi
        asks with database=False: NeedsDatabase then means "run me in a thread")."""
        reply = serve(request_of(environ, match, _request_id(environ)), database=database)
        return self.wire(environ, reply)

    @staticmethod
    def wire(environ: dict[str, Any], reply: Reply) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = [*reply.headers.items(), ("Content-Length", str(len(reply.body))),
                   *config.current().headers[_is_secure(environ)]]  # fmt: skip
        return reply.status, headers, reply.body


def close_old_connections(opened: Sequence[Any] | None = None) -> Sequence[Any]:
    """What Django's request_started and request_finished signals do, for this thread's
    connections: close those broken or past their age (CONN_MAX_AGE=0 closes at the end).

    Called at a request's start with nothing and at its end with what the start returned, so
    the connections are looked up once a request, not twice (each lookup is a context-local
    read: together a tenth of a cache hit's CPU). A thread's first request, which may have
    opened its first connection, looks them up again at the end. Tests replace this, as
    Django's test client disconnects its signals, to keep their transaction open.
    """
    checked = opened or connections.all(initialized_only=True)
    for conn in checked:
        conn.close_if_unusable_or_obsolete()
    return checked


def _request_id(environ: dict[str, Any]) -> str:
    return request_ids.of(environ.get("HTTP_X_REQUEST_ID", ""))


def _is_secure(environ: dict[str, Any]) -> bool:
    if environ.get("wsgi.url_scheme") == "https":
        return True
    forwarded = config.current().proxy_ssl_header
    return bool(forwarded and environ.get(forwarded[0]) == forwarded[1])


def request_of(environ: dict[str, Any], match: re.Match[str], request_id: str) -> Request:
    length = environ.get("CONTENT_LENGTH", "")
    return Request(
        operation=match.group(1), name=_path_text(match.group(2)), body=_read(environ, length),
        content_type=environ.get("CONTENT_TYPE", ""), content_length=length,
        authorization=environ.get("HTTP_AUTHORIZATION", ""), host=_host(environ),
        query_string=environ.get("QUERY_STRING", ""), client=environ.get("HTTP_X_EGIDE_CLIENT", ""),
        request_id=request_id, remote_addr=environ.get("REMOTE_ADDR", ""),
    )  # fmt: skip


def _host(environ: dict[str, Any]) -> str:
    """As Django's HttpRequest._get_raw_host: X-Forwarded-Host only when trusted."""
    if config.current().use_x_forwarded_host and "HTTP_X_FORWARDED_HOST" in environ:
        return environ["HTTP_X_FORWARDED_HOST"]
    if "HTTP_HOST" in environ:
        return environ["HTTP_HOST"]
    host, port = environ.get("SERVER_NAME", ""), str(environ.get("SERVER_PORT", ""))
    default = "443" if environ.get("wsgi.url_scheme") == "https" else "80"
    return host if port == default else f"{host}:{port}"


def _path_text(raw: str) -> str:
    """PATH_INFO is already percent-decoded, as latin-1 (PEP 3333): decode it as Django does,
    once (decoding again would turn `%2561` into `a`)."""
    return raw.encode("latin-1").decode("utf-8", errors="replace")


def _read(environ: dict[str, Any], length: str) -> bytes | None:
    """The body, at most the largest limit (None: announced larger, not read)."""
    try:
        size = int(length or 0)
    except ValueError:
        size = 0
    if size > parse.RAW_MAX_BYTES:
        return None
    return environ["wsgi.input"].read(size) if size > 0 else b""
