"""Approval requests, at the top of the services: decide on them and run what was approved.

Requests are filed by the gate (kms.services.gate), which the key and grant services call
before a sensitive action. Here: approve (at quorum the action runs once, as the
requester, through kms.services.actions), reject, cancel, expire, show and list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from kms import access
from kms.exceptions import (
    ERRORS,
    ApprovalNotFound,
    Conflict,
    PermissionDenied,
    error_code,
    error_message,
)
from kms.models import Approval, ApprovalRequest, ApprovalStatus
from kms.rules import NAME_PATTERN
from kms.services import audit
from kms.services.actions import perform
from kms.services.actor import Actor
from kms.services.gate import CONSUMED_BY_REQUESTER
from kms.services.operation import operation
from kms.services.prepared import PreparedValues, datetime_bind


def approvals_expire(*, actor: Actor, now: datetime | None = None) -> int:
    """Mark every pending request whose `expires_at` has passed as expired; return how many.

    Each expiry writes an `approval_expire` event in the same transaction. Safe on several
    nodes at once: rows are taken under their row locks (PostgreSQL: SKIP LOCKED, so rows
    another node is expiring are left to it) and filtered on `pending` under the lock, so no
    request is expired twice. Whoever decides a request must lock it and check it is still
    pending and unexpired, so an approval and an expiry cannot both win.
    """
    now = now or timezone.now()
    due = ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING, expires_at__lte=now)
    skip = connection.features.has_select_for_update_skip_locked
    of = ("self",) if connection.features.has_select_for_update_of else ()
    with transaction.atomic():
        requests = list(due.select_related("key").select_for_update(skip_locked=skip, of=of))
        for request in requests:
            request.status = ApprovalStatus.EXPIRED  # when: its expires_at
            request.save(update_fields=["status"])
            audit.record(
                actor, "approval_expire", key=request.key,
                details={"request_id": request.pk, "action": request.action},
            )  # fmt: skip
    return len(requests)


def _locked_request(request_id: Any) -> ApprovalRequest:
    if isinstance(request_id, bool) or not isinstance(request_id, int):
        raise ApprovalNotFound("no such approval request")
    request = (
        ApprovalRequest.objects.select_for_update().select_related("key", "requester").filter(pk=request_id).first()
    )
    if request is None:
        raise ApprovalNotFound(f"no approval request {request_id}")
    return request


def _require_visible(actor: Actor, request: ApprovalRequest) -> None:
    if actor.is_system or request.requester_id == getattr(actor.user, "pk", None):
        return
    if not access.can_view(actor.user, request.key):
        raise ApprovalNotFound(f"no approval request {request.pk}")


def _require_open(request: ApprovalRequest, now: Any) -> None:
    if request.status == ApprovalStatus.PENDING and request.expires_at <= now:
        # The scheduler's pass records the expiry; here the decision is simply refused.
        raise Conflict(f"approval request {request.pk} expired at {request.expires_at:%Y-%m-%d %H:%M} UTC")
    if request.status != ApprovalStatus.PENDING:
        raise Conflict(f"approval request {request.pk} is {request.status}, not pending")


def _require_approver(actor: Actor, request: ApprovalRequest, decision: str) -> None:
    if request.requester_id == actor.user.pk:
        raise PermissionDenied("you cannot approve or reject your own request")
    if not access.can(actor.user, request.key, "approve"):
        raise PermissionDenied(f"you may not approve requests on key '{request.key.name}'")
    if decision == "approve" and not actor.user.is_superuser:
        if actor.user.pk in _beneficiaries(request.action, request.parameters):
            raise PermissionDenied("you cannot approve a grant to yourself (or to a group you are in)")


def _beneficiaries(action: str, parameters: dict[str, Any]) -> set[int]:
    """The users a grant request would give power to: an approver among them may not
    approve it (nobody raises their own power, not even with a colleague's request)."""
    if action != "grant_add":
        return set()
    users = get_user_model().objects.all()
    if parameters.get("user"):
        return set(users.filter(username=parameters["user"]).values_list("pk", flat=True))
    return set(users.filter(groups__name=parameters.get("group") or "").values_list("pk", flat=True))


def _decide(actor: Actor, op: Any, request_id: int, decision: str) -> tuple[ApprovalRequest, Any]:
    """Record one approver's decision on a pending request, under the request's row lock.

    The requester never decides, nobody decides twice, and only holders of `approve`.
    """
    request = _locked_request(request_id)
    _require_visible(actor, request)
    op.key = request.key
    now = timezone.now()
    _require_open(request, now)
    _require_approver(actor, request, decision)
    if Approval.objects.filter(request=request, approver=actor.user).exists():
        raise Conflict("you have already decided on this request")
    Approval.objects.create(request=request, approver=actor.user, decision=decision)
    return request, now


def approval_approve(*, actor: Actor, request_id: int) -> ApprovalRequest:
    """Add the actor's approval; at quorum the action runs once, atomically, as the requester."""
    with operation(actor, "approval_approve") as op:
        with transaction.atomic():
            request, now = _decide(actor, op, request_id, "approve")
            approvers = list(
                request.approvals.filter(decision="approve").order_by("at").values_list("approver__username", flat=True)
            )
            details = {"request_id": request.pk, "action": request.action, "approvals": len(approvers),
                       "required": request.required}  # fmt: skip
            op.success(key=request.key, details=details)
            if len(approvers) >= request.required:
                _run(request, approvers, actor, now)
        return request


def _run(request: ApprovalRequest, approvers: list[str], approver: Actor, now: Any) -> None:
    """Quorum reached: perform the action now (or, for export, let the requester do it once)."""
    request.decided_at = now
    if request.action in CONSUMED_BY_REQUESTER:
        request.status = ApprovalStatus.APPROVED
        request.save(update_fields=["status", "decided_at"])
        return
    on_behalf = Actor(
        user=request.requester, source=approver.source, auth_method=approver.auth_method,
        token_id=approver.token_id, request_id=approver.request_id, client_addr=approver.client_addr,
        extra={"approval": {"request_id": request.pk, "requester": request.requester.get_username(),
                            "approvers": approvers, "key_uid": str(request.key.uid)}},
    )  # fmt: skip
    try:
        with transaction.atomic():
            perform(on_behalf, request)
        request.status, request.result = ApprovalStatus.EXECUTED, {"outcome": "success"}
    except ERRORS as exc:  # the key changed meanwhile: the request fails, visibly
        request.status = ApprovalStatus.FAILED
        request.result = {"outcome": "error", "code": error_code(exc), "message": error_message(exc)}
    request.save(update_fields=["status", "decided_at", "result"])


def approval_reject(*, actor: Actor, request_id: int) -> ApprovalRequest:
    with operation(actor, "approval_reject") as op:
        with transaction.atomic():
            request, now = _decide(actor, op, request_id, "reject")
            request.status, request.decided_at = ApprovalStatus.REJECTED, now
            request.save(update_fields=["status", "decided_at"])
            op.success(key=request.key, details={"request_id": request.pk, "action": request.action})
        return request


def approval_cancel(*, actor: Actor, request_id: int) -> ApprovalRequest:
    with operation(actor, "approval_cancel") as op:
        with transaction.atomic():
            request = _locked_request(request_id)
            _require_visible(actor, request)
            op.key = request.key
            if request.requester_id != getattr(actor.user, "pk", None):
                raise PermissionDenied("only the requester can cancel a request")
            _require_open(request, timezone.now())
            request.status, request.decided_at = ApprovalStatus.CANCELLED, timezone.now()
            request.save(update_fields=["status", "decided_at"])
            op.success(key=request.key, details={"request_id": request.pk, "action": request.action})
        return request


def approval_get(*, actor: Actor, request_id: int) -> ApprovalRequest:
    with operation(actor, "approval_show") as op:
        request = ApprovalRequest.objects.select_related("key", "requester").filter(pk=request_id).first()
        if request is None:
            raise ApprovalNotFound(f"no approval request {request_id}")
        _require_visible(actor, request)
        op.success(key=request.key, details={"request_id": request.pk})
        return request


@dataclass(frozen=True)
class ApprovalFilter:
    mine: bool = False
    awaiting_me: bool = False
    key: str | None = None
    status: str | None = None


def approvals_for(*, actor: Actor, filters: ApprovalFilter = ApprovalFilter()) -> QuerySet[ApprovalRequest]:
    """Requests the actor may see: their own, and those on keys they may view."""
    requests = ApprovalRequest.objects.select_related("key", "requester").order_by("-created_at")
    if not actor.is_system:
        requests = requests.filter(Q(requester=actor.user) | Q(key__in=access.visible_keys(actor.user)))
    if filters.mine:
        requests = requests.filter(requester=actor.user)
    if filters.key:
        # No key bears a name outside the rule (and PostgreSQL refuses NUL in a query).
        valid = isinstance(filters.key, str) and NAME_PATTERN.match(filters.key)
        requests = requests.filter(key__name=filters.key) if valid else requests.none()
    if filters.status:
        requests = requests.filter(status=filters.status)
    if filters.awaiting_me:
        requests = requests.filter(status=ApprovalStatus.PENDING, expires_at__gt=timezone.now()).exclude(
            requester=actor.user).exclude(approvals__approver=actor.user)  # fmt: skip
        # On keys the actor may approve on: kms.access decides, inside the same query (not one
        # permission check per request: every page's navigation counts these).
        requests = requests.filter(key__in=access.keys_with(actor.user, ["approve"]).values("pk"))
    return requests


def awaiting_count(*, actor: Actor) -> int:
    """How many pending requests await the actor's decision (every page's navigation shows it).

    Nothing pending at all, the common case, is one light query; otherwise approvals_for."""
    if not _ANY_PENDING.rows("any", _pending_rows, now=timezone.now()):
        return 0
    return approvals_for(actor=actor, filters=ApprovalFilter(awaiting_me=True)).count()


_ANY_PENDING = PreparedValues("approvals_pending", datetime_bind("now"))  # every page: compiled once


def _pending_rows(now: datetime) -> QuerySet[Any]:
    """At most one live pending request (`.exists()` as a kept statement)."""
    return ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING, expires_at__gt=now).values("pk")[:1]
