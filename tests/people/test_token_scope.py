"""A token may be scoped to named keys and operations: the one rule (scope_permits) and the
control plane holding a scoped token to it."""

from __future__ import annotations

import pytest
from guardian.shortcuts import assign_perm

from kms.models import AuditEvent
from kms.services.actor import Actor
from kms.services.tokens import scope_permits, token_create
from tests.api.helpers import data, error, post


@pytest.mark.parametrize(("keys", "ops", "key", "perm", "allowed"), [
    ([], [], "payments", "decrypt", True),
    ([], [], None, "add", True),
    (["payments"], [], "payments", "decrypt", True),
    (["payments"], [], "PAYMENTS", "decrypt", True),  # names are unique regardless of case
    (["payments"], [], "orders", "encrypt", False),
    (["payments"], [], None, "view", False),  # no key named: outside a key scope
    ([], ["encrypt"], "orders", "encrypt", True),
    ([], ["encrypt"], "orders", "decrypt", False),
    (["payments"], ["encrypt"], "payments", "encrypt", True),
    (["payments"], ["encrypt"], "payments", "decrypt", False),
])  # fmt: skip
def test_scope_permits(keys, ops, key, perm, allowed):
    assert scope_permits(keys, ops, key, perm) is allowed


@pytest.fixture
def scoped(bob, create_key):
    from rest_framework.test import APIClient

    for name in ("payments", "orders"):
        key = create_key(name)
        assign_perm("kms.view_key", bob, key)
        assign_perm("kms.rotate_key", bob, key)
    _, raw = token_create(actor=Actor.system(), user=bob, scope_keys=["payments"],
                          scope_operations=["encrypt", "view"])  # fmt: skip
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_scoped_token_reads_only_its_key(scoped):
    assert data(scoped.get("/v1/kms/keys/payments"))["name"] == "payments"
    error(scoped.get("/v1/kms/keys/orders"), 403, "permission_denied")


def test_a_scoped_token_does_only_its_operations(scoped):
    error(post(scoped, "/v1/kms/keys/payments/rotate"), 403, "permission_denied")
    denied = AuditEvent.objects.filter(action="rotate", outcome="denied").get()
    assert "scope" in denied.details["message"]


def test_a_key_scoped_token_reaches_nothing_that_names_no_key(scoped):
    error(scoped.get("/v1/kms/keys"), 403, "permission_denied")
    error(post(scoped, "/v1/kms/keys", {"name": "new", "type": "aes256"}), 403, "permission_denied")
    error(scoped.get("/v1/users"), 403, "permission_denied")
    error(scoped.get("/v1/kms/approvals"), 403, "permission_denied")
    assert AuditEvent.objects.filter(action="token_scope", outcome="denied").count() == 4


def test_scopes_are_checked_when_the_token_is_made(bob):
    from kms.exceptions import InvalidRequest

    with pytest.raises(InvalidRequest):
        token_create(actor=Actor.system(), user=bob, scope_operations=["launch"])
    with pytest.raises(InvalidRequest):
        token_create(actor=Actor.system(), user=bob, scope_keys=["bad name"])


def test_the_api_makes_a_scoped_token(anon, bob):
    body = {"username": "bob", "password": "pw-bob", "scope_keys": ["payments"],
            "scope_operations": ["encrypt"]}  # fmt: skip
    created = data(post(anon, "/v1/auth/tokens", body), 201)
    assert (created["scope_keys"], created["scope_operations"]) == (["payments"], ["encrypt"])
