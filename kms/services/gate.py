"""The approval gate: the bottom of the services, where a sensitive action waits for approvers.

`gate()` is called by the services that change keys and grants (kms.services.keys,
grants) before they act: it lets the action through (no approvals required, the system,
or the action running on behalf of an approved request), or files one approval request
(one pending per requester, key, action and parameters; a bound per requester) and
raises ApprovalRequired. It imports no service that could call it back: deciding on a
request and running the approved action live at the top (kms.services.approvals).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from kms import access
from kms.exceptions import ApprovalPending, ApprovalRequired, TooManyPendingApprovals
from kms.models import ApprovalRequest, ApprovalStatus, Key, approval_fingerprint
from kms.services import audit
from kms.services.actor import Actor

# Actions whose quorum lets the requester perform them once more, themself (the result
# goes to the requester, not to the approver who completed the quorum).
CONSUMED_BY_REQUESTER = {"export", "backup"}  # backup: to another Egide


def approval_context(actor: Actor) -> dict[str, Any] | None:
    return actor.extra.get("approval")


# A requester's pending requests, all keys together (a bound on approval flooding).


def max_pending() -> int:
    return int(settings.EGIDE_APPROVALS_MAX_PENDING)


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
        raise ApprovalPending(f"request #{same.pk} for the same {same.action} on key '{key.name}' is already pending")
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
            .filter(
                key=key,
                action=action,
                requester=actor.user,
                status=ApprovalStatus.APPROVED,
                expires_at__gt=timezone.now(),
            )  # fmt: skip
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
