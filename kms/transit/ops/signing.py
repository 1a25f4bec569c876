"""Transit sign, verify and hmac: `vault:v<N>:` signatures and HMACs (kms.transit.formats).

The parameters (`hash_algorithm`, `signature_algorithm`, `marshaling_algorithm`,
`salt_length`, `prehashed`) are validated by the codec into `item["params"]`. Every key
version carries an HMAC key (kms.crypto.mac), so `hmac` works with a key of any type, and
`verify` checks an `hmac` as well as a `signature`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kms.dataplane.core import Field, KeySnap, Operation, Outcome, Signature, Versions, details, each, optional
from kms.exceptions import InvalidRequest
from kms.models import KEY_PERMISSIONS
from kms.transit import formats
from kms.transit.ops.crypt import _flag

# Issue 16 gives HMACs their own per-key permission; until it exists, signing's stands in.
HMAC_PERMISSION = "hmac" if "hmac" in KEY_PERMISSIONS else "sign"


def run_sign(key: KeySnap, versions: Versions, items: Sequence[Any], options: dict[str, Any]) -> Outcome:
    version = versions.encryption_version(options.get("key_version"))
    loaded = versions.usable(version, "sign")

    def one(item: dict[str, Any]) -> Signature:
        raw, urlsafe = formats.sign(loaded, item["input"], item["params"])
        versions.count(version, "sign")
        return Signature(formats.token(version, raw, urlsafe=urlsafe), version)

    results = each(items, options["single"], one)
    return Outcome(results, versions.counts, version, _flag(options, details(results)))


def render_signature(result: Signature) -> dict[str, Any]:
    return {"signature": result.signature, "key_version": result.key_version}


def run_verify(key: KeySnap, versions: Versions, items: Sequence[Any], options: dict[str, Any]) -> Outcome:
    seen: set[int] = set()

    def one(item: dict[str, Any]) -> bool:
        if (item.get("signature") is None) == (item.get("hmac") is None):
            raise InvalidRequest("give either a signature or an hmac to verify")
        if item.get("hmac") is not None:
            version, tag = formats.parse_token(item["hmac"], "hmac")
            seen.add(version)
            loaded = versions.usable(version, "verify")
            valid = formats.mac_equal(formats.mac(loaded, item["input"], item["params"]["hash"]), tag)
        else:
            urlsafe = item["params"]["marshaling"] == "jws"
            version, raw = formats.parse_token(item["signature"], "signature", urlsafe=urlsafe)
            seen.add(version)
            loaded = versions.usable(version, "verify")
            valid = formats.verify(loaded, item["input"], raw, item["params"])
        versions.count(version, "verify")
        return valid

    results = each(items, options["single"], one)
    version = next(iter(seen)) if len(seen) == 1 else None
    return Outcome(results, versions.counts, version,
                   _flag(options, details(results, valid=sum(r is True for r in results))))  # fmt: skip


def render_valid(valid: bool) -> dict[str, Any]:
    return {"valid": valid}


def run_hmac(key: KeySnap, versions: Versions, items: Sequence[Any], options: dict[str, Any]) -> Outcome:
    version = versions.encryption_version(options.get("key_version"))
    loaded = versions.usable(version, "sign")

    def one(item: dict[str, Any]) -> Signature:
        tag = formats.mac(loaded, item["input"], item["params"]["hash"])
        return Signature(formats.token(version, tag), version)

    results = each(items, options["single"], one)
    return Outcome(results, versions.counts, version, _flag(options, details(results)))


def render_hmac(result: Signature) -> dict[str, Any]:
    return {"hmac": result.signature, "key_version": result.key_version}


_PARAMS = {
    "input": Field("b64"),
    "hash_algorithm": optional("str", "sha2-224, sha2-256 (default), sha2-384, sha2-512, sha3-*"),
    "signature_algorithm": optional("str", "RSA: pss (default) or pkcs1v15"),
    "marshaling_algorithm": optional("str", "ECDSA: asn1 (default) or jws"),
    "salt_length": optional("str", "RSA-PSS: auto (default), hash, or a number >= -1"),
    "prehashed": optional("bool"),
}
SIGN = Operation(
    name="sign", summary="Transit sign: a `vault:v<N>:` signature.", permissions=("sign",), capability=("sign",),
    item_fields=_PARAMS, single_fields={"key_version": optional("int")}, batchable=True, run=run_sign,
    render=render_signature, result_fields={"signature": "string", "key_version": "integer"},
    count_purposes=("sign",),
)  # fmt: skip
VERIFY = Operation(
    name="verify", summary="Transit verify of a `vault:v<N>:` signature or HMAC.", permissions=("verify",),
    capability=(), item_fields={**_PARAMS, "signature": optional("str"), "hmac": optional("str")},
    batchable=True, run=run_verify, render=render_valid, result_fields={"valid": "boolean"},
    count_purposes=("verify",),
)  # fmt: skip
HMAC = Operation(
    name="hmac", summary="Transit hmac with the version's HMAC key: `vault:v<N>:`.",
    permissions=(HMAC_PERMISSION,), capability=(),
    item_fields={"input": Field("b64"), "algorithm": optional("str", "sha2-256 (default) ...")},
    single_fields={"key_version": optional("int")}, batchable=True, run=run_hmac, render=render_hmac,
    result_fields={"hmac": "string", "key_version": "integer"},
)  # fmt: skip
