"""Password guessing is locked out (django-axes, kms/security.py), on every password path:
the API's token endpoint, the pages' login and the Django admin's login.

Failures are counted per (username, client address). At AXES_FAILURE_LIMIT failures the
pair is refused for AXES_COOLOFF_TIME, even with the right password; other addresses and
other usernames are not affected (an attacker cannot lock a person out from elsewhere).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db.models import F
from rest_framework.test import APIClient

from kms.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
TOKENS = "/v1/auth/tokens"


@pytest.fixture(autouse=True)
def _defaults(settings: Any) -> None:
    from django.core.cache import cache

    cache.clear()  # the per-address login throttle (20/min) is another test's subject
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def obtain(password: str, username: str = "bob", addr: str = "10.1.1.1", **extra: Any) -> Any:
    body = {"username": username, "password": password}
    return APIClient().post(TOKENS, body, format="json", REMOTE_ADDR=addr, **extra)


def fail(times: int, username: str = "bob", addr: str = "10.1.1.1", **extra: Any) -> list[int]:
    return [obtain("wrong", username, addr, **extra).status_code for _ in range(times)]


def assert_locked_out(response: Any) -> None:
    assert response.status_code == 429, response.content[:300]
    assert response.json() == {"error": {"code": "locked_out", "message": response.json()["error"]["message"]}}
    assert "try again in 15 minutes" in response.json()["error"]["message"]
    assert response["Retry-After"] == "900"
    assert response["Content-Type"].startswith("application/json")


def rewind_attempts(minutes: int) -> None:
    from axes.models import AccessAttempt

    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=minutes))


# --- the API's token endpoint ----------------------------------------------------------


def test_the_fifth_wrong_password_locks_the_pair_out(bob: Any) -> None:
    assert fail(4) == [401] * 4
    assert_locked_out(obtain("wrong"))


def test_a_locked_out_pair_is_refused_even_with_the_right_password(bob: Any) -> None:
    fail(5)
    assert_locked_out(obtain("pw-bob"))


def test_the_lockout_is_per_address_and_per_username(bob: Any, alice: Any) -> None:
    fail(5)
    assert obtain("pw-bob", addr="10.2.2.2").status_code == 201  # bob elsewhere
    assert obtain("pw-alice", username="alice").status_code == 201  # someone else from here


def test_a_forged_forwarded_for_header_does_not_reset_the_count(bob: Any) -> None:
    for n in range(5):
        obtain("wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}", HTTP_X_REAL_IP=f"192.0.2.{n}")
    assert_locked_out(obtain("pw-bob", HTTP_X_FORWARDED_FOR="198.51.100.7"))


def test_the_lockout_lifts_after_the_cool_off(bob: Any) -> None:
    fail(5)
    rewind_attempts(14)
    assert_locked_out(obtain("pw-bob"))
    rewind_attempts(16)
    assert obtain("pw-bob").status_code == 201


def test_the_limit_and_cool_off_come_from_settings(settings: Any, bob: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    assert fail(1) == [401]
    response = obtain("wrong")
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert "try again in 1 minute" in response.json()["error"]["message"]


def test_a_lockout_is_audited_as_a_locked_out_login(bob: Any) -> None:
    fail(5)
    obtain("pw-bob")
    events = list(AuditEvent.objects.filter(action="login").order_by("seq").values_list("outcome", "error_code"))
    assert events == [("denied", "unauthenticated")] * 4 + [("locked_out", "locked_out")] * 2
    assert not AuditEvent.objects.filter(action="token_create").exists()


def test_a_locked_out_user_keeps_the_tokens_they_already_hold(bob: Any) -> None:
    from tests.security.conftest import client_for

    held = client_for(bob)
    fail(5)
    assert held.get(TOKENS).status_code == 200


def test_failures_of_an_unknown_username_lock_out_too(db: Any) -> None:
    assert fail(4, username="nobody") == [401] * 4
    assert_locked_out(obtain("x", username="nobody"))


# --- the pages' login and the Django admin's login ------------------------------------


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_a_login_page_locks_out_too(client: Any, bob: Any, path: str) -> None:
    for _ in range(4):
        response = client.post(path, {"username": "bob", "password": "wrong"}, REMOTE_ADDR="10.3.3.3")
        assert response.status_code == 200  # the form again, with its error
    response = client.post(path, {"username": "bob", "password": "wrong"}, REMOTE_ADDR="10.3.3.3")
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert b"locked_out" in response.content and b"try again in 15 minutes" in response.content
    assert response["Content-Security-Policy"].startswith("default-src 'self'")
    response = client.post(path, {"username": "bob", "password": "pw-bob"}, REMOTE_ADDR="10.3.3.3")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_page_and_the_api_share_one_count(client: Any, bob: Any) -> None:
    for _ in range(3):
        client.post("/login/", {"username": "bob", "password": "wrong"}, REMOTE_ADDR="10.1.1.1")
    assert fail(1) == [401]
    assert_locked_out(obtain("wrong"))


def test_a_successful_page_login_clears_the_count(client: Any, bob: Any) -> None:
    for _ in range(4):
        client.post("/login/", {"username": "bob", "password": "wrong"}, REMOTE_ADDR="10.4.4.4")
    response = client.post("/login/", {"username": "bob", "password": "pw-bob"}, REMOTE_ADDR="10.4.4.4")
    assert response.status_code == 302
    client.logout()
    assert client.post("/login/", {"username": "bob", "password": "wrong"}, REMOTE_ADDR="10.4.4.4").status_code == 200


def test_the_test_client_login_is_not_a_network_login(client: Any, bob: Any) -> None:
    """No request, no address: LoginLockoutBackend lets it through (tests and shells log in so)."""
    assert client.login(username="bob", password="pw-bob")  # noqa: S106 - the test user's


# --- configuration from the environment ------------------------------------------------


def test_the_environment_sets_the_limit_and_the_cool_off() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, int(s.AXES_COOLOFF_TIME.total_seconds()), "
        "s.AXES_LOCKOUT_PARAMETERS)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "egide_site.settings",
        "EGIDE_LOGIN_FAILURE_LIMIT": "7",
        "EGIDE_LOGIN_COOLOFF_MINUTES": "30",
    }
    out = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[-2] == "7 1800 [['username', 'ip_address']]"
