"""Finding 2: one per-address password rate on every password path, 429 with Retry-After."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient


def attempt(path: str, username: str, addr: str = "10.8.8.8"):
    body = {"username": username, "password": "guess"}
    if path.startswith("/v1/"):
        return APIClient().post(path, body, format="json", REMOTE_ADDR=addr)
    return Client().post(path, body, REMOTE_ADDR=addr)


@pytest.mark.parametrize("path", ["/login/", "/admin/login/", "/v1/auth/tokens"])
def test_one_address_may_try_only_so_many_usernames(settings, db, path):
    settings.EGIDE_THROTTLE_LOGIN = "5/min"
    statuses = [attempt(path, f"user{i}").status_code for i in range(7)]
    assert 429 not in statuses[:5] and statuses[5:] == [429, 429]
    refused = attempt(path, "another")
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 61
    if path.startswith("/v1/"):
        assert refused.json()["error"]["code"] == "throttled"
    assert attempt(path, "user0", addr="10.8.8.9").status_code != 429  # another address


def test_the_paths_share_one_budget(settings, db):
    settings.EGIDE_THROTTLE_LOGIN = "3/min"
    for path in ("/login/", "/admin/login/", "/v1/auth/tokens"):
        assert attempt(path, "x").status_code != 429
    assert attempt("/login/", "y").status_code == 429


def test_the_tokens_page_password_is_counted_too(settings, bob):
    settings.EGIDE_THROTTLE_LOGIN = "2/min"
    client = Client(REMOTE_ADDR="10.8.8.8")
    client.force_login(bob)
    for _ in range(2):
        assert client.post("/tokens/", {"password": "guess"}).status_code == 200
    assert client.post("/tokens/", {"password": "pw-bob"}).status_code == 429


def test_reading_the_login_page_is_not_an_attempt(settings, db):
    settings.EGIDE_THROTTLE_LOGIN = "1/min"
    for _ in range(3):
        assert Client().get("/login/").status_code == 200
