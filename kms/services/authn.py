"""Authentication in the audit trail: one module for every way in and out.

Every password check of a request — the pages' login, the Django admin's login, the API's
`POST /v1/auth/tokens`, the password asked again before a page creates a token — goes
through `django.contrib.auth.authenticate(request, ...)`, and every session login and
logout through `login()`/`logout()`. Django's signals for those (`user_login_failed`,
`user_logged_in`, `user_logged_out`) are connected here, so no path can forget its event:

- action `login`, outcome `success`, `denied` or `locked_out` (django-axes refused the
  username from this address), with the username tried, the source (web, admin, api,
  cli) and the client address;
- action `logout`.

An API login succeeds without `login()` (no session): its view calls `login_succeeded`.
Token creation and revocation are audited by kms.services.tokens, password changes and
deactivations by kms.services.users.

`ambient_actor()` is who is acting in the current request (set by
kms.security.PasswordPathMiddleware), for changes made below the services — Django's own
password forms, `manage.py changepassword`, the ORM — that kms.services.users audits from
the user model's signals.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.http import HttpRequest

from kms.services import audit
from kms.services.actor import Actor

_request: ContextVar[HttpRequest | None] = ContextVar("egide_request", default=None)
MAX_USERNAME = 150


def source_of(request: HttpRequest) -> str:
    """Which door a request came in by, as the audit trail names it."""
    path = request.path
    if path.startswith("/admin/"):
        return "admin"
    if path.startswith("/v1/"):
        return "cli" if request.headers.get("X-Egide-Client") == "cli" else "api"
    return "web"


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")[:64]


def request_actor(request: HttpRequest, user: Any = None, auth_method: str = "password") -> Actor:
    return Actor(
        user=user,
        source=source_of(request),
        auth_method=auth_method,
        request_id=getattr(request, "request_id", ""),
        client_addr=client_address(request),
    )


def set_request(request: HttpRequest | None) -> Any:
    """Make `request` the ambient one; returns the handle for `reset_request`."""
    return _request.set(request)


def reset_request(handle: Any) -> None:
    _request.reset(handle)


def ambient_actor() -> Actor:
    """Who acts in the current request (its session's user, through its door), else the system."""
    request = _request.get()
    if request is None:
        return Actor.system()
    user = getattr(request, "user", None)
    user = user if user is not None and user.is_authenticated else None
    return request_actor(request, user, "session" if user is not None else "")


def _username(value: Any) -> str:
    text = value if isinstance(value, str) else ""
    return text.replace("\x00", "\\x00")[:MAX_USERNAME]


def _details(request: HttpRequest, username: str) -> dict[str, Any]:
    details: dict[str, Any] = {"username": username}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        details["reauthentication"] = True  # the password asked again (e.g. to create a token)
    return details


def is_locked_out(request: HttpRequest) -> bool:
    """Whether django-axes refused (or just locked) this attempt (it marks the request)."""
    return bool(getattr(request, "axes_locked_out", False))


def login_succeeded(request: HttpRequest, user: Any) -> None:
    """One `login` success event (API logins; session logins come through the signal)."""
    audit.record(request_actor(request, user), "login",
                 details={"username": _username(user.get_username())})  # fmt: skip


def login_failed(request: HttpRequest, username: Any) -> None:
    locked = is_locked_out(request)
    audit.record(
        request_actor(request),
        "login",
        outcome="locked_out" if locked else "denied",
        error_code="locked_out" if locked else "unauthenticated",
        details=_details(request, _username(username)),
    )


def _over_network(request: HttpRequest | None) -> bool:
    """A login without a request, or with a made-up one (the test client's force_login,
    a shell), is no network login."""
    return request is not None and bool(request.path)


def _on_logged_in(sender: Any, request: HttpRequest | None = None, user: Any = None,
                  **kw: Any) -> None:  # fmt: skip
    if _over_network(request):
        login_succeeded(request, user)


def _on_login_failed(sender: Any, credentials: dict[str, Any] | None = None,
                     request: HttpRequest | None = None, **kw: Any) -> None:  # fmt: skip
    if _over_network(request):
        login_failed(request, (credentials or {}).get("username"))


def _on_logged_out(sender: Any, request: HttpRequest | None = None, user: Any = None,
                   **kw: Any) -> None:  # fmt: skip
    if _over_network(request) and user is not None:
        audit.record(request_actor(request, user, "session"), "logout",
                     details={"username": _username(user.get_username())})  # fmt: skip


def connect() -> None:
    user_logged_in.connect(_on_logged_in, dispatch_uid="egide-audit-login")
    user_login_failed.connect(_on_login_failed, dispatch_uid="egide-audit-login-failed")
    user_logged_out.connect(_on_logged_out, dispatch_uid="egide-audit-logout")
