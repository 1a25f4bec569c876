"""The pages' test users, logged-in clients and a few keys.

Beyond the shared users (alice the key administrator, bob the key user, mallory the
outsider, root the superuser): carol approves, dave audits.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from kms.services.actor import Actor
from kms.services.keys import key_create
from tests.conftest import make_user


@pytest.fixture
def carol(db, django_user_model):
    return make_user(django_user_model, "carol", "kms-approver")


@pytest.fixture
def dave(db, django_user_model):
    return make_user(django_user_model, "dave", "kms-auditor")


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_alice(alice) -> Client:
    return logged_in(alice)


@pytest.fixture
def as_bob(bob) -> Client:
    return logged_in(bob)


@pytest.fixture
def as_mallory(mallory) -> Client:
    return logged_in(mallory)


@pytest.fixture
def as_carol(carol) -> Client:
    return logged_in(carol)


@pytest.fixture
def as_dave(dave) -> Client:
    return logged_in(dave)


@pytest.fixture
def as_root(root) -> Client:
    return logged_in(root)


def htmx(client: Client, method: str, url: str, data: dict | None = None, **extra):
    """A request as htmx sends it (HX-Request), so the view answers its partial."""
    call = getattr(client, method)
    return call(url, data or {}, HTTP_HX_REQUEST="true", **extra)


LAZY_PANEL = re.compile(r'<section [^>]*data-lazy[^>]*hx-get="([^"]+)"')


def lazy_panels(html: str) -> list[str]:
    """The URLs of the panels a page loads once shown (hx-trigger="load", kms.web.key_panels)."""
    return LAZY_PANEL.findall(html)


def key_page(client: Client, name: str) -> str:
    """A key's page as a browser shows it: the page, then each panel it loads (as htmx asks)."""
    response = client.get(f"/keys/{name}/")
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    panels = []
    for url in lazy_panels(html):
        panel = htmx(client, "get", url)
        assert panel.status_code == 200, (url, panel.status_code)
        panels.append(panel.content.decode())
    return html + "".join(panels)


def web_actor(user) -> Actor:
    return Actor(user=user, source="web", auth_method="session", request_id="web-test")


@pytest.fixture
def aes_key(alice):
    """An aes256 key alice created (she holds her creator grants on it)."""
    return key_create(actor=web_actor(alice), name="payments", key_type="aes256")


@pytest.fixture
def signing_key(alice):
    return key_create(actor=web_actor(alice), name="signer", key_type="ed25519")
