"""sign: data (or its digest, `prehashed`; ML-DSA: with a `context`) → an `egide:v<N>:` signature."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kms.crypto import format_token
from kms.dataplane.core import (
    Field,
    KeySnap,
    Operation,
    Outcome,
    RawBody,
    Signature,
    Versions,
    details,
    each,
    optional,
)

HASHES = ("sha256", "sha384", "sha512")
PADDINGS = ("pss", "pkcs1v15")
SIGNING_FIELDS = {
    "data": Field("b64", doc="the data (or its digest when `prehashed`), base64"),
    "algorithm": optional("str", "hash: the key type's default when absent", max_length=16, choices=HASHES),
    "padding": optional("str", "RSA only: pss (default) or pkcs1v15", max_length=16, choices=PADDINGS),
    "prehashed": optional("bool", "`data` is already the digest"),
    "context": optional("b64", "ML-DSA only: the context string, at most 255 bytes, base64"),
}


def sign_args(item: dict[str, Any]) -> dict[str, Any]:
    return {"hash_name": item.get("algorithm"), "padding": item.get("padding"),
            "prehashed": item.get("prehashed", False), "context": item.get("context")}  # fmt: skip


def run(key: KeySnap, versions: Versions, items: Sequence[Any], options: dict[str, Any]) -> Outcome:
    version = versions.encryption_version(options.get("key_version"))
    loaded = versions.usable(version, "sign")

    def one(item: dict[str, Any]) -> Signature:
        raw = loaded.sign(item["data"], **sign_args(item))
        versions.count(version, "sign")
        return Signature(format_token(version, raw), version)

    results = each(items, options["single"], one)
    return Outcome(results, versions.counts, version, details(results))


def render(result: Signature) -> dict[str, Any]:
    return {"signature": result.signature, "key_version": result.key_version}


OPERATION = Operation(
    name="sign",
    summary="Sign data with the key's current version (or `key_version`).",
    permissions=("sign",),
    capability=("sign",),
    item_fields=SIGNING_FIELDS,
    single_fields={"key_version": optional("int", "sign with this version")},
    batchable=True,
    raw=RawBody("data", ("algorithm", "padding", "key_version")),
    run=run,
    render=render,
    result_fields={"signature": "string", "key_version": "integer"},
    playground=True,
    count_purposes=("sign",),
)
