"""Data-plane services over the ORM: encrypt, decrypt, sign, verify, datakey, rewrap.

Used by the pages, the admin, the DRF fallback views and tests. Each looks the
key up, checks permission (kms.access), runs the operation (kms.services.crypto_core,
shared with the lean kms.dataplane path), counts the uses and writes one audit
event in one transaction. A batch is one operation: one event with its item counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import F

from kms import access
from kms.models import Key, KeyVersion
from kms.services.actor import Actor
from kms.services.crypto_core import (  # noqa: F401 - re-exported result types
    Ciphertext,
    DataKey,
    ItemError,
    KeySnap,
    Signature,
    VersionSnap,
    run,
)
from kms.services.lookup import key_for
from kms.services.operation import operation

# The permission each operation needs (rewrap: both).
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "encrypt": ("encrypt",), "decrypt": ("decrypt",), "sign": ("sign",), "verify": ("verify",),
    "datakey": ("encrypt",), "rewrap": ("decrypt", "encrypt"),
}  # fmt: skip


def key_snap(key: Key) -> KeySnap:
    return KeySnap(key.pk, key.uid.bytes, key.name, key.key_type, key.state, key.current_version,
                   key.min_encryption_version, key.min_decryption_version)  # fmt: skip


def version_snap(kv: KeyVersion) -> VersionSnap:
    return VersionSnap(kv.version, bytes(kv.wrapped_material), kv.master_key_id, kv.disabled_at is not None,
                       kv.destroyed_at is not None, kv.encrypt_count, kv.sign_count)  # fmt: skip


def _perform(actor: Actor, name: str, op_name: str, items: Sequence[Any], **options: Any) -> list[Any]:
    with operation(actor, op_name, key_name=name) as op:
        needed = PERMISSIONS[op_name]
        key = key_for(actor, name, needed[0])
        op.key = key
        for extra in needed[1:]:
            if not actor.is_system:
                access.require(actor.user, key, extra)
        rows: dict[int, KeyVersion] = {}

        def fetch(version: int) -> VersionSnap | None:
            kv = KeyVersion.objects.filter(key=key, version=version).first()
            if kv is None:
                return None
            rows[version] = kv
            return version_snap(kv)

        outcome = run(op_name, key_snap(key), fetch, items, **options)
        op.key_version = outcome.key_version
        with transaction.atomic():
            for (version, purpose), n in outcome.counts.items():
                KeyVersion.objects.filter(pk=rows[version].pk).update(**{f"{purpose}_count": F(f"{purpose}_count") + n})
            op.success(key=key, key_version=outcome.key_version, details=outcome.details)
        return outcome.results


def encrypt(*, actor: Actor, name: str, plaintext: bytes, context: bytes | None = None,
            key_version: int | None = None) -> Ciphertext:  # fmt: skip
    return _perform(actor, name, "encrypt", [{"plaintext": plaintext, "context": context}],
                    key_version=key_version, single=True)[0]  # fmt: skip


def decrypt(*, actor: Actor, name: str, ciphertext: str, context: bytes | None = None) -> bytes:
    return _perform(actor, name, "decrypt", [{"ciphertext": ciphertext, "context": context}], single=True)[0]


def sign(*, actor: Actor, name: str, data: bytes, hash_name: str | None = None, padding: str | None = None,
         prehashed: bool = False, key_version: int | None = None) -> Signature:  # fmt: skip
    item = {"data": data, "hash_name": hash_name, "padding": padding, "prehashed": prehashed}
    return _perform(actor, name, "sign", [item], key_version=key_version, single=True)[0]


def verify(*, actor: Actor, name: str, data: bytes, signature: str, hash_name: str | None = None,
           padding: str | None = None, prehashed: bool = False) -> bool:  # fmt: skip
    item = {"data": data, "signature": signature, "hash_name": hash_name, "padding": padding,
            "prehashed": prehashed}  # fmt: skip
    return _perform(actor, name, "verify", [item], single=True)[0]


def encrypt_batch(*, actor: Actor, name: str, items: Sequence[Any], key_version: int | None = None,
                  single: bool = False) -> list[Any]:  # fmt: skip
    return _perform(actor, name, "encrypt", items, key_version=key_version, single=single)


def decrypt_batch(*, actor: Actor, name: str, items: Sequence[Any], single: bool = False) -> list[Any]:
    return _perform(actor, name, "decrypt", items, single=single)


def sign_batch(*, actor: Actor, name: str, items: Sequence[Any], key_version: int | None = None,
               single: bool = False) -> list[Any]:  # fmt: skip
    return _perform(actor, name, "sign", items, key_version=key_version, single=single)


def verify_batch(*, actor: Actor, name: str, items: Sequence[Any], single: bool = False) -> list[Any]:
    return _perform(actor, name, "verify", items, single=single)


def datakey(*, actor: Actor, name: str, context: bytes | None = None, include_plaintext: bool = True) -> DataKey:
    """A fresh 256-bit data key, wrapped under the key's current version (and in plaintext if asked)."""
    return _perform(actor, name, "datakey", [{"context": context}], single=True,
                    include_plaintext=include_plaintext)[0]  # fmt: skip


def rewrap(*, actor: Actor, name: str, ciphertext: str, context: bytes | None = None) -> Ciphertext:
    """Decrypt under the token's version and encrypt under the current one; plaintext stays inside."""
    return _perform(actor, name, "rewrap", [{"ciphertext": ciphertext, "context": context}], single=True)[0]
