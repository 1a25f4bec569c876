"""What /v1/schema says beyond what drf-spectacular infers from the views.

- the two ways in (bearer token, browser session) as security schemes;
- input serializers refuse unknown fields, so their objects say `additionalProperties: false`;
- every operation lists the errors it can answer, in the one error shape;
- bodies that are one of two shapes (a single item or a batch) say so with `oneOf`.

The property-based run (tests/api/test_schema_fuzz.py) holds every answer to this schema.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, inline_serializer
from rest_framework import serializers

from kms.api.serializers import ErrorOut, ItemErrorOut


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "kms.api.auth.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer",
                "description": "A token from POST /v1/auth/tokens: `Authorization: Bearer egd_...`"}  # fmt: skip


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "kms.api.auth.SessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME,
                "description": "The browser's session; unsafe methods need the CSRF token (X-CSRFToken)."}  # fmt: skip


class StrictSerializerScheme(OpenApiSerializerExtension):
    """Unknown fields are refused (invalid_request): the schema says so."""

    target_class = "kms.api.serializers.Strict"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema


def error_response(codes: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorOut, description=f'`{{"error": {{"code", "message"}}}}`; code: {codes}')


AUTHENTICATED_ERRORS = {
    401: error_response("unauthenticated (no, a wrong, an expired or a revoked token); WWW-Authenticate: Bearer"),
    429: error_response("throttled (per token and per address), locked_out; with Retry-After"),
    503: error_response("unavailable (database or audit trail); with Retry-After"),
}
# Any authenticated operation: a refused query or body, the way in, the rate, the database.
REQUEST_ERRORS = {400: error_response("invalid_request"), **AUTHENTICATED_ERRORS}
# Password in, token out: no token yet, so 401 means a wrong username or password.
LOGIN_ERRORS = {
    400: error_response("invalid_request"),
    401: error_response("unauthenticated (wrong username or password)"),
    413: error_response("payload_too_large (a JSON body over 4 MiB)"),
    415: error_response("invalid_request (a Content-Type other than application/json)"),
    429: error_response("throttled (password attempts per address), locked_out (too many failures); with Retry-After"),
    503: AUTHENTICATED_ERRORS[503],
}
# Any operation on keys: what a request can get wrong, and what the key's state can refuse.
ERRORS = {
    400: error_response(
        "invalid_request, invalid_key_type, operation_not_allowed, invalid_ciphertext, invalid_signature"
    ),  # fmt: skip
    **AUTHENTICATED_ERRORS,
    403: error_response("permission_denied, export_disabled"),
    404: error_response(
        "key_not_found (also for a key you may not see), approval_not_found, token_not_found, "
        "not_found (no such endpoint)"
    ),  # fmt: skip
    409: error_response("key_exists, key_disabled, key_deleted, key_version_unavailable, deletion_disabled, conflict"),
}
# Operations that read a body also refuse one that is too large or not JSON.
BODY_ERRORS = {
    **ERRORS,
    413: error_response("payload_too_large (a JSON body over 4 MiB, a raw body over 16 MiB)"),
    415: error_response("invalid_request (a Content-Type other than application/json)"),
}


def envelope(inner: Any, name: str) -> serializers.Serializer:
    """`{"data": inner}`: every success."""
    return inline_serializer(name=name, fields={"data": inner() if isinstance(inner, type) else inner})


def one_of(name: str, *shapes: Any) -> PolymorphicProxySerializer:
    return PolymorphicProxySerializer(component_name=name, serializers=list(shapes), resource_type_field_name=None)


def single_or_batch(name: str, single: Any, item: Any) -> serializers.Serializer:
    """`{"data": single}` or `{"data": {"batch": [item | {"error": ...}, ...]}}`."""
    batch = inline_serializer(f"{name}Batch", {"batch": serializers.ListField(
        child=one_of(f"{name}ItemResult", item, ItemErrorOut))})  # fmt: skip
    return envelope(one_of(f"{name}Result", single, batch), name)


def documented_by(view: Any, drf_view: type) -> Any:
    """A plain Django view (the lean data plane), documented as the DRF view of its contract.

    drf-spectacular lists only DRF views (it reads `view.cls`); without this the data-plane
    endpoints vanish from /v1/schema.
    """
    view.cls = drf_view
    view.initkwargs = {}
    return view
