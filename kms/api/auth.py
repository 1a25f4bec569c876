"""API authentication: bearer tokens for programs, the session (with CSRF) for the browser.

`actor_for(request)` turns an authenticated request into the services' `Actor`.

A scoped token (kms.services.tokens.scope_permits) is held to its scope twice over: the key
services refuse a key or permission outside it (kms.services.lookup.require_token_scope,
fed by the actor's `token_scope`), and here, an endpoint that names no key is refused
unless the scope allows that action on no key (a token scoped to keys may not list keys,
create one, decide approvals or manage users).
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from kms.exceptions import Unauthenticated
from kms.models import ApiToken
from kms.services import audit
from kms.services.actor import Actor
from kms.services.tokens import is_scoped, scope_permits, token_authenticate

# The permission an endpoint that names no key needs from a scoped token, by route name
# (and method). Endpoints with a key name are checked by the key services; any other
# route, or one missing here, is outside every scope.
KEYLESS_PERMISSIONS: dict[tuple[str, str], str] = {
    ("keys", "GET"): "view",
    ("keys", "POST"): "add",
    ("tokens", "GET"): "view",
    ("token", "DELETE"): "view",
    ("self", "GET"): "view",
    ("schema", "GET"): "view",
    ("docs", "GET"): "view",
    ("approvals", "GET"): "approve",
    ("approval", "GET"): "approve",
    ("approve", "POST"): "approve",
    ("reject", "POST"): "approve",
    ("cancel", "POST"): "approve",
}


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request):  # noqa: ANN201
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise exceptions.AuthenticationFailed("expected 'Authorization: Bearer <token>'")
        try:
            token = token_authenticate(raw.strip())
        except Unauthenticated as exc:
            raise exceptions.AuthenticationFailed(exc.message) from None
        if is_scoped(token):
            _check_keyless_scope(request, token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="egide"'


class SessionAuthentication(authentication.SessionAuthentication):
    """The browser's session; CSRF enforced on unsafe methods (DRF's behaviour)."""


def _check_keyless_scope(request: Request, token: ApiToken) -> None:
    match = request._request.resolver_match
    if match is not None and "name" in match.kwargs:
        return  # names a key: the key services check the scope, in their audited operation
    route = match.url_name if match is not None else ""
    permission = KEYLESS_PERMISSIONS.get((route, request.method), "")
    if permission and scope_permits(token.scope_keys, token.scope_operations, None, permission):
        return
    actor = Actor(user=token.user, source=_source(request), auth_method="token",
                  token_id=str(token.pk), request_id=getattr(request._request, "request_id", ""),
                  client_addr=client_addr(request))  # fmt: skip
    message = "this API token's scope does not allow this request"
    with transaction.atomic():
        audit.record(actor, "token_scope", outcome="denied", error_code="permission_denied",
                     details={"method": request.method, "route": route or "unknown"})  # fmt: skip
    raise exceptions.PermissionDenied(message)


class DocsPermission(permissions.BasePermission):
    """/v1/schema and /v1/docs: an authenticated user, unless EGIDE_API_DOCS_PUBLIC opens them
    (read per request, so the setting can change without a restart of the view classes)."""

    def has_permission(self, request: Request, view: object) -> bool:
        if settings.EGIDE_API_DOCS_PUBLIC:
            return True
        return bool(request.user and request.user.is_authenticated)


def _source(request: Request) -> str:
    return "cli" if request.headers.get("X-Egide-Client") == "cli" else "api"


def client_addr(request: Request) -> str:
    return request.META.get("REMOTE_ADDR", "")[:64]


def actor_for(request: Request) -> Actor:
    token = request.auth if getattr(request.auth, "token_hash", None) else None
    scope = (list(token.scope_keys), list(token.scope_operations)) if is_scoped(token) else None
    return Actor(
        user=request.user,
        source=_source(request),
        auth_method="token" if token is not None else "session",
        token_id=str(token.pk) if token is not None else "",
        request_id=getattr(request._request, "request_id", ""),
        client_addr=client_addr(request),
        extra={"token_scope": scope} if scope is not None else {},
    )
