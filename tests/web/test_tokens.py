"""My API tokens: shown once, listed with last use, revoked."""

from __future__ import annotations

from kms.models import ApiToken
from kms.services.tokens import token_authenticate, token_create
from tests.web.conftest import htmx, web_actor


def test_it_creates_a_token_and_shows_it_once(as_bob):
    response = as_bob.post("/tokens/", {"name": "ci", "expires_in_days": "30", "password": "pw-bob"})
    raw = response.context["created"]["raw"]
    assert raw.startswith("egd_") and raw in response.content.decode()
    assert "Copy it now: it will not be shown again." in response.content.decode()
    assert response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(name="ci")
    assert token_authenticate(raw).pk == token.pk and token.expires_at is not None
    again = as_bob.get("/tokens/").content.decode()
    assert raw not in again and f"{token.prefix}…" in again


def test_it_lists_only_my_tokens_with_their_last_use(as_bob, bob, alice):
    token_create(actor=web_actor(alice), user=alice, name="alices")
    _, raw = token_create(actor=web_actor(bob), user=bob, name="bobs")
    token_authenticate(raw)
    html = as_bob.get("/tokens/").content.decode()
    assert "bobs" in html and "alices" not in html
    expires = ApiToken.objects.get(name="bobs").expires_at  # the default lifetime
    assert expires is not None and expires.strftime("%Y-%m-%d %H:%M") in html
    assert ApiToken.objects.get(name="bobs").last_used_at is not None


def test_it_revokes_my_token_in_place(as_bob, bob):
    token, raw = token_create(actor=web_actor(bob), user=bob, name="old")
    html = htmx(as_bob, "post", f"/tokens/{token.pk}/revoke/").content.decode()
    assert html.lstrip().startswith('<div id="tokens">') and ">revoked</span>" in html
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_it_refuses_to_revoke_someone_elses_token(as_mallory, bob):
    token, _ = token_create(actor=web_actor(bob), user=bob, name="bobs")
    assert as_mallory.post(f"/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_it_explains_a_bad_expiry(as_bob):
    response = as_bob.post("/tokens/", {"expires_in_days": "0"})
    assert "greater than or equal to 1" in response.content.decode()
    assert not ApiToken.objects.exists()
