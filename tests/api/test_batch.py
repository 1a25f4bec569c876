"""Batches: one result per item, in order, each with its own error; at most 1000 items and 4 MiB."""

from __future__ import annotations

import json

import pytest

from kms.models import AuditEvent
from tests.api.helpers import b64, data, error, post, unb64

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_bob(bob_either_way):
    return bob_either_way


def batch(client, operation: str, items: list, name: str = "payments") -> list:
    return data(post(client, f"/v1/kms/{operation}/{name}", {"batch": items}))["batch"]


def codes(results: list) -> list:
    return [r["error"]["code"] if "error" in r else None for r in results]


def test_a_batch_encrypts_and_decrypts_in_order(api_bob, payments):
    plain = [f"item {i}".encode() for i in range(5)]
    sealed = batch(api_bob, "encrypt", [{"plaintext": b64(p), "context": b64(b"c")} for p in plain])
    assert [set(r) for r in sealed] == [{"ciphertext", "key_version"}] * 5
    opened = batch(api_bob, "decrypt", [{"ciphertext": r["ciphertext"], "context": b64(b"c")} for r in sealed])
    assert [unb64(r["plaintext"]) for r in opened] == plain


def test_each_item_carries_its_own_error(api_bob, payments):
    good = batch(api_bob, "encrypt", [{"plaintext": b64(b"ok")}])[0]["ciphertext"]
    results = batch(api_bob, "decrypt", [
        {"ciphertext": good},
        {"ciphertext": "egide:v1:AAAA"},
        {"ciphertext": good, "context": "!!"},
        {"ciphertext": good, "mode": "x"},
        "not an object",
        {"ciphertext": good, "context": b64(b"wrong")},
        {"ciphertext": good},
    ])  # fmt: skip
    assert codes(results) == [
        None, "invalid_ciphertext", "invalid_request", "invalid_request", "invalid_request",
        "invalid_ciphertext", None,
    ]  # fmt: skip
    for failed in results[1:6]:
        assert set(failed) == {"error"} and set(failed["error"]) == {"code", "message"}
    assert unb64(results[6]["plaintext"]) == b"ok"


def test_an_encrypt_batch_refuses_a_bad_item_and_encrypts_the_rest(api_bob, payments):
    results = batch(api_bob, "encrypt", [{"plaintext": b64(b"a")}, {"plaintext": "%"}, {"plaintext": b64(b"c")}])
    assert codes(results) == [None, "invalid_request", None]


def test_a_batch_is_one_audit_event_with_its_counts(api_bob, payments):
    batch(api_bob, "encrypt", [{"plaintext": b64(b"a")}, {"plaintext": "%"}])
    event = AuditEvent.objects.filter(action="encrypt").latest("seq")
    assert event.details["items"] == 2 and event.details["failed"] == 1


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ed25519", "rsa2048"])
def test_a_batch_signs_and_verifies(api_bob, create_key, key_type):
    create_key("signer", key_type)
    messages = [b"one", b"two", b"three"]
    signed = batch(api_bob, "sign", [{"data": b64(m)} for m in messages], name="signer")
    assert codes(signed) == [None, None, None]
    checks = [{"data": b64(m), "signature": s["signature"]} for m, s in zip(messages, signed, strict=True)]
    checks.append({"data": b64(b"four"), "signature": signed[0]["signature"]})
    checks.append({"data": b64(b"five"), "signature": "garbage"})
    results = batch(api_bob, "verify", checks, name="signer")
    assert results[:4] == [{"valid": True}, {"valid": True}, {"valid": True}, {"valid": False}]
    assert codes(results)[4] == "invalid_signature"


def test_a_sign_batch_refuses_a_parameter_per_item(api_bob, create_key):
    create_key("signer", "ed25519")
    results = batch(api_bob, "sign", [{"data": b64(b"a")}, {"data": b64(b"b"), "algorithm": "sha256"}],
                    name="signer")  # fmt: skip
    assert codes(results) == [None, "invalid_request"]


def test_a_batch_of_1000_items_is_accepted(api_bob, payments):
    results = batch(api_bob, "encrypt", [{"plaintext": b64(b"x")}] * 1000)
    assert len(results) == 1000 and codes(results) == [None] * 1000


def test_a_batch_of_1001_items_is_refused(api_bob, payments):
    body = {"batch": [{"plaintext": b64(b"x")}] * 1001}
    assert "1000" in error(post(api_bob, "/v1/kms/encrypt/payments", body), 400, "invalid_request")


def test_a_batch_over_4_mib_is_too_large(api_bob, payments):
    item = {"plaintext": b64(b"x" * 600_000)}
    body = json.dumps({"batch": [item] * 6})
    response = api_bob.post("/v1/kms/encrypt/payments", body, content_type="application/json")
    error(response, 413, "payload_too_large")


def test_an_item_over_1_mib_fails_alone(api_bob, payments):
    results = batch(api_bob, "encrypt", [{"plaintext": b64(b"x" * (1024 * 1024 + 1))}, {"plaintext": b64(b"y")}])
    assert codes(results) == ["invalid_request", None]


@pytest.mark.parametrize("body", [
    {"batch": []},
    {"batch": {"plaintext": "QQ=="}},
    {"batch": "QQ=="},
    {"batch": None},
    {"batch": [{"plaintext": "QQ=="}], "plaintext": "QQ=="},
    {"batch": [{"plaintext": "QQ=="}], "key_version": 1},
])  # fmt: skip
def test_a_malformed_batch_is_refused_whole(api_bob, payments, body):
    error(post(api_bob, "/v1/kms/encrypt/payments", body), 400, "invalid_request")


def test_a_whole_batch_fails_on_the_key(api_bob, api_mallory, payments):
    error(
        post(api_bob, "/v1/kms/encrypt/nope", {"batch": [{"plaintext": "QQ=="}]}),
        404,
        "key_not_found",
    )
    error(
        post(api_mallory, "/v1/kms/encrypt/payments", {"batch": [{"plaintext": "QQ=="}]}),
        404,
        "key_not_found",
    )


@pytest.mark.parametrize("operation", ["datakey", "rewrap"])
def test_datakey_and_rewrap_take_no_batch(api_bob, payments, operation):
    error(post(api_bob, f"/v1/kms/{operation}/payments", {"batch": [{}]}), 400, "invalid_request")
