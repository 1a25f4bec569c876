"""Strict parsing of data-plane request bodies: the one place their rules live.

Used by the lean views (kms.dataplane.views) and the DRF views (kms.api.views_crypto)
alike. Unknown fields are refused; binary values are strict standard base64;
booleans are true/false; a batch is `{"batch": [...]}` whose items are parsed one by
one, a bad item becoming its own error in its place.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from kms.exceptions import InvalidRequest, PayloadTooLarge
from kms.services.crypto_core import ItemError

MAX_ITEM_BYTES = 1024 * 1024  # one plaintext / data item, decoded
MAX_BATCH_ITEMS = 1000
MAX_BODY_BYTES = 4 * 1024 * 1024  # a JSON body
RAW_MAX_BYTES = 16 * 1024 * 1024  # a raw (octet-stream) sign/verify body
_B64_MAX = (MAX_ITEM_BYTES * 4) // 3 + 4

ITEM_FIELDS: dict[str, dict[str, str]] = {
    # field → kind ("b64", "b64?", "str", "str?", "bool?") for each operation's items
    "encrypt": {"plaintext": "b64", "context": "b64?"},
    "decrypt": {"ciphertext": "str", "context": "b64?"},
    "sign": {"data": "b64", "algorithm": "str?", "padding": "str?", "prehashed": "bool?"},
    "verify": {"data": "b64", "signature": "str", "algorithm": "str?", "padding": "str?", "prehashed": "bool?"},
    "datakey": {"context": "b64?", "plaintext": "bool?"},
    "rewrap": {"ciphertext": "str", "context": "b64?"},
}
SINGLE_EXTRAS = {"encrypt": {"key_version": "int?"}, "sign": {"key_version": "int?"}}
BATCHABLE = {"encrypt", "decrypt", "sign", "verify"}


def b64(value: Any, field: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidRequest(f"{field}: must be a base64 string")
    if len(value) > _B64_MAX:
        raise InvalidRequest(f"{field}: is larger than {MAX_ITEM_BYTES} bytes")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"{field}: must be standard base64 (A-Z a-z 0-9 + / with = padding)") from None
    if len(raw) > MAX_ITEM_BYTES:  # the text check above lets up to 2 bytes more through
        raise InvalidRequest(f"{field}: is larger than {MAX_ITEM_BYTES} bytes")
    return raw


def _value(kind: str, value: Any, field: str) -> Any:
    optional = kind.endswith("?")
    if value is None:
        # Absent is allowed for "?" fields; null only where it means "none" (context, algorithm).
        if optional and not kind.startswith("bool"):
            return None
        raise InvalidRequest(f"{field}: may not be null")
    base = kind.rstrip("?")
    if base == "b64":
        return b64(value, field)
    if base == "str":
        if not isinstance(value, str) or len(value) > 2 * MAX_ITEM_BYTES:
            raise InvalidRequest(f"{field}: must be a string")
        if not value:
            raise InvalidRequest(f"{field}: may not be blank")
        return value
    if base == "bool":
        if not isinstance(value, bool):
            raise InvalidRequest(f"{field}: must be true or false")
        return value
    if base == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**31 - 1:
            raise InvalidRequest(f"{field}: must be a positive whole number")
        return value
    raise AssertionError(kind)


def fields(body: Any, spec: dict[str, str]) -> dict[str, Any]:
    """Check `body` against `spec`: an object, no unknown field, every required field present."""
    if not isinstance(body, dict):
        raise InvalidRequest("expected a JSON object")
    for name in body:
        if name not in spec:
            raise InvalidRequest(f"{name}: unknown field")
    out: dict[str, Any] = {}
    for name, kind in spec.items():
        if name in body:
            out[name] = _value(kind, body[name], name)
        elif not kind.endswith("?"):
            raise InvalidRequest(f"{name}: this field is required")
    return out


def _service_item(operation: str, parsed: dict[str, Any]) -> dict[str, Any]:
    """API field names → the service's (algorithm → hash_name)."""
    if operation in ("sign", "verify"):
        parsed["hash_name"] = parsed.pop("algorithm", None)
        parsed.setdefault("prehashed", False)
        parsed["prehashed"] = bool(parsed["prehashed"])
    return parsed


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def json_body(raw: bytes) -> Any:
    """Strict JSON (no NaN/Infinity), as DRF's parser."""
    import json

    try:
        return json.loads(raw or b"null", parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidRequest(f"malformed request body: JSON parse error - {exc}") from None


def request(operation: str, body: Any) -> tuple[list[Any], dict[str, Any], bool]:
    """(items, options, single) for one data-plane request body."""
    if isinstance(body, dict) and "batch" in body:
        if operation not in BATCHABLE:
            raise InvalidRequest(f"{operation} does not take a batch")
        if set(body) != {"batch"}:
            raise InvalidRequest(f"{sorted(set(body) - {'batch'})[0]}: unknown field")
        batch = body["batch"]
        if not isinstance(batch, list) or not batch:
            raise InvalidRequest("batch: must be a non-empty list")
        if len(batch) > MAX_BATCH_ITEMS:
            raise InvalidRequest(f"batch: at most {MAX_BATCH_ITEMS} items per request")
        items: list[Any] = []
        for raw in batch:
            try:
                items.append(_service_item(operation, fields(raw, ITEM_FIELDS[operation])))
            except InvalidRequest as exc:
                items.append(ItemError(exc.code, exc.message))
        return items, {}, False
    spec = {**ITEM_FIELDS[operation], **SINGLE_EXTRAS.get(operation, {})}
    item = _service_item(operation, fields(body, spec))
    options: dict[str, Any] = {}
    if "key_version" in item:
        options["key_version"] = item.pop("key_version")
    if operation == "datakey":
        options["include_plaintext"] = item.pop("plaintext", None) is not False
    return [item], options, True
