"""People: `/v1/users` — create (a one-time password, shown once), list, show, deactivate,
and put users in roles or groups. Every rule is kms.services.users'."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from kms.api import serializers as s
from kms.api.base import ApiView
from kms.api.schema import BODY_ERRORS, ERRORS, envelope, error_response
from kms.services import users

_NOT_FOUND = {404: error_response("user_not_found, not_found (no such endpoint)")}
USER_ERRORS = {**ERRORS, **_NOT_FOUND}
USER_BODY_ERRORS = {**BODY_ERRORS, **_NOT_FOUND}


class UserCreateIn(s.Strict):
    username = serializers.CharField(max_length=150)
    roles = serializers.ListField(child=serializers.CharField(max_length=150), required=False,
                                  max_length=20)  # fmt: skip
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)


class RoleIn(s.Strict):
    role = serializers.CharField(max_length=150)


class UserOut(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.CharField()
    active = serializers.BooleanField()
    superuser = serializers.BooleanField()
    roles = serializers.ListField(child=serializers.CharField())
    groups = serializers.ListField(child=serializers.CharField())
    last_login = serializers.CharField(allow_null=True)
    date_joined = serializers.CharField()


def _ts(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def user_data(user: Any) -> dict[str, Any]:
    return {
        "username": user.get_username(),
        "email": user.email,
        "active": user.is_active,
        "superuser": user.is_superuser,
        "roles": users.roles_of(user),
        "groups": users.groups_of(user),
        "last_login": _ts(user.last_login),
        "date_joined": _ts(user.date_joined),
    }


def event_data(event: Any) -> dict[str, Any]:
    return {"seq": event.seq, "at": _ts(event.at), "action": event.action,
            "outcome": event.outcome, "key": event.key_name, "source": event.source,
            "client_addr": event.client_addr}  # fmt: skip


class UsersView(ApiView):
    @extend_schema(operation_id="users_list",
                   responses={200: envelope(UserOut(many=True), "UserList"),
                              **ERRORS})  # fmt: skip
    def get(self, request: Request) -> Response:
        return self.ok([user_data(u) for u in users.users_list(actor=self.actor)])

    @extend_schema(
        operation_id="users_create", request=UserCreateIn,
        responses={201: envelope(inline_serializer("UserCreated", {
            "user": UserOut(), "one_time_password": serializers.CharField()}), "UserCreatedData"),
            **BODY_ERRORS},
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        body = self.body(UserCreateIn)
        user, password = users.user_create(actor=self.actor, username=body["username"],
                                           roles=body.get("roles", []),
                                           email=body.get("email", ""))  # fmt: skip
        # The one time this password is shown: to the person who created the account.
        return self.ok({"user": user_data(user), "one_time_password": password}, status=201)


class UserView(ApiView):
    @extend_schema(operation_id="users_show", responses={200: envelope(inline_serializer(
        "UserDetail", {"user": UserOut(), "tokens": s.TokenOut(many=True),
                       "recent_events": serializers.ListField(child=serializers.DictField())}),
        "UserDetailData"), **USER_ERRORS})  # fmt: skip
    def get(self, request: Request, username: str) -> Response:
        detail = users.user_detail(actor=self.actor, username=username)
        return self.ok({
            "user": user_data(detail.user),
            "tokens": [s.token_data(t) for t in detail.tokens],
            "recent_events": [event_data(e) for e in detail.recent_events],
        })  # fmt: skip


class UserDeactivateView(ApiView):
    @extend_schema(operation_id="users_deactivate", request=None, responses={200: envelope(
        inline_serializer("UserDeactivated", {"user": UserOut(),
                                              "tokens_revoked": serializers.IntegerField()}),
        "UserDeactivatedData"), **USER_ERRORS})  # fmt: skip
    def post(self, request: Request, username: str) -> Response:
        self.no_body()
        user, revoked = users.user_deactivate(actor=self.actor, username=username)
        return self.ok({"user": user_data(user), "tokens_revoked": revoked})


class UserRolesView(ApiView):
    @extend_schema(operation_id="users_role_add", request=RoleIn,
                   responses={200: envelope(UserOut, "UserRoleAdded"),
                              **USER_BODY_ERRORS})  # fmt: skip
    def post(self, request: Request, username: str) -> Response:
        body = self.body(RoleIn)
        return self.ok(user_data(users.role_add(actor=self.actor, username=username,
                                                role=body["role"])))  # fmt: skip

    @extend_schema(operation_id="users_role_remove", request=RoleIn,
                   responses={200: envelope(UserOut, "UserRoleRemoved"),
                              **USER_BODY_ERRORS})  # fmt: skip
    def delete(self, request: Request, username: str) -> Response:
        body = self.body(RoleIn)
        return self.ok(user_data(users.role_remove(actor=self.actor, username=username,
                                                   role=body["role"])))  # fmt: skip
