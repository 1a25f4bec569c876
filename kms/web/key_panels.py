"""A key's page, panel by panel: what the page loads after it is shown (htmx, `hx-trigger="load"`).

The key's page (kms.web.key_detail) renders the key and its versions; its heavier panels —
the settings form, operations per day, approval requests, grants, recent events — each come from a
small view of their own, through the same services and permission checks as when the page
rendered them: a key the user may not see is a 404, and each panel shows only what it showed
before (the grants editor to who may grant, the events to the key's administrators and to
auditors). To htmx a view answers its section; otherwise (no script: the placeholder's
link) the section on a page of its own.

Audit: the page's `info` event records the visit, as before; the grants panel writes the
`grants_list` read the page wrote before (kms.services.grants.key_grants).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from kms import access
from kms.durations import format_duration
from kms.exceptions import ERRORS
from kms.services import audit_log
from kms.services.lookup import key_for
from kms.web import charts
from kms.web import grants as grants_web
from kms.web.approvals import key_requests
from kms.web.common import actor, error_page, login_required, page
from kms.web.forms import KeySettingsForm


def _panel(request: HttpRequest, partial: str, context: dict[str, Any]) -> HttpResponse:
    return page(request, "keys/panel.html", partial, {**context, "panel": partial, "lazy": True})


@login_required
@require_GET
def key_usage(request: HttpRequest, name: str) -> HttpResponse:
    """Operations per day, last 30 days (needs `view` on the key)."""
    try:
        days = audit_log.ops_per_day(actor=actor(request), name=name)
    except ERRORS as exc:
        return error_page(request, exc)
    return _panel(request, "keys/_key_usage.html", {"key_name": name, "chart": charts.bar_chart(days)})


@login_required
@require_GET
def key_approvals(request: HttpRequest, name: str) -> HttpResponse:
    """The newest approval requests on the key (needs `view` on the key)."""
    try:
        key = key_for(actor(request), name, "view")
    except ERRORS as exc:
        return error_page(request, exc)
    return _panel(request, "keys/_key_approvals.html", {"key": key, "key_name": key.name,
                                                       **key_requests(request, key)})  # fmt: skip


@login_required
@require_GET
def key_grants(request: HttpRequest, name: str) -> HttpResponse:
    """Who may do what with the key, and the editor to who may grant (the `grants_list` read)."""
    return grants_web.section(request, name, lazy=True)


@login_required
@require_GET
def key_events(request: HttpRequest, name: str) -> HttpResponse:
    """The key's recent changes and uses: to its administrators and to auditors."""
    try:
        events = audit_log.key_events(actor=actor(request), name=name)
    except ERRORS as exc:
        return error_page(request, exc)
    context = {"key_name": name, "events": events, "may_audit": access.has_global(request.user, "audit")}
    return _panel(request, "keys/_key_events.html", context)


def key_settings(request: HttpRequest, name: str) -> HttpResponse:
    """The settings section: the form to who may manage the key (while it is active or
    disabled), its settings as facts to everyone else who may see it. (GET of the settings
    URL, kms.web.key_detail.key_settings: its POST saves.)"""
    try:
        key = key_for(actor(request), name, "view")
    except ERRORS as exc:
        return error_page(request, exc)
    editable = key.state in ("active", "disabled") and access.can(request.user, key, "manage")
    context = {
        "key": key,
        "key_name": key.name,
        "settings_form": KeySettingsForm(key=key) if editable else None,
        "rotation_period": format_duration(key.rotation_period) if key.rotation_period else "",
    }
    return _panel(request, "keys/_key_settings.html", context)
