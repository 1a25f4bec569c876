"""API tokens: obtain with username and password, list and revoke your own."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response

from kms.api import serializers as s
from kms.api.base import ApiView, PerAddressThrottle
from kms.api.schema import LOGIN_ERRORS, REQUEST_ERRORS, envelope, error_response
from kms.exceptions import LockedOut, Unauthenticated
from kms.security import is_locked_out, lockout_message, retry_after_seconds
from kms.services import authn
from kms.services.tokens import token_create, token_revoke, tokens_of


class TokensView(ApiView):
    def get_permissions(self):  # noqa: ANN201
        if getattr(self.request, "method", None) == "POST":
            return [permissions.AllowAny()]
        return super().get_permissions()

    def get_throttles(self):  # noqa: ANN201
        if getattr(self.request, "method", None) == "POST":
            # The password rate is kms.security.PasswordPathMiddleware's (every password path).
            return [PerAddressThrottle()]
        return super().get_throttles()

    def get_authenticators(self):  # noqa: ANN201
        # POST authenticates with username and password in the body, nothing else.
        request = getattr(self, "request", None)  # the Django request (None in schema generation)
        if request is not None and request.method == "POST":
            return []
        return super().get_authenticators()

    @extend_schema(operation_id="tokens_create", request=s.TokenCreateIn, auth=[],
                   responses={201: envelope(s.TokenCreatedOut, "TokenCreated"), **LOGIN_ERRORS})  # fmt: skip
    def post(self, request: Request) -> Response:
        """A token for a username and password. Every attempt is audited (kms.services.authn,
        through Django's login signals); the per-address rate is kms.security's."""
        body = self.body(s.TokenCreateIn)
        django_request = request._request
        user = authenticate(django_request, username=body["username"], password=body["password"])
        if user is None:
            if is_locked_out(django_request):  # django-axes refused this (username, address)
                raise LockedOut(lockout_message(), retry_after=retry_after_seconds())
            raise Unauthenticated("wrong username or password")
        authn.login_succeeded(django_request, user)
        actor = authn.request_actor(django_request, user)
        expires = body.get("expires_in")
        token, raw = token_create(actor=actor, user=user, name=body.get("name", ""),
                                  expires_in=timedelta(seconds=expires) if expires else None,
                                  scope_keys=body.get("scope_keys", []),
                                  scope_operations=body.get("scope_operations", []))  # fmt: skip
        data = s.token_data(token)
        return self.ok({"token": raw, "id": token.pk, "prefix": token.prefix,
                        "expires_at": data["expires_at"], "scope_keys": data["scope_keys"],
                        "scope_operations": data["scope_operations"]}, status=201)  # fmt: skip

    @extend_schema(operation_id="tokens_list",
                   responses={200: envelope(s.TokenOut(many=True), "TokenList"), **REQUEST_ERRORS})  # fmt: skip
    def get(self, request: Request) -> Response:
        return self.ok([s.token_data(t) for t in tokens_of(request.user)])


class SelfView(ApiView):
    """Who the caller is: `egide whoami` and `egide status` (nothing here is secret)."""

    @extend_schema(operation_id="auth_self", responses={200: envelope(s.SelfOut, "Self"), **REQUEST_ERRORS})
    def get(self, request: Request) -> Response:
        user = request.user
        token = request.auth if getattr(request.auth, "token_hash", None) else None
        return self.ok({
            "username": user.get_username(),
            "superuser": bool(user.is_superuser),
            "roles": sorted(user.groups.values_list("name", flat=True)),
            "token": None if token is None else s.token_data(token),
        })  # fmt: skip


class TokenView(ApiView):
    @extend_schema(
        operation_id="tokens_revoke",
        responses={204: None, **REQUEST_ERRORS, 404: error_response("token_not_found (also another's token)")},
    )
    def delete(self, request: Request, token_id: int) -> Response:
        self.no_body()
        token_revoke(actor=self.actor, token_id=token_id)
        return Response(status=204)
