"""Finding 3 (a browser session minted a token without the password, even while locked out;
a password change revoked nothing) and finding 4 (tokens never expired by default)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from kms.models import ApiToken, AuditEvent
from kms.services.actor import Actor
from kms.services.tokens import token_authenticate, token_create
from kms.services.users import password_change, user_deactivate
from tests.api.helpers import data, error, post


def session(user, addr: str = "10.6.6.6") -> Client:
    client = Client(REMOTE_ADDR=addr)
    client.force_login(user)
    return client


def live_tokens(user) -> int:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).count()


def test_the_tokens_page_asks_the_password_again(bob):
    client = session(bob)
    refused = client.post("/tokens/", {"name": "x"})
    assert "This field is required" in refused.content.decode()
    wrong = client.post("/tokens/", {"name": "x", "password": "nope"})
    assert "That is not your password." in wrong.content.decode()
    assert not ApiToken.objects.exists()
    assert AuditEvent.objects.filter(action="login", outcome="denied", source="web").exists()
    made = client.post("/tokens/", {"name": "x", "password": "pw-bob"})
    assert made.context["created"]["raw"].startswith("egd_")


def test_the_tokens_page_honours_the_lockout(bob, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = session(bob)
    for _ in range(3):
        client.post("/tokens/", {"password": "nope"})
    locked = client.post("/tokens/", {"name": "x", "password": "pw-bob"})
    assert locked.status_code == 429 and locked["Retry-After"]
    assert not ApiToken.objects.exists()


def test_tokens_expire_by_default(bob, settings):
    settings.EGIDE_TOKEN_TTL_DAYS = 7
    token, _ = token_create(actor=Actor.system(), user=bob)
    assert timedelta(days=6, hours=23) < token.expires_at - timezone.now() <= timedelta(days=7)
    settings.EGIDE_TOKEN_TTL_DAYS = 0  # a setting may choose no default expiry
    assert token_create(actor=Actor.system(), user=bob)[0].expires_at is None


def test_an_api_login_token_expires_by_default(anon, bob):
    created = data(post(anon, "/v1/auth/tokens", {"username": "bob", "password": "pw-bob"}), 201)
    assert created["expires_at"] is not None


def test_the_password_page_says_it_revokes_tokens_and_does(bob):
    _, raw = token_create(actor=Actor.system(), user=bob)
    client = session(bob)
    assert "revokes all your API tokens" in client.get("/account/password/").content.decode()
    new = "a-Long-new-passphrase-9"
    answer = client.post("/account/password/", {"old_password": "pw-bob", "new_password1": new,
                                                 "new_password2": new}, follow=True)  # fmt: skip
    assert "1 API token revoked" in answer.content.decode()
    assert live_tokens(bob) == 0
    with pytest.raises(Exception, match="invalid, expired or revoked"):
        token_authenticate(raw)
    event = AuditEvent.objects.get(action="password_change")
    assert (event.actor_name, event.source, event.client_addr) == ("bob", "web", "10.6.6.6")
    assert client.get("/tokens/").status_code == 200  # still logged in here


def test_changepassword_command_revokes_tokens(bob, monkeypatch):
    token_create(actor=Actor.system(), user=bob)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "a-Long-new-passphrase-9")
    call_command("changepassword", "bob")
    assert live_tokens(bob) == 0
    event = AuditEvent.objects.get(action="password_change")
    assert event.source == "system" and event.details["via"] == "model"


def test_a_password_set_through_the_orm_revokes_tokens(bob):
    token_create(actor=Actor.system(), user=bob)
    bob.set_password("something-else-entirely")
    bob.save()
    assert live_tokens(bob) == 0
    assert AuditEvent.objects.get(action="password_change").details["tokens_revoked"] == 1


def test_a_deactivation_through_the_orm_revokes_tokens(bob):
    token_create(actor=Actor.system(), user=bob)
    bob.is_active = False
    bob.save()
    assert live_tokens(bob) == 0
    assert AuditEvent.objects.get(action="user_deactivate").details["via"] == "model"


def test_saving_a_user_otherwise_revokes_nothing(bob):
    token_create(actor=Actor.system(), user=bob)
    bob.email = "bob@example.com"
    bob.save()
    assert live_tokens(bob) == 1
    assert not AuditEvent.objects.filter(action__in=["password_change", "user_deactivate"]).exists()


def test_the_service_records_one_event_per_change(root, bob):
    token_create(actor=Actor.system(), user=bob)
    revoked = password_change(actor=Actor(user=root, source="web"), user=bob,
                              password="a-Long-new-passphrase-9")  # noqa: S106  # fmt: skip
    assert revoked == 1 and AuditEvent.objects.filter(action="password_change").count() == 1
    user_deactivate(actor=Actor(user=root, source="web"), username="bob")
    assert AuditEvent.objects.filter(action="user_deactivate").count() == 1


def test_deactivation_stops_a_token_at_once_on_the_data_plane(api_root, bob, create_key):
    from guardian.shortcuts import assign_perm

    from tests.api.conftest import client_for
    from tests.api.helpers import b64

    key = create_key("k")
    assign_perm("kms.encrypt_key", bob, key)
    bobs = client_for(bob)
    data(post(bobs, "/v1/kms/encrypt/k", {"plaintext": b64(b"x")}))
    data(post(api_root, "/v1/users/bob/deactivate"))
    error(post(bobs, "/v1/kms/encrypt/k", {"plaintext": b64(b"x")}), 401, "unauthenticated")
