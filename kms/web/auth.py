"""Logging in and out, with Django's session views and our templates.

Logging out is a POST (with CSRF), as Django 5 requires: a link cannot log you out.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.shortcuts import resolve_url
from django.urls import reverse

from kms.web.common import awaiting_count


class LoginView(auth_views.LoginView):
    """After logging in, someone with requests awaiting their decision lands on their inbox."""

    def get_success_url(self) -> str:
        url = super().get_success_url()
        if url == resolve_url(settings.LOGIN_REDIRECT_URL) and awaiting_count(self.request):
            return reverse("approvals")
        return url


login = LoginView.as_view(template_name="login.html", redirect_authenticated_user=True)
logout = auth_views.LogoutView.as_view(next_page="login")
