"""The data-plane operations as Python calls: encrypt, decrypt, sign, verify, hmac, decapsulate,
derive-shared-secret, datakey, rewrap.

For the pages, the admin, management commands and tests. Each call goes through the one
request pipeline (kms.dataplane.pipeline.execute) below its wire format: the same
authorization ("hide or deny"), rules, counters and audit event as an API request. A
batch is one operation: one event with its item counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kms.dataplane.core import Ciphertext, DataKey, ItemError, Signature  # noqa: F401 - results
from kms.dataplane.ops import OPERATIONS
from kms.dataplane.pipeline import SYSTEM, Principal, execute
from kms.dataplane.state import CACHE
from kms.services.actor import Actor

# The permission(s) each operation needs, from the operations' declarations.
PERMISSIONS: dict[str, tuple[str, ...]] = {name: op.permissions for name, op in OPERATIONS.items()}


def principal_of(actor: Actor) -> Principal:
    if actor.is_system:
        return SYSTEM
    user = actor.user
    active = bool(user is not None and user.is_authenticated and user.is_active)
    return Principal(user.pk if active else None, actor.name, active and user.is_superuser,
                     actor.auth_method or "session", actor.token_id)  # fmt: skip


def _perform(actor: Actor, name: str, operation: str, items: Sequence[Any], **options: Any) -> list[Any]:
    CACHE.sync()
    options.setdefault("single", False)
    outcome = execute(principal_of(actor), OPERATIONS[operation], name, list(items), options,
                      source=actor.source, request_id=actor.request_id, remote_addr=actor.client_addr)  # fmt: skip
    return outcome.results


def _signing(item: dict[str, Any]) -> dict[str, Any]:
    """The services' keyword names → the request fields (hash_name is `algorithm`)."""
    out = dict(item)
    if "hash_name" in out:
        out["algorithm"] = out.pop("hash_name")
    return out


def encrypt(*, actor: Actor, name: str, plaintext: bytes, context: bytes | None = None,
            key_version: int | None = None) -> Ciphertext:  # fmt: skip
    return _perform(actor, name, "encrypt", [{"plaintext": plaintext, "context": context}],
                    key_version=key_version, single=True)[0]  # fmt: skip


def decrypt(*, actor: Actor, name: str, ciphertext: str, context: bytes | None = None) -> bytes:
    return _perform(actor, name, "decrypt", [{"ciphertext": ciphertext, "context": context}], single=True)[0]


def sign(*, actor: Actor, name: str, data: bytes, hash_name: str | None = None, padding: str | None = None,
         prehashed: bool = False, key_version: int | None = None) -> Signature:  # fmt: skip
    item = {"data": data, "algorithm": hash_name, "padding": padding, "prehashed": prehashed}
    return _perform(actor, name, "sign", [item], key_version=key_version, single=True)[0]


def verify(*, actor: Actor, name: str, data: bytes, signature: str, hash_name: str | None = None,
           padding: str | None = None, prehashed: bool = False) -> bool:  # fmt: skip
    item = {"data": data, "signature": signature, "algorithm": hash_name, "padding": padding,
            "prehashed": prehashed}  # fmt: skip
    return _perform(actor, name, "verify", [item], single=True)[0]


def hmac(*, actor: Actor, name: str, data: bytes, hash_name: str | None = None,
         key_version: int | None = None) -> Any:  # fmt: skip
    """The HMAC (`egide:v<N>:`) of `data` with an hmac key; `.hmac` and `.key_version`."""
    return _perform(actor, name, "hmac", [{"data": data, "algorithm": hash_name}], key_version=key_version,
                    single=True)[0]  # fmt: skip


def verify_hmac(*, actor: Actor, name: str, data: bytes, mac: str, hash_name: str | None = None) -> bool:
    return _perform(actor, name, "verify", [{"data": data, "hmac": mac, "algorithm": hash_name}], single=True)[0]


def decapsulate(*, actor: Actor, name: str, ciphertext: bytes, key_version: int | None = None) -> Any:
    """The ML-KEM shared secret: `.shared_secret` (bytes) and `.key_version`."""
    return _perform(actor, name, "decapsulate", [{"ciphertext": ciphertext}], key_version=key_version,
                    single=True)[0]  # fmt: skip


def derive_shared_secret(*, actor: Actor, name: str, public_key: str, key_version: int | None = None) -> Any:
    """The raw X25519/ECDH shared secret with a peer's PEM public key: `.shared_secret`, `.key_version`."""
    return _perform(actor, name, "derive-shared-secret", [{"public_key": public_key}], key_version=key_version,
                    single=True)[0]  # fmt: skip


def encrypt_batch(*, actor: Actor, name: str, items: Sequence[Any], key_version: int | None = None,
                  single: bool = False) -> list[Any]:  # fmt: skip
    return _perform(actor, name, "encrypt", items, key_version=key_version, single=single)


def decrypt_batch(*, actor: Actor, name: str, items: Sequence[Any], single: bool = False) -> list[Any]:
    return _perform(actor, name, "decrypt", items, single=single)


def sign_batch(*, actor: Actor, name: str, items: Sequence[Any], key_version: int | None = None,
               single: bool = False) -> list[Any]:  # fmt: skip
    return _perform(actor, name, "sign", [i if isinstance(i, ItemError) else _signing(i) for i in items],
                    key_version=key_version, single=single)  # fmt: skip


def verify_batch(*, actor: Actor, name: str, items: Sequence[Any], single: bool = False) -> list[Any]:
    return _perform(actor, name, "verify", [i if isinstance(i, ItemError) else _signing(i) for i in items],
                    single=single)  # fmt: skip


def datakey(*, actor: Actor, name: str, context: bytes | None = None, include_plaintext: bool = True) -> DataKey:
    """A fresh 256-bit data key, wrapped under the key's current version (and in plaintext if asked)."""
    return _perform(actor, name, "datakey", [{"context": context, "plaintext": include_plaintext}], single=True)[0]


def rewrap(*, actor: Actor, name: str, ciphertext: str, context: bytes | None = None) -> Ciphertext:
    """Decrypt under the token's version and encrypt under the current one; plaintext stays inside."""
    return _perform(actor, name, "rewrap", [{"ciphertext": ciphertext, "context": context}], single=True)[0]
