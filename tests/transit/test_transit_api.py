"""The Transit dialect through Django's test client: namespaces, formats, errors, audit, rules."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kms.models import AuditEvent, Key
from tests.transit.conftest import Vault, b64

pytestmark = pytest.mark.django_db


def test_default_mount_is_the_native_key_space(vault, client, root):
    assert vault.write("transit/keys/shared")[0] == 200
    status, body = vault.write("transit/encrypt/shared", {"plaintext": b64("x")})
    assert status == 200 and body["data"]["ciphertext"].startswith("vault:v1:")
    native = client.post("/v1/kms/encrypt/shared", {"plaintext": b64("y")}, content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {root}")  # fmt: skip
    assert native.status_code == 200 and native.json()["data"]["ciphertext"].startswith("egide:v1:")
    # The prefix says which format: Transit's decrypt opens Egide's own ciphertexts too.
    status, body = vault.write("transit/decrypt/shared", {"ciphertext": native.json()["data"]["ciphertext"]})
    assert status == 200 and body["data"]["plaintext"] == b64("y")


def test_another_mount_is_its_own_namespace_and_disabling_archives_it(vault, client, root):
    assert vault.write("sys/mounts/team-a", {"type": "transit", "description": None, "config": {}})[0] == 204
    assert vault.write("transit/keys/k")[0] == 200
    assert vault.write("team-a/keys/k", {"type": "ed25519"})[0] == 200
    assert Key.objects.filter(name="k").count() == 2
    assert vault.read("team-a/keys/k")[1]["data"]["type"] == "ed25519"
    assert vault.read("transit/keys/k")[1]["data"]["type"] == "aes256-gcm96"
    assert vault.call("LIST", "team-a/keys")[1]["data"]["keys"] == ["k"]
    assert vault.read("team-a/keys?list=true")[1]["data"]["keys"] == ["k"]
    native = client.get("/v1/kms/keys", HTTP_AUTHORIZATION=f"Bearer {root}").json()
    assert [k["name"] for k in native["data"]] == ["k"]  # the native space only
    status, body = vault.write("team-a/sign/k", {"input": b64("m")})
    assert status == 200
    event = AuditEvent.objects.filter(action="sign").latest("seq")
    assert event.source == "transit" and event.key_name == "team-a/k" and event.details.get("superuser") is True
    assert "team-a/" in vault.read("sys/mounts")[1]["data"]
    assert vault.call("DELETE", "sys/mounts/team-a")[0] == 204
    assert vault.write("team-a/sign/k", {"input": b64("m")})[0] == 404  # no such mount any more
    assert vault.write("sys/mounts/team-a", {"type": "transit"})[0] == 204
    assert vault.read("team-a/keys/k")[0] == 404  # a new, empty namespace
    assert Key.objects.filter(name="k").count() == 2  # nothing destroyed


def test_native_paths_cannot_be_mounts_and_options_are_checked(vault):
    for path in ("kms", "auth", "health", "schema", "docs", "users", "transit"):
        assert vault.write(f"sys/mounts/{path}", {"type": "transit"})[0] == 400
    status, body = vault.write("sys/mounts/x", {"type": "kv"})
    assert status == 400 and "transit" in body["errors"][0]
    status, body = vault.write("sys/mounts/x", {"type": "transit", "seal_wrap": True})
    assert status == 400 and "seal_wrap" in body["errors"][0]
    status, body = vault.write("transit/keys/d", {"derived": True})
    assert status == 400 and "derived is not supported" in body["errors"][0]


def test_aes_ciphertext_is_transits_exact_format(vault):
    vault.write("transit/keys/fmt", {"exportable": True})
    ad = b"row 42"
    ct = vault.write("transit/encrypt/fmt", {"plaintext": b64("secret"), "associated_data": b64(ad)})[1]["data"]
    key = base64.b64decode(vault.read("transit/export/encryption-key/fmt/1")[1]["data"]["keys"]["1"])
    blob = base64.b64decode(ct["ciphertext"].removeprefix("vault:v1:"))
    assert AESGCM(key).decrypt(blob[:12], blob[12:], ad) == b"secret"
    nonce = b"\x01" * 12
    made = "vault:v1:" + base64.b64encode(nonce + AESGCM(key).encrypt(nonce, b"outside", None)).decode()
    assert vault.write("transit/decrypt/fmt", {"ciphertext": made})[1]["data"]["plaintext"] == b64("outside")


def test_batch_results_and_item_errors(vault):
    vault.write("transit/keys/b")
    status, body = vault.write("transit/encrypt/b", {"batch_input": [{"plaintext": b64("1")}, {"plaintext": b64("2")}]})
    assert status == 200 and len(body["data"]["batch_results"]) == 2
    cts = [{"ciphertext": r["ciphertext"]} for r in body["data"]["batch_results"]]
    status, body = vault.write("transit/decrypt/b", {"batch_input": [*cts, {"ciphertext": "vault:v1:AAAA"}]})
    assert status == 400
    results = body["data"]["batch_results"]
    assert [r.get("plaintext") for r in results[:2]] == [b64("1"), b64("2")] and "error" in results[2]


def test_errors_in_transits_shape(client, vault, django_user_model):
    anonymous = Vault(client, "")
    status, body = anonymous.write("transit/encrypt/none", {"plaintext": b64("x")})
    assert status == 403 and "errors" in body
    assert vault.read("transit/keys/missing")[0] == 404
    status, body = vault.write("transit/decrypt/missing", {"ciphertext": "vault:v1:AAAA"})
    assert status == 400 and body["errors"]


def test_a_gated_action_names_its_approval_request(client, django_user_model):
    from django.contrib.auth.models import Group

    from kms.services.actor import Actor
    from kms.services.tokens import token_create
    from tests.conftest import make_user

    admin = make_user(django_user_model, "keyadmin", "kms-admin")
    assert Group.objects.filter(name="kms-admin").exists()
    _t, raw = token_create(actor=Actor(user=admin, source="api", auth_method="session"), user=admin, name="t")
    user_vault = Vault(client, raw)
    assert user_vault.write("transit/keys/guarded")[0] == 200
    Key.objects.filter(name="guarded").update(approvals_required=1)
    status, body = user_vault.call("DELETE", "transit/keys/guarded")
    assert status == 403, body
    assert "approval request #" in body["errors"][0] and "egide kms approvals approve" in body["errors"][0]
    assert Key.objects.get(name="guarded").state == "active"
