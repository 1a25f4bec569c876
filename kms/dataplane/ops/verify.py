"""verify: data and an `egide:v<N>:` signature → valid or not (a bad signature is not an error)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kms.crypto import parse_signature
from kms.dataplane.core import (
    Field,
    KeySnap,
    Operation,
    Outcome,
    RawBody,
    Versions,
    details,
    each,
    one_version,
)
from kms.dataplane.ops.sign import SIGNING_FIELDS, sign_args

# Longest signature token: ML-DSA-87 (4,627 bytes) in base64 with its prefix, and room.
MAX_SIGNATURE_CHARS = 8192


def run(key: KeySnap, versions: Versions, items: Sequence[Any], options: dict[str, Any]) -> Outcome:
    seen: set[int] = set()

    def one(item: dict[str, Any]) -> bool:
        version, raw = parse_signature(item["signature"])
        seen.add(version)
        valid = versions.usable(version, "verify").verify(item["data"], raw, **sign_args(item))
        versions.count(version, "verify")
        return valid

    results = each(items, options["single"], one)
    return Outcome(results, versions.counts, one_version(seen),
                   details(results, valid=sum(r is True for r in results)))  # fmt: skip


def render(valid: bool) -> dict[str, Any]:
    return {"valid": valid}


OPERATION = Operation(
    name="verify",
    summary="Check a signature made by this key (any version still allowed to verify).",
    permissions=("verify",),
    capability=("verify",),
    item_fields={**SIGNING_FIELDS,
                 "signature": Field("str", max_length=MAX_SIGNATURE_CHARS, doc="an `egide:v<N>:` signature")},
    batchable=True,
    raw=RawBody("data", ("algorithm", "padding", "signature")),
    run=run,
    render=render,
    result_fields={"valid": "boolean"},
    playground=True,
    count_purposes=("verify",),
)
