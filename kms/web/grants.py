"""Who may do what with a key: the grants list on the key's page, and its editor.

Adding and removing go through kms.services.grants, which checks `grant`, asks approvers
when the key requires them, and refuses to leave a key with nobody to administer it.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from kms import access
from kms.exceptions import ERRORS, ApprovalRequired, KeyNotFound, error_message
from kms.models import KEY_PERMISSIONS, Key
from kms.services import grants as grant_services
from kms.services.users import UnknownUser
from kms.web.common import actor, error_page, is_htmx, login_required, page, report
from kms.web.forms import GrantForm


def grants_context(request: HttpRequest, key: Key, entries: list[dict[str, Any]], holders: list[dict[str, Any]],
                   form: Any = None) -> dict[str, Any]:  # fmt: skip
    """The grants section: every grant (per key and global, `entries` from the grants_list
    read), who holds each permission, and the editor if this user may grant on the key."""
    for entry in entries:
        entry["kind"] = "user" if "user" in entry else "group"
        entry["who"] = entry[entry["kind"]]
    editable = key.state != "purged" and access.can(request.user, key, "grant")
    form = (form or GrantForm()) if editable else None
    return {
        "key": key,
        "key_name": key.name,
        "grants": entries,
        # Who holds each permission, and through what (role, group, direct, superuser).
        "holders": holders,
        "grant_form": form,
        "grant_fields": _fields(form) if form is not None else None,
        "all_permissions": KEY_PERMISSIONS,
    }


def _fields(form: GrantForm) -> dict[str, str]:
    """The editor's fields as HTML: a fresh form's are the same for every key and request
    (rendered once), a refused one's carry what was typed and its errors."""
    return _fresh_fields() if not form.is_bound else _rendered(form)


@functools.cache
def _fresh_fields() -> dict[str, str]:
    return _rendered(GrantForm())


def _rendered(form: GrantForm) -> dict[str, str]:
    principal, who, permissions = form["principal"], form["who"], form["permissions"]
    return {
        "principal": principal.label_tag() + str(principal),
        "who": who.label_tag() + str(who) + str(who.errors),
        "permissions": str(permissions) + str(permissions.errors),
    }


def section(request: HttpRequest, name: str, form: GrantForm | None = None, *, lazy: bool = False) -> HttpResponse:
    """The grants section alone (htmx), or on a page of its own (kms.web.key_panels). `lazy`:
    loaded with the page, so it carries no messages (they are the page's)."""
    try:
        key, entries, holders = grant_services.key_grants(actor=actor(request), name=name)
        context = grants_context(request, key, entries, holders, form)
    except ERRORS as exc:
        return error_page(request, exc)
    context.update(panel="keys/_grants.html", lazy=lazy)
    return page(request, "keys/panel.html", "keys/_grants.html", context)


def _section(request: HttpRequest, name: str, form: GrantForm | None = None) -> HttpResponse:
    if not is_htmx(request):
        return redirect("key_detail", name=name)
    return section(request, name, form)


def _change(request: HttpRequest, name: str, service: Any, target: dict[str, str],
            permissions: list[str], done: str) -> HttpResponse:  # fmt: skip
    try:
        service(actor=actor(request), name=name, permissions=permissions, **target)
    except KeyNotFound as exc:
        return error_page(request, exc)
    except ERRORS as exc:
        report(request, exc)
    else:
        messages.success(request, done)
    return _section(request, name)


@login_required
@require_POST
def grant_add(request: HttpRequest, name: str) -> HttpResponse:
    """A refused grant (an unreadable form, or one the service refuses) re-renders the editor
    with what was typed and each error beside its field (htmx); without htmx, a message."""
    form = GrantForm(request.POST)
    if not form.is_valid():
        if is_htmx(request):
            return _section(request, name, form)
        problems = "; ".join(f"{field}: {' '.join(errs)}" for field, errs in form.errors.items())
        messages.error(request, f"Grant not added. {problems}")
        return redirect("key_detail", name=name)
    perms = form.cleaned_data["permissions"]
    target = form.target()
    who = " ".join(next(iter(target.items())))
    done = f"Granted {', '.join(perms)} on '{name}' to {who}."
    if not is_htmx(request):
        return _change(request, name, grant_services.grant_add, target, perms, done)
    try:
        grant_services.grant_add(actor=actor(request), name=name, permissions=perms, **target)
    except KeyNotFound as exc:
        return error_page(request, exc)
    except ApprovalRequired as exc:
        report(request, exc)  # asked, not refused: a fresh form
    except ERRORS as exc:
        form.add_error("who" if isinstance(exc, UnknownUser) else None, f"Grant not added: {error_message(exc)}")
        return _section(request, name, form)
    else:
        messages.success(request, done)
    return _section(request, name)


@login_required
@require_POST
def grant_remove(request: HttpRequest, name: str) -> HttpResponse:
    kind, who = request.POST.get("kind", ""), request.POST.get("who", "")
    perms = request.POST.getlist("permissions")
    if kind not in ("user", "group") or not who or not perms:
        messages.error(request, "Say whose grant to remove, and which permissions.")
        return _section(request, name)
    done = f"Removed {', '.join(perms)} on '{name}' from {kind} {who}."
    return _change(request, name, grant_services.grant_remove, {kind: who}, perms, done)
