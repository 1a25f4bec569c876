"""The Django admin: a read-only window on Egide's tables, with actions that call services.

Nothing here edits a row directly: adding, changing and deleting are off for every model,
because a change that skipped `kms.services` would skip its permission check, its approval
gate and its audit event. The admin actions (rotate, disable, enable, approve, revoke...)
call the services as the staff member, with source "admin", so they obey all three.

Key material never shows: versions list their metadata but not `wrapped_material`, and
tokens only their prefix and hash (the token itself is never stored).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from kms import access
from kms.exceptions import ERRORS, ApprovalRequired, error_message
from kms.models import ApiToken, Approval, ApprovalRequest, AuditEvent, Key, KeyVersion
from kms.services import approvals as approval_services
from kms.services import keys as key_services
from kms.services import tokens as token_services
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
        found = approval_services.approvals_for(
            actor=admin_actor(request), filters=ApprovalFilter()
        )
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
