"""A key's life: disable/enable, soft delete, restore, purge; its versions' life; its settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kms.crypto import InvalidRequest as CryptoInvalidRequest
from kms.exceptions import (
    ApprovalRequired,
    DeletionDisabled,
    ExportDisabled,
    InvalidRequest,
    KeyDisabled,
    KeyExists,
    KeyNotFound,
    VersionNotUsable,
)
from kms.models import AuditEvent, Key, KeyVersion
from kms.services import approvals, keys
from kms.services import crypto_ops as ops
from kms.services.actor import Actor
from kms.services.audit import verify_chain
from tests.conftest import as_actor, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(alice):
    return as_actor(alice)


@pytest.fixture
def user(bob):
    return as_actor(bob)


@pytest.fixture
def signer(create_key):
    return create_key("signer", "ed25519")


def destroy_now(actor, name: str, version: int) -> None:
    """Destroy a version and let its recovery window pass (the scheduler wipes it then)."""
    keys.version_destroy(actor=actor, name=name, version=version)
    keys.versions_destroy_due(actor=Actor.system(), now=timezone.now() + timedelta(days=3660))


def fresh(key: Key) -> Key:
    return Key.objects.get(pk=key.pk)


def encrypt(user, name="payments", **kw) -> str:
    return ops.encrypt(actor=user, name=name, plaintext=b"secret", **kw).ciphertext


def uses_of_an_aes_key(user, system, token):
    """Every operation one can try on the aes256 key 'payments'."""
    return {
        "encrypt": lambda: ops.encrypt(actor=user, name="payments", plaintext=b"x"),
        "decrypt": lambda: ops.decrypt(actor=user, name="payments", ciphertext=token),
        "datakey": lambda: ops.datakey(actor=user, name="payments"),
        "rewrap": lambda: ops.rewrap(actor=user, name="payments", ciphertext=token),
        "encrypt_batch": lambda: ops.encrypt_batch(actor=user, name="payments", items=[{"plaintext": b"x"}]),
        "rotate": lambda: keys.key_rotate(actor=system, name="payments"),
        "export": lambda: keys.key_export(actor=system, name="payments"),
    }


def uses_of_a_signing_key(user, system, signature):
    return {
        "sign": lambda: ops.sign(actor=user, name="signer", data=b"d"),
        "verify": lambda: ops.verify(actor=user, name="signer", data=b"d", signature=signature),
        "public_key": lambda: keys.public_key_pem(actor=user, name="signer"),
        "rotate": lambda: keys.key_rotate(actor=system, name="signer"),
    }


# --- disable / enable -----------------------------------------------------------------


def test_a_disabled_key_does_nothing_at_all_until_enabled(admin, user, system, payments):
    token = encrypt(user)
    keys.key_disable(actor=admin, name="payments")
    assert fresh(payments).state == "disabled"
    for action, call in uses_of_an_aes_key(user, system, token).items():
        with pytest.raises(KeyDisabled):
            call()
        assert AuditEvent.objects.filter(action=action.split("_")[0]).first().error_code == "key_disabled"
    keys.key_enable(actor=admin, name="payments")
    assert fresh(payments).state == "active"
    assert ops.decrypt(actor=user, name="payments", ciphertext=token) == b"secret"


def test_a_disabled_signing_key_neither_signs_nor_verifies_nor_gives_its_public_key(admin, user, system, signer):
    signature = ops.sign(actor=user, name="signer", data=b"d").signature
    keys.key_disable(actor=admin, name="signer")
    for call in uses_of_a_signing_key(user, system, signature).values():
        with pytest.raises(KeyDisabled):
            call()
    keys.key_enable(actor=admin, name="signer")
    assert ops.verify(actor=user, name="signer", data=b"d", signature=signature) is True


def test_a_disabled_key_still_shows_its_metadata(admin, payments):
    keys.key_disable(actor=admin, name="payments")
    assert keys.key_info(actor=admin, name="payments").state == "disabled"


def test_disabling_twice_or_enabling_an_active_key_is_refused(admin, payments):
    with pytest.raises(KeyDisabled):
        keys.key_enable(actor=admin, name="payments")
    keys.key_disable(actor=admin, name="payments")
    with pytest.raises(KeyDisabled):
        keys.key_disable(actor=admin, name="payments")


# --- delete / restore -----------------------------------------------------------------


def test_delete_is_soft_with_a_recovery_window_from_the_settings(admin, payments, settings, clock):
    settings.EGIDE_DELETION_WINDOW_DAYS = 7
    keys.key_delete(actor=admin, name="payments")
    key = fresh(payments)
    assert key.state == "deleted"
    assert key.deleted_at == clock.current
    assert key.purge_after == clock.current + timedelta(days=7)
    assert key.versions.get().wrapped_material  # nothing wiped yet
    event = AuditEvent.objects.get(action="delete")
    assert event.outcome == "success" and event.details["purge_after"] == key.purge_after.isoformat()


def test_a_deleted_key_refuses_every_operation(admin, user, system, payments, signer):
    token = encrypt(user)
    signature = ops.sign(actor=user, name="signer", data=b"d").signature
    for name in ("payments", "signer"):
        keys.key_delete(actor=admin, name=name)
    calls = {
        **uses_of_an_aes_key(user, system, token),
        **{f"signer-{k}": v for k, v in uses_of_a_signing_key(user, system, signature).items()},
        "update": lambda: keys.key_update(actor=admin, name="payments", changes={"description": "x"}),
        "disable": lambda: keys.key_disable(actor=admin, name="payments"),
        "enable": lambda: keys.key_enable(actor=admin, name="payments"),
        "delete again": lambda: keys.key_delete(actor=admin, name="payments"),
        "disable_version": lambda: keys.version_disable(actor=admin, name="payments", version=1),
        "enable_version": lambda: keys.version_enable(actor=admin, name="payments", version=1),
        "destroy_version": lambda: keys.version_destroy(actor=admin, name="payments", version=1),
    }
    for call in calls.values():
        with pytest.raises(KeyDisabled, match="deleted"):
            call()
    assert fresh(payments).current_version == 1 and fresh(payments).description == ""


def test_restore_brings_a_deleted_key_back(admin, user, payments):
    token = encrypt(user)
    keys.key_delete(actor=admin, name="payments")
    keys.key_restore(actor=admin, name="payments")
    key = fresh(payments)
    assert (key.state, key.deleted_at, key.purge_after) == ("active", None, None)
    assert ops.decrypt(actor=user, name="payments", ciphertext=token) == b"secret"


def test_only_a_deleted_key_can_be_restored(admin, payments):
    with pytest.raises(InvalidRequest):
        keys.key_restore(actor=admin, name="payments")


def test_restoring_a_key_that_was_disabled_leaves_it_disabled(admin, payments):
    keys.key_disable(actor=admin, name="payments")
    keys.key_delete(actor=admin, name="payments")
    keys.key_restore(actor=admin, name="payments")
    assert fresh(payments).state == "disabled"


def test_a_key_created_without_deletion_refuses_delete(admin, create_key):
    key = create_key("forever", "aes256", allow_deletion=False)
    with pytest.raises(DeletionDisabled):
        keys.key_delete(actor=admin, name="forever")
    assert fresh(key).state == "active"
    event = AuditEvent.objects.get(action="delete")
    assert (event.outcome, event.error_code) == ("error", "deletion_disabled")


# --- purge ----------------------------------------------------------------------------


def test_purge_wipes_the_material_and_keeps_a_tombstone(admin, system, payments):
    keys.key_rotate(actor=system, name="payments")
    keys.key_delete(actor=admin, name="payments")
    keys.key_purge(actor=admin, name="payments")
    key = fresh(payments)
    assert key.state == "purged" and key.purge_after is None
    versions = list(KeyVersion.objects.filter(key=key))
    assert len(versions) == 2
    assert all(bytes(v.wrapped_material) == b"" and v.destroyed_at is not None for v in versions)
    assert AuditEvent.objects.get(action="purge").details == {"versions_destroyed": 2}


def test_a_purged_key_is_gone_and_its_name_can_be_reused(admin, user, payments, create_key):
    token = encrypt(user)
    keys.key_delete(actor=admin, name="payments")
    keys.key_purge(actor=admin, name="payments")
    with pytest.raises(KeyNotFound):
        keys.key_info(actor=admin, name="payments")
    with pytest.raises(KeyNotFound):
        keys.key_restore(actor=admin, name="payments")
    reborn = create_key("payments", "aes256")
    assert reborn.pk != payments.pk
    assert Key.objects.filter(name="payments").count() == 2  # the tombstone stays
    # The old ciphertext names version 1, but of another key: it does not open.
    from kms.crypto import InvalidCiphertext

    with pytest.raises(InvalidCiphertext):
        ops.decrypt(actor=user, name="payments", ciphertext=token)
    with pytest.raises(KeyExists):
        create_key("payments", "aes256")


def test_only_a_deleted_key_can_be_purged(admin, payments):
    with pytest.raises(InvalidRequest):
        keys.key_purge(actor=admin, name="payments")
    assert bytes(fresh(payments).versions.get().wrapped_material)


def test_the_scheduler_purges_only_keys_past_their_window(admin, system, create_key, clock, settings):
    settings.EGIDE_DELETION_WINDOW_DAYS = 30
    for name in ("early", "late", "restored", "kept"):
        create_key(name, "aes256")
    keys.key_delete(actor=admin, name="early")
    keys.key_delete(actor=admin, name="restored")
    start = clock.current
    clock.advance(days=5)
    keys.key_delete(actor=admin, name="late")
    keys.key_restore(actor=admin, name="restored")

    assert keys.keys_purge_due(actor=system, now=start + timedelta(days=29, hours=23)) == []
    assert keys.keys_purge_due(actor=system, now=start + timedelta(days=30)) == ["early"]
    assert keys.keys_purge_due(actor=system, now=start + timedelta(days=34)) == []
    assert keys.keys_purge_due(actor=system, now=start + timedelta(days=35)) == ["late"]
    states = dict(Key.objects.values_list("name", "state"))
    assert states == {"early": "purged", "late": "purged", "restored": "active", "kept": "active"}
    assert verify_chain().ok  # events stamped by the test clock chain like any others


def test_the_scheduler_uses_the_clock_when_not_told_the_time(admin, system, payments, clock):
    keys.key_delete(actor=admin, name="payments")
    assert keys.keys_purge_due(actor=system) == []
    clock.advance(days=31)
    assert keys.keys_purge_due(actor=system) == ["payments"]


# --- exportable -----------------------------------------------------------------------


def test_exportable_can_be_turned_on_later_but_never_off(admin, system, payments, django_user_model):
    with pytest.raises(ExportDisabled):
        keys.key_export(actor=system, name="payments")
    # Turning it on needs a second person, whatever approvals_required says (issue 13).
    with pytest.raises(ApprovalRequired) as pending:
        keys.key_update(actor=admin, name="payments", changes={"exportable": True})
    approver = make_user(django_user_model, "carol", "kms-approver")
    approvals.approval_approve(actor=as_actor(approver), request_id=pending.value.request.pk)
    assert keys.key_export(actor=system, name="payments")
    with pytest.raises(InvalidRequest, match="cannot be turned off"):
        keys.key_update(actor=admin, name="payments", changes={"exportable": False})
    assert fresh(payments).exportable is True


def test_a_key_created_exportable_stays_exportable(admin, create_key):
    key = create_key("open", "ed25519", exportable=True)
    with pytest.raises(InvalidRequest):
        keys.key_update(actor=admin, name="open", changes={"exportable": False})
    assert fresh(key).exportable is True


# --- versions -------------------------------------------------------------------------


@pytest.fixture
def three_versions(user, system, payments):
    """payments at version 3, with one ciphertext under each version."""
    tokens = {1: encrypt(user)}
    for n in (2, 3):
        keys.key_rotate(actor=system, name="payments")
        tokens[n] = encrypt(user)
    return tokens


def test_a_disabled_version_refuses_decrypt_while_the_others_work(admin, user, three_versions):
    keys.version_disable(actor=admin, name="payments", version=1)
    with pytest.raises(VersionNotUsable):
        ops.decrypt(actor=user, name="payments", ciphertext=three_versions[1])
    assert ops.decrypt(actor=user, name="payments", ciphertext=three_versions[2]) == b"secret"
    keys.version_enable(actor=admin, name="payments", version=1)
    assert ops.decrypt(actor=user, name="payments", ciphertext=three_versions[1]) == b"secret"


def test_a_disabled_version_of_a_signing_key_refuses_verify(admin, user, system, signer):
    old = ops.sign(actor=user, name="signer", data=b"d").signature
    keys.key_rotate(actor=system, name="signer")
    keys.version_disable(actor=admin, name="signer", version=1)
    with pytest.raises(VersionNotUsable):
        ops.verify(actor=user, name="signer", data=b"d", signature=old)


def test_the_current_version_cannot_be_disabled(admin, three_versions):
    with pytest.raises(InvalidRequest):
        keys.version_disable(actor=admin, name="payments", version=3)


@pytest.mark.parametrize("version", [0, 4, -1, 2**40, "1", "abc", True, None, 1.0])
def test_a_version_that_does_not_exist_is_refused(admin, three_versions, version):
    with pytest.raises(InvalidRequest):
        keys.version_disable(actor=admin, name="payments", version=version)


def test_only_a_retired_version_can_be_destroyed(admin, three_versions):
    for version in (1, 2, 3):
        with pytest.raises(InvalidRequest, match="min_decryption_version"):
            keys.version_destroy(actor=admin, name="payments", version=version)
    assert all(bytes(v.wrapped_material) for v in KeyVersion.objects.all())


def test_a_destroyed_version_refuses_decrypt_and_keeps_its_row_and_counters(admin, user, three_versions):
    ops.decrypt(actor=user, name="payments", ciphertext=three_versions[1])
    keys.key_update(actor=admin, name="payments", changes={"min_decryption_version": 2})
    with pytest.raises(VersionNotUsable, match="retired"):
        ops.decrypt(actor=user, name="payments", ciphertext=three_versions[1])
    destroy_now(admin, "payments", 1)

    v1 = KeyVersion.objects.get(key__name="payments", version=1)
    assert bytes(v1.wrapped_material) == b"" and v1.destroyed_at is not None
    assert (v1.encrypt_count, v1.decrypt_count) == (1, 1)
    assert v1.status == "destroyed"
    with pytest.raises(VersionNotUsable, match="destroyed"):
        ops.decrypt(actor=user, name="payments", ciphertext=three_versions[1])
    # Lowering the floor again does not bring it back, and cannot pass below it.
    with pytest.raises(InvalidRequest):
        keys.key_update(actor=admin, name="payments", changes={"min_decryption_version": 1})
    with pytest.raises(InvalidRequest):
        keys.version_enable(actor=admin, name="payments", version=1)
    assert ops.decrypt(actor=user, name="payments", ciphertext=three_versions[2]) == b"secret"


def test_a_destroyed_version_is_not_served_from_the_cache(admin, user, three_versions):
    """The cache of unwrapped material must not outlive the row's material."""
    from kms.keyring import _cache

    ops.decrypt(actor=user, name="payments", ciphertext=three_versions[1])
    keys.key_update(actor=admin, name="payments", changes={"min_decryption_version": 2})
    destroy_now(admin, "payments", 1)
    key = Key.objects.get(name="payments")
    assert _cache.get((key.uid.bytes, 1)) is None


def test_version_statuses_follow_the_settings(admin, three_versions):
    keys.key_update(actor=admin, name="payments", changes={"min_decryption_version": 2})
    keys.version_disable(actor=admin, name="payments", version=2)
    statuses = [v.status for v in KeyVersion.objects.filter(key__name="payments").order_by("version")]
    assert statuses == ["retired", "disabled", "active"]


# --- min_encryption_version and key_version -----------------------------------------


def test_only_the_current_version_encrypts_by_default(user, three_versions):
    assert encrypt(user).startswith("egide:v3:")
    with pytest.raises(VersionNotUsable):
        encrypt(user, key_version=2)


def test_min_encryption_version_lets_older_versions_encrypt_on_request(admin, user, three_versions):
    keys.key_update(actor=admin, name="payments", changes={"min_encryption_version": 2})
    token = encrypt(user, key_version=2)
    assert token.startswith("egide:v2:")
    assert ops.decrypt(actor=user, name="payments", ciphertext=token) == b"secret"
    with pytest.raises(VersionNotUsable):
        encrypt(user, key_version=1)
    assert encrypt(user).startswith("egide:v3:")


@pytest.mark.parametrize("version", [0, 4, -1])
def test_a_key_version_out_of_range_is_refused(user, three_versions, version):
    with pytest.raises(InvalidRequest):
        encrypt(user, key_version=version)


def test_an_allowed_but_disabled_version_does_not_encrypt(admin, user, three_versions):
    keys.key_update(actor=admin, name="payments", changes={"min_encryption_version": 1})
    keys.version_disable(actor=admin, name="payments", version=1)
    with pytest.raises(VersionNotUsable):
        encrypt(user, key_version=1)


def test_key_version_selects_the_signing_version(admin, user, system, signer):
    keys.key_rotate(actor=system, name="signer")
    with pytest.raises(VersionNotUsable):
        ops.sign(actor=user, name="signer", data=b"d", key_version=1)
    keys.key_update(actor=admin, name="signer", changes={"min_encryption_version": 1})
    assert ops.sign(actor=user, name="signer", data=b"d", key_version=1).key_version == 1


# --- settings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"colour": "blue"},
        {"state": "active"},
        {"current_version": 9},
        {"key_type": "rsa2048"},
        {"name": "other"},
        {"uid": "x"},
        {"description": "ok", "purge_after": None},
    ],
)
def test_unknown_or_read_only_settings_are_refused_and_nothing_changes(admin, payments, changes):
    before = fresh(payments)
    with pytest.raises(InvalidRequest):
        keys.key_update(actor=admin, name="payments", changes=changes)
    after = fresh(payments)
    assert (after.description, after.updated_at) == (before.description, before.updated_at)
    assert AuditEvent.objects.get(action="update").outcome == "error"


def test_an_empty_change_is_refused(admin, payments):
    with pytest.raises(InvalidRequest):
        keys.key_update(actor=admin, name="payments", changes={})


@pytest.mark.parametrize(
    "changes",
    [
        {"min_decryption_version": 0},
        {"min_decryption_version": 4},
        {"min_decryption_version": "2"},
        {"min_decryption_version": True},
        {"min_decryption_version": None},
        {"min_decryption_version": 2.0},
        {"min_encryption_version": -1},
        {"min_encryption_version": 4},
        {"exportable": "yes"},
        {"allow_deletion": 1},
        {"approvals_required": 11},
        {"approvals_required": -1},
        {"rotation_period": timedelta(minutes=5)},
        {"rotation_period": "90d"},
        {"description": "x" * 1001},
        {"max_signatures_per_version": 10},  # an encryption key has no signatures
    ],
)
def test_invalid_setting_values_are_refused(admin, three_versions, changes):
    before = fresh(Key.objects.get(name="payments"))
    with pytest.raises((InvalidRequest, CryptoInvalidRequest)):
        keys.key_update(actor=admin, name="payments", changes=changes)
    after = fresh(before)
    assert (after.min_decryption_version, after.min_encryption_version) == (1, 0)
    assert after.updated_at == before.updated_at


def test_min_decryption_version_accepts_its_whole_range(admin, three_versions):
    for floor in (3, 2, 1):
        key = keys.key_update(actor=admin, name="payments", changes={"min_decryption_version": floor})
        assert fresh(key).min_decryption_version == floor


def test_a_settings_change_is_audited_with_before_and_after(admin, payments):
    keys.key_update(actor=admin, name="payments", changes={"description": "card data"})
    event = AuditEvent.objects.get(action="update")
    assert event.details == {"before": {"description": ""}, "after": {"description": "card data"}}
