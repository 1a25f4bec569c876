"""A user encrypts and decrypts; rotation keeps old data readable; tokens are bound."""

import pytest

from kms.crypto import InvalidCiphertext, OperationNotAllowed, parse_ciphertext
from kms.crypto.errors import InvalidRequest as CryptoInvalidRequest
from kms.exceptions import KeyDisabled, KeyNotFound, PermissionDenied, VersionNotUsable
from kms.models import AuditEvent, KeyVersion
from kms.services import crypto_ops as ops
from kms.services import keys
from tests.conftest import as_actor

pytestmark = pytest.mark.django_db


def test_a_user_encrypts_and_decrypts_a_string(bob, payments):
    ct = ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"sensitive data")
    assert ct.ciphertext.startswith("egide:v1:") and ct.key_version == 1
    assert ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=ct.ciphertext) == b"sensitive data"


def test_a_rotated_key_still_decrypts_every_older_ciphertext(bob, system, payments):
    tokens = []
    for _ in range(3):
        tokens.append(ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"v").ciphertext)
        keys.key_rotate(actor=system, name="payments")
    assert [t.split(":")[1] for t in tokens] == ["v1", "v2", "v3"]
    assert ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"x").key_version == 4
    for token in tokens:
        assert ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=token) == b"v"


def test_a_ciphertext_is_bound_to_its_context(bob, payments):
    ct = ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"p", context=b"tenant-1").ciphertext
    assert ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=ct, context=b"tenant-1") == b"p"
    for wrong in (None, b"tenant-2"):
        with pytest.raises(InvalidCiphertext):
            ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=ct, context=wrong)


def test_a_ciphertext_moved_to_another_key_is_refused(bob, create_key, payments):
    create_key("other", "aes256")
    ct = ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"p").ciphertext
    with pytest.raises(InvalidCiphertext):
        ops.decrypt(actor=as_actor(bob), name="other", ciphertext=ct)


def test_a_ciphertext_relabelled_to_another_version_is_refused(bob, system, payments):
    ct = ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"p").ciphertext
    keys.key_rotate(actor=system, name="payments")
    moved = ct.replace("egide:v1:", "egide:v2:")
    with pytest.raises(InvalidCiphertext):
        ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=moved)


def test_a_ciphertext_for_a_version_that_does_not_exist_is_invalid(bob, payments):
    ct = ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"p").ciphertext
    with pytest.raises(InvalidCiphertext):
        ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=ct.replace("egide:v1:", "egide:v9:"))


def test_flipping_any_byte_of_a_ciphertext_is_refused(bob, payments):
    import base64

    ct = ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"hello").ciphertext
    version, blob = parse_ciphertext(ct)
    for i in range(len(blob)):
        tampered = bytearray(blob)
        tampered[i] ^= 0x01
        token = f"egide:v{version}:" + base64.b64encode(bytes(tampered)).decode()
        with pytest.raises(InvalidCiphertext):
            ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=token)


@pytest.mark.parametrize("token", ["", "egide:v1:", "vault:v1:AAAA", "egide:vX:AAAA", "egide:v1:!!!!", "egide:v1:AAAA"])
def test_a_malformed_ciphertext_is_invalid(bob, payments, token):
    with pytest.raises(InvalidCiphertext):
        ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=token)


def test_a_disabled_key_does_nothing_at_all(bob, system, payments):
    ct = ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"p").ciphertext
    keys.key_disable(actor=system, name="payments")
    with pytest.raises(KeyDisabled):
        ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"p")
    with pytest.raises(KeyDisabled):
        ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=ct)
    with pytest.raises(KeyDisabled):
        ops.datakey(actor=as_actor(bob), name="payments")
    with pytest.raises(KeyDisabled):
        keys.key_rotate(actor=system, name="payments")
    keys.key_enable(actor=system, name="payments")
    assert ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=ct) == b"p"


def test_a_retired_version_refuses_decrypt_while_others_work(bob, system, payments):
    old = ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"old").ciphertext
    keys.key_rotate(actor=system, name="payments")
    new = ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"new").ciphertext
    keys.key_update(actor=system, name="payments", changes={"min_decryption_version": 2})
    with pytest.raises(VersionNotUsable):
        ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=old)
    assert ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=new) == b"new"


def test_a_disabled_version_refuses_decrypt_while_others_work(bob, system, payments):
    old = ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"old").ciphertext
    keys.key_rotate(actor=system, name="payments")
    new = ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"new").ciphertext
    keys.version_disable(actor=system, name="payments", version=1)
    with pytest.raises(VersionNotUsable):
        ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=old)
    assert ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=new) == b"new"
    keys.version_enable(actor=system, name="payments", version=1)
    assert ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=old) == b"old"


def test_an_encryption_key_cannot_sign(bob, payments):
    with pytest.raises(OperationNotAllowed):
        ops.sign(actor=as_actor(bob), name="payments", data=b"d")


def test_a_signing_key_cannot_encrypt(bob, create_key):
    create_key("signer", "ed25519")
    with pytest.raises(OperationNotAllowed):
        ops.encrypt(actor=as_actor(bob), name="signer", plaintext=b"d")


def test_an_outsider_cannot_learn_the_key_exists(mallory, payments):
    with pytest.raises(KeyNotFound):
        ops.encrypt(actor=as_actor(mallory), name="payments", plaintext=b"p")
    event = AuditEvent.objects.filter(action="encrypt").latest("seq")
    assert event.outcome == "denied" and event.error_code == "key_not_found" and event.key_uid == ""


def test_an_admin_may_see_a_key_but_not_use_it(alice, payments):
    with pytest.raises(PermissionDenied):
        ops.encrypt(actor=as_actor(alice), name="payments", plaintext=b"p")


def test_rsa_encrypts_within_its_limit_and_says_the_limit_beyond(bob, create_key):
    create_key("rsa", "rsa2048")
    ct = ops.encrypt(actor=as_actor(bob), name="rsa", plaintext=b"x" * 190)
    assert ops.decrypt(actor=as_actor(bob), name="rsa", ciphertext=ct.ciphertext) == b"x" * 190
    with pytest.raises(CryptoInvalidRequest) as err:
        ops.encrypt(actor=as_actor(bob), name="rsa", plaintext=b"x" * 191)
    assert "190" in str(err.value)


def test_uses_are_counted_per_version(bob, payments):
    for _ in range(3):
        ct = ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"p").ciphertext
    ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=ct)
    kv = KeyVersion.objects.get(key=payments, version=1)
    assert (kv.encrypt_count, kv.decrypt_count) == (3, 1)


def test_a_batch_answers_one_result_per_item_with_its_own_error(bob, payments):
    good = ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"ok").ciphertext
    results = ops.decrypt_batch(
        actor=as_actor(bob),
        name="payments",
        items=[{"ciphertext": good}, {"ciphertext": "garbage"}, {"ciphertext": good}],
    )
    assert results[0] == b"ok" and results[2] == b"ok"
    assert results[1].code == "invalid_ciphertext"
    event = AuditEvent.objects.filter(action="decrypt").latest("seq")
    assert event.details["items"] == 3 and event.details["failed"] == 1


def test_a_data_key_is_wrapped_under_the_key_and_unwraps_to_the_same_bytes(bob, payments):
    dk = ops.datakey(actor=as_actor(bob), name="payments", context=b"file")
    assert len(dk.plaintext) == 32
    assert ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=dk.ciphertext, context=b"file") == dk.plaintext


def test_rewrap_moves_a_ciphertext_to_the_current_version(bob, system, payments):
    old = ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"secret", context=b"c").ciphertext
    keys.key_rotate(actor=system, name="payments")
    new = ops.rewrap(actor=as_actor(bob), name="payments", ciphertext=old, context=b"c")
    assert new.key_version == 2 and new.ciphertext.startswith("egide:v2:")
    assert ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=new.ciphertext, context=b"c") == b"secret"


def test_no_audit_event_holds_the_plaintext(bob, payments):
    ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"TOP-SECRET-PAYLOAD")
    for event in AuditEvent.objects.all():
        assert "TOP-SECRET-PAYLOAD" not in str(event.details)
