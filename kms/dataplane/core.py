"""What every data-plane operation shares: snapshots, results, the request fields, the declaration.

An operation (kms.dataplane.ops) is declared once as an `Operation`: its name (the URL
segment and the audit action), the permissions it needs, the fields of one item and of
a single request, whether it takes a batch or a raw body, its runner and its renderer.
The pipeline (kms.dataplane.pipeline), both transports, the OpenAPI schema, the audit
action names and the pages' operation lists are all read from those declarations.

Runners work over plain values: a key snapshot, a way to fetch version snapshots (the
`Versions` helper applies kms.rules to each: state, version, usage limits) and the
parsed items; they return an `Outcome` (results, uses to count, audit facts).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kms import rules
from kms.crypto import LoadedKey, get_key_type
from kms.exceptions import ERRORS, error_code, error_message
from kms.keyring import load_version


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
    # The identity ciphertexts' associated data bind (Key.aad_identity): `uid` unless the key
    # was restored from a backup. `uid` itself stays the material's and the cache's identity.
    aad_uid: bytes | None = None


@dataclass(frozen=True, slots=True)
class VersionSnap:
    version: int
    wrapped: bytes
    master_key_id: str
    disabled: bool
    destroyed: bool
    encrypt_count: int
    sign_count: int


# --- results ------------------------------------------------------------------------------


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

    def __repr__(self) -> str:  # never the plaintext, in a log or a traceback
        shown = "<hidden>" if self.plaintext is not None else None
        return f"DataKey(plaintext={shown}, ciphertext={self.ciphertext!r}, key_version={self.key_version})"


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


# --- request fields -------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One request field: its JSON kind, whether it may be absent or null, its limit."""

    kind: str  # "b64" (standard base64 → bytes), "str", "bool", "int" (1..2^31-1)
    required: bool = True
    nullable: bool = False  # null accepted as "none" (only for optional fields)
    max_length: int | None = None  # characters, for "str"
    doc: str = ""
    choices: tuple[str, ...] = ()  # for the schema; the key type checks the value


def optional(kind: str, doc: str = "", **extra: Any) -> Field:
    return Field(kind, required=False, nullable=kind != "bool", doc=doc, **extra)


@dataclass(frozen=True)
class RawBody:
    """An operation that also takes its data as an application/octet-stream body."""

    data_field: str  # the item field the body fills
    query_fields: tuple[str, ...]  # the other item fields, from the query string
    max_bytes: int = 16 * 1024 * 1024


Runner = Callable[["KeySnap", "Versions", Sequence[Any], dict[str, Any]], Outcome]


@dataclass(frozen=True)
class Operation:
    """One data-plane operation, declared once (see kms/dataplane/ops/__init__.py)."""

    name: str
    summary: str
    permissions: tuple[str, ...]  # every one is needed (rewrap: decrypt and encrypt)
    capability: tuple[str, ...]  # what the key type must be able to do
    item_fields: dict[str, Field]
    run: Runner
    render: Callable[[Any], dict[str, Any]]
    result_fields: dict[str, str]  # name → JSON type, for the schema
    single_fields: dict[str, Field] = field(default_factory=dict)  # a single request only
    batchable: bool = False
    raw: RawBody | None = None
    count_purposes: tuple[str, ...] = ()  # the version counters it moves
    playground: bool = False  # offered on the playground page (one item, text in and out)


# --- versions and rules -------------------------------------------------------------------


class Versions:
    """The versions one request touches: fetched once, checked against the rules, counted."""

    def __init__(self, key: KeySnap, fetch: Callable[[int], VersionSnap | None],
                 pending: Callable[[int, str], int] | None = None) -> None:  # fmt: skip
        self.key, self.fetch = key, fetch
        self.pending = pending  # uses made but not yet in the snapshot's counts (the spool)
        self.cache: dict[int, VersionSnap | None] = {}
        self.counts: dict[tuple[int, str], int] = {}
        self.key_type = get_key_type(key.key_type)
        self.aad = lambda version: self.key_type.aad_prefix(key.aad_uid or key.uid, version)

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
        limit = self.key_type.encrypt_limit if purpose == "encrypt" else None
        if limit is not None:  # AES-GCM's random-nonce limit (NIST SP 800-38D)
            used = snap.encrypt_count + self.counts.get((version, purpose), 0)
            if self.pending is not None:
                used += self.pending(version, purpose)
            rules.check_usage_limit(used=used, limit=limit)
        return load_version(key_type=self.key.key_type, key_uid=self.key.uid, version=version,
                            wrapped=snap.wrapped, master_key_id=snap.master_key_id)  # fmt: skip

    def count(self, version: int, purpose: str, n: int = 1) -> None:
        self.counts[(version, purpose)] = self.counts.get((version, purpose), 0) + n

    def encryption_version(self, requested: int | None) -> int:
        return rules.encryption_version(requested=requested, current_version=self.key.current_version,
                                        min_encryption_version=self.key.min_encryption_version)  # fmt: skip


def check_key(key: KeySnap, operation: Operation) -> None:
    """The key-level rules: usable state, and a type that can do the operation."""
    rules.check_key_usable(name=key.name, state=key.state)
    key_type = get_key_type(key.key_type)
    for capability in operation.capability:
        key_type.require(capability)


def each(items: Sequence[Any], single: bool, fn: Callable[[dict[str, Any]], Any]) -> list[Any]:
    """Run `fn` on every item: single → errors raise; batch → each item gets its own."""
    results: list[Any] = []
    for item in items:
        if isinstance(item, ItemError):  # refused while parsing: keep its place
            results.append(item)
            continue
        try:
            results.append(fn(item))
        except ERRORS as exc:
            if single:
                raise
            results.append(ItemError(error_code(exc), error_message(exc)))
    return results


def details(results: list[Any], **extra: Any) -> dict[str, Any]:
    failed = [r for r in results if isinstance(r, ItemError)]
    out: dict[str, Any] = {"items": len(results), "failed": len(failed), **extra}
    if failed:
        out["errors"] = sorted({r.code for r in failed})
    return out


def one_version(seen: set[int]) -> int | None:
    return next(iter(seen)) if len(seen) == 1 else None
