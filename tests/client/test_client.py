"""The client speaks docs/api.md: paths, bodies, base64, envelopes and errors (fake transport)."""

from __future__ import annotations

import base64
import io
import socket

import pytest

from kms.client import (
    RAW_BODY_LIMIT,
    ApprovalPending,
    ConnectionFailed,
    EgideClient,
    EgideError,
    InvalidCiphertext,
    InvalidRequest,
    KeyNotFound,
    NotFound,
    NotLoggedIn,
    PayloadTooLarge,
    PermissionDenied,
    ServerError,
)
from tests.client.fakes import fake_client


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_it_sends_the_token_and_the_client_name():
    client, fake = fake_client(client_name="cli")
    fake.answer(200, {"data": {"name": "k", "type": "aes256"}})
    client.key_info("k")
    sent = fake.sent[0]
    assert (sent.method, sent.path) == ("GET", "/v1/kms/keys/k")
    assert sent.headers["Authorization"] == "Bearer egd_test"
    assert sent.headers["X-Egide-Client"] == "cli"


def test_without_a_client_name_it_sends_no_client_header():
    client, fake = fake_client()
    fake.answer(200, {"data": {}})
    client.key_info("k")
    assert "X-Egide-Client" not in fake.sent[0].headers


def test_without_a_token_it_sends_nothing_and_says_how_to_log_in():
    client, fake = fake_client(token=None)
    with pytest.raises(NotLoggedIn) as caught:
        client.list_tokens()
    assert fake.sent == []
    assert "egide login" in caught.value.message and "EGIDE_TOKEN" in caught.value.message


def test_login_needs_no_token_and_posts_the_credentials():
    client, fake = fake_client(token=None)
    fake.answer(201, {"data": {"token": "egd_x", "id": 1, "prefix": "egd_x", "expires_at": None}})
    answer = client.login("alice", "pw", expires_in=3600)
    assert answer["prefix"] == "egd_x" and "token" in answer
    sent = fake.sent[0]
    assert (sent.method, sent.path) == ("POST", "/v1/auth/tokens")
    assert sent.json() == {"username": "alice", "password": "pw", "expires_in": 3600}
    assert "Authorization" not in sent.headers


def test_create_key_sends_only_the_options_given():
    client, fake = fake_client()
    fake.answer(201, {"data": {"name": "k", "type": "aes256", "current_version": 1}})
    client.create_key("k", "aes256", exportable=True, rotation_period="90d")
    assert fake.sent[0].json() == {"type": "aes256", "exportable": True, "rotation_period": "90d"}


def test_key_names_cannot_escape_their_path_segment():
    client, fake = fake_client()
    fake.answer(200, {"data": {}})
    client.key_info("k?x=1#y")
    assert fake.sent[0].path == "/v1/kms/keys/k%3Fx%3D1%23y"
    for name in ("../auth/tokens", "a/b", "..", ""):
        with pytest.raises(InvalidRequest):
            client.key_info(name)
    assert len(fake.sent) == 1


def test_list_keys_follows_the_cursor_until_the_last_page():
    client, fake = fake_client()
    fake.answer(200, {"data": [{"name": "a"}, {"name": "b"}], "next_cursor": "c2"})
    fake.answer(200, {"data": [{"name": "c"}], "next_cursor": None})
    names = [k["name"] for k in client.list_keys(type="aes256", page_size=2)]
    assert names == ["a", "b", "c"]
    assert fake.sent[0].query == {"type": ["aes256"], "limit": ["2"]}
    assert fake.sent[1].query == {"type": ["aes256"], "limit": ["2"], "cursor": ["c2"]}


def test_encrypt_and_decrypt_take_and_give_bytes():
    client, fake = fake_client()
    fake.answer(200, {"data": {"ciphertext": "egide:v1:AAAA", "key_version": 1}})
    fake.answer(200, {"data": {"plaintext": b64(b"\x00secret\xff")}})
    result = client.encrypt("k", b"\x00secret\xff", context=b"tenant")
    assert (result.ciphertext, result.key_version) == ("egide:v1:AAAA", 1)
    assert fake.sent[0].json() == {"plaintext": b64(b"\x00secret\xff"), "context": b64(b"tenant")}
    assert client.decrypt("k", "egide:v1:AAAA") == b"\x00secret\xff"
    assert fake.sent[1].json() == {"ciphertext": "egide:v1:AAAA"}
    assert fake.sent[1].path == "/v1/kms/decrypt/k"


def test_sign_and_verify():
    client, fake = fake_client()
    fake.answer(200, {"data": {"signature": "egide:v2:c2ln", "key_version": 2}})
    fake.answer(200, {"data": {"valid": False}})
    digest = bytes(32)
    sig = client.sign("k", digest, algorithm="sha256", prehashed=True)
    assert sig.signature == "egide:v2:c2ln" and sig.key_version == 2
    assert fake.sent[0].json() == {"data": b64(digest), "algorithm": "sha256", "prehashed": True}
    assert client.verify("k", b"data", "egide:v2:c2ln") is False


def test_sign_stream_sends_the_raw_body_with_parameters_in_the_query():
    client, fake = fake_client()
    fake.answer(200, {"data": {"signature": "egide:v1:c2ln", "key_version": 1}})
    client.sign_stream("ed", io.BytesIO(b"whole file"), 10, key_version=1)
    sent = fake.sent[0]
    assert sent.body == b"whole file" and sent.query == {"key_version": ["1"]}
    assert sent.headers["Content-Type"] == "application/octet-stream"
    assert sent.headers["Content-Length"] == "10"


def test_a_raw_body_over_the_limit_is_refused_before_sending():
    client, fake = fake_client()
    with pytest.raises(PayloadTooLarge):
        client.verify_stream("ed", io.BytesIO(b""), RAW_BODY_LIMIT + 1, "egide:v1:c2ln")
    assert fake.sent == []


def test_datakey_returns_the_plaintext_key_and_hides_it_from_repr():
    client, fake = fake_client()
    key = bytes(range(32))
    fake.answer(200, {"data": {"plaintext": b64(key), "ciphertext": "egide:v3:d3Jw", "key_version": 3}})
    result = client.datakey("k", context=b"egide-file")
    assert result.plaintext == key and result.key_version == 3
    assert b64(key) not in repr(result) and str(list(key)) not in repr(result)
    assert fake.sent[0].json() == {"context": b64(b"egide-file"), "plaintext": True}


def test_batch_results_keep_each_items_error():
    client, fake = fake_client()
    fake.answer(
        200,
        {
            "data": {
                "batch": [
                    {"plaintext": b64(b"one")},
                    {"error": {"code": "invalid_ciphertext", "message": "bad token"}},
                ]
            }
        },
    )
    results = client.decrypt_batch("k", ["egide:v1:AAAA", "junk"])
    assert results[0] == b"one"
    assert isinstance(results[1], InvalidCiphertext) and results[1].message == "bad token"
    assert fake.sent[0].json() == {"batch": [{"ciphertext": "egide:v1:AAAA"}, {"ciphertext": "junk"}]}


def test_api_errors_become_their_class_with_code_message_and_status():
    client, fake = fake_client()
    fake.answer(
        404,
        {"error": {"code": "key_not_found", "message": "key 'x' not found"}},
        headers={"x-request-id": "r1"},
    )
    fake.answer(403, {"error": {"code": "permission_denied", "message": "no"}})
    fake.answer(400, {"error": {"code": "something_new", "message": "future"}})
    with pytest.raises(KeyNotFound) as caught:
        client.key_info("x")
    assert (caught.value.code, caught.value.status) == ("key_not_found", 404)
    assert caught.value.message == "key 'x' not found" and caught.value.request_id == "r1"
    with pytest.raises(PermissionDenied):
        client.rotate("x")
    with pytest.raises(EgideError) as caught:
        client.rotate("x")
    assert caught.value.code == "something_new"


def test_a_202_with_an_approval_request_raises_approval_pending():
    client, fake = fake_client()
    request = {"id": 7, "key": "k", "action": "delete", "required": 2}
    fake.answer(202, {"data": {"approval_request": request}})
    with pytest.raises(ApprovalPending) as caught:
        client.delete("k")
    assert caught.value.request == request
    assert "request 7" in caught.value.message and caught.value.status == 202


def test_delete_answers_nothing_on_204():
    client, fake = fake_client()
    fake.answer(204)
    assert client.delete("k") is None
    assert fake.sent[0].method == "DELETE"


def test_answers_that_are_not_the_apis_json_are_server_errors():
    client, fake = fake_client()
    fake.answer(500, raw=b"<html>Server Error</html>")
    fake.answer(200, {"unexpected": True})
    with pytest.raises(ServerError) as caught:
        client.key_info("k")
    assert "HTTP 500" in caught.value.message
    with pytest.raises(ServerError):
        client.key_info("k")


def test_an_unknown_path_says_the_server_may_be_another_version():
    client, fake = fake_client()
    fake.answer(404, raw=b"<h1>Not Found</h1>")
    with pytest.raises(NotFound) as caught:
        client.approval(3)
    assert "EGIDE_ADDR" in caught.value.message


def test_approvals_and_grants_use_their_paths():
    client, fake = fake_client()
    for _ in range(4):
        fake.answer(200, {"data": {}})
    fake.answer(200, {"data": [], "next_cursor": None})
    client.approve(7)
    client.cancel(7)
    client.add_grant("k", user="bob", permissions=["encrypt", "decrypt"])
    client.remove_grant("k", group="team", permissions=["sign"])
    list(client.list_approvals(status="pending"))
    assert [(s.method, s.path) for s in fake.sent] == [
        ("POST", "/v1/kms/approvals/7/approve"),
        ("POST", "/v1/kms/approvals/7/cancel"),
        ("POST", "/v1/kms/keys/k/grants"),
        ("DELETE", "/v1/kms/keys/k/grants"),
        ("GET", "/v1/kms/approvals"),
    ]
    assert fake.sent[2].json() == {"user": "bob", "permissions": ["encrypt", "decrypt"]}
    assert fake.sent[3].json() == {"group": "team", "permissions": ["sign"]}
    assert fake.sent[4].query == {"status": ["pending"]}


def test_a_grant_names_exactly_one_user_or_group():
    client, _ = fake_client()
    with pytest.raises(ValueError):
        client.add_grant("k", user="bob", group="team", permissions=["sign"])


def test_export_decodes_the_material():
    client, fake = fake_client()
    fake.answer(
        200,
        {
            "data": {
                "name": "k",
                "type": "aes256",
                "versions": [{"version": 1, "material": b64(b"m" * 32)}],
            }
        },
    )
    assert client.export("k")["versions"][0]["material"] == b"m" * 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_server_is_named_with_how_to_fix_it():
    addr = f"http://127.0.0.1:{free_port()}"
    client = EgideClient(addr, "egd_x", timeout=2)
    with pytest.raises(ConnectionFailed) as caught:
        client.key_info("k")
    message = caught.value.message
    assert addr in message and "make run" in message and "EGIDE_ADDR" in message
    assert caught.value.code == "connection_failed"


def test_a_malformed_address_is_refused_with_a_hint():
    with pytest.raises(ConnectionFailed) as caught:
        EgideClient("127.0.0.1:8200", "egd_x")
    assert "EGIDE_ADDR" in caught.value.message
