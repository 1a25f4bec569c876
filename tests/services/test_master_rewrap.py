"""Master-key rotation: configure B with A as old, re-wrap everything, then drop A."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from kms.crypto import MasterKey, MasterKeyError
from kms.keyring import forget_cache, keyring
from kms.models import AuditChainHead, KeyVersion
from kms.services import audit, keys
from kms.services import crypto_ops as ops
from kms.services.audit import verify_chain
from kms.services.master import rewrap_all
from tests.conftest import as_actor

pytestmark = pytest.mark.django_db

KEY_B = MasterKey.generate_base64()


@pytest.fixture
def use_master_keys(settings):
    """Switch the configured master keys, as a restart with new environment variables would."""

    def configure(current: str, old: list[str]) -> MasterKey:
        settings.EGIDE_MASTER_KEY, settings.EGIDE_MASTER_KEYS_OLD = current, old
        forget_everything()
        return keyring().current

    yield configure
    forget_everything()  # the next test rebuilds from the restored settings


def forget_everything() -> None:
    keyring.cache_clear()
    forget_cache()
    audit._key_cache.clear()  # noqa: SLF001 - the unwrapped chain key, as a new process would


@pytest.fixture
def estate(bob, system, create_key, settings):
    """Keys of several types under master key A, with data made under each of two versions."""
    user = as_actor(bob)
    made = {"A": settings.EGIDE_MASTER_KEY, "ciphertexts": [], "signatures": []}
    types = {"payments": "aes256", "box": "rsa2048", "signer": "ed25519", "ec": "ecdsa-p256"}
    for name, key_type in types.items():
        create_key(name, key_type)
    for _version in (1, 2):
        for name in ("payments", "box"):
            made["ciphertexts"].append((name, ops.encrypt(actor=user, name=name, plaintext=b"pii").ciphertext))
        for name in ("signer", "ec", "box"):
            made["signatures"].append((name, ops.sign(actor=user, name=name, data=b"doc").signature))
        for name in types:
            keys.key_rotate(actor=system, name=name)
    # A retired, destroyed version holds nothing left to re-wrap.
    keys.key_update(actor=system, name="signer", changes={"min_decryption_version": 2})
    keys.version_destroy(actor=system, name="signer", version=1)  # scheduled; wiped once due:
    keys.versions_destroy_due(actor=system, now=timezone.now() + timedelta(days=3660))
    made["signatures"] = [(n, sig) for n, sig in made["signatures"] if not (n == "signer" and ":v1:" in sig)]
    return made


def everything_works(bob, estate) -> None:
    for name, token in estate["ciphertexts"]:
        assert ops.decrypt(actor=as_actor(bob), name=name, ciphertext=token) == b"pii"
    for name, signature in estate["signatures"]:
        assert ops.verify(actor=as_actor(bob), name=name, data=b"doc", signature=signature) is True
    report = verify_chain()
    assert report.ok, report


def live_versions():
    return KeyVersion.objects.filter(destroyed_at__isnull=True)


def test_with_the_old_key_configured_everything_still_works_before_rewrap(bob, estate, use_master_keys):
    a_id = keyring().current.id
    b = use_master_keys(KEY_B, [estate["A"]])
    assert b.id != a_id
    everything_works(bob, estate)
    assert set(live_versions().values_list("master_key_id", flat=True)) == {a_id}


def test_new_material_is_wrapped_under_the_new_key_at_once(system, estate, use_master_keys):
    b = use_master_keys(KEY_B, [estate["A"]])
    kv = keys.key_rotate(actor=system, name="payments")
    assert kv.master_key_id == b.id


def test_rewrap_moves_every_row_and_the_chain_key_to_the_new_master_key(bob, estate, use_master_keys):
    b = use_master_keys(KEY_B, [estate["A"]])
    result = rewrap_all(batch_size=3)  # several batches
    assert (result.versions, result.secrets, result.remaining) == (live_versions().count(), 1, 0)
    assert result.master_key_id == b.id
    assert set(live_versions().values_list("master_key_id", flat=True)) == {b.id}
    assert AuditChainHead.objects.get().master_key_id == b.id
    everything_works(bob, estate)

    use_master_keys(KEY_B, [])  # A is gone for good
    everything_works(bob, estate)
    for kv in live_versions().select_related("key"):
        # Each row opens under B alone (not only through a warm cache).
        assert keyring().unwrap(bytes(kv.wrapped_material), aad=_aad(kv), master_key_id=kv.master_key_id)


def test_rewrap_is_audited_and_a_second_run_has_nothing_to_do(estate, use_master_keys):
    use_master_keys(KEY_B, [estate["A"]])
    rewrap_all()
    again = rewrap_all()
    assert (again.versions, again.secrets, again.remaining) == (0, 0, 0)
    from kms.models import AuditEvent

    event = AuditEvent.objects.get(action="master_rewrap")
    assert event.outcome == "success" and event.actor_name == "system"
    assert verify_chain().ok


def test_without_rewrap_dropping_the_old_key_breaks_decryption(bob, estate, use_master_keys):
    """The guard that makes the test above meaningful: the old rows really need A."""
    use_master_keys(KEY_B, [])
    name, token = estate["ciphertexts"][0]
    with pytest.raises(MasterKeyError):
        ops.decrypt(actor=as_actor(bob), name=name, ciphertext=token)


def test_the_management_command_rewraps_and_reports(estate, use_master_keys, capsys):
    b = use_master_keys(KEY_B, [estate["A"]])
    call_command("kms_rewrap_master", "--batch-size", "2")
    out = capsys.readouterr().out
    assert f"under master key {b.id}; 0 row(s) still under other keys" in out
    assert set(live_versions().values_list("master_key_id", flat=True)) == {b.id}


def _aad(kv: KeyVersion) -> bytes:
    from kms.crypto import material_aad

    return material_aad(kv.key.uid.bytes, kv.version)
