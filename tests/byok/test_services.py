"""Bring your own key, verify-only keys, backup and restore: the services (issue 15)."""

from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from kms.crypto import MasterKey
from kms.crypto.errors import InvalidBackup, InvalidKeyMaterial, InvalidWrappedMaterial, OperationNotAllowed
from kms.exceptions import ApprovalRequired, ExportDisabled, InvalidRequest, PermissionDenied
from kms.keyring import forget_cache, keyring
from kms.models import AuditEvent, Key
from kms.services import approvals, backups, imports, keys, wrapping_key
from kms.services import crypto_ops as ops
from kms.services.grants import grant_add
from tests.byok import outside
from tests.conftest import as_actor

pytestmark = pytest.mark.django_db


def wrapping_pem(user) -> str:
    return wrapping_key.wrapping_key_public(actor=as_actor(user))


def import_wrapped(user, name, key_type, material, **options):
    wrapped = keywrap_wrap(material, wrapping_pem(user))
    return imports.key_import(actor=as_actor(user), name=name, key_type=key_type, wrapped_material=wrapped, **options)


def keywrap_wrap(material: bytes, pem: str) -> bytes:
    from kms.crypto import keywrap

    return keywrap.wrap(material, pem)


def test_the_wrapping_key_is_made_once_and_is_rsa_4096(bob):
    first, again = wrapping_pem(bob), wrapping_pem(bob)
    assert first == again and "BEGIN PUBLIC KEY" in first
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    assert load_pem_public_key(first.encode()).key_size == 4096
    assert not Key.objects.filter(namespace="").exists()  # not in the native key space


def test_an_aes_key_from_outside_matches_the_outside_world_both_ways(alice, bob):
    import os

    material = os.urandom(32)
    key = import_wrapped(alice, "byo", "aes256", material)
    assert (key.origin, key.imported_by_name, key.verify_only) == ("imported", "alice", False)
    assert key.imported_at is not None
    uid = key.aad_identity.bytes
    token = ops.encrypt(actor=as_actor(bob), name="byo", plaintext=b"pii", context=b"ctx").ciphertext
    assert outside.aes_decrypt_outside(material, uid, token, b"ctx") == b"pii"
    theirs = outside.aes_encrypt_outside(material, uid, 1, b"from outside")
    assert ops.decrypt(actor=as_actor(bob), name="byo", ciphertext=theirs) == b"from outside"
    event = AuditEvent.objects.filter(action="import", key_name="byo").get()
    assert event.outcome == "success"


def test_rsa_ecdsa_and_ed25519_keys_from_outside_are_used(alice, bob):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    import_wrapped(alice, "box", "rsa2048", outside.pkcs8(rsa_key))
    token = ops.encrypt(actor=as_actor(bob), name="box", plaintext=b"secret").ciphertext
    assert outside.rsa_decrypt_outside(rsa_key, token) == b"secret"
    theirs = outside.rsa_encrypt_outside(rsa_key.public_key(), 1, b"theirs")
    assert ops.decrypt(actor=as_actor(bob), name="box", ciphertext=theirs) == b"theirs"

    ec_key = ec.generate_private_key(ec.SECP256R1())
    import_wrapped(alice, "ec", "ecdsa-p256", outside.pkcs8(ec_key))
    sig = ops.sign(actor=as_actor(bob), name="ec", data=b"doc").signature
    outside.ecdsa_verify_outside(ec_key.public_key(), sig, b"doc")
    assert ops.verify(actor=as_actor(bob), name="ec", data=b"doc",
                      signature=outside.ecdsa_sign_outside(ec_key, 1, b"doc")) is True  # fmt: skip

    ed = ed25519.Ed25519PrivateKey.generate()
    import_wrapped(alice, "ed", "ed25519", outside.pkcs8(ed))
    sig = ops.sign(actor=as_actor(bob), name="ed", data=b"doc").signature
    outside.ed25519_verify_outside(ed.public_key(), sig, b"doc")
    assert ops.verify(actor=as_actor(bob), name="ed", data=b"doc",
                      signature=outside.ed25519_sign_outside(ed, 1, b"doc")) is True  # fmt: skip


def test_material_is_checked_before_anything_is_stored(alice):
    ec_key = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(InvalidKeyMaterial):
        import_wrapped(alice, "wrongcurve", "ecdsa-p256", outside.pkcs8(ec_key))
    with pytest.raises(InvalidKeyMaterial):
        import_wrapped(alice, "short", "aes256", b"x" * 31)
    with pytest.raises(InvalidWrappedMaterial):
        imports.key_import(actor=as_actor(alice), name="junk", key_type="aes256", wrapped_material=b"\0" * 552)
    with pytest.raises(InvalidRequest, match="plaintext material is never accepted"):
        imports.key_import(actor=as_actor(alice), name="none", key_type="aes256")
    assert not Key.objects.filter(name__in=["wrongcurve", "short", "junk", "none"]).exists()
    assert AuditEvent.objects.filter(action="import", outcome="error").count() == 4


def test_only_key_creators_may_import(mallory):
    with pytest.raises(PermissionDenied):
        import_wrapped(mallory, "nope", "aes256", b"k" * 32)


def test_imported_keys_rotate_by_importing_a_new_version(alice, bob):
    import os

    import_wrapped(alice, "byo", "aes256", os.urandom(32))
    with pytest.raises(OperationNotAllowed, match="import-version"):
        keys.key_rotate(actor=as_actor(alice), name="byo")
    second = os.urandom(32)
    kv = imports.key_import_version(actor=as_actor(alice), name="byo",
                                    wrapped_material=keywrap_wrap(second, wrapping_pem(alice)))  # fmt: skip
    assert kv.version == 2
    key = Key.objects.get(name="byo")
    token = ops.encrypt(actor=as_actor(bob), name="byo", plaintext=b"v2").ciphertext
    assert token.startswith("egide:v2:")
    assert outside.aes_decrypt_outside(second, key.aad_identity.bytes, token) == b"v2"
    keys.key_update(actor=as_actor(alice), name="byo", changes={"allow_generated_rotation": True})
    assert keys.key_rotate(actor=as_actor(alice), name="byo").version == 3


def test_a_generated_key_takes_no_imported_version(alice, create_key):
    create_key("gen", "aes256")
    with pytest.raises(OperationNotAllowed):
        imports.key_import_version(actor=as_actor(alice), name="gen",
                                   wrapped_material=keywrap_wrap(b"k" * 32, wrapping_pem(alice)))  # fmt: skip


def test_a_public_key_alone_verifies_and_refuses_to_sign(alice, bob):
    ec_key = ec.generate_private_key(ec.SECP256R1())
    key = imports.key_import(actor=as_actor(alice), name="pub", key_type="ecdsa-p256",
                             public_key=outside.spki_pem(ec_key.public_key()))  # fmt: skip
    assert key.verify_only and key.origin == "imported"
    good = outside.ecdsa_sign_outside(ec_key, 1, b"doc")
    assert ops.verify(actor=as_actor(bob), name="pub", data=b"doc", signature=good) is True
    assert ops.verify(actor=as_actor(bob), name="pub", data=b"other", signature=good) is False
    version, blob = 1, base64.b64decode(good.split(":", 2)[2])
    trailing = f"egide:v{version}:" + base64.b64encode(blob + b"\0").decode()
    assert ops.verify(actor=as_actor(bob), name="pub", data=b"doc", signature=trailing) is False
    with pytest.raises(OperationNotAllowed):
        ops.sign(actor=as_actor(bob), name="pub", data=b"doc")
    with pytest.raises(OperationNotAllowed):
        keys.key_rotate(actor=as_actor(alice), name="pub")


def test_an_rsa_public_key_alone_encrypts_but_does_not_decrypt(alice, bob):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    imports.key_import(actor=as_actor(alice), name="pubbox", key_type="rsa2048",
                       public_key=outside.spki_pem(rsa_key.public_key()))  # fmt: skip
    token = ops.encrypt(actor=as_actor(bob), name="pubbox", plaintext=b"for the holder").ciphertext
    assert outside.rsa_decrypt_outside(rsa_key, token) == b"for the holder"
    with pytest.raises(OperationNotAllowed):
        ops.decrypt(actor=as_actor(bob), name="pubbox", ciphertext=token)


def test_a_verify_only_key_takes_a_new_public_key_as_its_next_version(alice, bob):
    one, two = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    imports.key_import(
        actor=as_actor(alice), name="pub", key_type="ed25519", public_key=outside.spki_pem(one.public_key())
    )
    with pytest.raises(InvalidRequest, match="takes a public key"):
        imports.key_import_version(actor=as_actor(alice), name="pub",
                                   wrapped_material=keywrap_wrap(outside.pkcs8(two), wrapping_pem(alice)))  # fmt: skip
    imports.key_import_version(actor=as_actor(alice), name="pub", public_key=outside.spki_pem(two.public_key()))
    good = outside.ed25519_sign_outside(two, 2, b"doc")
    assert ops.verify(actor=as_actor(bob), name="pub", data=b"doc", signature=good) is True
    with pytest.raises(InvalidSignature):
        outside.ed25519_verify_outside(one.public_key(), good, b"doc")


# --- backup and restore --------------------------------------------------------------------


@pytest.fixture
def backed(alice, bob, create_key):
    """An aes256 key with backups allowed, two versions, a ciphertext under each, bob may back it up."""
    key = create_key("payments", "aes256", backup_allowed=True)
    tokens = [ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"v1", context=b"c").ciphertext]
    keys.key_rotate(actor=as_actor(alice), name="payments")
    tokens.append(ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"v2").ciphertext)
    grant_add(actor=as_actor(alice), name="payments", user="bob", permissions=["backup"])
    return key, tokens


def test_a_backup_restores_here_under_another_name_beside_its_original(alice, bob, backed):
    _key, tokens = backed
    text = backups.key_backup(actor=as_actor(bob), name="payments")
    restored = backups.backup_restore(actor=as_actor(alice), name="payments-copy", backup=text)
    assert restored.uid != _key.uid and restored.aad_identity == _key.uid
    assert restored.current_version == 2 and restored.backup_allowed
    grant_add(actor=as_actor(alice), name="payments-copy", user="bob", permissions=["decrypt"])
    assert ops.decrypt(actor=as_actor(bob), name="payments-copy", ciphertext=tokens[0], context=b"c") == b"v1"
    assert ops.decrypt(actor=as_actor(bob), name="payments-copy", ciphertext=tokens[1]) == b"v2"
    assert ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=tokens[1]) == b"v2"
    assert AuditEvent.objects.filter(action="backup", outcome="success").count() == 1
    assert AuditEvent.objects.filter(action="backup_restore", outcome="success").count() == 1


def test_a_flipped_byte_anywhere_is_refused(alice, bob, backed):
    text = backups.key_backup(actor=as_actor(bob), name="payments")
    for position in (len("egide-backup.v1.") + 10, len(text) // 2, len(text) - 3):
        flipped = text[:position] + ("A" if text[position] != "A" else "B") + text[position + 1 :]
        with pytest.raises(InvalidBackup):
            backups.backup_restore(actor=as_actor(alice), name="tampered", backup=flipped)
    assert not Key.objects.filter(name="tampered").exists()


def test_backups_need_backup_allowed_and_the_permission(alice, bob, mallory, create_key):
    create_key("closed", "aes256")
    grant_add(actor=as_actor(alice), name="closed", user="bob", permissions=["backup"])
    with pytest.raises(ExportDisabled):
        backups.key_backup(actor=as_actor(bob), name="closed")
    create_key("open", "aes256", backup_allowed=True)
    with pytest.raises(PermissionDenied):
        backups.key_backup(actor=as_actor(bob), name="open")


def test_turning_backup_allowed_on_needs_a_second_person_and_is_one_way(alice, create_key, django_user_model):
    from tests.conftest import make_user

    create_key("k", "aes256")
    grant_add(actor=as_actor(alice), name="k", user="alice", permissions=["manage"])
    with pytest.raises(ApprovalRequired) as pending:
        keys.key_update(actor=as_actor(alice), name="k", changes={"backup_allowed": True})
    approver = make_user(django_user_model, "carol", "kms-approver")
    approvals.approval_approve(actor=as_actor(approver), request_id=pending.value.request.pk)
    assert Key.objects.get(name="k").backup_allowed
    with pytest.raises(InvalidRequest, match="cannot be turned off"):
        keys.key_update(actor=as_actor(alice), name="k", changes={"backup_allowed": False})


def test_a_backup_to_another_egide_waits_for_a_second_person_then_works_once(alice, bob, backed, django_user_model):
    from tests.conftest import make_user

    other_pem = outside.spki_pem(rsa.generate_private_key(public_exponent=65537, key_size=4096).public_key())
    with pytest.raises(ApprovalRequired) as pending:
        backups.key_backup(actor=as_actor(bob), name="payments", to=other_pem)
    with pytest.raises(PermissionDenied):
        approvals.approval_approve(actor=as_actor(bob), request_id=pending.value.request.pk)
    approver = make_user(django_user_model, "carol", "kms-approver")
    approvals.approval_approve(actor=as_actor(approver), request_id=pending.value.request.pk)
    text = backups.key_backup(actor=as_actor(bob), name="payments", to=other_pem)
    assert text.startswith("egide-backup.v1.")
    with pytest.raises(ApprovalRequired):
        backups.key_backup(actor=as_actor(bob), name="payments", to=other_pem)


def test_a_key_moves_to_another_egide_and_decrypts_the_first_ones_ciphertexts(alice, bob, backed, root, settings):
    """Two Egides, two master keys: the second publishes its wrapping key, the first seals a
    backup to it, the second (without the first's master key) restores it and decrypts."""
    _key, tokens = backed
    first_master, second_master = settings.EGIDE_MASTER_KEY, MasterKey.generate_base64()

    def become(master: str) -> None:
        settings.EGIDE_MASTER_KEY, settings.EGIDE_MASTER_KEYS_OLD = master, []
        keyring.cache_clear()
        forget_cache()

    become(second_master)
    second_wrapping = wrapping_pem(bob)  # the second Egide's wrapping key, under its own master key
    become(first_master)
    moving = backups.key_backup(actor=as_actor(root), name="payments", to=second_wrapping)  # break-glass: no wait
    staying = backups.key_backup(actor=as_actor(root), name="payments")  # sealed to the first's master key
    elsewhere = outside.spki_pem(rsa.generate_private_key(public_exponent=65537, key_size=4096).public_key())
    foreign = backups.key_backup(actor=as_actor(root), name="payments", to=elsewhere)

    become(second_master)
    with pytest.raises(InvalidBackup, match="another Egide"):
        backups.backup_restore(actor=as_actor(alice), name="moved", backup=staying)
    with pytest.raises(InvalidBackup, match="another Egide"):
        backups.backup_restore(actor=as_actor(alice), name="moved", backup=foreign)
    backups.backup_restore(actor=as_actor(alice), name="moved", backup=moving)
    grant_add(actor=as_actor(alice), name="moved", user="bob", permissions=["decrypt"])
    assert ops.decrypt(actor=as_actor(bob), name="moved", ciphertext=tokens[0], context=b"c") == b"v1"
    assert ops.decrypt(actor=as_actor(bob), name="moved", ciphertext=tokens[1]) == b"v2"
    become(first_master)
