"""API authentication: bearer tokens for programs, the session (with CSRF) for the browser.

`actor_for(request)` turns an authenticated request into the services' `Actor`.
"""

from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from kms.exceptions import Unauthenticated
from kms.services.actor import Actor
from kms.services.tokens import token_authenticate


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
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="egide"'


class SessionAuthentication(authentication.SessionAuthentication):
    """The browser's session; CSRF enforced on unsafe methods (DRF's behaviour)."""


def client_addr(request: Request) -> str:
    return request.META.get("REMOTE_ADDR", "")[:64]


def actor_for(request: Request) -> Actor:
    token = request.auth if getattr(request.auth, "token_hash", None) else None
    source = "cli" if request.headers.get("X-Egide-Client") == "cli" else "api"
    return Actor(
        user=request.user,
        source=source,
        auth_method="token" if token is not None else "session",
        token_id=str(token.pk) if token is not None else "",
        request_id=getattr(request._request, "request_id", ""),
        client_addr=client_addr(request),
    )
