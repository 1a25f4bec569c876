"""People: the users page (for those who manage users) and each person's own password page.

Every rule is kms.services.users'; here forms are parsed and answers rendered. A new user's
one-time password is on the answer to the POST that created them, never stored, never again.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.models import Group
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from kms.access import ROLES
from kms.exceptions import ERRORS
from kms.services import users as user_services
from kms.web.common import actor, error_page, is_page_error, login_required, page, report
from kms.web.forms import WebForm


def _role_choices() -> list[tuple[str, str]]:
    others = Group.objects.exclude(name__in=ROLES).order_by("name")
    groups = list(others.values_list("name", flat=True))
    return [(name, name) for name in (*ROLES, *groups)]


class UserCreateForm(WebForm):
    username = forms.CharField(max_length=150, help_text="Letters, digits and @ . + - _")
    email = forms.EmailField(required=False, label="E-mail (optional)")
    roles = forms.MultipleChoiceField(
        label="Roles and groups", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="kms-admin administers keys, kms-user uses the keys granted to them, "
                  "kms-approver approves sensitive actions, kms-auditor reads the audit log",
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = _role_choices()


class RoleForm(WebForm):
    role = forms.ChoiceField(label="Role or group")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _role_choices()


def _may_see(request: HttpRequest) -> HttpResponse | None:
    if user_services.may_see_users(request.user):
        return None
    return error_page(request, user_services.PermissionDenied("you may not see users"))


@never_cache  # the answer that carries a one-time password must not be kept by any cache
@login_required
@require_http_methods(["GET", "POST"])
def user_list(request: HttpRequest) -> HttpResponse:
    refused = _may_see(request)
    if refused:
        return refused
    form = UserCreateForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user, password = user_services.user_create(
                actor=actor(request), username=data["username"], roles=data["roles"],
                email=data["email"] or "",
            )  # fmt: skip
        except ERRORS as exc:
            report(request, exc)
        else:
            created = {"user": user, "password": password}
            form = UserCreateForm()
    people = [
        {"user": u, "roles": user_services.roles_of(u), "groups": user_services.groups_of(u)}
        for u in user_services.users_list(actor=actor(request))
    ]
    context = {"form": form, "created": created, "people": people,
               "may_manage": user_services.may_manage_users(request.user)}  # fmt: skip
    return page(request, "users/list.html", None, context)


@login_required
@require_http_methods(["GET"])
def user_detail(request: HttpRequest, username: str) -> HttpResponse:
    try:
        detail = user_services.user_detail(actor=actor(request), username=username)
    except ERRORS as exc:
        return error_page(request, exc)
    may_manage = user_services.may_manage_users(request.user)
    context = {"detail": detail, "person": detail.user, "role_form": RoleForm(),
               "now": timezone.now(), "may_manage": may_manage}  # fmt: skip
    return page(request, "users/detail.html", None, context)


def _act(request: HttpRequest, username: str, call: Any, done: str) -> HttpResponse:
    try:
        call()
    except ERRORS as exc:
        if is_page_error(exc) or getattr(exc, "code", "") == "user_not_found":
            return error_page(request, exc)
        report(request, exc)
    else:
        messages.success(request, done)
    return redirect("user_detail", username=username)


@login_required
@require_POST
def user_deactivate(request: HttpRequest, username: str) -> HttpResponse:
    def call() -> None:
        _, revoked = user_services.user_deactivate(actor=actor(request), username=username)
        messages.info(request, f"{revoked} API token{'s' if revoked != 1 else ''} revoked.")

    return _act(request, username, call, f"{username} is deactivated: they can no longer log in.")


@login_required
@require_POST
def user_reactivate(request: HttpRequest, username: str) -> HttpResponse:
    def call() -> None:
        user_services.user_reactivate(actor=actor(request), username=username)

    return _act(request, username, call, f"{username} is active again.")


@login_required
@require_POST
def user_role(request: HttpRequest, username: str) -> HttpResponse:
    form = RoleForm(request.POST)
    remove = request.POST.get("remove") == "1"
    if not form.is_valid():
        messages.error(request, "Choose a role or group.")
        return redirect("user_detail", username=username)
    role = form.cleaned_data["role"]
    service = user_services.role_remove if remove else user_services.role_add

    def call() -> None:
        service(actor=actor(request), username=username, role=role)

    verb = f"removed from {role}" if remove else f"added to {role}"
    return _act(request, username, call, f"{username} {verb}.")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    """Change one's own password: the old one first; every API token is revoked with it."""
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            revoked = user_services.password_change(
                actor=actor(request), user=request.user, password=form.cleaned_data["new_password1"]
            )
        except ERRORS as exc:
            report(request, exc)
        else:
            update_session_auth_hash(request, request.user)  # stay logged in here
            messages.success(request, f"Password changed. {revoked} API token"
                                      f"{'s' if revoked != 1 else ''} revoked.")  # fmt: skip
            return redirect("password_change")
    return page(request, "users/password.html", None, {"form": form})
