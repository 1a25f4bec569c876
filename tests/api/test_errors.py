"""Bad requests of every kind get a clear 4xx in the one error shape; every answer has a request id."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from kms.models import AuditEvent
from tests.api.helpers import b64, data, error, post

pytestmark = pytest.mark.django_db


def raw_post(client, path: str, body: bytes | str, content_type: str = "application/json"):
    return client.post(path, body, content_type=content_type)


@pytest.mark.parametrize("body", ['{"plaintext": ', "{'plaintext': 'QQ=='}", "\xff", "[1, 2", '{"a": 1} x'])
def test_malformed_json_is_refused(api_bob, payments, body):
    assert "malformed" in error(raw_post(api_bob, "/v1/kms/encrypt/payments", body), 400, "invalid_request")


@pytest.mark.parametrize("body", ["[]", '"QQ=="', "null", "5", "NaN", '[{"plaintext": "QQ=="}]', '{"plaintext": NaN}'])
def test_a_body_that_is_not_an_object_is_refused(api_bob, payments, body):
    error(raw_post(api_bob, "/v1/kms/encrypt/payments", body), 400, "invalid_request")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_a_wrong_content_type_is_unsupported(api_bob, payments, content_type):
    response = raw_post(api_bob, "/v1/kms/encrypt/payments", json.dumps({"plaintext": "QQ=="}), content_type)
    error(response, 415, "invalid_request")


def test_octet_stream_is_only_for_sign_and_verify(api_bob, payments):
    error(
        raw_post(api_bob, "/v1/kms/encrypt/payments", b"data", "application/octet-stream"),
        415,
        "invalid_request",
    )


def test_a_json_body_over_4_mib_is_too_large(api_bob, payments):
    body = json.dumps({"plaintext": "A" * (4 * 1024 * 1024)})
    assert "limit" in error(raw_post(api_bob, "/v1/kms/encrypt/payments", body), 413, "payload_too_large")


@pytest.mark.parametrize("size", [1024 * 1024 + 1, 1024 * 1024 + 100])
def test_one_item_over_1_mib_is_refused(api_bob, payments, size):
    body = {"plaintext": b64(b"x" * size)}
    assert "larger" in error(post(api_bob, "/v1/kms/encrypt/payments", body), 400, "invalid_request")


def test_one_item_of_1_mib_is_accepted(api_bob, payments):
    data(post(api_bob, "/v1/kms/encrypt/payments", {"plaintext": b64(b"x" * 1024 * 1024)}))


def test_an_unknown_endpoint_answers_json(api_bob):
    error(api_bob.get("/v1/kms/nothing"), 404, "not_found")
    error(api_bob.get("/v1/auth/tokens/abc"), 404, "not_found")


def test_a_wrong_method_is_refused(api_bob, payments):
    error(api_bob.get("/v1/kms/encrypt/payments"), 405, "method_not_allowed")
    error(api_bob.put("/v1/kms/keys/payments", {}, format="json"), 405, "method_not_allowed")


def test_every_answer_carries_a_request_id(api_bob, anon, payments):
    answers = [
        api_bob.get("/v1/kms/keys"),
        post(api_bob, "/v1/kms/encrypt/payments", {"plaintext": "QQ=="}),
        post(api_bob, "/v1/kms/encrypt/payments", {"plaintext": "!"}),
        raw_post(api_bob, "/v1/kms/encrypt/payments", "{"),
        anon.get("/v1/kms/keys"),
        api_bob.get("/v1/nothing"),
        api_bob.get("/v1/schema"),
    ]
    ids = [answer["X-Request-Id"] for answer in answers]
    assert all(len(i) >= 8 for i in ids) and len(set(ids)) == len(ids)


def test_the_audit_event_records_the_request_id(api_bob, payments):
    response = post(api_bob, "/v1/kms/encrypt/payments", {"plaintext": "QQ=="})
    event = AuditEvent.objects.filter(action="encrypt").latest("seq")
    assert event.request_id == response["X-Request-Id"] and event.outcome == "success"
    assert event.auth_method == "token" and event.token_id


def test_a_failed_operation_records_the_request_id_too(api_mallory, payments):
    response = post(api_mallory, "/v1/kms/encrypt/payments", {"plaintext": "QQ=="})
    event = AuditEvent.objects.filter(action="encrypt").latest("seq")
    assert (event.request_id, event.outcome) == (response["X-Request-Id"], "denied")


def test_a_request_id_offered_by_the_caller_is_kept(api_bob, payments):
    response = post(
        api_bob,
        "/v1/kms/encrypt/payments",
        {"plaintext": "QQ=="},
        HTTP_X_REQUEST_ID="trace-0123456789",
    )
    assert response["X-Request-Id"] == "trace-0123456789"
    assert AuditEvent.objects.filter(action="encrypt").latest("seq").request_id == "trace-0123456789"
    unsafe = post(api_bob, "/v1/kms/encrypt/payments", {"plaintext": "QQ=="}, HTTP_X_REQUEST_ID="bad id\n")
    assert unsafe["X-Request-Id"] != "bad id\n"


def test_the_browser_session_works_with_its_csrf_token(bob, payments):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(bob)
    assert data(browser.get("/v1/kms/keys/payments"))["name"] == "payments"
    error(post(browser, "/v1/kms/encrypt/payments", {"plaintext": "QQ=="}), 403, "permission_denied")
    token = "a" * 32
    browser.cookies["csrftoken"] = token
    sealed = data(post(browser, "/v1/kms/encrypt/payments", {"plaintext": "QQ=="}, HTTP_X_CSRFTOKEN=token))
    assert sealed["key_version"] == 1
    event = AuditEvent.objects.filter(action="encrypt").latest("seq")
    assert event.auth_method == "session"


def test_the_session_csrf_check_also_guards_deletion(alice, payments):
    browser = APIClient(enforce_csrf_checks=True)
    browser.login(username="alice", password="pw-alice")
    error(browser.delete("/v1/kms/keys/payments"), 403, "permission_denied")
    assert data(browser.get("/v1/kms/keys/payments"))["status"] == "active"


def test_a_bearer_token_needs_no_csrf_token(api_bob, payments):
    api_bob.handler.enforce_csrf_checks = True
    data(post(api_bob, "/v1/kms/encrypt/payments", {"plaintext": "QQ=="}))


def test_no_answer_is_a_server_error_for_odd_key_names(api_bob):
    for name in ["a" * 300, "%00", "..", "k%0A", "ключ", "a b"]:
        response = api_bob.get(f"/v1/kms/keys/{name}")
        assert response.status_code in (400, 404), (name, response.status_code)
        assert set(response.json()) == {"error"}
