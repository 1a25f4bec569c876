"""The data-plane operations themselves, over plain values: one implementation, two callers.

`run()` takes a key snapshot, a way to fetch version snapshots, and the items of
one request, applies kms.rules (state, version, usage limits), does the crypto with
the version's cached key object, and returns the results with what to count and
audit. The ORM-backed services (kms.services.crypto_ops) and the lean data-plane
views (kms.dataplane) differ only in how they load snapshots, check permission,
and write the audit event.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kms import rules
from kms.crypto import LoadedKey, aes_aad_prefix, format_token, get_key_type, parse_ciphertext, parse_signature
from kms.exceptions import ERRORS, error_code, error_message
from kms.keyring import load_version

DATA_KEY_BYTES = 32
OPERATIONS = ("encrypt", "decrypt", "sign", "verify", "datakey", "rewrap")


@dataclass(frozen=True, slots=True)
class KeySnap:
    """What the rules need of a key (from the ORM or from hand-written SQL)."""

    id: int
    uid: bytes
    name: str
    key_type: str
    state: str
    current_version: int
    min_encryption_version: int
    min_decryption_version: int


@dataclass(frozen=True, slots=True)
class VersionSnap:
    version: int
    wrapped: bytes
    master_key_id: str
    disabled: bool
    destroyed: bool
    encrypt_count: int
    sign_count: int


KeyLike = KeySnap
VersionLike = VersionSnap


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


@dataclass
class Outcome:
    """What one operation produced: results, the uses to count, and the audit facts."""

    results: list[Any]
    counts: dict[tuple[int, str], int] = field(default_factory=dict)
    key_version: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


class _Versions:
    def __init__(self, key: KeyLike, fetch: Callable[[int], VersionLike | None]) -> None:
        self.key, self.fetch = key, fetch
        self.cache: dict[int, VersionLike | None] = {}
        self.counts: dict[tuple[int, str], int] = {}

    def usable(self, version: int, purpose: str) -> LoadedKey:
        if version not in self.cache:
            self.cache[version] = self.fetch(version)
        snap = self.cache[version]
        status = None if snap is None else rules.version_status(
            version=version, current_version=self.key.current_version,
            min_decryption_version=self.key.min_decryption_version,
            disabled=snap.disabled, destroyed=snap.destroyed,
        )  # fmt: skip
        rules.check_version_for_use(name=self.key.name, version=version, status=status, purpose=purpose)
        assert snap is not None
        if purpose == "encrypt" and self.key.key_type == "aes256":
            rules.check_aes_usage(encrypt_count=snap.encrypt_count + self.counts.get((version, "encrypt"), 0))
        return load_version(key_type=self.key.key_type, key_uid=self.key.uid, version=version,
                            wrapped=snap.wrapped, master_key_id=snap.master_key_id)  # fmt: skip

    def count(self, version: int, purpose: str) -> None:
        self.counts[(version, purpose)] = self.counts.get((version, purpose), 0) + 1


def check_key(key: KeyLike, operation: str) -> None:
    """The key-level rules: usable state, and a type that can do the operation."""
    rules.check_key_usable(name=key.name, state=key.state)
    get_key_type(key.key_type).require("encrypt" if operation in ("datakey", "rewrap") else operation)
    if operation == "rewrap":
        get_key_type(key.key_type).require("decrypt")


def _items(items: Sequence[Any], single: bool, fn: Callable[[dict[str, Any]], Any]) -> list[Any]:
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


def _details(results: list[Any], **extra: Any) -> dict[str, Any]:
    failed = [r for r in results if isinstance(r, ItemError)]
    details: dict[str, Any] = {"items": len(results), "failed": len(failed), **extra}
    if failed:
        details["errors"] = sorted({r.code for r in failed})
    return details


def _sign_args(item: dict[str, Any]) -> dict[str, Any]:
    return {"hash_name": item.get("hash_name"), "padding": item.get("padding"),
            "prehashed": item.get("prehashed", False)}  # fmt: skip


def run(
    operation: str,
    key: KeyLike,
    fetch: Callable[[int], VersionLike | None],
    items: Sequence[Any],
    *,
    key_version: int | None = None,
    single: bool = False,
    include_plaintext: bool = True,
) -> Outcome:
    """Perform `operation` on every item. Single: errors raise. Batch: each item gets its own."""
    check_key(key, operation)
    versions = _Versions(key, fetch)
    aad = lambda v: aes_aad_prefix(key.uid, v)  # noqa: E731
    floor = rules.encryption_version(requested=key_version, current_version=key.current_version,
                                     min_encryption_version=key.min_encryption_version)  # fmt: skip
    if operation == "encrypt":
        loaded = versions.usable(floor, "encrypt")

        def one(item: dict[str, Any]) -> Ciphertext:
            blob = loaded.encrypt(item["plaintext"], context=item.get("context"), aad_prefix=aad(floor))
            versions.count(floor, "encrypt")
            return Ciphertext(format_token(floor, blob), floor)

        results = _items(items, single, one)
        nbytes = sum(len(i["plaintext"]) for i in items if isinstance(i, dict))
        return Outcome(results, versions.counts, floor, _details(results, bytes=nbytes))

    if operation == "sign":
        loaded = versions.usable(floor, "sign")

        def sign_one(item: dict[str, Any]) -> Signature:
            raw = loaded.sign(item["data"], **_sign_args(item))
            versions.count(floor, "sign")
            return Signature(format_token(floor, raw), floor)

        results = _items(items, single, sign_one)
        return Outcome(results, versions.counts, floor, _details(results))

    seen: set[int] = set()
    if operation == "decrypt":

        def decrypt_one(item: dict[str, Any]) -> bytes:
            version, blob = parse_ciphertext(item["ciphertext"])
            seen.add(version)
            plaintext = versions.usable(version, "decrypt").decrypt(
                blob, context=item.get("context"), aad_prefix=aad(version))
            versions.count(version, "decrypt")
            return plaintext

        results = _items(items, single, decrypt_one)
        return Outcome(results, versions.counts, _one(seen), _details(results))

    if operation == "verify":

        def verify_one(item: dict[str, Any]) -> bool:
            version, raw = parse_signature(item["signature"])
            seen.add(version)
            valid = versions.usable(version, "verify").verify(item["data"], raw, **_sign_args(item))
            versions.count(version, "verify")
            return valid

        results = _items(items, single, verify_one)
        return Outcome(results, versions.counts, _one(seen),
                       _details(results, valid=sum(r is True for r in results)))  # fmt: skip

    current = key.current_version
    if operation == "datakey":
        item = items[0]
        plaintext = os.urandom(DATA_KEY_BYTES)
        blob = versions.usable(current, "encrypt").encrypt(plaintext, context=item.get("context"),
                                                           aad_prefix=aad(current))  # fmt: skip
        versions.count(current, "encrypt")
        result = DataKey(plaintext if include_plaintext else None, format_token(current, blob), current)
        return Outcome([result], versions.counts, current, {"plaintext_returned": include_plaintext})

    if operation == "rewrap":
        item = items[0]
        old, blob = parse_ciphertext(item["ciphertext"])
        plaintext = versions.usable(old, "decrypt").decrypt(blob, context=item.get("context"), aad_prefix=aad(old))
        out = versions.usable(current, "encrypt").encrypt(plaintext, context=item.get("context"),
                                                          aad_prefix=aad(current))  # fmt: skip
        versions.count(old, "decrypt")
        versions.count(current, "encrypt")
        return Outcome([Ciphertext(format_token(current, out), current)], versions.counts, current,
                       {"from_version": old})  # fmt: skip
    raise ValueError(f"unknown operation {operation!r}")


def _one(versions: set[int]) -> int | None:
    return next(iter(versions)) if len(versions) == 1 else None
