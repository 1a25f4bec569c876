"""The one request pipeline of the data plane: parse → authenticate → authorize → run → audit → render.

Both transports build a `Request` and call `serve()`: the WSGI fast lane (kms.dataplane.wsgi,
bearer-token JSON straight from the environ) and the Django view (kms.dataplane.views:
sessions with CSRF, raw bodies, anything the fast lane passes on). The pages and the
services' Python API call `execute()`, which is the same pipeline below the wire format.
So every rule below is written once: the host check, the body limits and media types,
the token check, the throttles, "hide or deny", the cost of a batch, the audit event of
every outcome, the error table (kms.dataplane.errors) and the answer's headers.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import DatabaseError, connection
from django.utils import timezone

from kms import request_ids
from kms.dataplane import config, costs, errors, parse, throttle
from kms.dataplane.core import ItemError, KeySnap, Operation, Outcome, Versions, check_key
from kms.dataplane.ops import OPERATIONS
from kms.dataplane.reply import Reply, json_reply
from kms.dataplane.state import CACHE, OFFLINE, NeedsDatabase
from kms.exceptions import (
    ERRORS,
    InvalidRequest,
    KeyNotFound,
    PayloadTooLarge,
    PermissionDenied,
    Throttled,
    Unauthenticated,
    error_code,
    error_message,
)
from kms.rules import NAME_PATTERN, printable_name
from kms.services import audit_sink
from kms.services import audit_spool as spool
from kms.services.tokens import LAST_USED_RESOLUTION, TOKEN_PREFIX, scope_permits

log = logging.getLogger(__name__)
DENIALS = {"permission_denied", "key_not_found"}
_last_used_written: dict[int, float] = {}
_last_used_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, however they proved it (token, session, or the system itself)."""

    user_id: int | None
    username: str
    is_superuser: bool
    auth_method: str  # token, session, system
    token_id: str = ""
    # Token scope: key names and permissions it is limited to (empty: no limit).
    scope_keys: tuple[str, ...] = ()
    scope_operations: tuple[str, ...] = ()

    @property
    def is_system(self) -> bool:
        return self.auth_method == "system"


SYSTEM = Principal(None, "system", True, "system")


@dataclass(frozen=True)
class Request:
    """One data-plane request as a transport hands it over."""

    operation: str
    name: str
    body: bytes | None  # None: larger than any limit, not read
    content_type: str
    content_length: str = ""
    authorization: str = ""
    host: str = ""
    query_string: str = ""
    client: str = ""  # X-Egide-Client: "cli" marks the CLI
    request_id: str = ""
    remote_addr: str = ""
    principal: Principal | None = None  # set by a transport that authenticated (session)
    source: str = ""  # defaults to api / cli from `client`


# --- the steps ------------------------------------------------------------------------------


def authenticate(request: Request) -> Principal:
    if request.principal is not None:
        return request.principal
    if not request.authorization:
        raise Unauthenticated("authentication credentials were not provided")
    scheme, _, raw = request.authorization.partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        raise Unauthenticated("invalid, expired or revoked token")
    token = CACHE.token(hashlib.sha256(raw.encode()).hexdigest())
    now = datetime.now(UTC)
    if token is None or token.revoked or not token.active or (token.expires_at and token.expires_at <= now):
        raise Unauthenticated("invalid, expired or revoked token")
    _touch(token.token_id, token.last_used_at, now)
    return Principal(token.user_id, token.username, token.is_superuser, "token", str(token.token_id),
                     token.scope_keys, token.scope_operations)  # fmt: skip


def _touch(token_id: int, last_used_at: datetime | None, now: datetime) -> None:
    """Keep last_used_at within a minute, writing at most once a minute per token and process."""
    mono = time.monotonic()
    with _last_used_lock:
        last = _last_used_written.get(token_id)
        if last is not None and mono - last < LAST_USED_RESOLUTION.total_seconds():
            return
        due = last_used_at is None or now - last_used_at > LAST_USED_RESOLUTION
        if due and OFFLINE.on:
            raise NeedsDatabase("last_used_at is due for a write")
        _last_used_written[token_id] = mono
    if due:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE kms_apitoken SET last_used_at = %s WHERE id = %s", (now, token_id))


def authorize(principal: Principal, name: str, operation: Operation, namespace: str = "",
              shown: str = "") -> KeySnap:  # fmt: skip
    """The key, if the principal may do `operation` with it: hide (404) or deny (403).

    Holding no permission on a key means not seeing it: it answers like a missing key. A
    token's scope (kms.services.tokens.scope_permits) refuses what it leaves out, as on the
    control plane. `namespace` is the key space ("" native; a Transit mount's otherwise) and
    `shown` the key's name outside it (`<mount>/<name>`, kms.transit.namespaces): the name a
    token's scope and the messages use.
    """
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise KeyNotFound(printable_name(name))
    key = CACHE.key(name, namespace)
    if key is None:
        raise KeyNotFound(shown or name)
    scoped = shown or key.name
    for needed in operation.permissions:  # the token's scope first: it binds superusers too
        if not scope_permits(list(principal.scope_keys), list(principal.scope_operations), scoped, needed):
            raise PermissionDenied(f"this token's scope does not allow {needed} with key '{scoped}'")
    if principal.is_superuser:
        return key
    held = CACHE.permissions_of(principal.user_id, key.id) if principal.user_id is not None else frozenset()
    for needed in operation.permissions:
        if needed not in held:
            if not held:
                raise KeyNotFound(scoped)
            raise PermissionDenied(f"you may not {needed} with key '{scoped}'")
    return key


def _parse(operation: Operation, request: Request) -> tuple[list[Any], dict[str, Any]]:
    kind = parse.media_type(request.content_type, raw_allowed=operation.raw is not None)
    limit = parse.body_limit(kind)
    if request.body is None or len(request.body) > limit:
        size = request.content_length if request.body is None else len(request.body)
        raise PayloadTooLarge(f"request body is {size} bytes; the limit is {limit}")
    query = parse.query_params(request.query_string) if request.query_string else {}
    if kind == parse.OCTET_STREAM:
        items, options, _single = parse.raw_request(operation, request.body, query)
        return items, options
    if query:
        if operation.raw is not None:
            raise InvalidRequest("query parameters apply only to a raw (octet-stream) body")
        raise InvalidRequest(f"unknown query parameter: {parse._shown(next(iter(query)))}")
    items, options, _single = parse.json_request(operation, parse.json_body(request.body))
    return items, options


def _run(operation: Operation, key: KeySnap, items: Sequence[Any], options: dict[str, Any]) -> Outcome:
    check_key(key, operation)
    versions = Versions(key, lambda v: CACHE.version(key.id, v), lambda v, p: CACHE.pending_uses(key.id, v, p))
    return operation.run(key, versions, items, options)


_second: tuple[int, str] = (-1, "")  # (a second since the epoch, its "YYYY-MM-DDTHH:MM:SS" in UTC)
_system_now = timezone.now  # Django's: the system clock, in UTC (USE_TZ)


def now_text() -> str:
    """`timezone.now().isoformat(timespec="microseconds")` (UTC), at a third of its cost: the
    system clock read directly, the date and time of day formatted once a second and the
    microseconds on each call (the formatting was 3 % of an encrypt request's instructions).
    Time is read through `timezone.now` everywhere: where it has been replaced (the tests'
    clocks), the replacement is the clock."""
    if timezone.now is not _system_now:
        return timezone.now().isoformat(timespec="microseconds")
    global _second
    second, micros = divmod(time.time_ns() // 1000, 1_000_000)
    cached, prefix = _second
    if second != cached:
        prefix = datetime.fromtimestamp(second, UTC).isoformat()[:19]
        _second = (second, prefix)  # one tuple, swapped whole: threads see one or the other
    return f"{prefix}.{micros:06d}+00:00"


def _event(principal: Principal, operation: Operation, name: str, source: str, request_id: str,
           remote_addr: str) -> dict[str, Any]:  # fmt: skip
    return {
        "at": now_text(),
        "actor_id": principal.user_id, "actor_name": principal.username, "auth_method": principal.auth_method,
        "token_id": principal.token_id, "source": source, "action": operation.name,
        "key_name": printable_name(name) if name else "", "request_id": request_id[:64],
        "client_addr": remote_addr[:64],
        # A superuser is break-glass: every event of theirs says so (docs/security.md).
        "_superuser": principal.is_superuser and not principal.is_system,
    }  # fmt: skip


def _record(event: dict[str, Any], outcome: Outcome | None) -> None:
    """Write the operation's one event, fail closed: the spool line, or the chained row."""
    if event.pop("_superuser", False):
        event["details"] = {**(event.get("details") or {}), "superuser": True}
    counts = [[v, p, n] for (v, p), n in outcome.counts.items()] if outcome is not None else []
    if counts:
        event["counts"] = counts
    where = audit_sink.write(event, before_table=_needs_database)
    if where is not None and counts:
        CACHE.add_pending(event["key_id"], counts, where)


def _needs_database() -> None:
    if OFFLINE.on:
        raise NeedsDatabase("the audit sink is the table")


def _failed(event: dict[str, Any], exc: BaseException) -> None:
    code = error_code(exc)
    if code == "key_not_found":  # a key one may not see is not named by its uid either
        event.pop("key_uid", None), event.pop("key_id", None)
    event.update(outcome="denied" if code in DENIALS else "error", error_code=code,
                 details={"message": error_message(exc)[:300]})  # fmt: skip
    _record(event, None)


def execute(principal: Principal, operation: Operation, name: str, items: list[Any], options: dict[str, Any],
            *, source: str, request_id: str = "", remote_addr: str = "", namespace: str = "",
            shown: str = "") -> Outcome:  # fmt: skip
    """Authorize, run and audit one parsed request: the part every caller shares.

    Raises the operation's error (after auditing it); returns the outcome (after auditing it).
    `namespace`/`shown`: a Transit mount's key space and the key's name outside it (authorize).
    """
    event = _event(principal, operation, name, source, request_id, remote_addr)
    if shown:  # a Transit mount's key, `<mount>/<name>` (its name already checked by the codec)
        event["key_name"] = shown[:128]
    try:
        return _execute(principal, operation, name, items, options, event, namespace, shown)
    except ERRORS as exc:
        _failed(event, exc)
        raise


@functools.lru_cache(maxsize=4096)
def uid_text(uid: bytes) -> str:
    """A key's uid as the audit trail writes it (the canonical UUID text), made once per key."""
    return str(uuid.UUID(bytes=uid))


def _execute(principal: Principal, operation: Operation, name: str, items: list[Any], options: dict[str, Any],
             event: dict[str, Any], namespace: str = "", shown: str = "") -> Outcome:  # fmt: skip
    key = authorize(principal, name, operation, namespace, shown)
    event.update(key_uid=uid_text(key.uid), key_id=key.id)
    cost = costs.of_request(key.key_type, operation.name, items)
    if cost > 1 and principal.auth_method == "token":
        throttle.charge("token", principal.token_id, cost - 1)
    outcome = _run(operation, key, items, options)
    event.update(outcome="success", key_version=outcome.key_version, details=outcome.details)
    _record(event, outcome)
    return outcome


def serve(request: Request, *, database: bool = True) -> Reply:
    """Answer one data-plane request from any transport.

    `database=False` (a transport on an event loop, kms.dataplane.rsgi): answer from the
    caches alone, or raise NeedsDatabase at the first step that needs the database (the
    state generation due for a check, a snapshot not cached, use counts or last_used_at
    due, the table audit sink) — before anything is written, and with the throttle counts
    taken back — so that the transport can run the request again, from the start, where
    the database may be used. The rules are the same: only where they may read differs.
    """
    request_id = request.request_id or request_ids.new()
    if not database:
        OFFLINE.on = True
        throttle.begin()
        try:
            return _serve(request, request_id)  # no database: none of serve's handlers apply
        except NeedsDatabase:
            throttle.undo()
            raise
        except spool.AuditUnavailable as exc:
            return errors.reply(exc, request_id)
        finally:
            OFFLINE.on = False
            throttle.end()
    try:
        return _serve(request, request_id)
    except spool.AuditUnavailable as exc:
        return errors.reply(exc, request_id)
    except DatabaseError as exc:
        log.error("data plane: database unavailable (%s): %s", type(exc).__name__, str(exc)[:200])
        return errors.unavailable("the database is unavailable; retry shortly", request_id)


def _serve(request: Request, request_id: str) -> Reply:
    if not config.host_allowed(request.host):
        return errors.reply(InvalidRequest("the Host header is not one this server answers to"),
                            request_id)  # fmt: skip
    operation = OPERATIONS[request.operation]
    wait = throttle.wait_needed("address", request.remote_addr)
    CACHE.sync()
    try:
        principal = authenticate(request)
    except Unauthenticated as exc:
        return errors.reply(exc, request_id)
    ident = principal.token_id or f"u{principal.user_id}"
    wait = wait or throttle.wait_needed("token", ident)
    if wait:
        return errors.reply(Throttled(wait), request_id)
    source = request.source or ("cli" if request.client == "cli" else "api")
    event = _event(principal, operation, request.name, source, request_id, request.remote_addr)
    try:
        items, options = _parse(operation, request)
        outcome = _execute(principal, operation, request.name, items, options, event)
    except ERRORS as exc:
        _failed(event, exc)
        return errors.reply(exc, request_id)
    rendered = [errors.item(r) if isinstance(r, ItemError) else operation.render(r) for r in outcome.results]
    data = rendered[0] if options["single"] else {"batch": rendered}
    return json_reply({"data": data}, 200, request_id)
