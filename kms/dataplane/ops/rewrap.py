"""rewrap: a ciphertext under an older version → the same plaintext under the current one,
without the plaintext leaving the server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kms.crypto import format_token, parse_ciphertext
from kms.dataplane.core import Ciphertext, KeySnap, Operation, Outcome, Versions, optional
from kms.dataplane.ops.decrypt import CIPHERTEXT
from kms.dataplane.ops.encrypt import render


def run(key: KeySnap, versions: Versions, items: Sequence[Any], options: dict[str, Any]) -> Outcome:
    item, current = items[0], key.current_version
    old, blob = parse_ciphertext(item["ciphertext"])
    context = item.get("context")
    plaintext = versions.usable(old, "decrypt").decrypt(blob, context=context, aad_prefix=versions.aad(old))
    out = versions.usable(current, "encrypt").encrypt(plaintext, context=context,
                                                      aad_prefix=versions.aad(current))  # fmt: skip
    versions.count(old, "decrypt")
    versions.count(current, "encrypt")
    return Outcome([Ciphertext(format_token(current, out), current)], versions.counts, current,
                   {"from_version": old})  # fmt: skip


OPERATION = Operation(
    name="rewrap",
    summary="Re-encrypt a ciphertext under the key's current version (the plaintext stays inside).",
    permissions=("decrypt", "encrypt"),
    capability=("decrypt", "encrypt"),
    item_fields={"ciphertext": CIPHERTEXT, "context": optional("b64", "the context given at encryption")},
    run=run,
    render=render,
    result_fields={"ciphertext": "string", "key_version": "integer"},
    count_purposes=("decrypt", "encrypt"),
)
