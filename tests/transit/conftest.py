"""Fixtures of the Transit dialect's tests: a superuser's token (Vault's root token), a user's."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import make_user


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


@pytest.fixture
def root(django_user_model):
    from kms.services.actor import Actor
    from kms.services.tokens import token_create

    user = make_user(django_user_model, "root-admin", superuser=True)
    _token, raw = token_create(
        actor=Actor(user=user, source="api", auth_method="session"), user=user, name="transit root"
    )
    return raw


class Vault:
    """A tiny Transit client over Django's test client (tokens as X-Vault-Token)."""

    def __init__(self, client, token: str) -> None:
        self.client, self.token = client, token

    def call(self, method: str, path: str, body=None, **headers):
        data = json.dumps(body) if body is not None else ""
        extra = {"HTTP_X_VAULT_TOKEN": self.token} if self.token else {}
        extra.update(headers)
        response = self.client.generic(method, f"/v1/{path}", data, content_type="", **extra)
        payload = json.loads(response.content) if response.content else None
        return response.status_code, payload

    def write(self, path, body=None, **headers):
        return self.call("PUT", path, body or {}, **headers)

    def read(self, path, **headers):
        return self.call("GET", path, **headers)


@pytest.fixture
def vault(client, root):
    return Vault(client, root)
