"""Rate limits per token, per address and on password attempts: 429 with Retry-After."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.api.conftest import client_for
from tests.api.helpers import data, error, post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def throttled(response) -> None:
    assert "retry" in error(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1
    assert response["X-Request-Id"]


def test_each_token_has_its_own_budget(settings, bob):
    settings.EGIDE_THROTTLE_TOKEN = "3/min"
    first, second = client_for(bob), client_for(bob)
    for _ in range(3):
        data(first.get("/v1/kms/keys"))
    throttled(first.get("/v1/kms/keys"))
    data(second.get("/v1/kms/keys"))


def test_each_address_has_its_own_budget(settings, bob, alice):
    settings.EGIDE_THROTTLE_ADDRESS = "4/min"
    bobs, alices = client_for(bob), client_for(alice)
    for client in (bobs, alices, bobs, alices):
        data(client.get("/v1/kms/keys"))
    throttled(alices.get("/v1/kms/keys"))
    throttled(bobs.get("/v1/kms/keys"))
    data(bobs.get("/v1/kms/keys", REMOTE_ADDR="10.0.0.2"))


def test_password_attempts_are_limited_per_address(settings, anon, bob):
    settings.EGIDE_THROTTLE_LOGIN = "2/min"
    body = {"username": "bob", "password": "wrong"}
    error(post(anon, "/v1/auth/tokens", body), 401, "unauthenticated")
    error(post(anon, "/v1/auth/tokens", body), 401, "unauthenticated")
    throttled(post(anon, "/v1/auth/tokens", {"username": "bob", "password": "pw-bob"}))
    data(
        post(
            anon,
            "/v1/auth/tokens",
            {"username": "bob", "password": "pw-bob"},
            REMOTE_ADDR="10.0.0.9",
        ),
        201,
    )


def test_the_budget_comes_back(settings, bob, monkeypatch):
    import time

    settings.EGIDE_THROTTLE_TOKEN = "1/min"
    client = client_for(bob)
    now = time.time()
    monkeypatch.setattr("rest_framework.throttling.SimpleRateThrottle.timer", lambda self: now)
    data(client.get("/v1/kms/keys"))
    response = client.get("/v1/kms/keys")
    throttled(response)
    assert 1 <= int(response["Retry-After"]) <= 60
    monkeypatch.setattr("rest_framework.throttling.SimpleRateThrottle.timer", lambda self: now + 61)
    data(client.get("/v1/kms/keys"))


def test_the_data_plane_obeys_the_same_limits(settings, bob, create_key):
    from kms.dataplane import throttle

    create_key("k", "aes256")
    settings.EGIDE_THROTTLE_TOKEN = "2/min"
    throttle.reset()
    client = client_for(bob)
    for _ in range(2):
        data(post(client, "/v1/kms/encrypt/k", {"plaintext": "QQ=="}))
    throttled(post(client, "/v1/kms/encrypt/k", {"plaintext": "QQ=="}))
    throttle.reset()
