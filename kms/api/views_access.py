"""Grants and approvals endpoints (issue 5): thin views over kms.services.grants/approvals."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from kms.api import serializers as s
from kms.api.base import ApiView
from kms.api.schema import BODY_ERRORS
from kms.api.views_keys import ERRORS, envelope
from kms.exceptions import InvalidRequest
from kms.models import ApprovalStatus
from kms.services import approvals, grants


class GrantIn(s.Strict):
    user = serializers.CharField(required=False, max_length=150)
    group = serializers.CharField(required=False, max_length=150)
    permissions = serializers.ListField(child=serializers.CharField(max_length=16), min_length=1, max_length=16)


class GrantOut(serializers.Serializer):
    user = serializers.CharField(required=False)
    group = serializers.CharField(required=False)
    permissions = serializers.ListField(child=serializers.CharField())
    scope = serializers.ChoiceField(choices=["key", "all_keys"])
    through = serializers.ChoiceField(choices=["direct", "group", "role"])


GRANTS_OUT = envelope(GrantOut(many=True), "GrantList")


class GrantsView(ApiView):
    @extend_schema(operation_id="grants_list", responses={200: GRANTS_OUT, **ERRORS})
    def get(self, request: Request, name: str) -> Response:
        return self.ok(grants.grants_list(actor=self.actor, name=name))

    @extend_schema(
        operation_id="grants_add",
        request=GrantIn,
        responses={200: GRANTS_OUT, 202: envelope(s.ApprovalPendingOut, "GrantAddPending"), **BODY_ERRORS},
    )
    def post(self, request: Request, name: str) -> Response:
        body = self.body(GrantIn)
        return self.ok(grants.grant_add(actor=self.actor, name=name, **body))

    @extend_schema(
        operation_id="grants_remove",
        request=GrantIn,
        responses={200: GRANTS_OUT, 202: envelope(s.ApprovalPendingOut, "GrantRemovePending"), **BODY_ERRORS},
    )
    def delete(self, request: Request, name: str) -> Response:
        body = self.body(GrantIn)
        return self.ok(grants.grant_remove(actor=self.actor, name=name, **body))


APPROVAL_OUT = envelope(s.ApprovalRequestOut, "ApprovalRequestData")
STATUSES = {choice.value for choice in ApprovalStatus}


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise InvalidRequest(f"{name} must be true or false")
    return raw in ("true", "1")


class ApprovalListView(ApiView):
    query_params = frozenset({"mine", "awaiting_me", "key", "status"})

    @extend_schema(operation_id="approvals_list", parameters=[
        OpenApiParameter("mine", bool), OpenApiParameter("awaiting_me", bool),
        OpenApiParameter("key", str), OpenApiParameter("status", str)],
        responses={200: envelope(s.ApprovalRequestOut(many=True), "ApprovalList"), **ERRORS})  # fmt: skip
    def get(self, request: Request) -> Response:
        status = request.query_params.get("status") or None
        if status is not None and status not in STATUSES:
            raise InvalidRequest(f"status must be one of: {', '.join(sorted(STATUSES))}")
        filters = approvals.ApprovalFilter(
            mine=_flag(request, "mine"), awaiting_me=_flag(request, "awaiting_me"),
            key=request.query_params.get("key") or None, status=status,
        )  # fmt: skip
        found = approvals.approvals_for(actor=self.actor, filters=filters)[:500]
        return self.ok([s.approval_request_data(r) for r in found])


class ApprovalView(ApiView):
    @extend_schema(operation_id="approvals_show", responses={200: APPROVAL_OUT, **ERRORS})
    def get(self, request: Request, request_id: int) -> Response:
        found = approvals.approval_get(actor=self.actor, request_id=request_id)
        return self.ok(s.approval_request_data(found))


def _decision_view(verb: str, service):  # noqa: ANN001, ANN202
    class DecisionView(ApiView):
        @extend_schema(operation_id=f"approvals_{verb}", request=s.Empty, responses={200: APPROVAL_OUT, **BODY_ERRORS})
        def post(self, request: Request, request_id: int) -> Response:
            self.body(s.Empty)
            decided = service(actor=self.actor, request_id=request_id)
            decided.refresh_from_db()
            return self.ok(s.approval_request_data(decided))

    DecisionView.__name__ = f"Approval{verb.title()}View"
    return DecisionView


ApproveView = _decision_view("approve", approvals.approval_approve)
RejectView = _decision_view("reject", approvals.approval_reject)
CancelView = _decision_view("cancel", approvals.approval_cancel)
