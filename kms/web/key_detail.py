"""A key's page: settings, versions, lifecycle actions, public key; its usage chart, approval
requests, grants and recent events load after it, each from its own view (kms.web.key_panels).

Each action is a POST (CSRF) that calls one service. To htmx it answers the refreshed key
panel (`keys/_key_panel.html`); otherwise it redirects back to the page (post/redirect/get).
A key the user may not see is a 404, whatever the action.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kms import access
from kms.crypto import get_key_type
from kms.durations import format_duration
from kms.exceptions import ERRORS, KeyNotFound
from kms.models import Key
from kms.rules import parse_whole_number
from kms.services import keys as key_services
from kms.services.usable import OPERATIONS as PLAYGROUND
from kms.web import key_panels
from kms.web.common import actor, error_page, is_htmx, login_required, page, report
from kms.web.forms import ConfirmNameForm, KeySettingsForm

CRYPTO = PLAYGROUND  # the uses counted per version, from the operations' declarations
COUNTS = {
    "encrypt": "encrypt_count",
    "decrypt": "decrypt_count",
    "sign": "sign_count",
    "verify": "verify_count",
    "hmac": "sign_count",
}  # fmt: skip  (an HMAC counts as a signature)
# The versions table's column titles: uses counted, in words (not "VERIFYS").
COUNT_TITLES = {"encrypt": "Encryptions", "decrypt": "Decryptions", "sign": "Signatures",
                "verify": "Verifications", "hmac": "HMACs"}  # fmt: skip
# What each type can do, as the key page says it (kms.crypto operation names → words).
ABILITIES = {"encrypt": "encrypt", "decrypt": "decrypt", "sign": "sign", "verify": "verify",
             "hmac": "compute HMACs", "decapsulate": "decapsulate ML-KEM ciphertexts",
             "derive": "derive shared secrets with a peer's public key"}  # fmt: skip


def version_label(status: str, key_state: str) -> str:
    """A version's state as it really is: a deleted key's versions do nothing, whatever their own."""
    if key_state == "deleted" and status != "destroyed":
        return f"{status} · unusable: key deleted"
    if key_state == "disabled" and status != "destroyed":
        return f"{status} · unusable: key disabled"
    return status


def panel_context(request: HttpRequest, name: str, settings_form: Any = None) -> dict[str, Any]:
    """What the key panel shows: the key, its versions, and what this user may do to it."""
    key: Key = key_services.key_info(actor=actor(request), name=name)
    perms = set(access.permissions_on(request.user, key))
    key_type = get_key_type(key.key_type)
    live = key.state in ("active", "disabled")
    counted = [op for op in CRYPTO if key_type.supports(op)]
    # The settings form (slow to render) loads after the page, unless it comes back with errors.
    settings_lazy = settings_form is None and "manage" in perms and live
    return {
        "key": key,
        "perms": perms,
        "asymmetric": key_type.asymmetric,
        "type_summary": key_type.summary,
        "abilities": [words for op, words in ABILITIES.items() if key_type.supports(op)],
        "has_jwks": key_type.jwk,
        "count_names": [COUNT_TITLES.get(op, op) for op in counted],
        "versions": [
            {
                "kv": kv,
                "status": kv.status_in(key),
                "label": version_label(kv.status_in(key), key.state),
                "counts": [getattr(kv, COUNTS[op]) for op in counted],
            }
            for kv in key.version_list  # type: ignore[attr-defined]
        ],
        "rotation_period": format_duration(key.rotation_period) if key.rotation_period else "",
        "settings_form": settings_form,
        "settings_lazy": settings_lazy,
        "can_use": bool(perms & set(CRYPTO)) and key.state == "active",
    }


def _page_context(request: HttpRequest, name: str) -> dict[str, Any]:
    """The page: the key panel; the other panels load after it (kms.web.key_panels)."""
    return panel_context(request, name)


@login_required
@require_GET
def key_detail(request: HttpRequest, name: str) -> HttpResponse:
    try:
        context = _page_context(request, name)
    except ERRORS as exc:
        return error_page(request, exc)
    return page(request, "keys/detail.html", None, context)


def key_panel(request: HttpRequest, name: str, settings_form: Any = None) -> HttpResponse:
    """The refreshed panel to htmx, else a redirect to the key's page."""
    if not is_htmx(request):
        return redirect("key_detail", name=name)
    try:
        context = panel_context(request, name, settings_form)
    except ERRORS as exc:
        return error_page(request, exc)
    return render(request, "keys/_key_panel.html", {**context, "is_partial": True})


def _act(request: HttpRequest, name: str, call: Callable[..., Any], done: str | Callable[[Any], str]) -> HttpResponse:
    """Call one service as this user and say how it went (`done` may read the result)."""
    try:
        result = call(actor=actor(request), name=name)
    except KeyNotFound as exc:
        return error_page(request, exc)
    except ERRORS as exc:  # including ApprovalRequired: the action now waits for approvers
        report(request, exc)
    else:
        messages.success(request, done(result) if callable(done) else done)
    return key_panel(request, name)


@login_required
@require_POST
def key_rotate(request: HttpRequest, name: str) -> HttpResponse:
    def done(kv: Any) -> str:
        return f"Key '{name}' rotated: now at version {kv.version}."

    return _act(request, name, key_services.key_rotate, done)


@login_required
@require_POST
def key_disable(request: HttpRequest, name: str) -> HttpResponse:
    done = f"Key '{name}' disabled: it does nothing until enabled."
    return _act(request, name, key_services.key_disable, done)


@login_required
@require_POST
def key_enable(request: HttpRequest, name: str) -> HttpResponse:
    return _act(request, name, key_services.key_enable, f"Key '{name}' enabled.")


@login_required
@require_POST
def key_restore(request: HttpRequest, name: str) -> HttpResponse:
    return _act(request, name, key_services.key_restore, f"Key '{name}' restored.")


@login_required
def key_delete(request: HttpRequest, name: str) -> HttpResponse:
    """A confirmation page that names the key; the deletion itself is its POST."""
    try:
        key = key_services.key_info(actor=actor(request), name=name)
        access.require(request.user, key, "delete")
    except ERRORS as exc:
        return error_page(request, exc)
    form = ConfirmNameForm(request.POST or None, key_name=key.name)
    if request.method == "POST" and form.is_valid():
        try:
            deleted = key_services.key_delete(actor=actor(request), name=name)
        except ERRORS as exc:  # including ApprovalRequired: a request now awaits approvers
            report(request, exc)
        else:
            until = deleted.purge_after.strftime("%Y-%m-%d %H:%M UTC")
            messages.success(request, f"Key '{name}' deleted. It can be restored until {until}.")
        return redirect("key_detail", name=name)
    return page(request, "keys/delete.html", None, {"key": key, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def key_settings(request: HttpRequest, name: str) -> HttpResponse:
    """GET: the settings section, a panel the page loads after it (kms.web.key_panels); POST: save."""
    if request.method == "GET":
        return key_panels.key_settings(request, name)
    try:
        key = key_services.key_info(actor=actor(request), name=name)
    except ERRORS as exc:
        return error_page(request, exc)
    form = KeySettingsForm(request.POST, key=key)
    if not form.is_valid():
        messages.error(request, "Settings not saved: see the errors below.")
        return _settings_invalid(request, name, form)
    changes = form.changes()
    if not changes:
        messages.info(request, "Nothing changed.")
        return key_panel(request, name)
    call = partial(key_services.key_update, changes=changes)
    return _act(request, name, call, f"Settings of '{name}' saved: {', '.join(sorted(changes))}.")


def _settings_invalid(request: HttpRequest, name: str, form: KeySettingsForm) -> HttpResponse:
    if is_htmx(request):
        return key_panel(request, name, settings_form=form)
    try:
        context = panel_context(request, name, settings_form=form)  # the form with its errors, in place
    except ERRORS as exc:
        return error_page(request, exc)
    return page(request, "keys/detail.html", None, context)


@login_required
@require_POST
def version_disable(request: HttpRequest, name: str, version: int) -> HttpResponse:
    call = partial(key_services.version_disable, version=version)
    return _act(request, name, call, f"Version {version} of '{name}' disabled.")


@login_required
@require_POST
def version_enable(request: HttpRequest, name: str, version: int) -> HttpResponse:
    call = partial(key_services.version_enable, version=version)
    return _act(request, name, call, f"Version {version} of '{name}' enabled.")


@login_required
@require_GET
def public_key(request: HttpRequest, name: str) -> HttpResponse:
    """The public key (PEM) of a version, as a download; the current version by default."""
    raw = request.GET.get("version", "")
    try:
        # Never silently ignored, and "²" or a fullwidth "１" is no version (kms.rules).
        version = parse_whole_number(raw, "version", textual=True) if raw else None
        number, pem = key_services.public_key_pem(actor=actor(request), name=name, version=version)
    except ERRORS as exc:
        if isinstance(exc, KeyNotFound):
            return error_page(request, exc)
        report(request, exc)
        return redirect("key_detail", name=name)
    response = HttpResponse(pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = f'attachment; filename="{name}-v{number}.pub.pem"'
    return response
