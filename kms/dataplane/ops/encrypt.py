"""encrypt: plaintext → `egide:v<N>:` ciphertext under the key's current (or a chosen) version."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kms.crypto import format_token
from kms.dataplane.core import (
    Ciphertext,
    Field,
    KeySnap,
    Operation,
    Outcome,
    Versions,
    details,
    each,
    optional,
)


def run(key: KeySnap, versions: Versions, items: Sequence[Any], options: dict[str, Any]) -> Outcome:
    version = versions.encryption_version(options.get("key_version"))
    loaded = versions.usable(version, "encrypt")
    aad = versions.aad(version)

    def one(item: dict[str, Any]) -> Ciphertext:
        blob = loaded.encrypt(item["plaintext"], context=item.get("context"), aad_prefix=aad)
        versions.count(version, "encrypt")
        return Ciphertext(format_token(version, blob), version)

    results = each(items, options["single"], one)
    nbytes = sum(len(i["plaintext"]) for i in items if isinstance(i, dict))
    return Outcome(results, versions.counts, version, details(results, bytes=nbytes))


def render(result: Ciphertext) -> dict[str, Any]:
    return {"ciphertext": result.ciphertext, "key_version": result.key_version}


OPERATION = Operation(
    name="encrypt",
    summary="Encrypt data under the key's current version (or `key_version`).",
    permissions=("encrypt",),
    capability=("encrypt",),
    item_fields={
        "plaintext": Field("b64", doc="the data, base64 (at most 1 MiB decoded)"),
        "context": optional("b64", "associated data bound to the ciphertext, base64"),
    },
    single_fields={"key_version": optional("int", "encrypt under this version (≥ min_encryption_version)")},
    batchable=True,
    run=run,
    render=render,
    result_fields={"ciphertext": "string", "key_version": "integer"},
    playground=True,
    count_purposes=("encrypt",),
)
