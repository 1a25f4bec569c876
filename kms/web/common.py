"""What every page shares: the acting user as an `Actor`, login, partial-or-page rendering,
and the one mapping from a service error to what the browser sees.

Pages decide nothing about permissions: services raise typed errors (kms.exceptions) and
`kms.access` answers what to offer. Here those errors become a status page (404 for a key
you may not see, 403 for one you may not use) or a message next to the form.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import get_script_prefix, reverse
from django_htmx.http import HttpResponseClientRedirect

from kms import access
from kms.exceptions import STATUS_BY_CODE, ApprovalRequired, KmsError, error_code, error_message
from kms.services import approvals
from kms.services.actor import Actor

View = Callable[..., HttpResponse]

# Codes that mean "there is nothing here for you" (404) or "not yours to do" (403).
NOT_FOUND_CODES = {"key_not_found", "approval_not_found", "token_not_found"}
FORBIDDEN_CODES = {"permission_denied"}


def actor(request: HttpRequest) -> Actor:
    """The services' view of who acts: this session's user, through the web pages."""
    return Actor(
        user=request.user,
        source="web",
        auth_method="session",
        request_id=getattr(request, "request_id", ""),
        client_addr=request.META.get("REMOTE_ADDR", "")[:64],
    )


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def login_required(view: View) -> View:
    """Django's login_required, except that an htmx request sends the whole window to the
    login page (a followed redirect would swap the login form into a table cell), to come
    back to the page the user was on."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if is_htmx(request):
            back = request.htmx.current_url_abs_path or request.path  # type: ignore[attr-defined]
            return HttpResponseClientRedirect(redirect_to_login(back)["Location"])
        return redirect_to_login(request.get_full_path())

    return wrapper


def page(
    request: HttpRequest,
    full: str,
    partial: str | None,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    """The full page, or only `partial` when htmx asks (with pending messages out of band).

    A partial is always a 200: htmx swaps no 4xx answer, and the partial shows the errors.
    """
    if partial and is_htmx(request):
        return render(request, partial, {**context, "is_partial": True})
    nav = {"may_audit": access.has_global(request.user, "audit"), "awaiting_count": awaiting_count(request)}
    return render(request, full, {**context, **nav, "is_partial": False}, status=status)


# The navigation's links, the same on every page: reversed once per script prefix, not nine
# `{% url %}` tags a page (a tenth of a key page's rendering).
NAV_LINKS = ("key_list", "approvals", "playground", "audit", "tokens", "users", "password_change", "admin:index",
             "logout")  # fmt: skip


@lru_cache(maxsize=16)  # one entry per script prefix the server is mounted under
def _nav_links(prefix: str) -> dict[str, str]:
    return {name.replace(":", "_"): reverse(name) for name in NAV_LINKS}


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `nav`, the links of base.html's navigation (egide_site/settings.py)."""
    return {"nav": _nav_links(get_script_prefix())}


def awaiting_count(request: HttpRequest) -> int:
    """How many pending requests this user may decide (the navigation shows it)."""
    if not request.user.is_authenticated:
        return 0
    return approvals.awaiting_count(actor=actor(request))


def error_page(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """A 404 or 403 (503) page for an error that leaves nothing to show, naming no hidden key."""
    code = error_code(exc)
    status = 404 if code in NOT_FOUND_CODES else 403 if code in FORBIDDEN_CODES else 400
    if STATUS_BY_CODE.get(code) == 503:  # `unavailable`: e.g. the read's audit event could not be written
        status = 503
    context = {"status": status, "code": code, "message": error_message(exc)}
    return page(request, "error.html", None, context, status=status)


def is_page_error(exc: BaseException) -> bool:
    """Whether an error means the page itself cannot be shown (not a message beside a form)."""
    return error_code(exc) in NOT_FOUND_CODES | FORBIDDEN_CODES


def approval_message(exc: ApprovalRequired) -> str:
    req = exc.request
    return (
        f"Approval needed: request #{req.pk} to {req.action} key '{req.key.name}' "
        f"is waiting for {req.required} approval(s)."
    )


def report(request: HttpRequest, exc: BaseException) -> None:
    """Queue a message for a service error, or for an action now waiting for approvers."""
    if isinstance(exc, ApprovalRequired):
        messages.warning(request, approval_message(exc))
    elif isinstance(exc, KmsError) or hasattr(exc, "code"):
        messages.error(request, error_message(exc))
    else:  # pragma: no cover - only typed errors are passed here
        raise exc


def field_for_error(exc: BaseException, fields: dict[str, str]) -> str | None:
    """The form field an error is about, by its code, else None (a message for the form)."""
    return fields.get(error_code(exc))
