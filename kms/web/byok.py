"""Pages for issue 15: import a key (wrapped material or a public key alone), back a key up,
restore a backup as a new key. Each is a guarded action: a POST (CSRF) calling one service,
which checks the permission; material only ever arrives wrapped."""

from __future__ import annotations

import base64
import binascii

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from kms.crypto import KEY_TYPES
from kms.exceptions import ERRORS, ApprovalRequired, InvalidRequest
from kms.services import backups, imports, wrapping_key
from kms.web.common import actor, login_required, page, report


def _field(request: HttpRequest, name: str) -> str:
    return (request.POST.get(name) or "").strip()


@login_required
def key_import(request: HttpRequest) -> HttpResponse:
    """GET: the form and this Egide's wrapping public key; POST: the import."""
    context = {"types": list(KEY_TYPES), "values": request.POST, "wrapping_pem": ""}
    try:
        context["wrapping_pem"] = wrapping_key.wrapping_key_public(actor=actor(request))
    except ERRORS as exc:
        report(request, exc)
    if request.method == "POST":
        try:
            key = imports.key_import(actor=actor(request), name=_field(request, "name"),
                                     key_type=_field(request, "type"), **_import_source(request),
                                     backup_allowed=request.POST.get("backup_allowed") == "on")  # fmt: skip
        except ERRORS as exc:
            report(request, exc)
        else:
            messages.success(request, f"Key '{key.name}' imported ({key.key_type}"
                                      f"{', verify-only' if key.verify_only else ''}).")  # fmt: skip
            return redirect("key_detail", name=key.name)
    return page(request, "keys/import.html", None, context)


def _import_source(request: HttpRequest) -> dict[str, object]:
    wrapped, public = _field(request, "wrapped_material"), _field(request, "public_key")
    if wrapped:
        try:
            return {"wrapped_material": base64.b64decode("".join(wrapped.split()), validate=True)}
        except (binascii.Error, ValueError):
            raise InvalidRequest("wrapped material must be base64") from None
    return {"public_key": public} if public else {}


@login_required
@require_POST
def key_backup(request: HttpRequest, name: str) -> HttpResponse:
    """The bundle as a download, or back to the key's page with what happened."""
    to = _field(request, "to") or None
    try:
        text = backups.key_backup(actor=actor(request), name=name, to=to)
    except ApprovalRequired as exc:
        report(request, exc)
        return redirect("key_detail", name=name)
    except ERRORS as exc:
        report(request, exc)
        return redirect("key_detail", name=name)
    response = HttpResponse(text + "\n", content_type="text/plain; charset=ascii")
    response["Content-Disposition"] = f'attachment; filename="{name}.egide-backup"'
    return response


@login_required
def backup_restore(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        upload = request.FILES.get("backup_file")
        text = upload.read(8 * 1024 * 1024).decode("ascii", "replace").strip() if upload else _field(request, "backup")
        try:
            key = backups.backup_restore(actor=actor(request), name=_field(request, "name"), backup=text)
        except ERRORS as exc:
            report(request, exc)
        else:
            messages.success(request, f"Key '{key.name}' restored from a backup.")
            return redirect("key_detail", name=key.name)
    return page(request, "keys/restore_backup.html", None, {"values": request.POST})
