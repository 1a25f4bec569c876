"""The keys list (search, filters, pages) and the key creation form."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from kms import access
from kms.crypto import KEY_TYPES
from kms.exceptions import ERRORS, ApprovalRequired, error_code, error_message
from kms.services import keys as key_services
from kms.services.selectors import STATUSES, KeyPage, keys_list
from kms.web.common import actor, error_page, field_for_error, is_htmx, login_required, page, report
from kms.web.forms import KeyCreateForm, KeyFilterForm

PAGE_SIZE = 25
# Which form field a key_create error is about (else it is shown above the form).
CREATE_ERROR_FIELDS = {"key_exists": "name", "invalid_key_type": "key_type"}


def _query(request: HttpRequest, *, after: str | None) -> str:
    query = request.GET.copy()
    query.pop("after", None)
    if after:
        query["after"] = after
    return query.urlencode()


def _rows(keys: list[dict[str, Any]]) -> list[SafeString]:
    """The table's rows as HTML, built here once per page rather than through a template
    include per row (the list page's largest cost, measured: docs/benchmarks.md): the link,
    the times (UTC, to the minute) and the overdue mark (kms.services.rotation's rule, as the
    API's `rotation_overdue`). Every value is escaped (_row)."""
    head, tail = reverse("key_detail", args=[_MARK]).split(_MARK)
    return [_row(key, f"{head}{quote(key['name'], safe='')}{tail}") for key in keys]


def _row(key: dict[str, Any], url: str) -> SafeString:
    # Every value escaped (html.escape, which django.utils.html.escape is); the rest is literal.
    state, overdue = escape(key["state"]), key["rotation_due_reason"] is not None
    mark = " (overdue)" if overdue else ""
    if state != "active":
        nxt = f'<span class="muted">— ({state})</span>'
    elif key["next_rotation_at"] is not None:
        css = ' class="overdue"' if overdue else ""
        nxt = f"<span{css}>{_minute(key['next_rotation_at'])}{mark}</span>"
    else:
        nxt = f'<span class="muted">manual{mark}</span>'
    return mark_safe(  # noqa: S308  # nosec B308 B703 - every value above escaped
        f'<tr><td><a href="{escape(url)}">{escape(key["name"])}</a></td><td><code>{escape(key["key_type"])}</code></td>'
        f'<td class="num">{int(key["current_version"])}</td><td><span class="badge s-{state}">{state}</span></td>'
        f"<td>{_minute(key['created_at'])}</td><td>{_minute(key['last_rotated_at']) or '—'}</td><td>{nxt}</td></tr>"
    )


_MARK = "0-key-0"


def _minute(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


# The filters' menus offer fixed values: each (label and menu) is rendered once per value.
_OFFERED = {"type": frozenset({"", *KEY_TYPES}), "status": frozenset({"", *STATUSES})}


@functools.lru_cache(maxsize=64)
def _rendered_filter(name: str, value: str) -> str:
    field = KeyFilterForm({name: value})[name]
    return field.label_tag() + str(field)


def _filter_field(form: KeyFilterForm, name: str) -> str:
    """A filter's label and menu exactly as the form renders them; a value the menu does not
    offer is rendered anew (with its error)."""
    value = form.data.get(name, "")
    if value in _OFFERED[name]:
        return _rendered_filter(name, value)
    field = form[name]
    return field.label_tag() + str(field)


@login_required
def key_list(request: HttpRequest) -> HttpResponse:
    form = KeyFilterForm(request.GET)
    try:
        result = _page_of_keys(request, form)
    except ERRORS as exc:  # the read could not be audited: no list (503)
        return error_page(request, exc)
    next_after = result.next_after if result else None
    context = {
        "form": form,
        "type_field": _filter_field(form, "type"),
        "status_field": _filter_field(form, "status"),
        "keys": _rows(result.keys) if result else [],
        "next_query": _query(request, after=next_after) if next_after else "",
        "paged": bool(form.is_valid() and form.cleaned_data.get("after")),
        "first_query": _query(request, after=None),
        "can_create": access.has_global(request.user, "add"),
    }
    return page(request, "keys/list.html", "keys/_key_table.html", context)


def _page_of_keys(request: HttpRequest, form: KeyFilterForm) -> KeyPage | None:
    """One page of the keys the user may see; None (and a message) for a filter in error."""
    if not form.is_valid():  # a filter that cannot be read is refused, never dropped
        problems = "; ".join(f"{f}: {' '.join(e)}" for f, e in form.errors.items())
        messages.error(request, f"Filter not applied. {problems}")
        return None
    f = form.cleaned_data
    try:
        return keys_list(
            actor=actor(request), key_type=f["type"] or None, status=f["status"] or None,
            name_prefix=f["q"] or None, after=f["after"] or None, limit=PAGE_SIZE,
        )  # fmt: skip
    except ERRORS as exc:
        if error_code(exc) == "unavailable":
            raise
        report(request, exc)
        return None


@login_required
@require_http_methods(["GET", "POST"])
def key_create(request: HttpRequest) -> HttpResponse:
    form = KeyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"]
        try:
            key_services.key_create(
                actor=actor(request), name=name, key_type=form.cleaned_data["key_type"],
                **form.options(),
            )  # fmt: skip
        except ApprovalRequired as exc:  # not expected for creation, but never swallowed
            report(request, exc)
        except ERRORS as exc:
            form.add_error(field_for_error(exc, CREATE_ERROR_FIELDS), error_message(exc))
        else:
            messages.success(request, f"Key '{name}' created.")
            url = reverse("key_detail", args=[name])
            return HttpResponseClientRedirect(url) if is_htmx(request) else redirect(url)
    context = {"form": form, "can_create": access.has_global(request.user, "add")}
    return page(request, "keys/create.html", "keys/_create_form.html", context)
