"""The lean data-plane views: encrypt, decrypt, sign, verify, datakey, rewrap.

A bearer-token JSON request is served here with no ORM and no DRF: the state it
needs comes from kms.dataplane.state (cached, generation-checked), the rules and
crypto from kms.services.crypto_core, the audit event goes to the configured sink.
Anything else — a session (browser) request, a raw octet-stream body, a method
other than POST — is handed to the DRF view of the same endpoint, which answers
with the same contract. Error bodies and statuses are those of kms.api.errors.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from kms.api import views_crypto
from kms.dataplane import parse, spool, throttle
from kms.dataplane.state import CACHE, TokenSnap
from kms.exceptions import ERRORS, STATUS_BY_CODE, KeyNotFound, PermissionDenied, error_code, error_message
from kms.rules import NAME_PATTERN, printable_name
from kms.services import audit
from kms.services.crypto_core import Ciphertext, DataKey, ItemError, KeySnap, Outcome, Signature, run
from kms.services.crypto_ops import PERMISSIONS
from kms.services.tokens import LAST_USED_RESOLUTION, TOKEN_PREFIX

FALLBACK = {
    "encrypt": views_crypto.EncryptView.as_view(),
    "decrypt": views_crypto.DecryptView.as_view(),
    "sign": views_crypto.SignView.as_view(),
    "verify": views_crypto.VerifyView.as_view(),
    "datakey": views_crypto.DataKeyView.as_view(),
    "rewrap": views_crypto.RewrapView.as_view(),
}
DENIALS = {"permission_denied", "key_not_found"}
log = logging.getLogger(__name__)
_last_used_written: dict[int, float] = {}
_last_used_lock = threading.Lock()


class _Unauthenticated(Exception):
    pass


@dataclass(frozen=True)
class Call:
    """One data-plane request, from a Django HttpRequest or straight from a WSGI environ."""

    operation: str
    name: str
    authorization: str
    client: str
    content_length: str
    body: bytes
    request_id: str
    remote_addr: str


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]


def _json(payload: Any, status: int, request_id: str, extra: dict[str, str] | None = None) -> Reply:
    headers = {"Content-Type": "application/json", "X-Request-Id": request_id, **(extra or {})}
    return Reply(status, json.dumps(payload, separators=(",", ":")).encode(), headers)


def _error(code: str, message: str, request_id: str, status: int | None = None,
           extra: dict[str, str] | None = None) -> Reply:  # fmt: skip
    status = status or STATUS_BY_CODE.get(code, 400)
    if status >= 500:
        return _json({"error": {"code": "unavailable", "message": message}}, 503, request_id, {"Retry-After": "1"})
    if status == 401:
        extra = {**(extra or {}), "WWW-Authenticate": 'Bearer realm="egide"'}
    return _json({"error": {"code": code, "message": message}}, status, request_id, extra)


def _token(call: Call) -> TokenSnap:
    scheme, _, raw = call.authorization.partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        raise _Unauthenticated
    token = CACHE.token(hashlib.sha256(raw.encode()).hexdigest())
    now = datetime.now(UTC)
    if token is None or token.revoked or not token.active or (token.expires_at and token.expires_at <= now):
        raise _Unauthenticated
    _touch(token, now)
    return token


def _touch(token: TokenSnap, now: datetime) -> None:
    """Keep last_used_at within a minute, writing at most once a minute per token and process."""
    mono = time.monotonic()
    with _last_used_lock:
        last = _last_used_written.get(token.token_id)
        if last is not None and mono - last < LAST_USED_RESOLUTION.total_seconds():
            return
        _last_used_written[token.token_id] = mono
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE kms_apitoken SET last_used_at = %s WHERE id = %s", (now, token.token_id))


def _authorize(token: TokenSnap, key: KeySnap | None, name: str, operation: str) -> KeySnap:
    if key is None:
        raise KeyNotFound(printable_name(name))
    if token.is_superuser:
        return key
    held = CACHE.permissions_of(token.user_id, key.id)
    for needed in PERMISSIONS[operation]:
        if needed not in held:
            if not held:
                raise KeyNotFound(key.name)
            raise PermissionDenied(f"you may not {needed} with key '{key.name}'")
    return key


def _render(result: Any) -> dict[str, Any]:
    if isinstance(result, ItemError):
        return {"error": {"code": result.code, "message": result.message}}
    if isinstance(result, Ciphertext):
        return {"ciphertext": result.ciphertext, "key_version": result.key_version}
    if isinstance(result, Signature):
        return {"signature": result.signature, "key_version": result.key_version}
    if isinstance(result, DataKey):
        plaintext = base64.b64encode(result.plaintext).decode() if result.plaintext is not None else None
        return {"plaintext": plaintext, "ciphertext": result.ciphertext, "key_version": result.key_version}
    if isinstance(result, bool):
        return {"valid": result}
    return {"plaintext": base64.b64encode(result).decode()}


def _audit(event: dict[str, Any], outcome: Outcome | None) -> None:
    """Write the operation's one event, fail closed: the spool line, or the chained row."""
    if settings.EGIDE_AUDIT_SINK == "spool":
        if outcome is not None and outcome.counts:
            event["counts"] = [[v, p, n] for (v, p), n in outcome.counts.items()]
        spool.WRITER.append(event)
        return
    with transaction.atomic():
        if outcome is not None and event.get("key_id") is not None:
            spool._add_counts([{**event, "counts": [[v, p, n] for (v, p), n in outcome.counts.items()]}])
        audit.append([spool.row_of(event)])


def _base_event(call: Call, token: TokenSnap) -> dict[str, Any]:
    return {
        "at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "actor_id": token.user_id, "actor_name": token.username, "auth_method": "token",
        "token_id": str(token.token_id), "source": "cli" if call.client == "cli" else "api",
        "action": call.operation, "key_name": printable_name(call.name) if call.name else "",
        "request_id": call.request_id, "client_addr": call.remote_addr[:64],
    }  # fmt: skip


def body_too_large(content_length: str) -> str | None:
    try:
        length = int(content_length or 0)
    except ValueError:
        return None
    if length > parse.MAX_BODY_BYTES:
        return f"request body is {length} bytes; the limit is {parse.MAX_BODY_BYTES}"
    return None


def serve(call: Call) -> Reply:
    """Answer one bearer-token JSON data-plane request (no query string: see is_fast).

    The database gone (state, token or the audit row of EGIDE_AUDIT_SINK=table) is a 503
    `unavailable`, as on the DRF path: the operation is refused, not answered unaudited.
    """
    try:
        return _serve(call)
    except DatabaseError as exc:
        log.error("data plane: database unavailable (%s): %s", type(exc).__name__, str(exc)[:200])
        return _error("unavailable", "the database is unavailable; retry shortly", call.request_id)


def _serve(call: Call) -> Reply:
    request_id, operation, name = call.request_id, call.operation, call.name
    too_large = body_too_large(call.content_length)
    if too_large:
        return _error("payload_too_large", too_large, request_id)
    wait = throttle.wait_needed("address", call.remote_addr)
    CACHE.sync()
    try:
        token = _token(call)
    except _Unauthenticated:
        return _error("unauthenticated", "invalid, expired or revoked token", request_id)
    wait = wait or throttle.wait_needed("token", str(token.token_id))
    if wait:
        return _error("throttled", f"too many requests; retry in {wait} s", request_id,
                      extra={"Retry-After": str(wait)})  # fmt: skip
    event = _base_event(call, token)
    outcome: Outcome | None = None
    try:
        body = parse.json_body(call.body)
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise KeyNotFound(printable_name(name))
        key = _authorize(token, CACHE.key(name), name, operation)
        event.update(key_uid=str(uuid.UUID(bytes=key.uid)), key_id=key.id)
        items, options, single = parse.request(operation, body)
        outcome = run(operation, key, lambda v: CACHE.version(key.id, v), items, single=single, **options)
    except ERRORS as exc:
        code = error_code(exc)
        if code == "key_not_found":
            event.pop("key_uid", None), event.pop("key_id", None)
        event.update(outcome="denied" if code in DENIALS else "error", error_code=code,
                     details={"message": error_message(exc)[:300]})  # fmt: skip
        try:
            _audit(event, None)
        except spool.AuditUnavailable as unavailable:
            return _error("unavailable", unavailable.message, request_id)
        return _error(code, error_message(exc), request_id)
    event.update(outcome="success", key_version=outcome.key_version, details=outcome.details)
    try:
        _audit(event, outcome)
    except spool.AuditUnavailable as exc:
        return _error("unavailable", exc.message, request_id)
    rendered = [_render(r) for r in outcome.results]
    data = rendered[0] if single else {"batch": rendered}
    return _json({"data": data}, 200, request_id)


def is_fast(method: str, has_authorization: bool, content_type: str, query_string: str) -> bool:
    """Bearer-token JSON POSTs are served here; the rest (session, raw body, a query string,
    which DRF refuses with a JSON body rather than ignore) by the DRF views."""
    return (method == "POST" and has_authorization and content_type.split(";")[0].strip() == "application/json"
            and not query_string)  # fmt: skip


def _call_of(request: HttpRequest, operation: str, name: str) -> Call:
    meta = request.META
    too_large = body_too_large(meta.get("CONTENT_LENGTH", ""))
    return Call(operation, name, meta.get("HTTP_AUTHORIZATION", ""), meta.get("HTTP_X_EGIDE_CLIENT", ""),
                meta.get("CONTENT_LENGTH", ""),
                b"" if too_large else request.body, request.request_id,  # type: ignore[attr-defined]
                meta.get("REMOTE_ADDR", ""))  # fmt: skip


def _view(operation: str):  # noqa: ANN202
    @csrf_exempt  # bearer tokens only here; a session request goes to DRF, which enforces CSRF
    def view(request: HttpRequest, name: str) -> HttpResponse:
        meta = request.META
        if not is_fast(request.method, "HTTP_AUTHORIZATION" in meta, meta.get("CONTENT_TYPE", ""),
                       meta.get("QUERY_STRING", "")):  # fmt: skip
            return FALLBACK[operation](request, name=name)
        reply = serve(_call_of(request, operation, name))
        response = HttpResponse(reply.body, status=reply.status, content_type="application/json")
        for header, value in reply.headers.items():
            response[header] = value
        return response

    view.__name__ = f"{operation}_view"
    return view


VIEWS = {operation: _view(operation) for operation in FALLBACK}
