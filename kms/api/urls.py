from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from kms.api import views_access, views_auth, views_crypto, views_keys

app_name = "api"

urlpatterns = [
    path("auth/tokens", views_auth.TokensView.as_view(), name="tokens"),
    path("auth/tokens/<int:token_id>", views_auth.TokenView.as_view(), name="token"),
    path("kms/keys", views_keys.KeyListView.as_view(), name="keys"),
    path("kms/keys/<str:name>", views_keys.KeyView.as_view(), name="key"),
    path("kms/keys/<str:name>/rotate", views_keys.RotateView.as_view(), name="rotate"),
    path("kms/keys/<str:name>/disable", views_keys.DisableView.as_view(), name="disable"),
    path("kms/keys/<str:name>/enable", views_keys.EnableView.as_view(), name="enable"),
    path("kms/keys/<str:name>/restore", views_keys.RestoreView.as_view(), name="restore"),
    path("kms/keys/<str:name>/public", views_keys.PublicKeyView.as_view(), name="public"),
    path("kms/keys/<str:name>/export", views_keys.ExportView.as_view(), name="export"),
    path("kms/keys/<str:name>/versions/<int:version>/disable", views_keys.VersionDisableView.as_view(),
         name="version-disable"),
    path("kms/keys/<str:name>/versions/<int:version>/enable", views_keys.VersionEnableView.as_view(),
         name="version-enable"),
    path("kms/keys/<str:name>/versions/<int:version>/destroy", views_keys.VersionDestroyView.as_view(),
         name="version-destroy"),
    path("kms/encrypt/<str:name>", views_crypto.EncryptView.as_view(), name="encrypt"),
    path("kms/decrypt/<str:name>", views_crypto.DecryptView.as_view(), name="decrypt"),
    path("kms/sign/<str:name>", views_crypto.SignView.as_view(), name="sign"),
    path("kms/verify/<str:name>", views_crypto.VerifyView.as_view(), name="verify"),
    path("kms/datakey/<str:name>", views_crypto.DataKeyView.as_view(), name="datakey"),
    path("kms/rewrap/<str:name>", views_crypto.RewrapView.as_view(), name="rewrap"),
    path("kms/keys/<str:name>/grants", views_access.GrantsView.as_view(), name="grants"),
    path("kms/approvals", views_access.ApprovalListView.as_view(), name="approvals"),
    path("kms/approvals/<int:request_id>", views_access.ApprovalView.as_view(), name="approval"),
    path("kms/approvals/<int:request_id>/approve", views_access.ApproveView.as_view(), name="approve"),
    path("kms/approvals/<int:request_id>/reject", views_access.RejectView.as_view(), name="reject"),
    path("kms/approvals/<int:request_id>/cancel", views_access.CancelView.as_view(), name="cancel"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
