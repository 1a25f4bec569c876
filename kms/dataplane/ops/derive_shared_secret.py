"""derive-shared-secret: a peer's public key (PEM) → the raw X25519 / ECDH shared secret.

As AWS KMS `DeriveSharedSecret`: the raw secret (X25519's 32 bytes, ECDH's x-coordinate),
over which the caller runs its own KDF. A peer key that does not parse, or is of another
kind or curve, or a low-order X25519 point, is a 400 saying so (kms.crypto.ecdh).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kms.dataplane.core import Field, KeySnap, Operation, Outcome, Versions, details, each, optional
from kms.dataplane.ops.decapsulate import SharedSecret, chosen_version, render

# A P-384 SubjectPublicKeyInfo PEM is about 215 characters; room for CRLFs and an explicit curve.
MAX_PEM_CHARS = 4096


def run(key: KeySnap, versions: Versions, items: Sequence[Any], options: dict[str, Any]) -> Outcome:
    version = chosen_version(key, options.get("key_version"))

    def one(item: dict[str, Any]) -> SharedSecret:
        secret = versions.usable(version, "derive").derive_shared_secret(item["public_key"])
        versions.count(version, "decrypt")
        return SharedSecret(secret, version)

    results = each(items, options["single"], one)
    return Outcome(results, versions.counts, version, details(results))


OPERATION = Operation(
    name="derive-shared-secret",
    summary="Agree a raw shared secret (X25519, ECDH P-256/P-384) with a peer's public key.",
    permissions=("derive",),
    capability=("derive",),
    item_fields={
        "public_key": Field(
            "str", max_length=MAX_PEM_CHARS, doc="the peer's public key: PEM SubjectPublicKeyInfo, same curve"
        )
    },  # fmt: skip
    single_fields={"key_version": optional("int", "derive with this version (default: current)")},
    batchable=True,
    run=run,
    render=render,
    result_fields={"shared_secret": "byte", "key_version": "integer"},
    count_purposes=("decrypt",),
)
