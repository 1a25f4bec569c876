"""The audit log: filter by key, actor, action, outcome and time; export the filtered set
as JSON lines. Reading it needs the auditor role (the service says so, not this page)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from kms.exceptions import ERRORS, InvalidRequest
from kms.services import audit_log
from kms.services.audit_log import AuditFilter
from kms.web.common import actor, error_page, login_required, page
from kms.web.forms import AuditFilterForm

PAGE_SIZE = 50


def _filters(form: AuditFilterForm) -> AuditFilter:
    """The filter of a valid form (an invalid one is refused, never dropped: see callers)."""
    data = form.cleaned_data
    return AuditFilter(
        key=data.get("key") or "", actor=data.get("actor") or "",
        action=data.get("action") or "", outcome=data.get("outcome") or "",
        since=data.get("since"), until=data.get("until"), hide_reads=not data.get("reads"),
    )  # fmt: skip


def _export_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("before", None)
    return query.urlencode()


@login_required
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    context: dict[str, Any] = {"form": form, "events": [], "actions": audit_log.KNOWN_ACTIONS}
    if not form.is_valid():  # a filter that cannot be read is shown as such, not ignored
        return page(request, "audit/list.html", "audit/_events.html", context, status=400)
    try:
        result = audit_log.audit_search(
            actor=actor(request), filters=_filters(form), before=form.cleaned_data["before"],
            limit=PAGE_SIZE,
        )  # fmt: skip
    except ERRORS as exc:
        return error_page(request, exc)
    older = request.GET.copy()
    older["before"] = str(result.next_before)
    context.update(
        events=result.events,
        older_query=older.urlencode() if result.next_before else "",
        export_query=_export_query(request),
    )
    return page(request, "audit/list.html", "audit/_events.html", context)


def _lines(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row, sort_keys=True, separators=(",", ":")) + "\n"


@login_required
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return error_page(request, InvalidRequest(f"invalid filter: {form.errors.as_text()}"))
    try:
        rows = audit_log.audit_export(actor=actor(request), filters=_filters(form))
    except ERRORS as exc:
        return error_page(request, exc)
    response = StreamingHttpResponse(_lines(rows), content_type="application/x-ndjson")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="egide-audit-{stamp}.jsonl"'
    return response
