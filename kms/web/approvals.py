"""The approvals inbox: requests awaiting me (approve or reject in place), and my own
requests (cancel). Also the rows of a key's requests on its page.

Whether a request awaits this user is the service's answer (`awaiting_me`), never the page's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap

from kms.exceptions import ERRORS
from kms.models import Approval, ApprovalRequest, ApprovalStatus, Key
from kms.services import approvals as approval_services
from kms.services.approvals import ApprovalFilter
from kms.web.common import actor, is_htmx, login_required, page, report

MAX_ROWS = 200
TABS = {"awaiting": "Awaiting me", "mine": "My requests", "all": "All I can see"}


@dataclass(frozen=True)
class Row:
    """A request as the inbox shows it: what exactly would happen, and who said what."""

    request: ApprovalRequest
    summary: str
    approvers: list[str]
    rejected_by: list[str]
    can_decide: bool
    can_cancel: bool

    @property
    def parameters_json(self) -> str:
        """The parameters exactly as stored and as the action will receive them."""
        return json.dumps(self.request.parameters or {}, indent=2, sort_keys=True)


def summary(req: ApprovalRequest) -> str:
    """The action in words; the exact parameters are shown beside it as they are stored."""
    key, params = req.key.name, req.parameters or {}
    who = next((f"{kind} '{params[kind]}'" for kind in ("user", "group") if kind in params), "")
    perms = ", ".join(params.get("permissions", []))
    changes = ", ".join(f"{k} → {v}" for k, v in (params.get("changes") or {}).items())
    text = {
        "delete": f"Delete key {key} — restorable for {settings.EGIDE_DELETION_WINDOW_DAYS} days",
        "purge": f"Purge key '{key}': wipe its material for good",
        "disable": f"Disable key '{key}': it will do nothing until enabled",
        "update": f"Change settings of key '{key}': {changes}",
        "enable": f"Enable key '{key}' again",
        "restore": f"Restore deleted key '{key}'",
        "disable_version": f"Disable version {params.get('version')} of key '{key}'",
        "enable_version": f"Enable version {params.get('version')} of key '{key}' again",
        "destroy_version": (
            f"Destroy version {params.get('version')} of key '{key}' for good, after the recovery window"
        ),  # fmt: skip
        "restore_version": f"Cancel the destruction of version {params.get('version')} of key '{key}'",
        "grant_add": f"Grant {who} {perms} on key '{key}'",
        "grant_remove": f"Remove {perms} from {who} on key '{key}'",
        "export": f"Export the material of key '{key}' (to the requester only)",
    }
    return text.get(req.action, f"{req.action} on key '{key}'")


def _decisions(req: ApprovalRequest) -> list[Approval]:
    if "approvals" in getattr(req, "_prefetched_objects_cache", {}):  # rows(): one query for them all
        return list(req.approvals.all())
    return list(req.approvals.select_related("approver").order_by("at"))


def _row(req: ApprovalRequest, awaiting: set[int], user: Any) -> Row:
    decisions = _decisions(req)
    return Row(
        request=req,
        summary=summary(req),
        approvers=[d.approver.get_username() for d in decisions if d.decision == "approve"],
        rejected_by=[d.approver.get_username() for d in decisions if d.decision == "reject"],
        can_decide=req.pk in awaiting,
        can_cancel=req.status == "pending" and req.requester_id == user.pk,
    )


def _awaiting_ids(request: HttpRequest, key: str | None = None) -> set[int]:
    found = approval_services.approvals_for(actor=actor(request), filters=ApprovalFilter(awaiting_me=True, key=key))
    return set(found.values_list("pk", flat=True))


def rows(request: HttpRequest, filters: ApprovalFilter, limit: int = MAX_ROWS) -> list[Row]:
    decisions = Prefetch("approvals", queryset=Approval.objects.select_related("approver").order_by("at"))
    found = list(
        approval_services.approvals_for(actor=actor(request), filters=filters).prefetch_related(decisions)[:limit]
    )
    # Which of them await this user: asked only when one of them is still pending.
    pending = any(req.status == ApprovalStatus.PENDING for req in found)
    awaiting = _awaiting_ids(request, filters.key) if pending else set()
    return [_row(req, awaiting, request.user) for req in found]


def key_requests(request: HttpRequest, key: Key) -> dict[str, Any]:
    """The key page's section: the newest requests on this key."""
    return {"key_approvals": rows(request, ApprovalFilter(key=key.name), limit=20)}


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("show", "awaiting")
    tab = tab if tab in TABS else "awaiting"
    filters = {
        "awaiting": ApprovalFilter(awaiting_me=True),
        "mine": ApprovalFilter(mine=True),
        "all": ApprovalFilter(),
    }[tab]
    context = {"rows": rows(request, filters), "tab": tab, "tabs": TABS}
    return page(request, "approvals/inbox.html", "approvals/_requests.html", context)


def _decide(request: HttpRequest, request_id: int, service: Any, done: str) -> HttpResponse:
    try:
        req = service(actor=actor(request), request_id=request_id)
    except ERRORS as exc:
        report(request, exc)
        if is_htmx(request):  # keep the row as it is; the message says why
            return reswap(render(request, "_partials/_flash.html", {"oob": True}), "none")
        return redirect("approvals")
    req.refresh_from_db()
    messages.success(request, done.format(id=req.pk, status=req.status))
    if not is_htmx(request):
        return redirect("approvals")
    row = _row(req, set(), request.user)
    return render(request, "approvals/_request_row.html", {"row": row, "is_partial": True})


@login_required
@require_POST
def approve(request: HttpRequest, request_id: int) -> HttpResponse:
    return _decide(request, request_id, approval_services.approval_approve,
                   "Request #{id} approved; it is now {status}.")  # fmt: skip


@login_required
@require_POST
def reject(request: HttpRequest, request_id: int) -> HttpResponse:
    return _decide(request, request_id, approval_services.approval_reject, "Request #{id} rejected.")


@login_required
@require_POST
def cancel(request: HttpRequest, request_id: int) -> HttpResponse:
    return _decide(request, request_id, approval_services.approval_cancel, "Request #{id} cancelled.")
