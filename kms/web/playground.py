"""The playground: encrypt, decrypt, sign, verify and hmac with a key the user may use.

Each operation is one form and one service call; the menus list only keys the user may use
for it (kms.services.usable), and the service checks again. What is typed here and what
comes back is the user's own data, never key material; answers are not cached.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from kms.crypto import KEY_TYPES
from kms.exceptions import ERRORS, error_message
from kms.services import crypto_ops
from kms.services.actor import Actor
from kms.services.usable import OPERATIONS, is_mac_key, key_types_usable_for, keys_usable_for
from kms.web.common import actor, login_required, page
from kms.web.forms import PlaygroundForm


def _facts(operation: str, key_type: str) -> dict[str, Any]:
    """What the options of `operation` may be with a key of this type (KeyType's facts): the
    page's script offers only these; the services refuse any other anyway."""
    kt = KEY_TYPES[key_type]
    hashes = kt.hmac_hash_names if operation == "hmac" or kt.supports("hmac") else kt.hash_names
    return {"hashes": list(hashes), "paddings": list(kt.paddings), "context": kt.accepts_context}


def _forms(request: HttpRequest, op: str | None, bound: PlaygroundForm | None) -> dict[str, Any]:
    """One form per operation (fields prefixed by its name), the posted one bound; each with
    the option facts of its keys (`key_facts`, JSON for the form's data-key-facts)."""
    who = actor(request)
    chosen = request.GET.get("key", "")
    out = {}
    for name in OPERATIONS:
        types = key_types_usable_for(actor=who, operation=name)
        if name == op and bound is not None:
            form = bound
        else:
            initial = {"key": chosen if chosen in types else None}
            form = PlaygroundForm(initial=initial, key_names=list(types), prefix=name)
        form.key_facts = json.dumps({key: _facts(name, t) for key, t in types.items()}, sort_keys=True)
        out[name] = form
    return out


def _shown(data: bytes) -> dict[str, Any]:
    """Decrypted bytes as text when they are text, else as base64 (said so)."""
    try:
        text = data.decode()
        if all(c.isprintable() or c in "\n\r\t" for c in text):
            return {"text": text, "is_base64": False}
    except UnicodeDecodeError:
        pass
    return {"text": base64.b64encode(data).decode(), "is_base64": True}


def _sign_options(form: PlaygroundForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {"hash_name": data.get("algorithm") or None, "padding": data.get("padding") or None}


def _run(who: Actor, op: str, form: PlaygroundForm) -> dict[str, Any]:
    name = form.cleaned_data["key"]
    if op == "encrypt":
        out = crypto_ops.encrypt(actor=who, name=name, plaintext=form.data_bytes(), context=form.context_bytes())
        return {"output": out.ciphertext, "version": out.key_version}
    if op == "decrypt":
        plain = crypto_ops.decrypt(
            actor=who,
            name=name,
            ciphertext=form.cleaned_data["token"],
            context=form.context_bytes(),
        )
        return {"output_data": _shown(plain)}
    if op == "sign":
        sig = crypto_ops.sign(actor=who, name=name, data=form.data_bytes(), **_sign_options(form))
        return {"output": sig.signature, "version": sig.key_version}
    if op == "hmac":
        mac = crypto_ops.hmac(actor=who, name=name, data=form.data_bytes(), hash_name=_sign_options(form)["hash_name"])
        return {"output": mac.hmac, "version": mac.key_version}
    if is_mac_key(actor=who, name=name):  # an hmac key checks an HMAC, not a signature
        return {"valid": crypto_ops.verify_hmac(actor=who, name=name, data=form.data_bytes(),
                                                mac=form.cleaned_data["token"],
                                                hash_name=_sign_options(form)["hash_name"])}  # fmt: skip
    valid = crypto_ops.verify(
        actor=who,
        name=name,
        data=form.data_bytes(),
        signature=form.cleaned_data["token"],
        **_sign_options(form),
    )
    return {"valid": valid}


def _posted(request: HttpRequest) -> tuple[str | None, PlaygroundForm | None]:
    op = request.POST.get("op") if request.method == "POST" else None
    if op not in OPERATIONS:
        return None, None
    names = keys_usable_for(actor=actor(request), operation=op)
    return op, PlaygroundForm(request.POST, key_names=names, prefix=op)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def playground(request: HttpRequest) -> HttpResponse:
    op, form = _posted(request)
    result: dict[str, Any] | None = None
    if op and form is not None and form.is_valid():
        try:
            result = _run(actor(request), op, form)
        except forms.ValidationError as exc:
            form.add_error(None, exc)
        except ERRORS as exc:
            form.add_error(None, error_message(exc))
    context = {"forms": _forms(request, op, form), "op": op, "form": form, "result": result}
    partial = "playground/_result.html" if op else None
    return page(request, "playground/page.html", partial, context)
