"""Logging in and out, with Django's session views and our templates.

Logging out is a POST (with CSRF), as Django 5 requires: a link cannot log you out.
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views

login = auth_views.LoginView.as_view(template_name="login.html", redirect_authenticated_user=True)
logout = auth_views.LogoutView.as_view(next_page="login")
