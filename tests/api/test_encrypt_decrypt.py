"""Encrypt, decrypt, datakey and rewrap over the API (single items; batches in test_batch)."""

from __future__ import annotations

import base64

import pytest

from tests.api.helpers import b64, data, error, post, unb64

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_bob(bob_either_way):
    return bob_either_way


def encrypt(client, plaintext: bytes = b"card 4242", name: str = "payments", **fields) -> dict:
    return data(post(client, f"/v1/kms/encrypt/{name}", {"plaintext": b64(plaintext), **fields}))


def decrypt(client, ciphertext: str, name: str = "payments", **fields):
    return post(client, f"/v1/kms/decrypt/{name}", {"ciphertext": ciphertext, **fields})


def tamper(token: str) -> str:
    prefix, _, blob = token.rpartition(":")
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 1
    return f"{prefix}:{base64.b64encode(bytes(raw)).decode()}"


def test_a_plaintext_comes_back_from_its_ciphertext(api_bob, payments):
    sealed = encrypt(api_bob)
    assert sealed["key_version"] == 1 and sealed["ciphertext"].startswith("egide:v1:")
    assert unb64(data(decrypt(api_bob, sealed["ciphertext"]))["plaintext"]) == b"card 4242"


def test_an_empty_plaintext_round_trips(api_bob, payments):
    sealed = encrypt(api_bob, b"")
    assert data(decrypt(api_bob, sealed["ciphertext"]))["plaintext"] == ""


def test_the_context_must_match(api_bob, payments):
    sealed = encrypt(api_bob, context=b64(b"user=7"))
    assert unb64(data(decrypt(api_bob, sealed["ciphertext"], context=b64(b"user=7")))["plaintext"]) == b"card 4242"
    error(decrypt(api_bob, sealed["ciphertext"], context=b64(b"user=8")), 400, "invalid_ciphertext")
    error(decrypt(api_bob, sealed["ciphertext"]), 400, "invalid_ciphertext")


def test_a_tampered_ciphertext_is_refused(api_bob, payments):
    sealed = encrypt(api_bob)
    error(decrypt(api_bob, tamper(sealed["ciphertext"])), 400, "invalid_ciphertext")


@pytest.mark.parametrize("token", [
    "garbage", "egide:v1:", "egide:vX:AAAA", "egide:v1:not base64!", "egide:v1:AAAA",
    "egide:v99:" + "A" * 40, "other:v1:" + "A" * 40,
])  # fmt: skip
def test_a_malformed_ciphertext_is_refused(api_bob, payments, token):
    error(decrypt(api_bob, token), 400, "invalid_ciphertext")


def test_an_empty_ciphertext_is_refused_as_blank(api_bob, payments):
    assert "ciphertext" in error(decrypt(api_bob, ""), 400, "invalid_request")


def test_a_ciphertext_of_another_key_is_refused(api_bob, payments, create_key):
    create_key("other", "aes256")
    sealed = encrypt(api_bob, name="other")
    error(decrypt(api_bob, sealed["ciphertext"]), 400, "invalid_ciphertext")


@pytest.mark.parametrize("plaintext", ["not base64!", "QUJD", "QUJDRA", 7, None, ["QQ=="]])
def test_a_plaintext_that_is_not_padded_base64_is_refused(api_bob, payments, plaintext):
    if plaintext == "QUJD":  # valid base64: the control case
        data(post(api_bob, "/v1/kms/encrypt/payments", {"plaintext": plaintext}))
        return
    message = error(post(api_bob, "/v1/kms/encrypt/payments", {"plaintext": plaintext}), 400, "invalid_request")
    assert "plaintext" in message


def test_a_missing_plaintext_is_refused(api_bob, payments):
    assert "plaintext" in error(post(api_bob, "/v1/kms/encrypt/payments", {}), 400, "invalid_request")


def test_an_unknown_field_is_refused(api_bob, payments):
    body = {"plaintext": b64(b"x"), "mode": "ecb"}
    assert "mode" in error(post(api_bob, "/v1/kms/encrypt/payments", body), 400, "invalid_request")


def test_rsa_encrypts_with_oaep_and_takes_no_context(api_bob, create_key):
    create_key("rsa", "rsa2048")
    sealed = encrypt(api_bob, b"small secret", name="rsa")
    assert unb64(data(decrypt(api_bob, sealed["ciphertext"], name="rsa"))["plaintext"]) == b"small secret"
    body = {"plaintext": b64(b"x"), "context": b64(b"ctx")}
    assert "context" in error(post(api_bob, "/v1/kms/encrypt/rsa", body), 400, "invalid_request")
    error(
        decrypt(api_bob, sealed["ciphertext"], name="rsa", context=b64(b"ctx")),
        400,
        "invalid_request",
    )


def test_rsa_states_its_plaintext_limit(api_bob, create_key):
    create_key("rsa", "rsa2048")
    message = error(post(api_bob, "/v1/kms/encrypt/rsa", {"plaintext": b64(b"x" * 191)}), 400, "invalid_request")
    assert "190" in message


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ed25519"])
def test_a_signing_key_does_not_encrypt(api_bob, create_key, key_type):
    create_key("signer", key_type)
    error(
        post(api_bob, "/v1/kms/encrypt/signer", {"plaintext": b64(b"x")}),
        400,
        "operation_not_allowed",
    )
    error(decrypt(api_bob, "egide:v1:AAAA", name="signer"), 400, "operation_not_allowed")
    error(post(api_bob, "/v1/kms/datakey/signer", {}), 400, "operation_not_allowed")


def test_an_unknown_key_is_not_found(api_bob):
    error(post(api_bob, "/v1/kms/encrypt/nope", {"plaintext": b64(b"x")}), 404, "key_not_found")


def test_an_outsider_gets_not_found_and_an_admin_permission_denied(api_alice, api_mallory, payments):
    error(
        post(api_mallory, "/v1/kms/encrypt/payments", {"plaintext": b64(b"x")}),
        404,
        "key_not_found",
    )
    error(
        post(api_alice, "/v1/kms/encrypt/payments", {"plaintext": b64(b"x")}),
        403,
        "permission_denied",
    )


def test_a_disabled_key_does_nothing(api_alice, api_bob, payments):
    sealed = encrypt(api_bob)
    data(post(api_alice, "/v1/kms/keys/payments/disable"))
    error(post(api_bob, "/v1/kms/encrypt/payments", {"plaintext": b64(b"x")}), 409, "key_disabled")
    error(decrypt(api_bob, sealed["ciphertext"]), 409, "key_disabled")


def test_an_older_version_decrypts_until_retired(api_alice, api_bob, payments):
    old = encrypt(api_bob)["ciphertext"]
    post(api_alice, "/v1/kms/keys/payments/rotate")
    assert encrypt(api_bob)["key_version"] == 2
    data(decrypt(api_bob, old))
    data(api_alice.patch("/v1/kms/keys/payments", {"min_decryption_version": 2}, format="json"))
    error(decrypt(api_bob, old), 409, "key_version_unavailable")


def test_an_older_version_encrypts_only_when_allowed(api_alice, api_bob, payments):
    post(api_alice, "/v1/kms/keys/payments/rotate")
    error(post(api_bob, "/v1/kms/encrypt/payments", {"plaintext": b64(b"x"), "key_version": 1}),
          409, "key_version_unavailable")  # fmt: skip
    data(api_alice.patch("/v1/kms/keys/payments", {"min_encryption_version": 1}, format="json"))
    assert encrypt(api_bob, key_version=1)["key_version"] == 1
    error(post(api_bob, "/v1/kms/encrypt/payments", {"plaintext": b64(b"x"), "key_version": 3}),
          400, "invalid_request")  # fmt: skip


def test_a_data_key_comes_in_plaintext_and_wrapped(api_bob, payments):
    dk = data(post(api_bob, "/v1/kms/datakey/payments", {"context": b64(b"file=1")}))
    assert len(unb64(dk["plaintext"])) == 32 and dk["key_version"] == 1
    opened = data(decrypt(api_bob, dk["ciphertext"], context=b64(b"file=1")))
    assert opened["plaintext"] == dk["plaintext"]


def test_a_data_key_without_its_plaintext(api_bob, payments):
    dk = data(post(api_bob, "/v1/kms/datakey/payments", {"plaintext": False}))
    assert dk["plaintext"] is None and dk["ciphertext"].startswith("egide:v1:")


def test_rewrap_moves_a_ciphertext_to_the_current_version(api_alice, api_bob, payments):
    old = encrypt(api_bob, context=b64(b"c"))["ciphertext"]
    post(api_alice, "/v1/kms/keys/payments/rotate")
    new = data(post(api_bob, "/v1/kms/rewrap/payments", {"ciphertext": old, "context": b64(b"c")}))
    assert new["key_version"] == 2 and new["ciphertext"].startswith("egide:v2:")
    assert set(new) == {"ciphertext", "key_version"}
    assert unb64(data(decrypt(api_bob, new["ciphertext"], context=b64(b"c")))["plaintext"]) == b"card 4242"
    error(post(api_bob, "/v1/kms/rewrap/payments", {"ciphertext": tamper(old), "context": b64(b"c")}),
          400, "invalid_ciphertext")  # fmt: skip


def test_use_counts_appear_in_the_key_info(api_bob, payments):
    sealed = encrypt(api_bob)
    data(decrypt(api_bob, sealed["ciphertext"]))
    version = data(api_bob.get("/v1/kms/keys/payments"))["versions"][0]
    assert (version["encrypt_count"], version["decrypt_count"]) == (1, 1)
