"""Names and free text from callers: refused by rule, never a database error on either vendor."""

from __future__ import annotations

import pytest

from kms.exceptions import InvalidRequest, KeyNotFound
from kms.models import AuditEvent, Key
from kms.services import crypto_ops as ops
from kms.services import keys
from tests.conftest import as_actor

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["payments\n", "payments\r\n", "pay\nments", "a\x00b"])
def test_a_name_with_a_line_break_or_nul_is_refused_at_creation(alice, name):
    with pytest.raises(InvalidRequest):
        keys.key_create(actor=as_actor(alice), name=name, key_type="aes256")
    assert not Key.objects.exists()
    assert AuditEvent.objects.get(action="create").key_name == "<invalid name>"


@pytest.mark.parametrize("name", ["a\x00b", "payments\n", "../payments", "", "x" * 500, 42, None])
def test_looking_up_an_impossible_name_is_key_not_found(alice, bob, create_key, name):
    create_key("payments", "aes256")
    with pytest.raises(KeyNotFound):
        keys.key_info(actor=as_actor(alice), name=name)
    with pytest.raises(KeyNotFound):
        ops.encrypt(actor=as_actor(bob), name=name, plaintext=b"x")
    events = AuditEvent.objects.filter(action__in=["info", "encrypt"])
    assert [e.error_code for e in events] == ["key_not_found", "key_not_found"]


def test_a_description_with_nul_is_refused(alice, create_key):
    with pytest.raises(InvalidRequest):
        keys.key_create(actor=as_actor(alice), name="k", key_type="aes256", description="a\x00b")
    create_key("payments", "aes256")
    with pytest.raises(InvalidRequest):
        keys.key_update(actor=as_actor(alice), name="payments", changes={"description": "\x00"})
    assert Key.objects.get(name="payments").description == ""


@pytest.mark.parametrize("version", ["a\x00", "2\x00", "x" * 400])
def test_a_garbled_version_is_refused_and_audited(alice, bob, create_key, version):
    create_key("signer", "ed25519")
    with pytest.raises(InvalidRequest):
        keys.version_disable(actor=as_actor(alice), name="signer", version=version)
    with pytest.raises(InvalidRequest):
        keys.public_key_pem(actor=as_actor(bob), name="signer", version=version)
    events = AuditEvent.objects.filter(action__in=["disable_version", "public_key"])
    assert sorted(e.error_code for e in events) == ["invalid_request", "invalid_request"]
    assert all(e.key_version is None and len(e.details["message"]) <= 300 for e in events)


def test_a_token_name_with_nul_is_refused(bob):
    from kms.services import tokens

    with pytest.raises(InvalidRequest):
        tokens.token_create(actor=as_actor(bob), user=bob, name="ci\x00")
