"""Sign and verify over the API: every signing type, its parameters, the raw-body form."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from tests.api.helpers import b64, data, error, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_bob(bob_either_way):
    return bob_either_way


SIGNING_TYPES = ["rsa2048", "ecdsa-p256", "ecdsa-p384", "ed25519"]


def sign(client, name: str = "signer", payload: bytes = b"release 1.0", **fields):
    return post(client, f"/v1/kms/sign/{name}", {"data": b64(payload), **fields})


def verify(client, signature: str, name: str = "signer", payload: bytes = b"release 1.0", **fields):
    return post(client, f"/v1/kms/verify/{name}", {"data": b64(payload), "signature": signature, **fields})


def raw_signature(token: str) -> bytes:
    return base64.b64decode(token.rpartition(":")[2])


@pytest.mark.parametrize("key_type", SIGNING_TYPES)
def test_a_signature_verifies_and_a_changed_message_does_not(api_bob, create_key, key_type):
    create_key("signer", key_type)
    signed = data(sign(api_bob))
    assert signed["key_version"] == 1 and signed["signature"].startswith("egide:v1:")
    assert data(verify(api_bob, signed["signature"])) == {"valid": True}
    assert data(verify(api_bob, signed["signature"], payload=b"release 1.1")) == {"valid": False}


def test_an_ecdsa_signature_verifies_with_the_public_key_alone(api_bob, create_key):
    create_key("signer", "ecdsa-p256")
    signature = raw_signature(data(sign(api_bob))["signature"])
    pem = data(api_bob.get("/v1/kms/keys/signer/public"))["public_key"]
    load_pem_public_key(pem.encode()).verify(signature, b"release 1.0", ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize(("algorithm", "pad"), [("sha256", "pss"), ("sha384", "pkcs1v15"), ("sha512", None)])
def test_rsa_takes_a_hash_and_a_padding(api_bob, create_key, algorithm, pad):
    create_key("signer", "rsa2048")
    fields = {"algorithm": algorithm, **({"padding": pad} if pad else {})}
    signed = data(sign(api_bob, **fields))
    assert data(verify(api_bob, signed["signature"], **fields)) == {"valid": True}
    if pad == "pkcs1v15":
        pem = data(api_bob.get("/v1/kms/keys/signer/public"))["public_key"]
        load_pem_public_key(pem.encode()).verify(
            raw_signature(signed["signature"]), b"release 1.0", padding.PKCS1v15(), hashes.SHA384()
        )


def test_a_prehashed_digest_signs_like_the_data(api_bob, create_key):
    create_key("signer", "ecdsa-p256")
    digest = hashlib.sha256(b"release 1.0").digest()
    signed = data(sign(api_bob, payload=digest, prehashed=True))
    assert data(verify(api_bob, signed["signature"])) == {"valid": True}
    error(sign(api_bob, payload=b"short", prehashed=True), 400, "invalid_request")


@pytest.mark.parametrize(("key_type", "fields", "word"), [
    ("ed25519", {"algorithm": "sha256"}, "hash"),
    ("ed25519", {"padding": "pss"}, "padding"),
    ("ecdsa-p256", {"padding": "pss"}, "padding"),
    ("ecdsa-p256", {"algorithm": "sha384"}, "sha256"),
    ("ecdsa-p384", {"algorithm": "sha256"}, "sha384"),
    ("rsa2048", {"algorithm": "md5"}, "sha256"),
    ("rsa2048", {"padding": "none"}, "pss"),
])  # fmt: skip
def test_a_parameter_that_does_not_apply_is_refused(api_bob, create_key, key_type, fields, word):
    create_key("signer", key_type)
    assert word in error(sign(api_bob, **fields), 400, "invalid_request")
    signature = data(sign(api_bob))["signature"]
    error(verify(api_bob, signature, **fields), 400, "invalid_request")


def test_ed25519_has_no_prehashed_form(api_bob, create_key):
    create_key("signer", "ed25519")
    error(sign(api_bob, payload=hashlib.sha256(b"x").digest(), prehashed=True), 400, "invalid_request")


@pytest.mark.parametrize("key_type", ["aes256"])
def test_an_encryption_key_does_not_sign(api_bob, create_key, key_type):
    create_key("signer", key_type)
    error(sign(api_bob), 400, "operation_not_allowed")
    error(verify(api_bob, "egide:v1:AAAA"), 400, "operation_not_allowed")


@pytest.mark.parametrize("token", ["garbage", "egide:v1:", "egide:vx:AAAA", "egide:v1:%%%", "egide:v9:" + "A" * 88])
def test_a_malformed_signature_is_refused(api_bob, create_key, token):
    create_key("signer", "ed25519")
    code = error(verify(api_bob, token), 400, "invalid_signature")
    assert code


def test_a_signature_by_another_key_is_not_valid(api_bob, create_key):
    create_key("signer", "ed25519")
    create_key("other", "ed25519")
    foreign = data(sign(api_bob, name="other"))["signature"]
    assert data(verify(api_bob, foreign)) == {"valid": False}


def test_a_missing_signature_is_refused(api_bob, create_key):
    create_key("signer", "ed25519")
    assert "signature" in error(post(api_bob, "/v1/kms/verify/signer", {"data": b64(b"x")}), 400, "invalid_request")


def test_an_unknown_field_is_refused(api_bob, create_key):
    create_key("signer", "ed25519")
    error(sign(api_bob, salt_length=32), 400, "invalid_request")


def test_a_raw_body_signs_a_whole_file(api_bob, create_key):
    create_key("signer", "ed25519")
    raw = api_bob.post("/v1/kms/sign/signer", b"file contents" * 1000, content_type="application/octet-stream")
    signature = data(raw)["signature"]
    assert data(verify(api_bob, signature, payload=b"file contents" * 1000)) == {"valid": True}
    checked = api_bob.post(f"/v1/kms/verify/signer?{urlencode({'signature': signature})}", b"file contents" * 1000,
                           content_type="application/octet-stream")  # fmt: skip
    assert data(checked) == {"valid": True}


def test_a_raw_body_takes_its_other_fields_from_the_query(api_bob, create_key):
    create_key("signer", "rsa2048")
    raw = api_bob.post("/v1/kms/sign/signer?algorithm=sha512&padding=pkcs1v15", b"file",
                       content_type="application/octet-stream")  # fmt: skip
    signature = data(raw)["signature"]
    assert data(verify(api_bob, signature, payload=b"file", algorithm="sha512", padding="pkcs1v15"))["valid"]
    error(api_bob.post("/v1/kms/sign/signer?colour=red", b"file", content_type="application/octet-stream"),
          400, "invalid_request")  # fmt: skip
    error(api_bob.post("/v1/kms/sign/signer?key_version=x", b"file", content_type="application/octet-stream"),
          400, "invalid_request")  # fmt: skip


def test_query_parameters_are_refused_with_a_json_body(api_bob, create_key):
    create_key("signer", "ed25519")
    error(
        post(api_bob, "/v1/kms/sign/signer?algorithm=sha256", {"data": b64(b"x")}),
        400,
        "invalid_request",
    )


def test_a_raw_verify_needs_the_signature(api_bob, create_key):
    create_key("signer", "ed25519")
    error(api_bob.post("/v1/kms/verify/signer", b"file", content_type="application/octet-stream"),
          400, "invalid_request")  # fmt: skip


def test_a_raw_body_over_16_mib_is_refused(api_bob, create_key):
    create_key("signer", "ed25519")
    big = b"x" * (16 * 1024 * 1024 + 1)
    error(api_bob.post("/v1/kms/sign/signer", big, content_type="application/octet-stream"),
          413, "payload_too_large")  # fmt: skip


def test_signing_needs_the_sign_permission(api_alice, api_mallory, create_key):
    create_key("signer", "ed25519")
    error(sign(api_alice), 403, "permission_denied")
    error(sign(api_mallory), 404, "key_not_found")


def test_a_retired_version_no_longer_verifies(api_alice, api_bob, create_key):
    create_key("signer", "ed25519")
    old = data(sign(api_bob))["signature"]
    post(api_alice, "/v1/kms/keys/signer/rotate")
    assert data(sign(api_bob))["key_version"] == 2
    assert data(verify(api_bob, old))["valid"] is True
    data(api_alice.patch("/v1/kms/keys/signer", {"min_decryption_version": 2}, format="json"))
    error(verify(api_bob, old), 409, "key_version_unavailable")
