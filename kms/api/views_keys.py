"""Control-plane endpoints: keys and their versions (thin: parse, call a service, render)."""

from __future__ import annotations

import base64
import binascii

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from kms.api import serializers as s
from kms.api.base import ApiView
from kms.api.schema import BODY_ERRORS, ERRORS, envelope
from kms.crypto import KEY_TYPES
from kms.exceptions import InvalidRequest
from kms.rules import parse_whole_number
from kms.services import keys as key_services
from kms.services.selectors import MAX_PAGE, STATUSES, keys_list

__all__ = ["ERRORS", "envelope"]  # also used by the other view modules
PENDING = envelope(s.ApprovalPendingOut, "ApprovalPending")  # 202: the action waits for approvers


def _cursor_decode(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        # validate=True: the lenient decoder would turn junk into "" (the first page).
        name = base64.b64decode(cursor.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        name = ""
    if not name:
        raise InvalidRequest("cursor is not one this server issued")
    return name


def _cursor_encode(name: str | None) -> str | None:
    return base64.urlsafe_b64encode(name.encode()).decode() if name else None


def _int_param(request: Request, name: str, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    return parse_whole_number(raw, name, textual=True)  # the one parser: never "²" or "１"


class KeyListView(ApiView):
    query_params = frozenset({"type", "status", "name_prefix", "limit", "cursor"})

    @extend_schema(
        operation_id="keys_list",
        parameters=[
            OpenApiParameter("type", str, enum=list(KEY_TYPES)),
            OpenApiParameter("status", str, enum=sorted(STATUSES)),
            OpenApiParameter("name_prefix", str),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                description=f"1 to {MAX_PAGE}; 100 if not given",
            ),
            OpenApiParameter("cursor", str, description="the next_cursor of the previous page"),
        ],  # fmt: skip
        responses={
            200: inline_serializer(
                "KeyListOut",
                {
                    "data": s.KeySummaryOut(many=True),
                    "next_cursor": serializers.CharField(allow_null=True),
                },
            ),
            **ERRORS,
        },  # fmt: skip
    )
    def get(self, request: Request) -> Response:
        page = keys_list(
            actor=self.actor,
            key_type=request.query_params.get("type") or None,
            status=request.query_params.get("status") or None,
            name_prefix=request.query_params.get("name_prefix") or None,
            after=_cursor_decode(request.query_params.get("cursor")),
            limit=_int_param(request, "limit", 100) or 0,
        )
        return self.ok([s.key_summary_data(k) for k in page.keys], next_cursor=_cursor_encode(page.next_after))


class KeyView(ApiView):
    @extend_schema(operation_id="keys_create", request=s.KeyCreateIn,
                   responses={201: envelope(s.KeyInfoOut, "KeyCreated"), **BODY_ERRORS})  # fmt: skip
    def post(self, request: Request, name: str) -> Response:
        body = self.body(s.KeyCreateIn)
        key_type = body.pop("type")
        key = key_services.key_create(actor=self.actor, name=name, key_type=key_type, **body)
        return self.ok(s.key_info_data(key), status=201)

    @extend_schema(operation_id="keys_info", responses={200: envelope(s.KeyInfoOut, "KeyInfo"), **ERRORS})
    def get(self, request: Request, name: str) -> Response:
        return self.ok(s.key_info_data(key_services.key_info(actor=self.actor, name=name)))

    @extend_schema(operation_id="keys_update", request=s.KeyUpdateIn,
                   responses={200: envelope(s.KeyInfoOut, "KeyUpdated"), 202: PENDING, **BODY_ERRORS})  # fmt: skip
    def patch(self, request: Request, name: str) -> Response:
        changes = self.body(s.KeyUpdateIn)
        key = key_services.key_update(actor=self.actor, name=name, changes=changes)
        return self.ok(s.key_info_data(key))

    @extend_schema(operation_id="keys_delete",
                   responses={204: None, 202: PENDING, **ERRORS})  # fmt: skip
    def delete(self, request: Request, name: str) -> Response:
        self.no_body()
        key_services.key_delete(actor=self.actor, name=name)
        return Response(status=204)


class RotateView(ApiView):
    @extend_schema(operation_id="keys_rotate", request=s.Empty,
                   responses={200: envelope(s.RotateOut, "Rotated"), **BODY_ERRORS})  # fmt: skip
    def post(self, request: Request, name: str) -> Response:
        self.body(s.Empty)
        kv = key_services.key_rotate(actor=self.actor, name=name)
        return self.ok({"name": name, "new_version": kv.version})


# The actions that may wait for approvers (kms.services.gate.gate) also answer 202.
def _state_view(action: str, service, gated: bool = False):  # noqa: ANN001, ANN202
    class StateView(ApiView):
        @extend_schema(operation_id=f"keys_{action}", request=s.Empty,
                       responses={200: envelope(s.KeyInfoOut, f"Key{action.title()}d"),
                                  **({202: PENDING} if gated else {}), **BODY_ERRORS})  # fmt: skip
        def post(self, request: Request, name: str) -> Response:
            self.body(s.Empty)
            key = service(actor=self.actor, name=name)
            return self.ok(s.key_info_data(key))

    StateView.__name__ = f"{action.title()}View"
    return StateView


DisableView = _state_view("disable", key_services.key_disable, gated=True)
EnableView = _state_view("enable", key_services.key_enable, gated=True)
RestoreView = _state_view("restore", key_services.key_restore, gated=True)


def _version_view(action: str, service, gated: bool = False):  # noqa: ANN001, ANN202
    class VersionView(ApiView):
        @extend_schema(operation_id=f"versions_{action}", request=s.Empty,
                       responses={200: envelope(s.VersionStatusOut, f"Version{action.title()}d"),
                                  **({202: PENDING} if gated else {}), **BODY_ERRORS})  # fmt: skip
        def post(self, request: Request, name: str, version: int) -> Response:
            self.body(s.Empty)
            kv = service(actor=self.actor, name=name, version=version)
            kv.refresh_from_db()
            return self.ok({"version": kv.version, "status": kv.status})

    VersionView.__name__ = f"Version{action.title()}View"
    return VersionView


VersionDisableView = _version_view("disable", key_services.version_disable, gated=True)
VersionEnableView = _version_view("enable", key_services.version_enable, gated=True)
VersionDestroyView = _version_view("destroy", key_services.version_destroy, gated=True)
VersionRestoreView = _version_view("restore", key_services.version_restore, gated=True)


class PublicKeyView(ApiView):
    query_params = frozenset({"version"})

    @extend_schema(operation_id="keys_public",
                   parameters=[OpenApiParameter("version", {"type": "integer", "minimum": 1},
                                                description="the current version if not given")],
                   responses={200: envelope(s.PublicKeyOut, "PublicKey"), **ERRORS})  # fmt: skip
    def get(self, request: Request, name: str) -> Response:
        version, pem, status = key_services.public_key(
            actor=self.actor, name=name, version=_int_param(request, "version", None)
        )
        return self.ok({"name": name, "version": version, "status": status, "public_key": pem})


class ExportView(ApiView):
    """POST: an export files an approval request in the caller's name, so it is never a GET
    (a cross-site link could not file one; sessions need the CSRF token). GET answers 405."""

    @extend_schema(operation_id="keys_export", request=s.Empty,
                   responses={200: envelope(s.ExportOut, "Export"), 202: PENDING, **BODY_ERRORS})  # fmt: skip
    def post(self, request: Request, name: str) -> Response:
        self.body(s.Empty)
        return self.ok(key_services.key_export(actor=self.actor, name=name))
