"""The pages' routes. Every POST carries the CSRF token; every view needs a session."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import path

from kms.web import approvals, audit, auth, byok, grants, key_detail, key_panels, keys, playground, tokens, users


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages that name none (the admin's): the site's icon."""
    return redirect(static("favicon.svg"), permanent=True)


urlpatterns = [
    path("favicon.ico", favicon),
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    path("", keys.key_list, name="key_list"),
    path("new/", keys.key_create, name="key_create"),  # not under keys/: "new" is a valid key name
    path("import/", byok.key_import, name="key_import"),  # issue 15: bring your own key
    path("restore-backup/", byok.backup_restore, name="backup_restore"),
    path("keys/<str:name>/backup/", byok.key_backup, name="key_backup"),
    path("keys/<str:name>/", key_detail.key_detail, name="key_detail"),
    path("keys/<str:name>/rotate/", key_detail.key_rotate, name="key_rotate"),
    path("keys/<str:name>/disable/", key_detail.key_disable, name="key_disable"),
    path("keys/<str:name>/enable/", key_detail.key_enable, name="key_enable"),
    path("keys/<str:name>/delete/", key_detail.key_delete, name="key_delete"),
    path("keys/<str:name>/restore/", key_detail.key_restore, name="key_restore"),
    path("keys/<str:name>/settings/", key_detail.key_settings, name="key_settings"),
    path("keys/<str:name>/public.pem", key_detail.public_key, name="key_public"),
    # The key page's panels, loaded after it (kms.web.key_panels).
    path("keys/<str:name>/usage/", key_panels.key_usage, name="key_usage"),
    path("keys/<str:name>/approvals/", key_panels.key_approvals, name="key_approvals"),
    path("keys/<str:name>/grants/", key_panels.key_grants, name="key_grants"),
    path("keys/<str:name>/events/", key_panels.key_events, name="key_events"),
    path(
        "keys/<str:name>/versions/<int:version>/disable/",
        key_detail.version_disable,
        name="version_disable",
    ),  # fmt: skip
    path(
        "keys/<str:name>/versions/<int:version>/enable/",
        key_detail.version_enable,
        name="version_enable",
    ),  # fmt: skip
    path("keys/<str:name>/grants/add/", grants.grant_add, name="grant_add"),
    path("keys/<str:name>/grants/remove/", grants.grant_remove, name="grant_remove"),
    path("approvals/", approvals.inbox, name="approvals"),
    path("approvals/<int:request_id>/approve/", approvals.approve, name="approval_approve"),
    path("approvals/<int:request_id>/reject/", approvals.reject, name="approval_reject"),
    path("approvals/<int:request_id>/cancel/", approvals.cancel, name="approval_cancel"),
    path("audit/", audit.audit_list, name="audit"),
    path("audit/export.jsonl", audit.audit_export, name="audit_export"),
    path("tokens/", tokens.token_list, name="tokens"),
    path("tokens/<int:token_id>/revoke/", tokens.token_revoke, name="token_revoke"),
    path("playground/", playground.playground, name="playground"),
    path("users/", users.user_list, name="users"),
    path("users/<str:username>/", users.user_detail, name="user_detail"),
    path("users/<str:username>/deactivate/", users.user_deactivate, name="user_deactivate"),
    path("users/<str:username>/reactivate/", users.user_reactivate, name="user_reactivate"),
    path("users/<str:username>/roles/", users.user_role, name="user_role"),
    path("account/password/", users.password_change, name="password_change"),
]
