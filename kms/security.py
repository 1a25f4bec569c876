"""Login brute-force defence: the glue between django-axes and Egide.

Every password path — the pages' login, the Django admin's login, and the API's
`POST /v1/auth/tokens` — goes through `django.contrib.auth.authenticate(request, ...)`.
django-axes counts the failures per (username, client address) in the database (so
every node behind a load balancer sees the same count) and, past
`AXES_FAILURE_LIMIT`, refuses that pair for `AXES_COOLOFF_TIME`, even with the right
password. Locking the pair rather than the account means an attacker cannot lock a
person out from elsewhere; the per-address login throttle (`EGIDE_THROTTLE_LOGIN`)
bounds how many usernames one address may try.

What this module adds to axes:
- `LoginLockoutBackend`: axes' standalone backend, except that a call without a
  request (the Django test client's `login()`, a shell) is not a network login and
  is let through to the next backend instead of raising;
- `client_address`: the address axes counts by is REMOTE_ADDR, like the audit trail
  and the throttles — never an X-Forwarded-For header a client can forge to reset
  its count (behind a proxy, the proxy sets REMOTE_ADDR: see docs/security.md);
- `lockout_response`: our JSON error (429, code `locked_out`, Retry-After) under
  /v1/, the site's error page (same status and code) elsewhere;
- `PasswordPathMiddleware`: the one per-address rate of password attempts
  (`EGIDE_THROTTLE_LOGIN`) on every path that checks a password — the pages' login,
  the Django admin's login, `POST /v1/auth/tokens`, and the tokens page, which asks the
  password again — answered 429 `throttled` with Retry-After; it also makes each
  request the ambient one for the audit of changes below the services
  (kms.services.authn.ambient_actor).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.urls import NoReverseMatch, reverse

from kms.services import authn

LOCKED_OUT_STATUS = 429


class LoginLockoutBackend(AxesStandaloneBackend):
    """Refuses a locked-out (username, address) before any password is checked."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> None:  # fmt: skip
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")[:64]


def cooloff() -> timedelta:
    value = settings.AXES_COOLOFF_TIME
    return value if isinstance(value, timedelta) else timedelta(minutes=15)


def retry_after_seconds() -> int:
    return max(int(cooloff().total_seconds()), 1)


def lockout_message() -> str:
    minutes = max(round(cooloff().total_seconds() / 60), 1)
    return (
        "too many failed logins for this account from your address; "
        f"try again in {minutes} minute{'s' if minutes != 1 else ''}"
    )


def is_locked_out(request: HttpRequest) -> bool:
    """Whether axes refused (or just locked) this login attempt."""
    return bool(getattr(request, "axes_locked_out", False))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: what a locked-out login attempt answers."""
    headers = {"Retry-After": str(retry_after_seconds())}
    if request.path.startswith("/v1/"):
        if original_response is not None and original_response.status_code == LOCKED_OUT_STATUS:
            return original_response  # the API view already answered locked_out (and audited it)
        body = {"error": {"code": "locked_out", "message": lockout_message()}}
        return JsonResponse(body, status=LOCKED_OUT_STATUS, headers=headers)
    context = {"status": LOCKED_OUT_STATUS, "code": "locked_out", "message": lockout_message()}
    try:
        response = render(request, "error.html", context, status=LOCKED_OUT_STATUS)
    except (TemplateDoesNotExist, NoReverseMatch):  # the pages are not installed
        response = HttpResponse(f"Locked out: {lockout_message()}.\n", status=LOCKED_OUT_STATUS,
                                content_type="text/plain; charset=utf-8")  # fmt: skip
    response["Retry-After"] = headers["Retry-After"]
    return response


# --- the per-address rate of password attempts ----------------------------------------------

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600,
            "hour": 3600, "d": 86400, "day": 86400}  # fmt: skip


def parse_rate(rate: str) -> tuple[int, int]:
    """'20/min' -> (20, 60): attempts allowed per window of seconds."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()]


def password_paths() -> frozenset[str]:
    """Every path whose POST checks a password."""
    paths = {settings.LOGIN_URL, "/v1/auth/tokens"}
    for name in ("admin:login", "tokens"):
        try:
            paths.add(reverse(name))
        except NoReverseMatch:  # the pages or the admin are not installed
            pass
    return frozenset(paths)


def password_attempt_wait(request: HttpRequest) -> int:
    """Count one password attempt from this address; 0 if allowed, else seconds to wait.

    A fixed window in the shared cache, per client address (REMOTE_ADDR, as axes counts).
    """
    allowed, window = parse_rate(settings.EGIDE_THROTTLE_LOGIN)
    now = time.time()
    start = int(now // window) * window
    key = f"egide:login-rate:{client_address(request)}:{start}"
    cache.add(key, 0, timeout=window + 1)
    try:
        attempts = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 1)
        attempts = 1
    return 0 if attempts <= allowed else max(int(start + window - now) + 1, 1)


def throttled_response(request: HttpRequest, wait: int) -> HttpResponse:
    message = f"too many password attempts from your address; retry in {wait} s"
    headers = {"Retry-After": str(wait)}
    if request.path.startswith("/v1/"):
        body = {"error": {"code": "throttled", "message": message}}
        return JsonResponse(body, status=429, headers=headers)
    context = {"status": 429, "code": "throttled", "message": message}
    response = render(request, "error.html", context, status=429)
    response["Retry-After"] = headers["Retry-After"]
    return response


class PasswordPathMiddleware:
    """The per-address password rate on every password path, in one place (see above)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.paths: frozenset[str] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.paths is None:
            self.paths = password_paths()
        if request.method == "POST" and request.path in self.paths:
            wait = password_attempt_wait(request)
            if wait:
                return throttled_response(request, wait)
        handle = authn.set_request(request)
        try:
            return self.get_response(request)
        finally:
            authn.reset_request(handle)
