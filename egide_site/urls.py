from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("v1/", include("kms.api.urls")),
    path("", include("kms.web.urls")),  # the pages, with /login/ and /logout/
]
handler404 = "kms.api.errors.not_found_handler"
