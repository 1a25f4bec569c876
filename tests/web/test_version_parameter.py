"""One parser of whole numbers for every surface (kms.rules.parse_whole_number): the page's
`?version=` refuses what the API refuses, instead of answering 500 or reading "１" as 1."""

from __future__ import annotations

import pytest


@pytest.fixture
def ed_key(create_key):
    return create_key("signer", "ed25519")


@pytest.mark.parametrize("raw", ["²", "１", "-1", "1.0", "0x1", "99999999999"])
def test_the_public_key_page_refuses_a_version_that_is_no_whole_number(as_root, ed_key, raw):
    response = as_root.get("/keys/signer/public.pem", {"version": raw})
    assert response.status_code == 302  # back to the key's page, with the message
    assert "BEGIN PUBLIC KEY" not in response.content.decode()


def test_the_public_key_page_serves_a_version_written_in_ascii_digits(as_root, ed_key):
    response = as_root.get("/keys/signer/public.pem", {"version": "1"})
    assert response.status_code == 200 and b"BEGIN PUBLIC KEY" in response.content


@pytest.mark.parametrize("raw", ["²", "１"])
def test_the_api_refuses_the_same_versions(root, ed_key, raw):
    from tests.api.conftest import client_for

    response = client_for(root).get("/v1/kms/keys/signer/public", {"version": raw})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_request")
