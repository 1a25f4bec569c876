"""A scoped token is held to its scope on the data plane, through either transport."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from guardian.shortcuts import assign_perm

from kms.models import AuditEvent
from kms.services.actor import Actor
from kms.services.tokens import token_create
from tests.dataplane.conftest import wsgi_call

BODY = json.dumps({"plaintext": base64.b64encode(b"hello").decode()}).encode()


@pytest.fixture
def lane(monkeypatch: pytest.MonkeyPatch) -> Any:
    from egide_site.wsgi import application
    from kms.dataplane import wsgi

    monkeypatch.setattr(wsgi, "close_old_connections", lambda opened=None: [])
    return application


@pytest.fixture
def scoped(bob: Any, create_key: Any) -> str:
    for name in ("payments", "orders"):
        key = create_key(name)
        for perm in ("encrypt", "decrypt"):
            assign_perm(f"kms.{perm}_key", bob, key)
    return token_create(actor=Actor.system(), user=bob, scope_keys=["payments"],
                        scope_operations=["encrypt"])[1]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("transport", ["lane", "django"])
def test_a_scoped_token_does_only_what_its_scope_says(transport: str, scoped: str, lane: Any, client: Any) -> None:
    def send(path: str, body: bytes) -> tuple[int, dict]:
        if transport == "lane":
            status, _, out = wsgi_call(lane, path, body, scoped)
            return status, json.loads(out)
        response = client.post(path, data=body, content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {scoped}")  # fmt: skip
        return response.status_code, response.json()

    status, out = send("/v1/kms/encrypt/payments", BODY)
    assert status == 200
    ciphertext = out["data"]["ciphertext"]
    decrypt = json.dumps({"ciphertext": ciphertext}).encode()
    assert send("/v1/kms/decrypt/payments", decrypt)[0] == 403  # bob may, his token may not
    assert send("/v1/kms/encrypt/orders", BODY)[0] == 403
    assert send("/v1/kms/encrypt/PAYMENTS", BODY)[0] == 404  # no such key (names are exact)
    denied = AuditEvent.objects.filter(outcome="denied").order_by("seq")
    assert ["scope" in e.details["message"] for e in denied][:2] == [True, True]


@pytest.mark.django_db
def test_the_scope_binds_a_superuser_token_too(root: Any, create_key: Any, client: Any) -> None:
    create_key("payments")
    raw = token_create(actor=Actor.system(), user=root, scope_operations=["encrypt"])[1]
    encrypted = client.post("/v1/kms/encrypt/payments", data=BODY, content_type="application/json",
                            HTTP_AUTHORIZATION=f"Bearer {raw}")  # fmt: skip
    assert encrypted.status_code == 200
    decrypt = json.dumps({"ciphertext": encrypted.json()["data"]["ciphertext"]}).encode()
    response = client.post("/v1/kms/decrypt/payments", data=decrypt, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {raw}")  # fmt: skip
    assert response.status_code == 403
