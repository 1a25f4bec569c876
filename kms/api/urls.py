from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from kms.api import (
    views_access,
    views_auth,
    views_byok,
    views_crypto,
    views_keys,
    views_meta,
    views_public,
    views_users,
)
from kms.api.errors import api_not_found
from kms.api.schema import documented_by
from kms.dataplane import views as dataplane
from kms.transit import views as transit_views

app_name = "api"

urlpatterns = [
    path("", views_meta.index, name="index"),
    path("health", views_meta.health, name="health"),
    path("auth/tokens", views_auth.TokensView.as_view(), name="tokens"),
    path("auth/tokens/<int:token_id>", views_auth.TokenView.as_view(), name="token"),
    path("auth/self", views_auth.SelfView.as_view(), name="self"),
    path("kms/keys", views_keys.KeyListView.as_view(), name="keys"),
    path("kms/keys/<str:name>", views_keys.KeyView.as_view(), name="key"),
    path("kms/keys/<str:name>/rotate", views_keys.RotateView.as_view(), name="rotate"),
    path("kms/keys/<str:name>/disable", views_keys.DisableView.as_view(), name="disable"),
    path("kms/keys/<str:name>/enable", views_keys.EnableView.as_view(), name="enable"),
    path("kms/keys/<str:name>/restore", views_keys.RestoreView.as_view(), name="restore"),
    path("kms/keys/<str:name>/public", views_keys.PublicKeyView.as_view(), name="public"),
    path("kms/keys/<str:name>/export", views_keys.ExportView.as_view(), name="export"),
    # Bring your own key, backup and restore (issue 15; /keys/<name>/restore undoes a deletion).
    path("kms/wrapping-key", views_byok.WrappingKeyView.as_view(), name="wrapping-key"),
    path("kms/wrapping-key/rotate", views_byok.WrappingKeyRotateView.as_view(), name="wrapping-key-rotate"),
    path("kms/keys/<str:name>/import", views_byok.ImportView.as_view(), name="import"),
    path("kms/keys/<str:name>/import-version", views_byok.ImportVersionView.as_view(), name="import-version"),
    path("kms/keys/<str:name>/backup", views_byok.BackupView.as_view(), name="backup"),
    path("kms/backups/restore", views_byok.RestoreBackupView.as_view(), name="backup-restore"),
    path("kms/keys/<str:name>/jwks", views_public.JwksView.as_view(), name="jwks"),
    path("kms/random", views_public.RandomView.as_view(), name="random"),
    path(
        "kms/keys/<str:name>/versions/<int:version>/disable",
        views_keys.VersionDisableView.as_view(),
        name="version-disable",
    ),
    path(
        "kms/keys/<str:name>/versions/<int:version>/enable",
        views_keys.VersionEnableView.as_view(),
        name="version-enable",
    ),
    path(
        "kms/keys/<str:name>/versions/<int:version>/destroy",
        views_keys.VersionDestroyView.as_view(),
        name="version-destroy",
    ),
    path(
        "kms/keys/<str:name>/versions/<int:version>/restore",
        views_keys.VersionRestoreView.as_view(),
        name="version-restore",
    ),
    # The data plane: served by the one pipeline, documented from the operations' declarations.
    *(
        path(f"kms/{name}/<str:name>", documented_by(dataplane.VIEWS[name], views_crypto.DOC_VIEWS[name]), name=name)
        for name in dataplane.VIEWS
    ),
    path("kms/keys/<str:name>/grants", views_access.GrantsView.as_view(), name="grants"),
    path("kms/approvals", views_access.ApprovalListView.as_view(), name="approvals"),
    path("kms/approvals/<int:request_id>", views_access.ApprovalView.as_view(), name="approval"),
    path("kms/approvals/<int:request_id>/approve", views_access.ApproveView.as_view(), name="approve"),
    path("kms/approvals/<int:request_id>/reject", views_access.RejectView.as_view(), name="reject"),
    path("kms/approvals/<int:request_id>/cancel", views_access.CancelView.as_view(), name="cancel"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its init script as a file: the page runs under script-src 'self' (CSP).
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("users", views_users.UsersView.as_view(), name="users"),
    path("users/<str:username>", views_users.UserView.as_view(), name="user"),
    path("users/<str:username>/deactivate", views_users.UserDeactivateView.as_view(), name="user-deactivate"),
    path("users/<str:username>/roles", views_users.UserRolesView.as_view(), name="user-roles"),
    # The Vault/OpenBao Transit dialect (kms.transit): sys/mounts, auth/token and enabled mounts;
    # any other path answers the JSON 404 below.
    re_path(r"^(?P<path>.+)$", transit_views.dispatch, name="transit"),
    # Last: any other path under /v1/ is the JSON 404, in DEBUG too (not Django's HTML page).
    re_path(r"^.*$", api_not_found, name="not-found"),
]
