"""Logging in and out; every page needs a session."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.web.conftest import htmx

PAGES = ["/", "/new/", "/keys/payments/", "/keys/payments/delete/", "/approvals/", "/audit/",
         "/audit/export.jsonl", "/tokens/", "/playground/"]  # fmt: skip


@pytest.mark.parametrize("url", PAGES)
def test_it_sends_anonymous_visitors_to_the_login_page(db, url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_it_sends_an_anonymous_htmx_request_to_the_login_page_whole(db):
    client = Client()
    current = "http://testserver/keys/payments/?tab=1"
    response = htmx(client, "post", "/keys/payments/rotate/", HTTP_HX_CURRENT_URL=current)
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=/keys/payments/%3Ftab%3D1"


def test_it_logs_in_with_the_right_password(alice):
    client = Client()
    page = client.get("/login/")
    assert b'<label for="id_username">Username' in page.content
    response = client.post("/login/", {"username": "alice", "password": "pw-alice"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_it_refuses_the_wrong_password_and_says_so(alice):
    response = Client().post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"did not match" in response.content


def test_it_logs_out_with_a_post_only(as_alice):
    assert as_alice.get("/logout/").status_code == 405  # a link cannot log you out
    response = as_alice.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert as_alice.get("/").status_code == 302


def test_it_refuses_a_post_without_the_csrf_token(alice, aes_key):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/keys/payments/rotate/").status_code == 403
    aes_key.refresh_from_db()
    assert aes_key.current_version == 1


def test_it_accepts_the_csrf_token_as_the_htmx_header(alice, aes_key):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    page = client.get("/keys/payments/")
    token = str(page.context["csrf_token"])
    assert f'hx-headers=\'{{"X-CSRFToken": "{token}"}}\''.encode() in page.content
    response = client.post("/keys/payments/rotate/", HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    aes_key.refresh_from_db()
    assert aes_key.current_version == 2
