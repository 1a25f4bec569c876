"""Approval requests: sensitive actions on keys that require approvers.

For now only their expiry (the scheduler's pass); creating, approving and running
requests come later.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from kms.models import ApprovalRequest, ApprovalStatus
from kms.services import audit
from kms.services.actor import Actor


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


# --- requests: create (the gate), approve, reject, cancel, list ----------------------

from dataclasses import dataclass  # noqa: E402
from datetime import timedelta  # noqa: E402
from typing import Any  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.mail import send_mail  # noqa: E402
from django.db.models import Q, QuerySet  # noqa: E402

from kms import access  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import IntegrityError  # noqa: E402

from kms.exceptions import (  # noqa: E402
    ApprovalNotFound,
    ApprovalPending,
    ApprovalRequired,
    Conflict,
    PermissionDenied,
    TooManyPendingApprovals,
)
from kms.models import Approval, Key, approval_fingerprint  # noqa: E402
from kms.rules import NAME_PATTERN  # noqa: E402
from kms.services.operation import operation  # noqa: E402

# Actions whose quorum lets the requester perform them once more, themself (the result
# goes to the requester, not to the approver who completed the quorum).
CONSUMED_BY_REQUESTER = {"export"}


def approval_context(actor: Actor) -> dict[str, Any] | None:
    return actor.extra.get("approval")


# A requester's pending requests, all keys together (a bound on approval flooding).
MAX_PENDING_PER_REQUESTER = 20


def max_pending() -> int:
    return int(getattr(settings, "EGIDE_APPROVALS_MAX_PENDING", MAX_PENDING_PER_REQUESTER))


def required_for(key: Key, at_least: int = 0) -> int:
    return max(key.approvals_required, at_least)


def gate(*, actor: Actor, key: Key, action: str, parameters: dict[str, Any], at_least: int = 0) -> None:
    """Let a sensitive action through, or turn it into an approval request.

    `at_least` raises the number of approvals the key asks for (1 for the actions that need
    a second person whatever `approvals_required` says: exportable on, granting export).
    Passes when no approval is needed, for the system, for superusers (break-glass: their
    events are flagged), and when the action runs on behalf of an approved request.
    Otherwise it commits one new request (and its audit event) and raises ApprovalRequired
    carrying it; the same request already pending is refused (approval_pending), and so is a
    requester's request beyond `max_pending()` pending ones.
    """
    required = required_for(key, at_least)
    if required == 0 or actor.is_system or approval_context(actor):
        return
    if getattr(actor.user, "is_superuser", False):
        return
    if action in CONSUMED_BY_REQUESTER and _consume_approved(actor, key, action, parameters):
        return
    fingerprint = approval_fingerprint(action, parameters)
    with transaction.atomic():
        _refuse_duplicate(actor, key, fingerprint)
        try:
            with transaction.atomic():
                request = ApprovalRequest.objects.create(
                    key=key, action=action, parameters=parameters, requester=actor.user, required=required,
                    expires_at=timezone.now() + timedelta(hours=settings.EGIDE_APPROVAL_TTL_HOURS),
                    fingerprint=fingerprint,
                )  # fmt: skip
        except IntegrityError:  # the same request, created at the same moment by another call
            raise ApprovalPending(f"the same {action} request on key '{key.name}' is already pending") from None
        audit.record(actor, "approval_request", key=key,
                     details={"request_id": request.pk, "action": action, "parameters": parameters,
                              "required": request.required})  # fmt: skip
        transaction.on_commit(lambda: _notify_approvers(request))
    raise ApprovalRequired(request)


def _refuse_duplicate(actor: Actor, key: Key, fingerprint: str) -> None:
    pending = ApprovalRequest.objects.filter(requester=actor.user, status=ApprovalStatus.PENDING)
    now = timezone.now()
    same = pending.filter(key=key, fingerprint=fingerprint).select_for_update().first()
    if same is not None and same.expires_at <= now:
        # Past its time but not yet expired by the scheduler: expire it now, so it is not in the way.
        same.status = ApprovalStatus.EXPIRED
        same.save(update_fields=["status"])
        audit.record(actor, "approval_expire", key=key, details={"request_id": same.pk, "action": same.action})
    elif same is not None:
        raise ApprovalPending(
            f"request #{same.pk} for the same {same.action} on key '{key.name}' is already pending"
        )
    limit = max_pending()
    if pending.filter(expires_at__gt=now).count() >= limit:
        raise TooManyPendingApprovals(
            f"you already have {limit} pending approval requests: wait for decisions, or cancel some"
        )


def cancel_for_key(key: Key, *, reason: str, keep: int | None = None) -> list[int]:
    """Cancel every open request on `key` (pending, or approved and not yet used): a deleted
    or purged key's requests must never run, least of all against a new key of that name.
    `keep`: the request being executed right now. Returns the ids; the caller's event lists them."""
    open_ = ApprovalRequest.objects.filter(key=key, status__in=[ApprovalStatus.PENDING, ApprovalStatus.APPROVED])
    if keep is not None:
        open_ = open_.exclude(pk=keep)
    ids = list(open_.select_for_update().values_list("pk", flat=True))
    if ids:
        ApprovalRequest.objects.filter(pk__in=ids).update(
            status=ApprovalStatus.CANCELLED, decided_at=timezone.now(),
            result={"outcome": "cancelled", "reason": reason},
        )  # fmt: skip
    return ids


def executing_request_id(actor: Actor) -> int | None:
    context = approval_context(actor)
    return context.get("request_id") if context else None


def _consume_approved(actor: Actor, key: Key, action: str, parameters: dict[str, Any]) -> bool:
    """Use up an approved request of this requester for exactly this action, if one is waiting."""
    with transaction.atomic():
        request = (
            ApprovalRequest.objects.select_for_update()
            .filter(key=key, action=action, requester=actor.user, status=ApprovalStatus.APPROVED,
                    expires_at__gt=timezone.now())  # fmt: skip
            .order_by("created_at")
            .first()
        )
        if request is None or request.parameters != parameters:
            return False
        request.status, request.decided_at = ApprovalStatus.EXECUTED, timezone.now()
        request.save(update_fields=["status", "decided_at"])
        audit.record(actor, "approval_consume", key=key, details={"request_id": request.pk, "action": action})
    return True


def _approvers_of(key: Key) -> list[Any]:
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    return [u for u in users if access.can(u, key, "approve")]


def _notify_approvers(request: ApprovalRequest) -> None:
    recipients = [u.email for u in _approvers_of(request.key) if u.pk != request.requester_id]
    if not recipients:
        return
    send_mail(
        subject=f"[Egide] approval needed: {request.action} on key {request.key.name}",
        message=(
            f"{request.requester.get_username()} asks to {request.action} key '{request.key.name}' "
            f"with parameters {request.parameters}.\nRequest #{request.pk} needs {request.required} "
            f"approval(s) and expires at {request.expires_at:%Y-%m-%d %H:%M} UTC.\n"
            f"Approve or reject: egide kms approvals show {request.pk}"
        ),
        from_email=None,
        recipient_list=recipients,
        fail_silently=True,
    )


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
    from kms.exceptions import ERRORS, error_code, error_message
    from kms.services.actions import perform

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
        ids = [r.pk for r in requests if access.can(actor.user, r.key, "approve")]
        requests = ApprovalRequest.objects.select_related("key", "requester").filter(pk__in=ids).order_by("-created_at")
    return requests
