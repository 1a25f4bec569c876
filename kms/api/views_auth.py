"""API tokens: obtain with username and password, list and revoke your own."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response

from kms.api import serializers as s
from kms.api.auth import client_addr
from kms.api.base import ApiView, LoginThrottle, PerAddressThrottle
from kms.api.schema import LOGIN_ERRORS, REQUEST_ERRORS, error_response, envelope
from kms.exceptions import LockedOut, Unauthenticated
from kms.security import is_locked_out, lockout_message, retry_after_seconds
from kms.services import audit
from kms.services.actor import Actor
from kms.services.tokens import token_create, token_revoke, tokens_of


class TokensView(ApiView):
    def get_permissions(self):  # noqa: ANN201
        if getattr(self.request, "method", None) == "POST":
            return [permissions.AllowAny()]
        return super().get_permissions()

    def get_throttles(self):  # noqa: ANN201
        if getattr(self.request, "method", None) == "POST":
            return [PerAddressThrottle(), LoginThrottle()]
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
        body = self.body(s.TokenCreateIn)
        user = authenticate(request._request, username=body["username"], password=body["password"])
        actor = Actor(user=user, source="api", auth_method="password",
                      request_id=getattr(request._request, "request_id", ""), client_addr=client_addr(request))  # fmt: skip
        if user is None or not user.is_active:
            locked = is_locked_out(request._request)  # django-axes refused this (username, address)
            audit.record(Actor(user=None, source="api", auth_method="password", request_id=actor.request_id,
                               client_addr=actor.client_addr),
                         "login", outcome="denied", error_code="locked_out" if locked else "unauthenticated",
                         details={"username": body["username"][:150]})  # fmt: skip
            if locked:
                raise LockedOut(lockout_message(), retry_after=retry_after_seconds())
            raise Unauthenticated("wrong username or password")
        expires = body.get("expires_in")
        token, raw = token_create(actor=actor, user=user, name=body.get("name", ""),
                                  expires_in=timedelta(seconds=expires) if expires else None)  # fmt: skip
        return self.ok({"token": raw, "id": token.pk, "prefix": token.prefix,
                        "expires_at": s.token_data(token)["expires_at"]}, status=201)  # fmt: skip

    @extend_schema(operation_id="tokens_list",
                   responses={200: envelope(s.TokenOut(many=True), "TokenList"), **REQUEST_ERRORS})  # fmt: skip
    def get(self, request: Request) -> Response:
        return self.ok([s.token_data(t) for t in tokens_of(request.user)])


class TokenView(ApiView):
    @extend_schema(operation_id="tokens_revoke",
                   responses={204: None, **REQUEST_ERRORS, 404: error_response("token_not_found (also another's token)")})  # fmt: skip
    def delete(self, request: Request, token_id: int) -> Response:
        self.no_body()
        token_revoke(actor=self.actor, token_id=token_id)
        return Response(status=204)
