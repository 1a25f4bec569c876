"""verify: data and an `egide:v<N>:` signature (or, with an `hmac` key, an HMAC) → valid or not.

One operation for both kinds of check, dispatched on what the key type can do (kms.crypto
facts, no type names): a type that computes MACs (`supports("hmac")`) verifies an `hmac`
in constant time; any other verifies a `signature`. A bad signature or MAC is not an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kms.crypto import HMAC, parse_signature
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
from kms.dataplane.ops.hmac import MAX_HMAC_CHARS, parse_hmac
from kms.dataplane.ops.sign import SIGNING_FIELDS, sign_args
from kms.exceptions import InvalidRequest

# Longest signature token: ML-DSA-87 (4,627 bytes) in base64 with its prefix, and room.
MAX_SIGNATURE_CHARS = 8192


def _token(item: dict[str, Any], is_mac: bool) -> tuple[int, bytes]:
    wanted, other = ("hmac", "signature") if is_mac else ("signature", "hmac")
    if item.get(other) is not None:
        kind = "an hmac key checks an `hmac`" if is_mac else "a signing key checks a `signature`"
        raise InvalidRequest(f"{other}: {kind}, not a `{other}`")
    if item.get(wanted) is None:
        raise InvalidRequest(f"{wanted}: this field is required")
    return parse_hmac(item[wanted]) if is_mac else parse_signature(item[wanted])


def run(key: KeySnap, versions: Versions, items: Sequence[Any], options: dict[str, Any]) -> Outcome:
    seen: set[int] = set()
    is_mac = versions.key_type.supports(HMAC)

    def one(item: dict[str, Any]) -> bool:
        version, raw = _token(item, is_mac)
        seen.add(version)
        # An hmac key's verify is its constant-time HMAC check (kms.crypto.mac.HmacKey.verify).
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
    summary="Check a signature (or, with an hmac key, an HMAC) made by this key, any version still allowed to verify.",
    permissions=("verify",),
    capability=("verify",),
    item_fields={
        **SIGNING_FIELDS,
        "signature": Field(
            "str",
            required=False,
            max_length=MAX_SIGNATURE_CHARS,
            doc="signing keys: an `egide:v<N>:` signature (required)",
        ),
        "hmac": Field(
            "str",
            required=False,
            max_length=MAX_HMAC_CHARS,
            doc="hmac keys: an `egide:v<N>:` HMAC (required); `algorithm` as when it was made",
        ),
    },  # fmt: skip
    batchable=True,
    raw=RawBody("data", ("algorithm", "padding", "signature", "hmac")),
    run=run,
    render=render,
    result_fields={"valid": "boolean"},
    playground=True,
    count_purposes=("verify",),
)
