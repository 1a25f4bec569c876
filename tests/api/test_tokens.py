"""Bearer tokens: random, shown once, stored as a hash, expiring, revocable, last use kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from kms.models import ApiToken
from tests.api.helpers import data, error, post

pytestmark = pytest.mark.django_db


def obtain(client: APIClient, username: str = "bob", password: str = "pw-bob", **fields):
    return post(client, "/v1/auth/tokens", {"username": username, "password": password, **fields})


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_token_is_obtained_with_username_and_password(anon, bob):
    created = data(obtain(anon, name="ci"), 201)
    assert set(created) == {"token", "id", "prefix", "expires_at", "scope_keys", "scope_operations"}
    assert created["token"].startswith(created["prefix"])
    assert created["expires_at"] is not None  # the default lifetime (EGIDE_TOKEN_TTL_DAYS)
    assert created["scope_keys"] == created["scope_operations"] == []
    assert data(bearer(created["token"]).get("/v1/auth/tokens"))[0]["name"] == "ci"


def test_tokens_are_random(anon, bob):
    first, second = (data(obtain(anon), 201)["token"] for _ in range(2))
    assert first != second and len(first) >= 40


def test_the_database_holds_no_raw_token(anon, bob):
    raw = data(obtain(anon), 201)["token"]
    row = ApiToken.objects.get(prefix=raw[:12])
    assert row.token_hash != raw and raw not in row.token_hash
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM kms_apitoken")
        stored = repr(cursor.fetchall())
    assert raw not in stored and raw[12:] not in stored


def test_the_token_is_shown_once(anon, bob):
    raw = data(obtain(anon), 201)["token"]
    listed = data(bearer(raw).get("/v1/auth/tokens"))
    assert raw not in repr(listed)
    assert set(listed[0]) == {
        "id",
        "name",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "scope_keys",
        "scope_operations",
    }


def test_a_wrong_password_gets_no_token(anon, bob):
    error(obtain(anon, password="wrong"), 401, "unauthenticated")
    error(obtain(anon, username="nobody"), 401, "unauthenticated")
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("fields", [{"expires_in": 10}, {"expires_in": "soon"}, {"scope": "all"}])
def test_bad_token_requests_are_refused(anon, bob, fields):
    error(obtain(anon, **fields), 400, "invalid_request")


def test_a_token_may_expire(anon, bob):
    created = data(obtain(anon, expires_in=3600), 201)
    expires = ApiToken.objects.get(pk=created["id"]).expires_at
    assert timedelta(minutes=59) < expires - timezone.now() <= timedelta(hours=1)
    assert created["expires_at"] is not None
    ApiToken.objects.filter(pk=created["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    error(bearer(created["token"]).get("/v1/kms/keys"), 401, "unauthenticated")


def test_a_request_without_a_token_is_unauthenticated(anon):
    response = anon.get("/v1/kms/keys")
    error(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer ", "Bearer egd_nope", "Basic Ym9iOnB3", "Token abc", "Bearer x y"]
)
def test_a_bad_authorization_header_is_unauthenticated(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    error(client.get("/v1/kms/keys"), 401, "unauthenticated")


def test_the_owner_revokes_a_token(anon, bob):
    created = data(obtain(anon), 201)
    client = bearer(created["token"])
    response = client.delete(f"/v1/auth/tokens/{created['id']}")
    assert response.status_code == 204
    error(client.get("/v1/kms/keys"), 401, "unauthenticated")
    assert ApiToken.objects.get(pk=created["id"]).revoked_at is not None


def test_another_user_cannot_revoke_or_see_a_token(anon, bob, api_mallory, api_alice):
    created = data(obtain(anon), 201)
    error(api_mallory.delete(f"/v1/auth/tokens/{created['id']}"), 404, "token_not_found")
    error(api_alice.delete(f"/v1/auth/tokens/{created['id']}"), 404, "token_not_found")
    assert created["id"] not in [t["id"] for t in data(api_mallory.get("/v1/auth/tokens"))]
    assert data(bearer(created["token"]).get("/v1/auth/tokens"))


def test_a_superuser_revokes_anyones_token(anon, bob, api_root):
    created = data(obtain(anon), 201)
    assert api_root.delete(f"/v1/auth/tokens/{created['id']}").status_code == 204
    error(bearer(created["token"]).get("/v1/kms/keys"), 401, "unauthenticated")


def test_an_unknown_token_id_is_not_found(api_root):
    error(api_root.delete("/v1/auth/tokens/999999"), 404, "token_not_found")


def test_last_use_is_kept(anon, bob):
    created = data(obtain(anon), 201)
    assert ApiToken.objects.get(pk=created["id"]).last_used_at is None
    data(bearer(created["token"]).get("/v1/kms/keys"))
    used = ApiToken.objects.get(pk=created["id"]).last_used_at
    assert used is not None and timezone.now() - used < timedelta(seconds=5)
    assert data(bearer(created["token"]).get("/v1/auth/tokens"))[0]["last_used_at"] is not None


def test_a_disabled_account_loses_its_tokens(anon, bob):
    raw = data(obtain(anon), 201)["token"]
    bob.is_active = False
    bob.save()
    error(bearer(raw).get("/v1/kms/keys"), 401, "unauthenticated")


def test_token_creation_ignores_any_other_credentials(bob, api_mallory):
    """POST /v1/auth/tokens proves identity by password only: a bearer token does not stand in."""
    error(
        post(api_mallory, "/v1/auth/tokens", {"username": "bob", "password": "bad"}),
        401,
        "unauthenticated",
    )
    assert data(post(api_mallory, "/v1/auth/tokens", {"username": "bob", "password": "pw-bob"}), 201)
