"""The WSGI fast lane answers exactly as the Django path does, for successes and errors."""

import base64
import json

import pytest

from egide_site.wsgi import application
from tests.dataplane.conftest import wsgi_call

pytestmark = pytest.mark.django_db(transaction=True)
B64 = base64.b64encode(b"sensitive data").decode()


def test_a_user_encrypts_and_decrypts_through_the_fast_lane(bearer, create_key):
    create_key("my-encryption-key", "aes256")
    status, headers, body = wsgi_call(application, "/v1/kms/encrypt/my-encryption-key",
                                      json.dumps({"plaintext": B64}).encode(), bearer)  # fmt: skip
    assert status == 200, body
    ciphertext = json.loads(body)["data"]["ciphertext"]
    assert ciphertext.startswith("egide:v1:")
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Request-Id"]
    status, _, body = wsgi_call(application, "/v1/kms/decrypt/my-encryption-key",
                                json.dumps({"ciphertext": ciphertext}).encode(), bearer)  # fmt: skip
    assert status == 200 and json.loads(body)["data"]["plaintext"] == B64


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/v1/kms/encrypt/no-such-key", {"plaintext": B64}, 404, "key_not_found"),
        ("/v1/kms/encrypt/k", {"plaintext": "not base64!"}, 400, "invalid_request"),
        ("/v1/kms/encrypt/k", {"plaintext": B64, "colour": "blue"}, 400, "invalid_request"),
        ("/v1/kms/decrypt/k", {"ciphertext": "egide:v1:AAAA"}, 400, "invalid_ciphertext"),
        ("/v1/kms/sign/k", {"data": B64}, 400, "operation_not_allowed"),
    ],
)
def test_errors_are_the_same_through_both_paths(client, bearer, create_key, path, body, status, code):
    create_key("k", "aes256")
    raw = json.dumps(body).encode()
    lane_status, _, lane_body = wsgi_call(application, path, raw, bearer)
    django = client.post(path, raw, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {bearer}")
    assert lane_status == django.status_code == status
    assert json.loads(lane_body) == django.json()
    assert json.loads(lane_body)["error"]["code"] == code


def test_a_bad_token_is_refused_with_401(create_key):
    create_key("k", "aes256")
    status, headers, body = wsgi_call(application, "/v1/kms/encrypt/k", b'{"plaintext":"QQ=="}', "egd_nope")
    assert status == 401 and json.loads(body)["error"]["code"] == "unauthenticated"
    assert headers["WWW-Authenticate"].startswith("Bearer")


def test_malformed_json_is_a_400(bearer, create_key):
    create_key("k", "aes256")
    status, _, body = wsgi_call(application, "/v1/kms/encrypt/k", b"{not json", bearer)
    assert status == 400 and json.loads(body)["error"]["code"] == "invalid_request"


def test_other_requests_go_to_django(bearer, create_key):
    create_key("k", "aes256")
    status, _, body = wsgi_call(application, "/v1/kms/keys/k", b"", bearer,
                                extra={"REQUEST_METHOD": "GET", "CONTENT_LENGTH": ""})  # fmt: skip
    assert status == 200 and json.loads(body)["data"]["name"] == "k"
