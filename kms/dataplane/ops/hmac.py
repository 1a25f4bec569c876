"""hmac: data → an `egide:v<N>:` HMAC (SHA-256 by default, SHA-384, SHA-512) with an `hmac` key.

The MAC key of a version is `LoadedKey.hmac`'s: the `hmac` type's own material (see
kms.crypto.mac, which also designs the HMAC key every other version carries, for the
Transit surface). Verification is `verify` with `{"data", "hmac"}` (kms/dataplane/ops/verify.py),
through `check` below: constant time, any version still allowed to verify.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kms.crypto import InvalidSignature, format_token, parse_signature
from kms.dataplane.core import (
    Field,
    KeySnap,
    Operation,
    Outcome,
    RawBody,
    Versions,
    details,
    each,
    optional,
)

HASHES = ("sha256", "sha384", "sha512")
# Longest HMAC token: SHA-512's 64 bytes in base64 (88) with its prefix, and room.
MAX_HMAC_CHARS = 256


@dataclass(frozen=True)
class Mac:
    hmac: str  # egide:v<N>:<base64 tag>
    key_version: int


def compute(versions: Versions, version: int, item: dict[str, Any]) -> Mac:
    """The HMAC of one item with `version` (counted as a use, like a signature)."""
    tag = versions.usable(version, "sign").hmac(item["data"], hash_name=item.get("algorithm"))
    versions.count(version, "sign")
    return Mac(format_token(version, tag), version)


def parse_hmac(token: Any) -> tuple[int, bytes]:
    """(version, tag) of an `egide:v<N>:` HMAC token; InvalidSignature naming the hmac if malformed."""
    try:
        return parse_signature(token)
    except InvalidSignature as exc:
        raise InvalidSignature(str(exc).replace("signature", "hmac", 1)) from None


def run(key: KeySnap, versions: Versions, items: Sequence[Any], options: dict[str, Any]) -> Outcome:
    version = versions.encryption_version(options.get("key_version"))
    results = each(items, options["single"], lambda item: compute(versions, version, item))
    return Outcome(results, versions.counts, version, details(results))


def render(result: Mac) -> dict[str, Any]:
    return {"hmac": result.hmac, "key_version": result.key_version}


OPERATION = Operation(
    name="hmac",
    summary="HMAC data with an hmac key's current version (or `key_version`); verify it with `verify`.",
    permissions=("hmac",),
    capability=("hmac",),
    item_fields={
        "data": Field("b64", doc="the data, base64"),
        "algorithm": optional("str", "sha256 (default), sha384 or sha512", max_length=16, choices=HASHES),
    },
    single_fields={"key_version": optional("int", "HMAC with this version (≥ min_encryption_version)")},
    batchable=True,
    raw=RawBody("data", ("algorithm", "key_version")),
    run=run,
    render=render,
    result_fields={"hmac": "string", "key_version": "integer"},
    playground=True,
    count_purposes=("sign",),
)
