"""Data-plane services: encrypt, decrypt, sign, verify, datakey, rewrap — single and batch.

Each checks permission, key state and version status (kms.rules), does the
crypto with the version's cached key object, counts the use, and writes one
audit event (a batch is one operation: one event with its item counts).
Details never hold plaintext, data or key material.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F

from kms import rules
from kms.crypto import (
    LoadedKey,
    aes_aad_prefix,
    format_token,
    get_key_type,
    parse_ciphertext,
    parse_signature,
)
from kms.exceptions import ERRORS, error_code, error_message
from kms.keyring import load_version
from kms.models import Key, KeyVersion
from kms.services.actor import Actor
from kms.services.lookup import key_for, version_of
from kms.services.operation import Operation, operation

DATA_KEY_BYTES = 32


@dataclass(frozen=True)
class Ciphertext:
    ciphertext: str
    key_version: int


@dataclass(frozen=True)
class Signature:
    signature: str
    key_version: int


@dataclass(frozen=True)
class DataKey:
    plaintext: bytes | None
    ciphertext: str
    key_version: int


@dataclass(frozen=True)
class ItemError:
    code: str
    message: str


def _usable_key(actor: Actor, op: Operation, name: str, permission: str, operation_name: str) -> Key:
    key = key_for(actor, name, permission)
    op.key = key
    rules.check_key_usable(name=key.name, state=key.state)
    get_key_type(key.key_type).require(operation_name)
    return key


def _loaded(key: Key, kv: KeyVersion) -> LoadedKey:
    return load_version(
        key_type=key.key_type, key_uid=key.uid.bytes, version=kv.version,
        wrapped=kv.wrapped_material, master_key_id=kv.master_key_id,
    )  # fmt: skip


class _Versions:
    """The versions one operation touches, loaded once each, with their use counts."""

    def __init__(self, key: Key) -> None:
        self.key = key
        self._versions: dict[int, KeyVersion | None] = {}
        self.counts: dict[tuple[int, str], int] = {}

    def get(self, version: int) -> KeyVersion | None:
        if version not in self._versions:
            self._versions[version] = version_of(self.key, version)
        return self._versions[version]

    def usable(self, version: int, purpose: str) -> LoadedKey:
        kv = self.get(version)
        status = None if kv is None else kv.status_in(self.key)
        rules.check_version_for_use(name=self.key.name, version=version, status=status, purpose=purpose)
        assert kv is not None
        if purpose == "encrypt" and self.key.key_type == "aes256":
            rules.check_aes_usage(encrypt_count=kv.encrypt_count + self.counts.get((version, "encrypt"), 0))
        return _loaded(self.key, kv)

    def count(self, version: int, purpose: str, n: int = 1) -> None:
        self.counts[(version, purpose)] = self.counts.get((version, purpose), 0) + n

    def flush(self) -> None:
        """Add the counted uses to each version row (inside the operation's transaction)."""
        for (version, purpose), n in self.counts.items():
            kv = self._versions[version]
            assert kv is not None
            KeyVersion.objects.filter(pk=kv.pk).update(**{f"{purpose}_count": F(f"{purpose}_count") + n})


def _aad(key: Key, version: int) -> bytes:
    return aes_aad_prefix(key.uid.bytes, version)


def _finish(op: Operation, versions: _Versions, key_version: int | None, details: dict[str, Any]) -> None:
    with transaction.atomic():
        versions.flush()
        op.success(key=versions.key, key_version=key_version, details=details)


def _encryption_version(key: Key, requested: int | None) -> int:
    return rules.encryption_version(
        requested=requested, current_version=key.current_version,
        min_encryption_version=key.min_encryption_version,
    )  # fmt: skip


# --- single operations ---------------------------------------------------------------


def encrypt(
    *, actor: Actor, name: str, plaintext: bytes, context: bytes | None = None, key_version: int | None = None
) -> Ciphertext:
    return encrypt_batch(actor=actor, name=name, items=[{"plaintext": plaintext, "context": context}],
                         key_version=key_version, single=True)[0]  # type: ignore[return-value]


def decrypt(*, actor: Actor, name: str, ciphertext: str, context: bytes | None = None) -> bytes:
    return decrypt_batch(actor=actor, name=name, items=[{"ciphertext": ciphertext, "context": context}],
                         single=True)[0]  # type: ignore[return-value]


def sign(
    *, actor: Actor, name: str, data: bytes, hash_name: str | None = None, padding: str | None = None,
    prehashed: bool = False, key_version: int | None = None,
) -> Signature:
    item = {"data": data, "hash_name": hash_name, "padding": padding, "prehashed": prehashed}
    return sign_batch(actor=actor, name=name, items=[item], key_version=key_version, single=True)[0]  # type: ignore[return-value]


def verify(
    *, actor: Actor, name: str, data: bytes, signature: str, hash_name: str | None = None,
    padding: str | None = None, prehashed: bool = False,
) -> bool:
    item = {"data": data, "signature": signature, "hash_name": hash_name, "padding": padding,
            "prehashed": prehashed}  # fmt: skip
    return verify_batch(actor=actor, name=name, items=[item], single=True)[0]  # type: ignore[return-value]


# --- batches: one result per item, each with its own error ----------------------------


def _run_items(
    items: Sequence[dict[str, Any]], single: bool, fn: Callable[[dict[str, Any]], Any]
) -> list[Any]:
    """Apply fn to each item. A single operation raises its error; a batch reports it per item."""
    results: list[Any] = []
    for item in items:
        if isinstance(item, ItemError):  # refused by the adapter's parsing: keep its place
            results.append(item)
            continue
        try:
            results.append(fn(item))
        except ERRORS as exc:
            if single:
                raise
            results.append(ItemError(error_code(exc), error_message(exc)))
    return results


def _batch_details(results: list[Any], **extra: Any) -> dict[str, Any]:
    failed = sum(isinstance(r, ItemError) for r in results)
    details: dict[str, Any] = {"items": len(results), "failed": failed, **extra}
    if failed:
        details["errors"] = sorted({r.code for r in results if isinstance(r, ItemError)})
    return details


def _single_version(results: list[Any]) -> int | None:
    versions = {getattr(r, "key_version", None) for r in results} - {None}
    return versions.pop() if len(versions) == 1 else None


def encrypt_batch(
    *, actor: Actor, name: str, items: Sequence[dict[str, Any]], key_version: int | None = None,
    single: bool = False,
) -> list[Ciphertext | ItemError]:
    with operation(actor, "encrypt", key_name=name) as op:
        key = _usable_key(actor, op, name, "encrypt", "encrypt")
        version = _encryption_version(key, key_version)
        op.key_version = version
        versions = _Versions(key)
        loaded = versions.usable(version, "encrypt")

        def one(item: dict[str, Any]) -> Ciphertext:
            blob = loaded.encrypt(item["plaintext"], context=item.get("context"), aad_prefix=_aad(key, version))
            versions.count(version, "encrypt")
            return Ciphertext(format_token(version, blob), version)

        results = _run_items(items, single, one)
        _finish(op, versions, version, _batch_details(results, bytes=sum(len(i["plaintext"]) for i in items if isinstance(i, dict))))
        return results


def decrypt_batch(
    *, actor: Actor, name: str, items: Sequence[dict[str, Any]], single: bool = False
) -> list[bytes | ItemError]:
    with operation(actor, "decrypt", key_name=name) as op:
        key = _usable_key(actor, op, name, "decrypt", "decrypt")
        versions = _Versions(key)

        def one(item: dict[str, Any]) -> bytes:
            version, blob = parse_ciphertext(item["ciphertext"])
            op.key_version = version
            plaintext = versions.usable(version, "decrypt").decrypt(
                blob, context=item.get("context"), aad_prefix=_aad(key, version)
            )
            versions.count(version, "decrypt")
            return plaintext

        results = _run_items(items, single, one)
        _finish(op, versions, op.key_version if single else None, _batch_details(results))
        return results


def sign_batch(
    *, actor: Actor, name: str, items: Sequence[dict[str, Any]], key_version: int | None = None,
    single: bool = False,
) -> list[Signature | ItemError]:
    with operation(actor, "sign", key_name=name) as op:
        key = _usable_key(actor, op, name, "sign", "sign")
        version = _encryption_version(key, key_version)
        op.key_version = version
        versions = _Versions(key)
        loaded = versions.usable(version, "sign")

        def one(item: dict[str, Any]) -> Signature:
            raw = loaded.sign(item["data"], hash_name=item.get("hash_name"), padding=item.get("padding"),
                              prehashed=bool(item.get("prehashed")))  # fmt: skip
            versions.count(version, "sign")
            return Signature(format_token(version, raw), version)

        results = _run_items(items, single, one)
        _finish(op, versions, version, _batch_details(results))
        return results


def verify_batch(
    *, actor: Actor, name: str, items: Sequence[dict[str, Any]], single: bool = False
) -> list[bool | ItemError]:
    with operation(actor, "verify", key_name=name) as op:
        key = _usable_key(actor, op, name, "verify", "verify")
        versions = _Versions(key)

        def one(item: dict[str, Any]) -> bool:
            version, raw = parse_signature(item["signature"])
            op.key_version = version
            valid = versions.usable(version, "verify").verify(
                item["data"], raw, hash_name=item.get("hash_name"), padding=item.get("padding"),
                prehashed=bool(item.get("prehashed")),
            )  # fmt: skip
            versions.count(version, "verify")
            return valid

        results = _run_items(items, single, one)
        valid = sum(r is True for r in results)
        _finish(op, versions, op.key_version if single else None, _batch_details(results, valid=valid))
        return results


def datakey(
    *, actor: Actor, name: str, context: bytes | None = None, include_plaintext: bool = True
) -> DataKey:
    """A fresh 256-bit data key, wrapped under the key's current version (and, if asked, in plaintext)."""
    with operation(actor, "datakey", key_name=name) as op:
        key = _usable_key(actor, op, name, "encrypt", "encrypt")
        version = key.current_version
        op.key_version = version
        versions = _Versions(key)
        plaintext = os.urandom(DATA_KEY_BYTES)
        blob = versions.usable(version, "encrypt").encrypt(plaintext, context=context, aad_prefix=_aad(key, version))
        versions.count(version, "encrypt")
        _finish(op, versions, version, {"plaintext_returned": include_plaintext})
        return DataKey(plaintext if include_plaintext else None, format_token(version, blob), version)


def rewrap(*, actor: Actor, name: str, ciphertext: str, context: bytes | None = None) -> Ciphertext:
    """Decrypt under the token's version and encrypt under the current one; plaintext stays inside."""
    with operation(actor, "rewrap", key_name=name) as op:
        key = _usable_key(actor, op, name, "decrypt", "decrypt")
        key = _usable_key(actor, op, name, "encrypt", "encrypt")
        versions = _Versions(key)
        old, blob = parse_ciphertext(ciphertext)
        plaintext = versions.usable(old, "decrypt").decrypt(blob, context=context, aad_prefix=_aad(key, old))
        new = key.current_version
        op.key_version = new
        out = versions.usable(new, "encrypt").encrypt(plaintext, context=context, aad_prefix=_aad(key, new))
        versions.count(old, "decrypt")
        versions.count(new, "encrypt")
        _finish(op, versions, new, {"from_version": old})
        return Ciphertext(format_token(new, out), new)
