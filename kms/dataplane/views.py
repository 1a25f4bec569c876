"""The Django transport of the data plane: `POST /v1/kms/<operation>/<name>` through Django.

Serves what the WSGI fast lane passes on (a browser session, a raw octet-stream body, a
query string) and every request when the fast lane is not in front (runserver, tests).
It only translates: the session's user becomes the principal (after Django's CSRF check,
as for any unsafe request made with a session), the body is read up to the largest
limit, and the pipeline (kms.dataplane.pipeline) decides and answers everything else.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from kms.dataplane import errors, parse
from kms.dataplane.ops import OPERATIONS
from kms.dataplane.pipeline import Principal, Request, serve
from kms.dataplane.reply import Reply
from kms.exceptions import MethodNotAllowed, PermissionDenied

_CSRF = CsrfViewMiddleware(lambda request: HttpResponse())


def session_principal(request: HttpRequest) -> Principal | None:
    """The browser's logged-in user, or None (no session: the token decides)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return Principal(user.pk, user.get_username(), user.is_superuser, "session")


def _no_view(request: HttpRequest) -> HttpResponse:  # CSRF's check reads no view attribute
    return HttpResponse()


def csrf_failure(request: HttpRequest) -> str | None:
    """Django's CSRF verdict on an unsafe request made with a session (None: it passes)."""
    _CSRF.process_request(request)
    refused = _CSRF.process_view(request, _no_view, (), {})
    return None if refused is None else getattr(refused, "reason_phrase", "CSRF check failed")


def read_body(request: HttpRequest) -> bytes | None:
    """The body, at most the largest limit (None: announced larger, not read)."""
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        announced = 0
    if announced > parse.RAW_MAX_BYTES:
        return None
    body = request.read(parse.RAW_MAX_BYTES + 1)
    return None if len(body) > parse.RAW_MAX_BYTES else body


def to_response(reply: Reply) -> HttpResponse:
    response = HttpResponse(reply.body, status=reply.status, content_type="application/json")
    for header, value in reply.headers.items():
        response[header] = value
    return response


def request_of(request: HttpRequest, operation: str, name: str, principal: Principal | None) -> Request:
    meta = request.META
    return Request(
        operation=operation, name=name, body=read_body(request), content_type=meta.get("CONTENT_TYPE", ""),
        content_length=meta.get("CONTENT_LENGTH", ""), authorization=meta.get("HTTP_AUTHORIZATION", ""),
        host=request.get_host(), query_string=meta.get("QUERY_STRING", ""),
        client=meta.get("HTTP_X_EGIDE_CLIENT", ""), request_id=getattr(request, "request_id", ""),
        remote_addr=meta.get("REMOTE_ADDR", ""), principal=principal,
    )  # fmt: skip


def _view(operation: str) -> Callable[..., HttpResponse]:
    @csrf_exempt  # a session's request is checked below; a token's needs no CSRF protection
    def view(request: HttpRequest, name: str) -> HttpResponse:
        request_id = getattr(request, "request_id", "")
        if request.method != "POST":
            return to_response(errors.reply(MethodNotAllowed(request.method or "", ["POST"]), request_id))
        principal = None
        if "HTTP_AUTHORIZATION" not in request.META:
            principal = session_principal(request)
            if principal is not None:
                failure = csrf_failure(request)
                if failure is not None:
                    refused = PermissionDenied(f"CSRF Failed: {failure}")
                    return to_response(errors.reply(refused, request_id))
        return to_response(serve(request_of(request, operation, name, principal)))

    view.__name__ = f"{operation}_view"
    return view


VIEWS = {name: _view(name) for name in OPERATIONS}
