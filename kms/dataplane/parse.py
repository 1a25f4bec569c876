"""Strict parsing of data-plane requests: the one place their rules live.

Driven by the operation's declaration (kms.dataplane.core.Operation): unknown fields are
refused; binary values are strict standard base64; booleans are true/false; integers
are whole numbers (never "1", 1.0 or true); a batch is `{"batch": [...]}` whose items
are parsed one by one, a bad item becoming its own error in its place. A raw body
(application/octet-stream) is the item's data, its other fields in the query string.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from kms.dataplane.core import Field, ItemError, Operation
from kms.exceptions import InvalidRequest, UnsupportedMediaType
from kms.rules import parse_whole_number

MAX_ITEM_BYTES = 1024 * 1024  # one plaintext / data item, decoded
MAX_BATCH_ITEMS = 1000
MAX_BODY_BYTES = 4 * 1024 * 1024  # a JSON body
RAW_MAX_BYTES = 16 * 1024 * 1024  # a raw (octet-stream) sign/verify body
_B64_MAX = (MAX_ITEM_BYTES * 4) // 3 + 4
JSON = "application/json"
OCTET_STREAM = "application/octet-stream"


def media_type(content_type: str, *, raw_allowed: bool) -> str:
    """The body's kind from its Content-Type: JSON (UTF-8, as RFC 8259 requires) or raw."""
    kind, _, params = content_type.partition(";")
    kind = kind.strip().lower()
    if kind == JSON:
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
                raise UnsupportedMediaType(f"JSON bodies are UTF-8; charset {value.strip()[:20]!r} is not")
        return JSON
    if kind == OCTET_STREAM and raw_allowed:
        return OCTET_STREAM
    accepted = f"{JSON} or {OCTET_STREAM}" if raw_allowed else JSON
    shown = kind[:60] if kind.isprintable() else "<unprintable>"
    raise UnsupportedMediaType(f'unsupported media type "{shown}" in request; send {accepted}')


def body_limit(kind: str) -> int:
    return RAW_MAX_BYTES if kind == OCTET_STREAM else MAX_BODY_BYTES


def b64(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidRequest(f"{name}: must be a base64 string")
    if len(value) > _B64_MAX:
        raise InvalidRequest(f"{name}: is larger than {MAX_ITEM_BYTES} bytes")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"{name}: must be standard base64 (A-Z a-z 0-9 + / with = padding)") from None
    if len(raw) > MAX_ITEM_BYTES:  # the text check above lets up to 2 bytes more through
        raise InvalidRequest(f"{name}: is larger than {MAX_ITEM_BYTES} bytes")
    return raw


def value(spec: Field, raw: Any, name: str) -> Any:
    if raw is None:
        if spec.nullable:
            return None
        raise InvalidRequest(f"{name}: may not be null")
    if spec.kind == "b64":
        return b64(raw, name)
    if spec.kind == "str":
        if not isinstance(raw, str):
            raise InvalidRequest(f"{name}: must be a string")
        if spec.max_length is not None and len(raw) > spec.max_length:
            raise InvalidRequest(f"{name}: is longer than {spec.max_length} characters")
        if not raw:
            raise InvalidRequest(f"{name}: may not be blank")
        return raw
    if spec.kind == "bool":
        if not isinstance(raw, bool):
            raise InvalidRequest(f"{name}: must be true or false")
        return raw
    if spec.kind == "int":
        return parse_whole_number(raw, name, textual=False)
    raise AssertionError(spec.kind)


def fields(body: Any, spec: dict[str, Field]) -> dict[str, Any]:
    """Check `body` against `spec`: an object, no unknown field, every required field present."""
    if not isinstance(body, dict):
        raise InvalidRequest("expected a JSON object")
    for name in body:
        if name not in spec:
            raise InvalidRequest(f"{_shown(name)}: unknown field")
    out: dict[str, Any] = {}
    for name, field_spec in spec.items():
        if name in body:
            out[name] = value(field_spec, body[name], name)
        elif field_spec.required:
            raise InvalidRequest(f"{name}: this field is required")
    return out


def _shown(name: str) -> str:
    """A field name as safe to echo (it is the caller's text: control characters escaped)."""
    text = name[:64].encode("unicode_escape", errors="backslashreplace").decode("ascii")
    return text + ("..." if len(name) > 64 else "")


def json_body(raw: bytes) -> Any:
    """Strict JSON (no NaN/Infinity, UTF-8 only)."""
    if not raw:
        raise InvalidRequest("a JSON body is required")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("malformed request body: JSON parse error - not UTF-8") from None
    try:
        # orjson (RFC 8259: no NaN/Infinity, no lone surrogates, integers within 64 bits; nested
        # at most 1024 deep): a tenth of json.loads' CPU on the small bodies of the hot path.
        return orjson.loads(text)
    except (ValueError, RecursionError) as exc:
        detail = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
        raise InvalidRequest(f"malformed request body: JSON parse error - {detail}") from None


def json_request(operation: Operation, body: Any) -> tuple[list[Any], dict[str, Any], bool]:
    """(items, options, single) for one JSON request body."""
    if isinstance(body, dict) and "batch" in body:
        if not operation.batchable:
            raise InvalidRequest(f"{operation.name} does not take a batch")
        if set(body) != {"batch"}:
            raise InvalidRequest(f"{_shown(sorted(set(body) - {'batch'})[0])}: unknown field")
        batch = body["batch"]
        if not isinstance(batch, list) or not batch:
            raise InvalidRequest("batch: must be a non-empty list")
        if len(batch) > MAX_BATCH_ITEMS:
            raise InvalidRequest(f"batch: at most {MAX_BATCH_ITEMS} items per request")
        items: list[Any] = []
        for raw in batch:
            try:
                items.append(fields(raw, operation.item_fields))
            except InvalidRequest as exc:
                items.append(ItemError(exc.code, exc.message))
        return items, {"single": False}, False
    item = fields(body, {**operation.item_fields, **operation.single_fields})
    options = {name: item.pop(name) for name in operation.single_fields if name in item}
    return [item], {**options, "single": True}, True


def raw_request(operation: Operation, body: bytes, query: dict[str, str]) -> tuple[list[Any], dict[str, Any], bool]:
    """(items, options, single) for a raw body: the data, the other fields in the query."""
    assert operation.raw is not None
    for name in query:
        if name not in operation.raw.query_fields:
            raise InvalidRequest(f"unknown query parameter: {_shown(name)}")
    item: dict[str, Any] = {operation.raw.data_field: body}
    options: dict[str, Any] = {"single": True}
    specs = {**operation.item_fields, **operation.single_fields}
    for name, text in query.items():
        spec = specs[name]
        if spec.kind == "int":
            parsed: Any = parse_whole_number(text, name, textual=True)
        else:
            parsed = value(Field("str", max_length=spec.max_length), text, name)
        (options if name in operation.single_fields else item)[name] = parsed
    for name, spec in operation.item_fields.items():
        if spec.required and name not in item:
            raise InvalidRequest(f"{name}: this field is required")
    return [item], options, True


def query_params(query_string: str) -> dict[str, str]:
    """The query string as a dict; a parameter given twice is refused, never half-read."""
    from urllib.parse import parse_qsl

    out: dict[str, str] = {}
    try:
        pairs = parse_qsl(query_string, keep_blank_values=True, strict_parsing=False, errors="strict",
                          max_num_fields=20)  # fmt: skip
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("malformed query string") from None
    for name, text in pairs:
        if name in out:
            raise InvalidRequest(f"{_shown(name)}: given more than once")
        out[name] = text
    return out
