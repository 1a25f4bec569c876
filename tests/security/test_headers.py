"""Security headers on every answer: a Content-Security-Policy without inline scripts,
frame denial, nosniff, a referrer policy, no caching of answers; HSTS and secure
cookies in production (see also test_deploy.py).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from kms.middleware import CSP
from tests.security.conftest import client_for

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.fixture
def answers(db: Any, bob: Any, create_key: Any, client: Any) -> dict[str, Any]:
    """One answer of each kind Egide gives: API success and errors, the data plane, the
    pages, the admin, the docs, a 404 outside the API."""
    from guardian.shortcuts import assign_perm

    key = create_key("k")
    assign_perm("kms.encrypt_key", bob, key)
    api = client_for(bob)
    reader = Client()  # the docs need a user (the login page, an anonymous one)
    reader.force_login(bob)
    return {
        "api list": api.get("/v1/kms/keys"),
        "api error": APIClient().get("/v1/kms/keys"),
        "api 404": api.get("/v1/nothing"),
        "api 413": api.post("/v1/kms/keys/x", data=b"{" + b" " * (5 * 2**20) + b"}", content_type="application/json"),
        "data plane": api.post("/v1/kms/encrypt/k", {"plaintext": "QQ=="}, format="json"),
        "data plane error": api.post("/v1/kms/decrypt/k", {"ciphertext": "junk"}, format="json"),
        "token created": APIClient().post("/v1/auth/tokens", {"username": "bob", "password": "pw-bob"}, format="json"),
        "login page": client.get("/login/"),
        "admin login": client.get("/admin/login/"),
        "schema": api.get("/v1/schema"),
        "docs": reader.get("/v1/docs"),
        "docs script": reader.get("/v1/docs?script="),
        "page 404": client.get("/no-such-page/"),
    }


def test_every_answer_carries_the_policy(answers: dict[str, Any]) -> None:
    for name, response in answers.items():
        if name.startswith("docs"):  # test_the_docs_page_allows_only_its_own_inline_style_by_hash
            continue
        assert response["Content-Security-Policy"] == POLICY, name
    assert CSP == POLICY


def test_no_answer_allows_inline_or_eval_script_or_framing(answers: dict[str, Any]) -> None:
    for name, response in answers.items():
        policy = directives(response["Content-Security-Policy"])
        assert policy["script-src"] == ["'self'"], name
        assert policy["frame-ancestors"] == ["'none'"], name
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"], name
        assert "'unsafe-inline'" not in response["Content-Security-Policy"], name
        assert "'unsafe-eval'" not in response["Content-Security-Policy"], name


def test_the_docs_page_allows_only_its_own_inline_style_by_hash(answers: dict[str, Any]) -> None:
    page = answers["docs"]
    html = page.content.decode()
    styles = re.findall(r"<style>(.*?)</style>", html, flags=re.S)
    hashes = [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in styles]
    assert directives(page["Content-Security-Policy"])["style-src"] == ["'self'", *hashes]
    assert page["Content-Security-Policy"] == POLICY.replace(
        "style-src 'self'", " ".join(["style-src 'self'", *hashes])
    )


def test_the_docs_page_has_no_inline_script(answers: dict[str, Any]) -> None:
    html = answers["docs"].content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert answers["docs script"]["Content-Type"].startswith("application/javascript")


def test_every_answer_denies_framing_and_sniffing_and_sets_the_referrer_policy(
    answers: dict[str, Any],
) -> None:
    for name, response in answers.items():
        assert response["X-Frame-Options"] == "DENY", name
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["Referrer-Policy"] == "same-origin", name


def test_no_answer_is_stored_by_a_cache(answers: dict[str, Any]) -> None:
    for name, response in answers.items():
        assert "no-store" in response["Cache-Control"].split(", "), name
    assert answers["token created"].status_code == 201  # the token is shown once, and not cached
    assert answers["data plane"].status_code == 200


def test_api_answers_are_json_even_when_refused(answers: dict[str, Any]) -> None:
    for name in (
        "api list",
        "api error",
        "api 404",
        "api 413",
        "data plane",
        "data plane error",
        "token created",
    ):
        assert answers[name]["Content-Type"].startswith("application/json"), name


def test_an_answer_keeps_a_policy_a_view_chose(rf: Any) -> None:
    from django.http import HttpResponse

    from kms.middleware import SecurityHeadersMiddleware

    def view(request: Any) -> HttpResponse:
        response = HttpResponse("x")
        response["Cache-Control"] = "max-age=60"
        response["Content-Security-Policy"] = "default-src 'none'"
        return response

    response = SecurityHeadersMiddleware(view)(rf.get("/"))
    assert response["Cache-Control"] == "max-age=60"
    assert response["Content-Security-Policy"] == "default-src 'none'"


# --- production: HTTPS only ----------------------------------------------------------


def test_on_https_in_production_answers_carry_hsts(settings: Any, db: Any) -> None:
    # The values production settings take (test_deploy.py reads them from a production process).
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    response = APIClient().get("/v1/kms/keys", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_in_production_session_and_csrf_cookies_are_secure_and_http_only(settings: Any, client: Any, bob: Any) -> None:
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    page = client.get("/login/", secure=True)
    csrf = page.cookies["csrftoken"]
    assert csrf["secure"] and csrf["httponly"] and csrf["samesite"] == "Lax"
    response = client.post("/login/", {"username": "bob", "password": "pw-bob"}, secure=True)
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"


# --- in a real browser -----------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.browser
def test_the_docs_page_renders_in_chromium_under_the_real_policy(
    live_server: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """Our own headers, not a policy the test injects: the Swagger UI draws the API and the
    browser reports no Content-Security-Policy violation."""
    settings.EGIDE_API_DOCS_PUBLIC = True  # who may read them: tests/api/test_schema.py
    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs in this thread
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            page = browser.new_page()
            violations: list[str] = []
            page.on(
                "console",
                lambda m: "Content Security Policy" in m.text and violations.append(m.text),
            )
            for path in ("/v1/docs", "/login/", "/admin/login/"):
                page.goto(live_server.url + path)
            page.goto(live_server.url + "/v1/docs")
            operation = page.locator(".opblock-summary", has_text="/v1/kms/encrypt/").first
            operation.wait_for(timeout=15_000)
            operation.click()  # expand an operation: its form and examples render too
            page.wait_for_timeout(300)
        finally:
            browser.close()
    assert not violations, violations
