"""My API tokens: create (the token is shown once, never stored), list with last use, revoke."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from kms.exceptions import ERRORS
from kms.services import tokens as token_services
from kms.web.common import actor, error_page, is_htmx, is_page_error, login_required, page, report
from kms.web.forms import TokenCreateForm


def _context(request: HttpRequest, form: TokenCreateForm, **extra: Any) -> dict[str, Any]:
    tokens = token_services.tokens_of(request.user)
    return {
        "form": form,
        "tokens": tokens,
        "now": timezone.now(),
        "default_days": settings.EGIDE_TOKEN_TTL_DAYS,
        **extra,
    }


def _password_confirmed(request: HttpRequest, form: TokenCreateForm) -> bool:
    """The password again, through `authenticate`: audited (kms.services.authn), counted and
    refused during a lockout by django-axes (its middleware answers 429 then), and rate-limited
    per address (kms.security) like every password path."""
    username = request.user.get_username()
    if authenticate(request, username=username, password=form.cleaned_data["password"]):
        return True
    form.add_error("password", "That is not your password.")
    return False


@never_cache  # the response that carries a new token must not be kept by any cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid() and _password_confirmed(request, form):
        try:
            token, raw = token_services.token_create(
                actor=actor(request), user=request.user, name=form.cleaned_data["name"],
                expires_in=form.expires_in(), **form.scope(),
            )  # fmt: skip
        except ERRORS as exc:
            report(request, exc)
        else:
            created = {"token": token, "raw": raw}
            form = TokenCreateForm()
    context = _context(request, form, created=created)
    return page(request, "tokens/list.html", "tokens/_tokens.html", context)


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = token_services.token_revoke(actor=actor(request), token_id=token_id)
    except ERRORS as exc:
        if is_page_error(exc):
            return error_page(request, exc)
        report(request, exc)
    else:
        messages.success(request, f"Token {token.prefix}… revoked.")
    if not is_htmx(request):
        return redirect("tokens")
    return page(request, "tokens/list.html", "tokens/_tokens.html", _context(request, TokenCreateForm()))
