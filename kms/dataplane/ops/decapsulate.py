"""decapsulate: an ML-KEM ciphertext (encapsulated by the caller to the published public key)
→ the 32-byte shared secret, with the current version or `key_version`.

As Google Cloud KMS does: callers encapsulate locally (`GET /v1/kms/keys/<name>/public`), Egide
decapsulates. A ciphertext of the right length not made for this key gives a pseudo-random
secret (FIPS 203's implicit rejection), never an error: decapsulation is no oracle.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kms.dataplane.core import Field, KeySnap, Operation, Outcome, Versions, details, each, optional
from kms.rules import encryption_version

# ML-KEM-1024's ciphertext (1,568 bytes) with room; the key type checks the exact length.
MAX_CIPHERTEXT_CHARS = 4096


@dataclass(frozen=True)
class SharedSecret:
    shared_secret: bytes
    key_version: int

    def __repr__(self) -> str:  # never the secret, in a log or a traceback
        return f"SharedSecret(<hidden>, key_version={self.key_version})"


def chosen_version(key: KeySnap, requested: int | None) -> int:
    """The current version, or any version from 1 to the current one (still usable: rules)."""
    return encryption_version(requested=requested, current_version=key.current_version, min_encryption_version=1)


def run(key: KeySnap, versions: Versions, items: Sequence[Any], options: dict[str, Any]) -> Outcome:
    version = chosen_version(key, options.get("key_version"))

    def one(item: dict[str, Any]) -> SharedSecret:
        secret = versions.usable(version, "decapsulate").decapsulate(item["ciphertext"])
        versions.count(version, "decrypt")
        return SharedSecret(secret, version)

    results = each(items, options["single"], one)
    return Outcome(results, versions.counts, version, details(results))


def render(result: SharedSecret) -> dict[str, Any]:
    return {"shared_secret": base64.b64encode(result.shared_secret).decode(), "key_version": result.key_version}


OPERATION = Operation(
    name="decapsulate",
    summary="Recover the shared secret of an ML-KEM ciphertext encapsulated to this key's public key.",
    permissions=("decapsulate",),
    capability=("decapsulate",),
    item_fields={"ciphertext": Field("b64", doc="the ML-KEM ciphertext, base64 (1,088 or 1,568 bytes)")},
    single_fields={"key_version": optional("int", "the version whose public key was used (default: current)")},
    batchable=True,
    run=run,
    render=render,
    result_fields={"shared_secret": "byte", "key_version": "integer"},
    count_purposes=("decrypt",),
)
