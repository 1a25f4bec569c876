"""The Transit dialect: requests as Vault/OpenBao clients send them, answers in Transit's shapes.

A codec over the one pipeline, not a second implementation: the data-plane paths (encrypt,
decrypt, rewrap, datakey, sign, verify, hmac) become items and options for the Transit
operations (kms.transit.ops) and run through kms.dataplane.pipeline.execute (source
`transit`); the key paths call Egide's key services (kms.transit.keys) in the mount's key
space. What is Transit's here is only the wire: `PUT` is `POST`, `LIST` and `?list=true`
list, a body is JSON whatever its Content-Type, unknown fields are ignored as Transit ignores
them, answers are `{"data": ...}` and errors `{"errors": [...]}` with Transit's statuses.

Tokens only (`X-Vault-Token` or `Authorization: Bearer`): Egide's own API tokens; never a
browser session. A superuser's token plays Vault's root token (its events say `superuser`).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from django.contrib.auth import get_user_model
from django.db import DatabaseError

from kms import jsontext
from kms.dataplane import errors as dp_errors

try:  # the lead's kms.dataplane.config (in progress) holds the host rule; the pipeline did before
    from kms.dataplane.config import host_allowed
except ImportError:  # pragma: no cover - before that module lands
    from kms.dataplane.pipeline import host_allowed  # type: ignore[attr-defined,no-redef]
from kms.dataplane import pipeline, throttle
from kms.dataplane.core import ItemError, Operation
from kms.dataplane.reply import Reply, json_reply
from kms.dataplane.state import CACHE
from kms.exceptions import (
    ERRORS,
    ApprovalRequired,
    ExportDisabled,
    InvalidRequest,
    KeyExists,
    KeyNotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    Throttled,
    Unauthenticated,
    error_code,
    error_message,
)
from kms.models import ApiToken
from kms.rules import NAME_PATTERN, printable_name
from kms.services import audit_spool as spool
from kms.services import keys as key_services
from kms.services.actor import Actor
from kms.services.lookup import require_token_scope
from kms.transit import formats, keys, mounts, namespaces
from kms.transit.namespaces import Space
from kms.transit.ops import OPERATIONS

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_BATCH_ITEMS = 1000
MAX_RANDOM_BYTES = 1024 * 1024
DATA_PATHS = ("encrypt", "decrypt", "rewrap", "sign", "verify", "hmac", "datakey")
VERSION = "2.7.0+egide"


@dataclass(frozen=True)
class Request:
    method: str  # GET, POST (PUT), DELETE, LIST
    path: str  # after /v1/, without the leading slash
    query_string: str = ""
    token: str = ""  # X-Vault-Token, or the bearer of Authorization
    body: bytes | None = b""  # None: announced larger than any limit, not read
    host: str = ""
    remote_addr: str = ""
    request_id: str = ""


# Marks Transit's deliberate 500s (refusals, not faults) for the Django transport, which then
# does not log them as internal server errors; it is removed before the answer leaves.
REFUSAL_HEADER = "X-Egide-Transit-Refusal"


class TransitError(Exception):
    """An answer in Transit's error shape that is not one of Egide's typed errors."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def request_of(method: str, path: str, query_string: str, headers: Callable[[str], str], body: bytes | None,
               host: str, remote_addr: str, request_id: str) -> Request:  # fmt: skip
    """A Transit request from what either transport read (headers: WSGI names, e.g. HTTP_X_VAULT_TOKEN)."""
    token = headers("HTTP_X_VAULT_TOKEN")
    if not token:
        scheme, _, raw = headers("HTTP_AUTHORIZATION").partition(" ")
        token = raw.strip() if scheme.lower() == "bearer" else ""
    method = method.upper()
    if method == "PUT":
        method = "POST"
    return Request(method, path.strip("/"), query_string, token, body, host, remote_addr, request_id)


# --- answers ------------------------------------------------------------------------------------


def ok(data: Any, request_id: str, warnings: list[str] | None = None, status: int = 200) -> Reply:
    payload = {"request_id": request_id, "lease_id": "", "renewable": False, "lease_duration": 0, "data": data,
               "wrap_info": None, "warnings": warnings or None, "auth": None}  # fmt: skip
    return json_reply(payload, status, request_id)


def no_content(request_id: str) -> Reply:
    return Reply(204, b"", {"X-Request-Id": request_id})


def failure(status: int, messages: list[str], request_id: str, headers: dict[str, str] | None = None) -> Reply:
    return json_reply({"errors": messages}, status, request_id, headers)


def error_reply(exc: BaseException, request_id: str, missing: int = 400) -> Reply:
    """Egide's typed error in Transit's shape: 403 for refusals, 404 (or 400) for a missing key."""
    if isinstance(exc, TransitError):
        refusal = {REFUSAL_HEADER: "1"} if exc.status >= 500 else None  # only refusals raise TransitError
        return failure(exc.status, [exc.message], request_id, refusal)
    if isinstance(exc, ApprovalRequired):
        req = exc.request
        return failure(403, [
            f"approval required: {exc.message}; approval request #{req.pk} now waits for approvers. "
            f"An approver approves it with `egide kms approvals approve {req.pk}` or on the page /approvals/; "
            "then send this request again."], request_id)  # fmt: skip
    status, code, message, headers = dp_errors.describe(exc)
    if status >= 500:
        return failure(status, [message], request_id, headers)
    if code == "unauthenticated":
        return failure(403, ["permission denied", message], request_id)
    if code == "key_not_found":
        return failure(missing, [message], request_id)
    if status in (401, 403, 413, 415, 429, 405):
        return failure(status, [message], request_id, headers)
    return failure(400, [message], request_id, headers)


# --- parsing --------------------------------------------------------------------------------


def _body(request: Request) -> dict[str, Any]:
    if request.body is None or len(request.body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body is larger than {MAX_BODY_BYTES} bytes")
    if not request.body.strip():
        return {}
    try:
        request.body.decode("utf-8")  # UTF-8 only, as before (json.loads would also take UTF-16)
        body = jsontext.loads(request.body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidRequest("failed to parse JSON input: the body must be a JSON object") from None
    if body is None:  # `bao write -f` sends null
        return {}
    if not isinstance(body, dict):
        raise InvalidRequest("failed to parse JSON input: the body must be a JSON object")
    return body


def _query(request: Request) -> dict[str, str]:
    try:
        return dict(parse_qsl(request.query_string, keep_blank_values=True, max_num_fields=20))
    except ValueError:
        raise InvalidRequest("malformed query string") from None


def _key_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise KeyNotFound(printable_name(name))
    return name


def _bool(value: Any, field: str) -> bool:
    if value in (None, ""):
        return False
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise InvalidRequest(f"{field} must be true or false")


def _int(value: Any, field: str) -> int | None:
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, bool):
        raise InvalidRequest(f"{field} must be a whole number")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidRequest(f"{field} must be a whole number") from None
    return number if number > 0 else None


def _sign_params(item: dict[str, Any], path_hash: str | None) -> dict[str, Any]:
    algorithm = item.get("hash_algorithm") or item.get("algorithm") or path_hash
    signature_algorithm = item.get("signature_algorithm") or "pss"
    if signature_algorithm not in ("pss", "pkcs1v15"):
        raise InvalidRequest(f"unsupported signature_algorithm {str(signature_algorithm)[:40]!r}: pss or pkcs1v15")
    marshaling = item.get("marshaling_algorithm") or "asn1"
    if marshaling not in ("asn1", "jws"):
        raise InvalidRequest(f"unsupported marshaling_algorithm {str(marshaling)[:40]!r}: asn1 or jws")
    if item.get("context") not in (None, ""):
        pass  # derivation context: Egide's keys are not derived, and Transit ignores it for them too
    return {"hash": formats.hash_name(algorithm), "signature_algorithm": signature_algorithm,
            "marshaling": marshaling, "salt": formats.salt_length(item.get("salt_length")),
            "prehashed": _bool(item.get("prehashed"), "prehashed")}  # fmt: skip


def _item(op: str, raw: Any, path_arg: str | None) -> dict[str, Any]:
    """One Transit item, decoded, for the operation's runner."""
    if not isinstance(raw, dict):
        raise InvalidRequest("each batch_input item must be a JSON object")
    ad = raw.get("associated_data")
    ad_bytes = formats.b64(ad, "associated_data") if ad not in (None, "") else None
    if op == "encrypt":
        if "plaintext" not in raw:
            raise InvalidRequest("missing plaintext to encrypt")
        return {"plaintext": formats.b64(raw["plaintext"], "plaintext"), "associated_data": ad_bytes}
    if op in ("decrypt", "rewrap"):
        if not raw.get("ciphertext"):
            raise InvalidRequest("missing ciphertext to decrypt")
        context = raw.get("context")
        return {"ciphertext": raw["ciphertext"], "associated_data": ad_bytes,
                "context": formats.b64(context, "context") if context not in (None, "") else None}  # fmt: skip
    if op == "datakey":
        return {"associated_data": ad_bytes}
    if op == "hmac":
        algorithm = raw.get("algorithm") or raw.get("hash_algorithm") or path_arg
        return {"input": formats.b64(raw.get("input"), "input"),
                "params": {"hash": formats.hash_name(algorithm, "algorithm")}}  # fmt: skip
    item = {"input": formats.b64(raw.get("input"), "input"), "params": _sign_params(raw, path_arg)}
    if op == "verify":
        item["signature"], item["hmac"] = raw.get("signature") or None, raw.get("hmac") or None
        if item["hmac"] is not None:
            hmac_algorithm = raw.get("algorithm") or raw.get("hash_algorithm") or path_arg
            item["params"]["hash"] = formats.hash_name(hmac_algorithm, "algorithm")
    return item


def _items(op: str, body: dict[str, Any], path_arg: str | None) -> tuple[list[Any], bool]:
    batch = body.get("batch_input")
    if batch is None:
        return [_item(op, body, path_arg)], True
    if not isinstance(batch, list) or not batch:
        raise InvalidRequest("batch_input must be a non-empty list")
    if len(batch) > MAX_BATCH_ITEMS:
        raise InvalidRequest(f"batch_input: at most {MAX_BATCH_ITEMS} items per request")
    items: list[Any] = []
    top = body.get("key_version")
    for raw in batch:
        try:
            if isinstance(raw, dict) and raw.get("key_version") not in (None, 0, top):
                raise InvalidRequest("a key_version per batch item is not supported by Egide; give it once")
            merged = {**{k: v for k, v in body.items() if k != "batch_input"}, **raw} if isinstance(raw, dict) else raw
            items.append(_item(op, merged, path_arg))
        except ERRORS as exc:
            items.append(ItemError(error_code(exc), error_message(exc)))
    return items, False


# --- the request ------------------------------------------------------------------------------


def handle(request: Request) -> Reply:
    """Answer one Transit request (both transports call this)."""
    request_id = request.request_id or uuid.uuid4().hex
    try:
        return _handle(request, request_id)
    except spool.AuditUnavailable as exc:
        return error_reply(exc, request_id)
    except DatabaseError as exc:
        log.error("transit: database unavailable (%s): %s", type(exc).__name__, str(exc)[:200])
        return failure(503, ["the database is unavailable; retry shortly"], request_id, {"Retry-After": "1"})


def _handle(request: Request, request_id: str) -> Reply:
    if not host_allowed(request.host):
        return failure(400, ["the Host header is not one this server answers to"], request_id)
    if request.path in ("sys/health", "sys/seal-status") and request.method in ("GET", "HEAD"):
        return _health(request, request_id)
    wait = throttle.wait_needed("address", request.remote_addr)
    CACHE.sync()
    try:
        principal = pipeline.authenticate(pipeline.Request(
            operation="", name="", body=b"", content_type="", authorization=f"Bearer {request.token}"
            if request.token else ""))  # fmt: skip
    except Unauthenticated as exc:
        return error_reply(exc, request_id)
    wait = wait or throttle.wait_needed("token", principal.token_id or f"u{principal.user_id}")
    if wait:
        return error_reply(Throttled(wait), request_id)
    try:
        return _route(request, request_id, principal)
    except ERRORS as exc:
        return error_reply(exc, request_id, missing=404 if request.method in ("GET", "LIST") else 400)
    except TransitError as exc:
        return error_reply(exc, request_id)


def _actor(request: Request, principal: pipeline.Principal, request_id: str) -> Actor:
    user = get_user_model().objects.get(pk=principal.user_id)
    scoped = principal.scope_keys or principal.scope_operations
    extra = {"token_scope": (list(principal.scope_keys), list(principal.scope_operations))} if scoped else {}
    return Actor(user=user, source="transit", auth_method="token", token_id=principal.token_id,
                 request_id=request_id, client_addr=request.remote_addr[:64], extra=extra)  # fmt: skip


def _route(request: Request, request_id: str, principal: pipeline.Principal) -> Reply:
    path, method = request.path, request.method
    if method == "GET" and _query(request).get("list") == "true":
        method = "LIST"
    if path.startswith("sys/mounts") or path.startswith("auth/token/"):
        return _system(request, request_id, principal, path, method)
    found = mounts.resolve(path)
    if found is None:
        raise TransitError(404, f'no handler for route "{path[:100]}". route entry not found.')
    space, rest = found
    parts = rest.split("/") if rest else []
    if parts and parts[0] in DATA_PATHS and method == "POST":
        return _data(request, request_id, principal, space, parts)
    actor = _actor(request, principal, request_id)
    with namespaces.within(space):
        return _control(request, request_id, actor, space, parts, method)


def _data(request: Request, request_id: str, principal: pipeline.Principal, space: Space,
          parts: list[str]) -> Reply:  # fmt: skip
    op_name = parts[0]
    options: dict[str, Any] = {}
    if op_name == "datakey":
        if len(parts) not in (3, 4) or parts[1] not in ("plaintext", "wrapped"):
            raise TransitError(404, "datakey paths are datakey/plaintext/<name> or datakey/wrapped/<name>")
        options["kind"], name, path_arg = parts[1], parts[2], parts[3] if len(parts) == 4 else None
    elif len(parts) in (2, 3):
        name, path_arg = parts[1], parts[2] if len(parts) == 3 else None
        if path_arg is not None and op_name not in ("sign", "verify", "hmac"):
            raise TransitError(404, f'no handler for route "{request.path[:100]}"')
    else:
        raise TransitError(404, f'no handler for route "{request.path[:100]}"')
    body = _body(request)
    if op_name == "datakey":
        bits = _int(body.get("bits") or path_arg, "bits") or 256
        if bits not in (128, 256, 512):
            raise InvalidRequest("bits must be 128, 256 or 512")
        options["bits"] = bits
    items, single = _items(op_name, body, path_arg)
    options.update(single=single, key_version=_int(body.get("key_version"), "key_version"),
                   superuser=principal.is_superuser)  # fmt: skip
    operation: Operation = OPERATIONS[op_name]
    name = _key_name(name)
    try:
        outcome = pipeline.execute(principal, operation, name, items, options, source="transit",
                                   request_id=request_id, remote_addr=request.remote_addr,
                                   namespace=space.namespace, shown=space.qualified(name))  # fmt: skip
    except KeyNotFound as exc:
        if op_name == "encrypt":  # Transit's encrypt creates a missing key when the caller may
            return _upsert(request, request_id, principal, space, name, items, options, body)
        raise TransitError(400, f"encryption key not found: {exc.message}") from None
    return _render(operation, outcome.results, single, request_id, body)


def _upsert(request: Request, request_id: str, principal: pipeline.Principal, space: Space, name: str,
            items: list[Any], options: dict[str, Any], body: dict[str, Any]) -> Reply:  # fmt: skip
    """Transit's encrypt creates a missing key (of `type`, aes256-gcm96 by default) when the caller may."""
    actor = _actor(request, principal, request_id)
    with namespaces.within(space):
        require_token_scope(actor, space.qualified(name), "add")
        keys.create(actor, name, {"type": body.get("type")})
    CACHE.sync()
    outcome = pipeline.execute(principal, OPERATIONS["encrypt"], name, items, options, source="transit",
                               request_id=request_id, remote_addr=request.remote_addr,
                               namespace=space.namespace, shown=space.qualified(name))  # fmt: skip
    return _render(OPERATIONS["encrypt"], outcome.results, options["single"], request_id, body)


def _render(operation: Operation, results: list[Any], single: bool, request_id: str, body: dict[str, Any]) -> Reply:
    if single:
        return ok(operation.render(results[0]), request_id)
    rendered = [{"error": r.message} if isinstance(r, ItemError) else operation.render(r) for r in results]
    status = 200
    if any(isinstance(r, ItemError) for r in results):
        # Transit: 400 when an item failed (partial_failure_response_code when only some did).
        partial = _int(body.get("partial_failure_response_code"), "partial_failure_response_code")
        status = partial if partial and not all(isinstance(r, ItemError) for r in results) else 400
    return ok({"batch_results": rendered}, request_id, status=status)


# --- control plane --------------------------------------------------------------------------


def _control(request: Request, request_id: str, actor: Actor, space: Space, parts: list[str],
             method: str) -> Reply:  # fmt: skip
    head = parts[0] if parts else ""
    if head == "keys":
        return _keys(request, request_id, actor, space, parts[1:], method)
    if head == "export" and method == "GET" and len(parts) in (3, 4):
        data = keys.export(actor, _key_name(parts[2]), parts[1], parts[3] if len(parts) == 4 else None)
        return ok(data, request_id)
    if head == "wrapping_key" and method == "GET" and len(parts) == 1:
        require_token_scope(actor, None, "add")
        return ok({"public_key": keys.wrapping_key(actor)}, request_id)
    if head == "random" and method == "POST" and len(parts) <= 3:
        return _random(request, request_id, parts[1:])
    if head == "hash" and method == "POST" and len(parts) <= 2:
        return _hash(request, request_id, parts[1] if len(parts) == 2 else None)
    if head == "cache-config" and method == "GET":
        return ok({"size": 0}, request_id)
    if head == "backup" and method == "GET" and len(parts) == 2:
        return _backup(request_id, actor, _key_name(parts[1]))
    if head == "restore" and method == "POST" and len(parts) in (1, 2):
        return _restore(request, request_id, actor, space, parts[1] if len(parts) == 2 else None)
    if head in ("backup", "restore"):
        raise MethodNotAllowed(method, ["GET"] if head == "backup" else ["POST", "PUT"])
    if head in DATA_PATHS:
        raise MethodNotAllowed(method, ["POST", "PUT"])
    raise TransitError(404, f'no handler for route "{request.path[:100]}". route entry not found.')


def _keys(request: Request, request_id: str, actor: Actor, space: Space, parts: list[str], method: str) -> Reply:
    if not parts or parts == [""]:
        if method != "LIST":
            raise MethodNotAllowed(method, ["LIST"])
        require_token_scope(actor, None, "view")
        names = keys.listing(actor, space)
        if not names:
            raise TransitError(404, "no keys")  # Transit answers an empty list with 404
        return ok({"keys": names}, request_id)
    name = _key_name(parts[0])
    tail = parts[1:]
    if not tail:
        if method == "POST":
            require_token_scope(actor, space.qualified(name), "add")
            key, warnings = keys.create(actor, name, _body(request))
            return ok(keys.read(key), request_id, warnings)
        if method == "GET":
            return ok(keys.read(keys.info(actor, name)), request_id)
        if method == "DELETE":
            key_services.key_delete(actor=actor, name=name)
            return no_content(request_id)
        raise MethodNotAllowed(method, ["GET", "POST", "PUT", "DELETE"])
    action = tail[0]
    if method != "POST" or len(tail) != 1:
        raise MethodNotAllowed(method, ["POST", "PUT"])
    body = _body(request)
    if action == "config":
        return ok(keys.read(keys.config(actor, name, body)), request_id)
    if action == "rotate":
        if body.get("managed_key_name") or body.get("managed_key_id"):
            raise InvalidRequest("managed keys are not supported by Egide")
        key_services.key_rotate(actor=actor, name=name)
        return ok(keys.read(keys.info(actor, name)), request_id)
    if action == "trim":
        return ok(keys.read(keys.trim(actor, name, body)), request_id)
    if action == "import":
        require_token_scope(actor, space.qualified(name), "add")
        keys.import_key(actor, name, body)
        return no_content(request_id)
    if action == "import_version":
        keys.import_version(actor, name, body)
        return no_content(request_id)
    raise TransitError(404, f'no handler for route "{request.path[:100]}". route entry not found.')


def _backup(request_id: str, actor: Actor, name: str) -> Reply:
    """backup/<name>: Egide's bundle sealed to this Egide's master key. A key that does not allow
    backups answers Transit's 500 with its message (a refusal on this surface, audited by the
    service as one, not an internal error)."""
    try:
        return ok({"backup": keys.backup(actor, name)}, request_id)
    except ExportDisabled:
        raise TransitError(500, f"plaintext backup is disallowed on the policy (key '{name}': Egide's "
                                "backup_allowed is off)") from None  # fmt: skip


def _restore(request: Request, request_id: str, actor: Actor, space: Space, path_name: str | None) -> Reply:
    """restore[/<name>]: a new key from a backup (under its own name when none is given). An
    existing name answers Transit's 500; with `force` too, as Egide never overwrites a key's
    material (docs/transit.md): delete and purge it first, or restore under another name."""
    body = _body(request)
    force = _bool(body.get("force"), "force")
    text = body.get("backup")
    if not isinstance(text, str) or not text:
        raise InvalidRequest("backup is required: the text a backup answered")
    name = _key_name(path_name if path_name is not None else keys.backup_name(text))
    require_token_scope(actor, space.qualified(name), "add")
    try:
        keys.restore(actor, name, text)
    except KeyExists:
        if force:
            message = (f'key "{name}" already exists; Egide does not overwrite a key even with force: restore under '
                       "another name, or delete and purge the key first")  # fmt: skip
            raise TransitError(500, message) from None
        raise TransitError(500, f'key "{name}" already exists') from None
    return no_content(request_id)


def _random(request: Request, request_id: str, args: list[str]) -> Reply:
    body = _body(request)
    count, source = body.get("bytes"), body.get("source") or "platform"
    for arg in args:
        if arg.isdigit():
            count = int(arg)
        elif arg in ("platform", "seal", "all"):
            source = arg
        else:
            raise InvalidRequest(f"unsupported random source or size {arg[:20]!r}")
    if source not in ("platform", "seal", "all"):
        raise InvalidRequest("source must be platform, seal or all")
    number = _int(count, "bytes") or 32
    if number > MAX_RANDOM_BYTES:
        raise InvalidRequest(f"bytes must be at most {MAX_RANDOM_BYTES}")
    raw = os.urandom(number)
    return ok({"random_bytes": _encode(raw, body.get("format"))}, request_id)


def _encode(raw: bytes, fmt: Any) -> str:
    if fmt in (None, "", "base64"):
        return base64.b64encode(raw).decode("ascii")
    if fmt == "hex":
        return raw.hex()
    raise InvalidRequest(f'unsupported encoding format {str(fmt)[:20]!r}; must be "hex" or "base64"')


def _hash(request: Request, request_id: str, path_algorithm: str | None) -> Reply:
    body = _body(request)
    algorithm = formats.hash_name(body.get("algorithm") or path_algorithm, "algorithm")
    digest = hashlib.new(algorithm, formats.b64(body.get("input"), "input")).digest()
    return ok({"sum": _encode(digest, body.get("format") or "hex")}, request_id)


# --- sys and auth/token ------------------------------------------------------------------------


def _health(request: Request, request_id: str) -> Reply:
    now = int(time.time())
    data = {"initialized": True, "sealed": False, "standby": False, "performance_standby": False,
            "replication_performance_mode": "disabled", "replication_dr_mode": "disabled",
            "server_time_utc": now, "version": VERSION, "cluster_name": "egide", "cluster_id": "egide",
            "type": "shamir", "t": 1, "n": 1, "progress": 0, "nonce": "", "build_date": ""}  # fmt: skip
    if request.path == "sys/health":
        for name in ("type", "t", "n", "progress", "nonce"):
            data.pop(name)
    return json_reply(data, 200, request_id)


def _system(request: Request, request_id: str, principal: pipeline.Principal, path: str, method: str) -> Reply:
    actor = _actor(request, principal, request_id)
    if path == "sys/mounts" and method == "GET":
        require_token_scope(actor, None, "view")
        listed = mounts.mounts_list(actor=actor)
        return json_reply({**listed, "request_id": request_id, "data": listed}, 200, request_id)
    if path.startswith("sys/mounts/"):
        mount_path = path[len("sys/mounts/") :]
        if mount_path.endswith("/tune"):
            raise TransitError(400, "mount tuning is not supported by Egide")
        if method == "POST":
            require_token_scope(actor, None, "add")
            mounts.mount_enable(actor=actor, path=mount_path, body=_body(request))
            return no_content(request_id)
        if method == "DELETE":
            require_token_scope(actor, None, "add")
            mounts.mount_disable(actor=actor, path=mount_path)
            return no_content(request_id)
        raise MethodNotAllowed(method, ["POST", "PUT", "DELETE"])
    if path == "auth/token/lookup-self" and method == "GET":
        return ok(_token_data(principal), request_id)
    if path == "auth/token/renew-self" and method == "POST":
        data = _token_data(principal)
        auth = {"client_token": request.token, "accessor": data["accessor"], "policies": data["policies"],
                "token_policies": data["policies"], "lease_duration": data["ttl"], "renewable": False,
                "metadata": None, "entity_id": ""}  # fmt: skip
        payload = {"request_id": request_id, "lease_id": "", "renewable": False, "lease_duration": 0, "data": None,
                   "wrap_info": None, "auth": auth,
                   "warnings": ["Egide tokens are not renewed: their expiry is the one set at creation"]}  # fmt: skip
        return json_reply(payload, 200, request_id)
    raise TransitError(404, f'no handler for route "{path[:100]}". route entry not found.')


def _token_data(principal: pipeline.Principal) -> dict[str, Any]:
    expires = ApiToken.objects.filter(pk=int(principal.token_id)).values_list("expires_at", flat=True).first()
    ttl = max(0, int((expires - datetime.now(UTC)).total_seconds())) if expires else 0
    policies = ["root"] if principal.is_superuser else ["default"]
    return {"accessor": principal.token_id, "display_name": f"token-{principal.username}", "entity_id": "",
            "expire_time": expires.isoformat() if expires else None, "explicit_max_ttl": 0, "meta": None,
            "num_uses": 0, "orphan": True, "path": "auth/tokens", "policies": policies, "renewable": False,
            "ttl": ttl, "type": "service", "username": principal.username}  # fmt: skip
