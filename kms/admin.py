"""The Django admin: a read-only window on Egide's tables, with actions that call services.

Nothing here edits a row directly: adding, changing and deleting are off for every model,
because a change that skipped `kms.services` would skip its permission check, its approval
gate and its audit event. The admin actions (rotate, disable, enable, approve, revoke...)
call the services as the staff member, with source "admin", so they obey all three.

The admin is for superusers only (break-glass); people are managed on the Users page. The
user admin shows Egide's view of a person (roles, groups) and keeps only Django's password
form, whose save the user-model signals follow with revoking the user's tokens and an
audit event. Key material never shows: versions list their metadata but not `wrapped_material`, and
tokens only their prefix and hash (the token itself is never stored).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from kms import access
from kms.exceptions import ERRORS, ApprovalRequired, error_message
from kms.models import ApiToken, Approval, ApprovalRequest, AuditEvent, Key, KeyVersion
from kms.services import approvals as approval_services
from kms.services import keys as key_services
from kms.services import tokens as token_services
from kms.services import users as user_services
from kms.services.actor import Actor
from kms.services.approvals import ApprovalFilter


def admin_actor(request: HttpRequest) -> Actor:
    return Actor(
        user=request.user,
        source="admin",
        auth_method="session",
        request_id=getattr(request, "request_id", ""),
        client_addr=request.META.get("REMOTE_ADDR", "")[:64],
    )


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewing only: every change goes through a service (see the module docstring)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj)


def run_each(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    items: Iterable[Any],
    call: Callable[[Actor, Any], Any],
    label: Callable[[Any], str],
    verb: str,
) -> None:
    """Call a service once per selected row; one message per outcome, one failure stops none."""
    actor = admin_actor(request)
    done: list[str] = []
    for item in items:
        try:
            call(actor, item)
        except ApprovalRequired as exc:
            req = exc.request
            modeladmin.message_user(
                request,
                f"{label(item)}: waiting for {req.required} approval(s) (request #{req.pk}).",
                messages.WARNING,
            )
        except ERRORS as exc:
            modeladmin.message_user(request, f"{label(item)}: {error_message(exc)}", messages.ERROR)
        else:
            done.append(label(item))
    if done:
        modeladmin.message_user(request, f"{verb}: {', '.join(done)}.", messages.SUCCESS)


# --- keys and versions -----------------------------------------------------------------


class KeyVersionInline(admin.TabularInline):
    model = KeyVersion
    # Listed field by field: wrapped_material is never among them.
    fields = ("version", "status", "created_at", "disabled_at", "destroyed_at", "encrypt_count",
              "decrypt_count", "sign_count", "verify_count", "master_key_id")  # fmt: skip
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="status")
    def status(self, kv: KeyVersion) -> str:
        return kv.status


def _visible_keys(request: HttpRequest) -> QuerySet[Key]:
    """Keys this staff member may see; global viewers also see purged tombstones."""
    if access.has_global(request.user, "view"):
        return Key.objects.all()
    return access.visible_keys(request.user)


def _on_key(service: Callable[..., Any]) -> Callable[[Actor, Key], Any]:
    def call(actor: Actor, key: Key) -> Any:
        return service(actor=actor, name=key.name)

    return call


@admin.register(Key)
class KeyAdmin(ReadOnlyAdmin):
    list_display = ("name", "key_type", "state", "current_version", "approvals_required",
                    "created_at", "last_rotated_at", "next_rotation_at")  # fmt: skip
    list_filter = ("key_type", "state", "exportable", "allow_deletion", "approvals_required")
    search_fields = ("name", "description")
    fields = ("name", "uid", "key_type", "description", "state", "current_version",
              "min_encryption_version", "min_decryption_version", "exportable", "allow_deletion",
              "approvals_required", "rotation_period", "next_rotation_at", "last_rotated_at",
              "max_signatures_per_version", "created_by", "created_at", "updated_at",
              "deleted_at", "purge_after")  # fmt: skip
    inlines = (KeyVersionInline,)
    actions = ("rotate_keys", "disable_keys", "enable_keys")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Key]:
        return _visible_keys(request)

    @admin.action(description="Rotate the selected keys", permissions=["view"])
    def rotate_keys(self, request: HttpRequest, queryset: QuerySet[Key]) -> None:
        run_each(self, request, queryset, _on_key(key_services.key_rotate), str, "Rotated")

    @admin.action(description="Disable the selected keys", permissions=["view"])
    def disable_keys(self, request: HttpRequest, queryset: QuerySet[Key]) -> None:
        run_each(self, request, queryset, _on_key(key_services.key_disable), str, "Disabled")

    @admin.action(description="Enable the selected keys", permissions=["view"])
    def enable_keys(self, request: HttpRequest, queryset: QuerySet[Key]) -> None:
        run_each(self, request, queryset, _on_key(key_services.key_enable), str, "Enabled")


@admin.register(KeyVersion)
class KeyVersionAdmin(ReadOnlyAdmin):
    list_display = ("key", "version", "status", "created_at", "disabled_at", "destroyed_at",
                    "encrypt_count", "decrypt_count", "sign_count", "verify_count")  # fmt: skip
    list_filter = ("key__key_type", "disabled_at", "destroyed_at")
    search_fields = ("key__name",)
    list_select_related = ("key",)
    # Listed field by field: wrapped_material is never among them.
    fields = ("key", "version", "status", "created_at", "disabled_at", "destroyed_at",
              "encrypt_count", "decrypt_count", "sign_count", "verify_count", "master_key_id",
              "public_key_pem")  # fmt: skip
    actions = ("disable_versions", "enable_versions")

    def get_queryset(self, request: HttpRequest) -> QuerySet[KeyVersion]:
        return KeyVersion.objects.filter(key__in=_visible_keys(request)).select_related("key")

    @admin.display(description="status")
    def status(self, kv: KeyVersion) -> str:
        return kv.status

    @admin.action(description="Disable the selected versions", permissions=["view"])
    def disable_versions(self, request: HttpRequest, queryset: QuerySet[KeyVersion]) -> None:
        def disable(actor: Actor, kv: KeyVersion) -> Any:
            return key_services.version_disable(actor=actor, name=kv.key.name, version=kv.version)

        run_each(self, request, queryset, disable, str, "Disabled")

    @admin.action(description="Enable the selected versions", permissions=["view"])
    def enable_versions(self, request: HttpRequest, queryset: QuerySet[KeyVersion]) -> None:
        def enable(actor: Actor, kv: KeyVersion) -> Any:
            return key_services.version_enable(actor=actor, name=kv.key.name, version=kv.version)

        run_each(self, request, queryset, enable, str, "Enabled")


# --- audit ------------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Append-only: no add, no change, no delete (a deleted row would break the chain)."""

    list_display = ("seq", "at", "actor_name", "source", "action", "key_name", "key_version",
                    "outcome", "error_code")  # fmt: skip
    list_filter = ("outcome", "source", "action", "auth_method")
    search_fields = ("key_name", "actor_name", "request_id", "client_addr", "action")
    date_hierarchy = "at"
    fields = ("seq", "at", "actor", "actor_name", "auth_method", "token_id", "source", "action",
              "key_name", "key_uid", "key_version", "outcome", "error_code", "request_id",
              "client_addr", "details", "prev_hash", "chain_hash")  # fmt: skip
    actions = None
    show_full_result_count = False  # no COUNT(*) over a large, growing table per page


# --- approvals --------------------------------------------------------------------------


class ApprovalInline(admin.TabularInline):
    model = Approval
    fields = ("approver", "decision", "at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "key", "action", "status", "requester", "approvals_given", "required",
                    "created_at", "expires_at")  # fmt: skip
    list_filter = ("status", "action")
    search_fields = ("key__name", "requester__username", "action")
    fields = ("key", "action", "parameters", "requester", "required", "status", "created_at",
              "expires_at", "decided_at", "result")  # fmt: skip
    inlines = (ApprovalInline,)
    actions = ("approve_requests", "reject_requests")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Approvers see the requests they may decide, as in the inbox.
        approver = access.has_global(request.user, "approve")
        return approver or super().has_view_permission(request, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApprovalRequest]:
        found = approval_services.approvals_for(actor=admin_actor(request), filters=ApprovalFilter())
        return found.annotate(given=Count("approvals"))

    @admin.display(description="decisions", ordering="given")
    def approvals_given(self, req: ApprovalRequest) -> int:
        return getattr(req, "given", 0)

    @admin.action(description="Approve the selected requests", permissions=["view"])
    def approve_requests(self, request: HttpRequest, queryset: QuerySet[ApprovalRequest]) -> None:
        def approve(actor: Actor, req: ApprovalRequest) -> Any:
            return approval_services.approval_approve(actor=actor, request_id=req.pk)

        run_each(self, request, queryset, approve, lambda r: f"request #{r.pk}", "Approved")

    @admin.action(description="Reject the selected requests", permissions=["view"])
    def reject_requests(self, request: HttpRequest, queryset: QuerySet[ApprovalRequest]) -> None:
        def reject(actor: Actor, req: ApprovalRequest) -> Any:
            return approval_services.approval_reject(actor=actor, request_id=req.pk)

        run_each(self, request, queryset, reject, lambda r: f"request #{r.pk}", "Rejected")


# --- API tokens -------------------------------------------------------------------------


class RevokedFilter(admin.SimpleListFilter):
    title = "revoked"
    parameter_name = "revoked"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> Any:
        return (("yes", "revoked"), ("no", "not revoked"))

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> QuerySet[ApiToken]:
        if self.value() in ("yes", "no"):
            return queryset.filter(revoked_at__isnull=self.value() == "no")
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Only the prefix and the hash exist: the token itself was shown once to its owner."""

    list_display = ("prefix", "name", "user", "created_at", "expires_at", "last_used_at",
                    "revoked_at")  # fmt: skip
    list_filter = (RevokedFilter, "created_at")
    search_fields = ("prefix", "name", "user__username")
    list_select_related = ("user",)
    fields = ("user", "name", "prefix", "token_hash", "created_at", "expires_at", "last_used_at",
              "revoked_at")  # fmt: skip
    actions = ("revoke_tokens",)

    @admin.action(description="Revoke the selected tokens", permissions=["view"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        def revoke(actor: Actor, token: ApiToken) -> Any:
            return token_services.token_revoke(actor=actor, token_id=token.pk)

        run_each(self, request, queryset, revoke, lambda t: f"{t.prefix}…", "Revoked")


# --- people: superusers only ----------------------------------------------------------------

User = get_user_model()


def _superusers_only(request: HttpRequest) -> bool:
    """The Django admin is the break-glass console: superusers only. Everyone else manages
    people on the Users page (kms.web.users) and keys on the key pages."""
    return bool(request.user.is_active and request.user.is_superuser)


admin.site.has_permission = _superusers_only  # type: ignore[method-assign]
admin.site.site_header = "Egide administration (superusers)"


class PasswordForm(AdminPasswordChangeForm):
    """Django's form without "password-based authentication: disabled" and its help text
    about single sign-on: Egide has passwords only. The new password is required."""

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.fields.pop("usable_password", None)
        self.fields["password1"].required = self.fields["password2"].required = True
        self.fields["password1"].help_text = "Saving revokes every API token of this user, and is audited."


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class EgideUserAdmin(DjangoUserAdmin):
    """People, read-only but for Django's password form; roles, groups and deactivation are
    on the Users page (services: audited, tokens revoked). No raw permissions here."""

    change_password_form = PasswordForm
    list_display = ("username", "email", "is_active", "is_superuser", "roles", "last_login")
    list_filter = ("is_active", "is_superuser", "groups")
    fieldsets = (
        (None, {"fields": ("username", "set_password", "email")}),
        ("Access", {"fields": ("is_active", "is_superuser", "roles", "other_groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("username", "set_password", "email", "is_active", "is_superuser", "roles",
                       "other_groups", "last_login", "date_joined")  # fmt: skip
    actions = ("deactivate_users",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the Users page (or `egide user add`): a one-time password, audited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: the audit trail keeps naming them

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Only Django's password form; the user-model signals revoke tokens and audit it.
        match = getattr(request, "resolver_match", None)
        on_password_form = bool(match and match.url_name == "auth_user_password_change")
        return _superusers_only(request) and on_password_form

    @admin.display(description="roles")
    def roles(self, user: Any) -> str:
        return ", ".join(user_services.roles_of(user)) or "—"

    @admin.display(description="groups")
    def other_groups(self, user: Any) -> str:
        return ", ".join(user_services.groups_of(user)) or "—"

    @admin.display(description="password")
    def set_password(self, user: Any) -> str:
        url = reverse("admin:auth_user_password_change", args=[user.pk])
        return format_html('<a href="{}">Set a new password</a> (revokes their API tokens)', url)

    @admin.action(description="Deactivate the selected users (revokes their tokens)",
                  permissions=["view"])  # fmt: skip
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        def deactivate(actor: Actor, user: Any) -> Any:
            return user_services.user_deactivate(actor=actor, username=user.get_username())

        run_each(self, request, queryset, deactivate, lambda u: u.get_username(), "Deactivated")
