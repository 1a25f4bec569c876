"""datakey: a fresh 256-bit data key, wrapped under the current version (and in plaintext if asked)."""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from typing import Any

from kms.crypto import format_token
from kms.dataplane.core import DataKey, KeySnap, Operation, Outcome, Versions, optional

DATA_KEY_BYTES = 32


def run(key: KeySnap, versions: Versions, items: Sequence[Any], options: dict[str, Any]) -> Outcome:
    item, current = items[0], key.current_version
    include_plaintext = item.get("plaintext", True)
    plaintext = os.urandom(DATA_KEY_BYTES)
    blob = versions.usable(current, "encrypt").encrypt(plaintext, context=item.get("context"),
                                                       aad_prefix=versions.aad(current))  # fmt: skip
    versions.count(current, "encrypt")
    result = DataKey(plaintext if include_plaintext else None, format_token(current, blob), current)
    return Outcome([result], versions.counts, current, {"plaintext_returned": include_plaintext})


def render(result: DataKey) -> dict[str, Any]:
    plaintext = base64.b64encode(result.plaintext).decode() if result.plaintext is not None else None
    return {"plaintext": plaintext, "ciphertext": result.ciphertext, "key_version": result.key_version}


OPERATION = Operation(
    name="datakey",
    summary="A fresh 256-bit data key for local (envelope) encryption, wrapped by this key.",
    permissions=("encrypt",),
    capability=("encrypt",),
    item_fields={
        "context": optional("b64", "associated data bound to the wrapped data key"),
        "plaintext": optional("bool", "false: return only the wrapped data key"),
    },
    run=run,
    render=render,
    result_fields={"plaintext": "byte?", "ciphertext": "string", "key_version": "integer"},
    count_purposes=("encrypt",),
)
