"""One exception handler: every error leaves the API as {"error": {"code", "message"}}.

Service errors carry their code (kms.exceptions.STATUS_BY_CODE gives the status);
DRF's own errors (parse, auth, throttle, method) are mapped to our codes here.
An approval-required outcome is a 202 with the request, not an error.
"""

from __future__ import annotations

import logging
from typing import Any

from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from kms.dataplane.errors import describe
from kms.exceptions import ERRORS, ApprovalRequired

log = logging.getLogger(__name__)


def error_response(code: str, message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response({"error": {"code": code, "message": message}}, status=status, headers=headers)


def validation_message(detail: Any, prefix: str = "") -> str:
    if isinstance(detail, dict):
        for field, value in detail.items():
            name = field if field != "non_field_errors" else ""
            return validation_message(value, f"{prefix}{name}: " if name else prefix)
    if isinstance(detail, list) and detail:
        return validation_message(detail[0], prefix)
    return f"{prefix}{detail}"


def _drf_error(exc: drf.APIException) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, drf.ValidationError):
        return error_response("invalid_request", validation_message(exc.detail), 400)
    if isinstance(exc, drf.ParseError):
        return error_response("invalid_request", f"malformed request body: {exc.detail}", 400)
    if isinstance(exc, drf.UnsupportedMediaType):
        return error_response("invalid_request", str(exc.detail), 415)
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        return error_response("unauthenticated", str(exc.detail), 401, {"WWW-Authenticate": 'Bearer realm="egide"'})
    if isinstance(exc, drf.Throttled):
        wait = int(exc.wait or 1)
        headers["Retry-After"] = str(max(wait, 1))
        return error_response("throttled", f"too many requests; retry in {max(wait, 1)} s", 429, headers)
    if isinstance(exc, drf.PermissionDenied):
        return error_response("permission_denied", str(exc.detail), 403)
    if isinstance(exc, drf.MethodNotAllowed):
        return error_response("method_not_allowed", str(exc.detail), 405)
    if isinstance(exc, drf.NotFound):
        return error_response("not_found", str(exc.detail), 404)
    if isinstance(exc, drf.NotAcceptable):
        return error_response("not_acceptable", str(exc.detail), 406)
    return error_response("invalid_request", str(exc.detail), exc.status_code)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApprovalRequired):
        from kms.api.serializers import approval_request_data

        return Response({"data": {"approval_request": approval_request_data(exc.request)}}, status=202)
    if isinstance(exc, ERRORS):
        set_rollback()
        # The one error table (kms.dataplane.errors): status, code, message and headers as the
        # data plane answers them.
        status, code, message, headers = describe(exc)
        return error_response(code, message, status, headers or None)
    if isinstance(exc, drf.APIException):
        return _drf_error(exc)
    from django.db import DatabaseError

    if isinstance(exc, DatabaseError):
        log.exception("database error")
        return error_response("unavailable", "the database is unavailable; retry shortly", 503, {"Retry-After": "1"})
    return None  # a bug: Django answers 500 and logs it


def not_found_handler(request, exception=None):  # noqa: ANN001, ANN201
    """JSON 404 under /v1/ (unknown endpoint); Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/v1/"):
        return JsonResponse({"error": {"code": "not_found", "message": "no such endpoint"}}, status=404)
    return page_not_found(request, exception)


@csrf_exempt  # answers 404 to any method: nothing to protect, and a POST must not get CSRF's HTML
def api_not_found(request):  # noqa: ANN001, ANN201
    return not_found_handler(request)


def csrf_failure(request, reason: str = ""):  # noqa: ANN001, ANN201
    """Django's CSRF refusal: in the API's error shape under /v1/, Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views.csrf import csrf_failure as page

    if request.path.startswith("/v1/"):
        message = f"CSRF Failed: {reason}" if reason else "CSRF Failed"
        return JsonResponse({"error": {"code": "permission_denied", "message": message}}, status=403)
    return page(request, reason=reason)
