"""The keys list (search, filters, pages) and the key creation form."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from kms import access
from kms.exceptions import ERRORS, ApprovalRequired, error_message
from kms.services import keys as key_services
from kms.services.selectors import KeyPage, keys_list
from kms.web.common import actor, field_for_error, is_htmx, login_required, page, report
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


@login_required
def key_list(request: HttpRequest) -> HttpResponse:
    form = KeyFilterForm(request.GET)
    result = _page_of_keys(request, form)
    next_after = result.next_after if result else None
    context = {
        "form": form,
        "keys": result.keys if result else [],
        "next_query": _query(request, after=next_after) if next_after else "",
        "paged": bool(form.is_valid() and form.cleaned_data.get("after")),
        "first_query": _query(request, after=None),
        "can_create": access.has_global(request.user, "add"),
        "now": timezone.now(),
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
