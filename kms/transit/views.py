"""The two transports of the Transit dialect (kms.transit.codec decides everything else).

- `dispatch`: the Django view for `/v1/<path>` when no native route matched (runserver, the
  test client, and whatever the fast lane passes on); anything that is not a Transit path
  answers the API's JSON 404, as before.
- `FAST_PATH` / `serve_environ`: the WSGI fast lane's entry (kms.dataplane.wsgi.FastLane) for
  the hot paths, `POST|PUT /v1/<mount>/(encrypt|decrypt|rewrap|sign|verify|hmac)/<name>[/<arg>]`
  with a token, straight from the environ.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from kms.api.errors import api_not_found
from kms.dataplane.reply import Reply
from kms.dataplane.views import read_body, to_response
from kms.transit import codec, mounts
from kms.transit.mounts import RESERVED

FAST_PATH = re.compile(r"^/v1/(?:[A-Za-z0-9._-]+/){1,4}(?:encrypt|decrypt|rewrap|sign|verify|hmac)/[^/]+(?:/[^/]+)?$")


def _is_transit(path: str) -> bool:
    if path.startswith(("sys/mounts", "sys/health", "sys/seal-status", "auth/token/")):
        return True
    return mounts.resolve(path) is not None


@csrf_exempt  # tokens only: a browser session is never used on this surface
def dispatch(request: HttpRequest, path: str) -> HttpResponse:
    from kms.dataplane.state import CACHE

    CACHE.sync()
    if not _is_transit(path):
        return api_not_found(request)
    meta = request.META
    transit = codec.request_of(
        request.method or "GET", path, meta.get("QUERY_STRING", ""), lambda name: meta.get(name, ""),
        read_body(request), request.get_host(), meta.get("REMOTE_ADDR", ""), getattr(request, "request_id", ""),
    )  # fmt: skip
    return _response(codec.handle(transit))


def _response(reply: Reply) -> HttpResponse:
    if reply.status == 204:
        response = HttpResponse(status=204)
        for header, value in reply.headers.items():
            response[header] = value
        return response
    refusal = reply.headers.pop(codec.REFUSAL_HEADER, None) is not None
    response = to_response(reply)
    if refusal:  # Transit's 500 for a refusal (codec.TransitError): audited as such, not a server fault
        response._has_been_logged = True  # noqa: SLF001 - Django's own flag (django.utils.log.log_response)
    return response


def take(environ: dict[str, Any]) -> bool:
    """Whether the fast lane answers this request through the Transit codec."""
    return (environ.get("REQUEST_METHOD") in ("POST", "PUT")
            and ("HTTP_X_VAULT_TOKEN" in environ or "HTTP_AUTHORIZATION" in environ)
            and FAST_PATH.match(environ.get("PATH_INFO", "")) is not None
            # A native path (/v1/kms/...) is never a mount: its unknown URLs answer natively.
            and environ.get("PATH_INFO", "")[len("/v1/"):].split("/", 1)[0] not in RESERVED)  # fmt: skip


def serve_environ(environ: dict[str, Any], body: bytes | None, host: str, request_id: str) -> Reply:
    from kms.dataplane.wsgi import _path_text

    request = codec.request_of(
        environ["REQUEST_METHOD"], _path_text(environ.get("PATH_INFO", ""))[len("/v1/"):],
        environ.get("QUERY_STRING", ""), lambda name: environ.get(name, ""), body, host,
        environ.get("REMOTE_ADDR", ""), request_id,
    )  # fmt: skip
    reply = codec.handle(request)
    reply.headers.pop(codec.REFUSAL_HEADER, None)  # the fast lane logs no 500 of its own
    return reply
