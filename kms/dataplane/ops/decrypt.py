"""decrypt: an `egide:v<N>:` ciphertext → plaintext, with the version the token names."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from kms.crypto import parse_ciphertext
from kms.dataplane.core import (
    Field,
    KeySnap,
    Operation,
    Outcome,
    Versions,
    details,
    each,
    one_version,
    optional,
)


def run(key: KeySnap, versions: Versions, items: Sequence[Any], options: dict[str, Any]) -> Outcome:
    seen: set[int] = set()

    def one(item: dict[str, Any]) -> bytes:
        version, blob = parse_ciphertext(item["ciphertext"])
        seen.add(version)
        plaintext = versions.usable(version, "decrypt").decrypt(
            blob, context=item.get("context"), aad_prefix=versions.aad(version)
        )
        versions.count(version, "decrypt")
        return plaintext

    results = each(items, options["single"], one)
    return Outcome(results, versions.counts, one_version(seen), details(results))


def render(plaintext: bytes) -> dict[str, Any]:
    return {"plaintext": base64.b64encode(plaintext).decode()}


CIPHERTEXT = Field("str", max_length=2 * 1024 * 1024, doc="an `egide:v<N>:` ciphertext")

OPERATION = Operation(
    name="decrypt",
    summary="Decrypt a ciphertext made by this key (any version still allowed to decrypt).",
    permissions=("decrypt",),
    capability=("decrypt",),
    item_fields={"ciphertext": CIPHERTEXT, "context": optional("b64", "the context given at encryption")},
    batchable=True,
    run=run,
    render=render,
    result_fields={"plaintext": "byte"},
    playground=True,
    count_purposes=("decrypt",),
)
