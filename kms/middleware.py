"""Request ids (on every response, recorded by audit events) and security headers."""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from kms import request_ids


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_ids.of(request.headers.get("X-Request-Id", ""))  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-Id"] = request.request_id  # type: ignore[attr-defined]
        return response


# --- security headers --------------------------------------------------------------
# Django's SecurityMiddleware sets HSTS (production), nosniff, Referrer-Policy and
# Cross-Origin-Opener-Policy; XFrameOptionsMiddleware sets X-Frame-Options: DENY.
# Django 5.2 has no Content-Security-Policy, hence this one.

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# The Swagger UI page (/v1/docs: drf-spectacular's split view, so its script is a
# file, not inline) keeps one inline <style> block of three layout rules in
# drf-spectacular's template. That block alone is allowed, by its hash, taken from
# the installed template so that an upgrade cannot silently unstyle the page or
# widen the policy. Scripts stay 'self' only, on every path.
DOCS_PATH = "/v1/docs"


@functools.cache
def _docs_csp() -> str:
    hashes = []
    try:
        import drf_spectacular

        package = Path(drf_spectacular.__file__).parent
        template = package / "templates" / "drf_spectacular" / "swagger_ui.html"
        for block in re.findall(r"<style>(.*?)</style>", template.read_text(), flags=re.S):
            digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
            hashes.append(f"'sha256-{digest}'")
    except OSError:  # no template, no inline style to allow
        pass
    return CSP.replace("style-src 'self'", " ".join(["style-src 'self'", *hashes]))


def csp_for(path: str) -> str:
    return _docs_csp() if path == DOCS_PATH else CSP


def api_security_headers(secure: bool) -> list[tuple[str, str]]:
    """The headers Django's middleware stack adds to an API answer (for the WSGI fast lane,
    which answers before it): SecurityMiddleware, XFrameOptions, and this module's."""
    headers = [
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", settings.SECURE_REFERRER_POLICY),
        ("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY),
        ("X-Frame-Options", settings.X_FRAME_OPTIONS),
        ("Content-Security-Policy", CSP),
        ("Cache-Control", "no-store"),
    ]
    if secure and settings.SECURE_HSTS_SECONDS:
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        headers.append(("Strict-Transport-Security", value))
    return headers


class SecurityHeadersMiddleware:
    """A Content-Security-Policy on every response (no inline script anywhere), and
    `Cache-Control: no-store` on every response that did not choose its own caching:
    answers carry plaintext, data keys, tokens and key metadata, none of which a
    browser or a proxy should keep."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = csp_for(request.path)
        if "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        return response
