"""Transit encrypt, decrypt, rewrap and datakey: `vault:v<N>:` ciphertexts (kms.transit.formats).

Decrypt and rewrap also take Egide's own `egide:v<N>:` ciphertexts, in Egide's format (the
key-bound associated data and the `context`): the prefix says which.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from typing import Any

from kms.crypto import parse_ciphertext
from kms.dataplane.core import Ciphertext, Field, KeySnap, Operation, Outcome, Versions, details, each, optional
from kms.transit import formats


def _flag(options: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    """A superuser's token is Vault's root token here: break-glass, and its events say so."""
    return {**out, "superuser": True} if options.get("superuser") else out


def _open(versions: Versions, item: dict[str, Any]) -> tuple[int, bytes]:
    """(version, plaintext) of a `vault:` or an `egide:` ciphertext."""
    text = item["ciphertext"]
    if isinstance(text, str) and text.startswith(formats.EGIDE_PREFIX):
        version, blob = parse_ciphertext(text)
        loaded = versions.usable(version, "decrypt")
        return version, loaded.decrypt(blob, context=item.get("context"), aad_prefix=versions.aad(version))
    version, blob = formats.parse_token(text, "ciphertext")
    return version, formats.decrypt(versions.usable(version, "decrypt"), blob, item.get("associated_data"))


def run_encrypt(key: KeySnap, versions: Versions, items: Sequence[Any], options: dict[str, Any]) -> Outcome:
    version = versions.encryption_version(options.get("key_version"))
    loaded = versions.usable(version, "encrypt")

    def one(item: dict[str, Any]) -> Ciphertext:
        blob = formats.encrypt(loaded, item["plaintext"], item.get("associated_data"))
        versions.count(version, "encrypt")
        return Ciphertext(formats.token(version, blob), version)

    results = each(items, options["single"], one)
    nbytes = sum(len(i["plaintext"]) for i in items if isinstance(i, dict))
    return Outcome(results, versions.counts, version, _flag(options, details(results, bytes=nbytes)))


def render_ciphertext(result: Ciphertext) -> dict[str, Any]:
    return {"ciphertext": result.ciphertext, "key_version": result.key_version}


def run_decrypt(key: KeySnap, versions: Versions, items: Sequence[Any], options: dict[str, Any]) -> Outcome:
    seen: set[int] = set()

    def one(item: dict[str, Any]) -> bytes:
        version, plaintext = _open(versions, item)
        seen.add(version)
        versions.count(version, "decrypt")
        return plaintext

    results = each(items, options["single"], one)
    version = next(iter(seen)) if len(seen) == 1 else None
    return Outcome(results, versions.counts, version, _flag(options, details(results)))


def render_plaintext(result: bytes) -> dict[str, Any]:
    return {"plaintext": base64.b64encode(result).decode("ascii")}


def run_rewrap(key: KeySnap, versions: Versions, items: Sequence[Any], options: dict[str, Any]) -> Outcome:
    version = versions.encryption_version(options.get("key_version"))
    loaded = versions.usable(version, "encrypt")

    def one(item: dict[str, Any]) -> Ciphertext:
        old, plaintext = _open(versions, item)
        versions.count(old, "decrypt")
        blob = formats.encrypt(loaded, plaintext, item.get("associated_data"))
        versions.count(version, "encrypt")
        return Ciphertext(formats.token(version, blob), version)

    results = each(items, options["single"], one)
    return Outcome(results, versions.counts, version, _flag(options, details(results)))


DATAKEY_BITS = (128, 256, 512)


def run_datakey(key: KeySnap, versions: Versions, items: Sequence[Any], options: dict[str, Any]) -> Outcome:
    version = versions.encryption_version(options.get("key_version"))
    loaded = versions.usable(version, "encrypt")
    plaintext = os.urandom(options["bits"] // 8)
    blob = formats.encrypt(loaded, plaintext, items[0].get("associated_data"))
    versions.count(version, "encrypt")
    shown = plaintext if options["kind"] == "plaintext" else None
    result = {"ciphertext": formats.token(version, blob), "key_version": version, "plaintext": shown}
    return Outcome(
        [result], versions.counts, version, _flag(options, {"kind": options["kind"], "bits": options["bits"]})
    )


def render_datakey(result: dict[str, Any]) -> dict[str, Any]:
    out = {"ciphertext": result["ciphertext"], "key_version": result["key_version"]}
    if result["plaintext"] is not None:
        out["plaintext"] = base64.b64encode(result["plaintext"]).decode("ascii")
    return out


_AD = optional("b64", "Transit's associated_data (AES-GCM's associated data)")
ENCRYPT = Operation(
    name="encrypt", summary="Transit encrypt: a `vault:v<N>:` ciphertext.", permissions=("encrypt",),
    capability=("encrypt",), item_fields={"plaintext": Field("b64"), "associated_data": _AD},
    single_fields={"key_version": optional("int")}, batchable=True, run=run_encrypt, render=render_ciphertext,
    result_fields={"ciphertext": "string", "key_version": "integer"}, count_purposes=("encrypt",),
)  # fmt: skip
DECRYPT = Operation(
    name="decrypt", summary="Transit decrypt of a `vault:v<N>:` (or `egide:v<N>:`) ciphertext.",
    permissions=("decrypt",), capability=("decrypt",),
    item_fields={"ciphertext": Field("str"), "associated_data": _AD, "context": optional("b64")},
    batchable=True, run=run_decrypt, render=render_plaintext, result_fields={"plaintext": "string"},
    count_purposes=("decrypt",),
)  # fmt: skip
REWRAP = Operation(
    name="rewrap", summary="Transit rewrap: decrypt, then encrypt under the current version.",
    permissions=("decrypt", "encrypt"), capability=("decrypt", "encrypt"),
    item_fields={"ciphertext": Field("str"), "associated_data": _AD, "context": optional("b64")},
    single_fields={"key_version": optional("int")}, batchable=True, run=run_rewrap, render=render_ciphertext,
    result_fields={"ciphertext": "string", "key_version": "integer"}, count_purposes=("decrypt", "encrypt"),
)  # fmt: skip
DATAKEY = Operation(
    name="datakey", summary="Transit datakey/plaintext|wrapped: a fresh key, encrypted.",
    permissions=("encrypt",), capability=("encrypt",), item_fields={"associated_data": _AD},
    single_fields={"key_version": optional("int")}, run=run_datakey, render=render_datakey,
    result_fields={"ciphertext": "string", "key_version": "integer", "plaintext": "string"},
    count_purposes=("encrypt",),
)  # fmt: skip
