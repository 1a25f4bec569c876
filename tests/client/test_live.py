"""The client against the real API: every endpoint family, answers and errors."""

from __future__ import annotations

import hashlib
import io

import pytest

from kms.client import (
    ApprovalPending,
    Ciphertext,
    EgideClient,
    InvalidCiphertext,
    InvalidRequest,
    KeyExists,
    KeyNotFound,
    KeyVersionUnavailable,
    OperationNotAllowed,
    Unauthenticated,
)
from kms.services.actor import Actor
from kms.services.tokens import token_create


def test_keys_are_created_listed_page_by_page_and_read(client):
    for n in range(5):
        client.create_key(f"k{n}", "aes256", description=f"key {n}")
    with pytest.raises(KeyExists):
        client.create_key("k0", "aes256")
    assert [k["name"] for k in client.list_keys(page_size=2)] == [f"k{n}" for n in range(5)]
    assert [k["name"] for k in client.list_keys(name_prefix="k3")] == ["k3"]
    info = client.key_info("k1")
    assert (info["description"], info["current_version"], info["status"]) == ("key 1", 1, "active")
    with pytest.raises(KeyNotFound) as caught:
        client.key_info("absent")
    assert caught.value.status == 404


def test_encrypt_decrypt_rewrap_and_batches(client):
    client.create_key("k", "aes256")
    token = client.encrypt("k", b"\x00\xffbytes", context=b"ctx")
    assert isinstance(token, Ciphertext) and token.key_version == 1
    assert client.decrypt("k", token.ciphertext, context=b"ctx") == b"\x00\xffbytes"
    with pytest.raises(InvalidCiphertext):
        client.decrypt("k", token.ciphertext, context=b"other")
    assert client.rotate("k") == {"name": "k", "new_version": 2}
    rewrapped = client.rewrap("k", token.ciphertext, context=b"ctx")
    assert rewrapped.key_version == 2
    assert client.decrypt("k", rewrapped.ciphertext, context=b"ctx") == b"\x00\xffbytes"
    tokens = client.encrypt_batch("k", [b"a", b"b"])
    results = client.decrypt_batch("k", [tokens[0].ciphertext, "egide:v1:AAAA", tokens[1].ciphertext])
    assert results[0] == b"a" and results[2] == b"b"
    assert isinstance(results[1], InvalidCiphertext)


def test_versions_can_be_disabled_and_enabled(client):
    client.create_key("k", "aes256")
    old = client.encrypt("k", b"x").ciphertext
    client.rotate("k")
    assert client.disable_version("k", 1) == {"version": 1, "status": "disabled"}
    with pytest.raises(KeyVersionUnavailable):
        client.decrypt("k", old)
    client.enable_version("k", 1)
    assert client.decrypt("k", old) == b"x"


def test_datakeys_with_and_without_plaintext(client):
    client.create_key("k", "aes256")
    key = client.datakey("k", context=b"egide-file")
    assert len(key.plaintext) == 32
    assert client.decrypt("k", key.ciphertext, context=b"egide-file") == key.plaintext
    assert client.datakey("k", plaintext=False).plaintext is None


def test_sign_verify_prehashed_and_raw_bodies(client):
    client.create_key("rsa", "rsa2048")
    client.create_key("ed", "ed25519")
    digest = hashlib.sha256(b"document").digest()
    sig = client.sign("rsa", digest, algorithm="sha256", prehashed=True)
    assert client.verify("rsa", b"document", sig.signature)
    assert not client.verify("rsa", b"documenT", sig.signature)
    raw = client.sign_stream("ed", io.BytesIO(b"document"), 8)
    assert client.verify("ed", b"document", raw.signature)
    assert client.verify_stream("ed", io.BytesIO(b"document"), 8, raw.signature)
    assert client.sign_batch("ed", [b"a", b"b"])[1].key_version == 1
    with pytest.raises(InvalidRequest, match="no prehashed form"):
        client.sign("ed", digest, prehashed=True)
    client.create_key("aes", "aes256")
    with pytest.raises(OperationNotAllowed):
        client.sign("aes", b"data")


def test_public_key_and_export(client):
    client.create_key("rsa", "rsa2048")
    client.create_key("secret", "aes256", exportable=True)
    assert client.public_key("rsa")["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    exported = client.export("secret")
    assert exported["type"] == "aes256" and len(exported["versions"][0]["material"]) == 32


def test_lifecycle_and_approvals(client, alice, live_server):
    client.create_key("k", "aes256")
    assert client.disable("k")["status"] == "disabled"
    assert client.enable("k")["status"] == "active"
    assert client.delete("k") is None
    assert client.restore("k")["status"] == "active"
    client.create_key("guarded", "aes256", approvals_required=1)
    # A key administrator waits for approvers (the superuser would act alone: break-glass).
    _, raw = token_create(actor=Actor.system(), user=alice)
    admin = EgideClient(live_server.url, raw)
    with pytest.raises(ApprovalPending) as caught:
        admin.delete("guarded")
    request = caught.value.request
    assert (request["action"], request["key"], request["status"]) == (
        "delete",
        "guarded",
        "pending",
    )
    assert client.approval(request["id"])["id"] == request["id"]
    assert [r["id"] for r in client.list_approvals(key="guarded")] == [request["id"]]
    assert admin.cancel(request["id"])["status"] == "cancelled"


def test_grants(client, mallory):
    client.create_key("k", "aes256")
    client.add_grant("k", user="mallory", permissions=["encrypt"])
    mine = [g for g in client.list_grants("k") if g.get("user") == "mallory"]
    assert mine and "encrypt" in mine[0]["permissions"] and mine[0]["through"] == "direct"
    client.remove_grant("k", user="mallory", permissions=["encrypt"])
    assert not any("encrypt" in g["permissions"] for g in client.list_grants("k") if g.get("user") == "mallory")


def test_export_is_a_post(client):
    client.create_key("portable", "aes256", exportable=True)
    exported = client.export("portable")
    assert exported["versions"][0]["version"] == 1 and isinstance(exported["versions"][0]["material"], bytes)


def test_tokens_log_in_list_and_revoke(client, live_server):
    from kms.client import EgideClient

    created = EgideClient(live_server.url, None).login("root", "pw-root", name="second")
    other = EgideClient(live_server.url, created["token"])
    assert any(t["id"] == created["id"] for t in other.list_tokens())
    client.revoke_token(created["id"])
    with pytest.raises(Unauthenticated):
        other.list_tokens()
