"""The audit trail: one event per operation, HMAC-chained, append-only.

`record()` appends an event in the caller's transaction, so a change and its
event commit together or not at all; if the event cannot be written the
operation fails. Appending takes a row lock on the single `AuditChainHead`
row, which assigns the next `seq` and holds the last hash: concurrent writers
queue there (measured in docs/benchmarks.md). `verify_chain()` recomputes
every link and names the first row that was changed, removed or inserted.

The chain key is a random 256-bit secret wrapped under the master key and
kept in the head row; it never leaves this module.
"""

from __future__ import annotations

import hmac
import json
import math
import operator
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import orjson
from django.db import connection, transaction
from django.utils import timezone

from kms.crypto import secret_aad
from kms.keyring import keyring
from kms.models import AuditChainHead, AuditEvent, Key
from kms.services.actor import Actor

GENESIS = "0" * 64
_CHAIN_SECRET = "audit-chain"  # noqa: S105 - the label of a wrapped secret, not a secret
_key_cache: dict[bytes, bytes] = {}
_key_lock = threading.Lock()

# The fields an event's HMAC covers, in a fixed order.
CHAINED_FIELDS = (
    "seq", "at", "actor_id", "actor_name", "auth_method", "token_id", "source", "action",
    "key_name", "key_uid", "key_version", "outcome", "error_code", "request_id", "client_addr",
    "details",
)  # fmt: skip


MAX_TEXT = 1000  # characters of any one string in an event
MAX_ITEMS = 50  # entries of any one list or object in `details`
MAX_DEPTH = 4
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)} | {c: f"\\u{c:04x}" for c in range(0x80, 0xA0)}


def clean_text(value: str, limit: int = MAX_TEXT) -> str:
    """Text as every sink can store it: control characters (NUL first: PostgreSQL refuses
    it in text and JSON) escaped, lone surrogates replaced, bounded length."""
    if len(value) > limit:
        value = value[:limit] + "..."
    if value.isprintable():  # the common case; a lone surrogate is not printable either
        return value
    return value.translate(_CONTROL).encode("utf-8", errors="replace").decode("utf-8")


def sanitize(value: Any, depth: int = 0) -> Any:
    """An event's `details` (or any field) made storable by every sink: the one function.

    Strings through clean_text (keys too), containers bounded in size and depth, anything
    that is not JSON's own type turned into text. Cheap on the common case (a few short
    printable strings and numbers): it runs on every event the shipper chains.
    """
    kind = type(value)
    if kind is str:
        return value if len(value) <= MAX_TEXT and value.isprintable() else clean_text(value)
    if value is None or kind is int or kind is bool:
        return value
    if kind is float:
        return value if math.isfinite(value) else str(value)
    if depth >= MAX_DEPTH:
        return clean_text(repr(value), 200)
    if kind is dict and _flat_and_clean(value):  # a data-plane event's details: kept as they are
        return value
    if isinstance(value, dict):
        items = value.items() if len(value) <= MAX_ITEMS else list(value.items())[:MAX_ITEMS]
        return {_key(k): sanitize(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple | set | frozenset):
        return [sanitize(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
    if isinstance(value, str | int | float):  # subclasses (enums, IntEnum): as their plain value
        return sanitize(str(value) if isinstance(value, str) else value.__index__()
                        if isinstance(value, int) else float(value), depth)  # fmt: skip
    return clean_text(str(value))


def _flat_and_clean(value: dict[Any, Any]) -> bool:
    """A few short printable text keys with None, bool, int or short printable text values:
    what sanitize would return unchanged."""
    if len(value) > MAX_ITEMS:
        return False
    for key, item in value.items():
        if type(key) is not str or len(key) > 100 or not key.isprintable():
            return False
        kind = type(item)
        if kind is str:
            if len(item) > MAX_TEXT or not item.isprintable():
                return False
        elif kind is not int and kind is not bool and item is not None:
            return False
    return True


def _key(key: Any) -> str:
    return key if type(key) is str and len(key) <= 100 and key.isprintable() else clean_text(str(key), 100)


# The text columns an event's content fills (not the chain's own hex digests, written by append).
_TEXT_COLUMNS = {f.name: f.max_length for f in AuditEvent._meta.fields
                 if f.max_length and f.name not in ("prev_hash", "chain_hash")}  # fmt: skip
_TEXT_NAMES = tuple(_TEXT_COLUMNS)
_TEXT_LIMITS = tuple(_TEXT_COLUMNS.values())
_texts = operator.itemgetter(*_TEXT_NAMES)


def sanitize_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row about to be chained: every text column and the details, sanitized."""
    # The common case in one pass of C loops (the shipper runs this on every event): every
    # column there, text, printable, and within its length.
    try:
        texts = _texts(row)
        plain = "".join(texts).isprintable() and all(map(operator.le, map(len, texts), _TEXT_LIMITS))
    except (KeyError, TypeError):  # a column missing or not text: left as it is, as below
        plain = False
    if not plain:
        for name, limit in _TEXT_COLUMNS.items():
            text = row.get(name)
            if isinstance(text, str) and (len(text) > limit or not text.isprintable()):
                text = clean_text(text, limit)
                row[name] = text if len(text) <= limit else text[:limit]
    row["details"] = sanitize(row.get("details") or {})
    return row


def canonical(event: AuditEvent | dict[str, Any]) -> bytes:
    """The bytes an event's HMAC covers: its content fields as sorted, compact JSON."""
    content: dict[str, Any]
    if isinstance(event, dict):
        try:  # a row being chained holds every field: one C call picks them
            content = dict(zip(CHAINED_FIELDS, _chained(event), strict=True))
        except KeyError:
            content = {name: event.get(name) for name in CHAINED_FIELDS}
        content["at"] = event.get(AT_TEXT) or event["at"].astimezone(UTC).isoformat(timespec="microseconds")
    else:
        content = {name: getattr(event, name) for name in CHAINED_FIELDS}
        content["at"] = event.at.astimezone(UTC).isoformat(timespec="microseconds")
    return canonical_json(content)


_chained = operator.itemgetter(*CHAINED_FIELDS)


# A row may carry its `at` also as the text the chain hashes (kms.services.audit_spool reads
# it so from the spool line): then neither the link nor PostgreSQL's COPY formats the
# datetime again (two formattings were a tenth of the shipper's instructions per event).
AT_TEXT = "at_text"
_CANONICAL_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00").fullmatch


def is_canonical_at(text: str) -> bool:
    """Whether `text`, which datetime.fromisoformat has read, is exactly how the chain writes
    that instant (`at.astimezone(UTC).isoformat(timespec="microseconds")`)."""
    return _CANONICAL_AT(text) is not None


def canonical_json(content: dict[str, Any]) -> bytes:
    """`json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)`, byte for byte
    (every chain ever written was hashed over that form), at orjson's speed where the two are
    the same: only JSON's own types (exact), no float, ASCII output. Otherwise the stdlib.
    tests/services/test_audit_canonical.py holds the two to the same bytes."""
    if _plain(content):
        try:
            fast = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # an int past 64 bits
            fast = b""
        # The stdlib escapes every character outside space..~: non-ASCII, and DEL (0x7f), which
        # orjson writes as it is (hypothesis found it; sanitized events never hold one).
        if fast and fast.isascii() and b"\x7f" not in fast:
            return fast
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()


_PLAIN = frozenset({str, int, bool, type(None)})


def _plain(value: Any) -> bool:
    """Only str, int, bool, None, and dicts (str keys) and lists of them: no float (the two
    libraries print some floats differently), no type either would turn into text its way."""
    kind = type(value)
    if kind in _PLAIN:
        return True
    if kind is dict:
        for k, v in value.items():  # loops, not all(<generator>): this runs on every chained event
            if type(k) is not str or (type(v) not in _PLAIN and not _plain(v)):
                return False
        return True
    if kind is list:
        for v in value:
            if type(v) not in _PLAIN and not _plain(v):
                return False
        return True
    return False


def details_json(details: Any) -> str:
    """The details column's text: any valid JSON of the value will do (read back as data)."""
    if _plain(details):
        try:
            return orjson.dumps(details).decode()
        except TypeError:
            pass
    return json.dumps(details, separators=(",", ":"), default=str)


def link(chain_key: bytes, prev_hash: str, event: AuditEvent | dict[str, Any]) -> str:
    mac = _keyed.get(chain_key) or _keyed_mac(chain_key)
    mac = mac.copy()  # the key's pads are set once per key, not once per event (-8,000 instructions)
    mac.update(prev_hash.encode() + b"\n" + canonical(event))
    return mac.hexdigest()


_keyed: dict[bytes, hmac.HMAC] = {}


def _keyed_mac(chain_key: bytes) -> hmac.HMAC:
    """HMAC-SHA256 keyed with the chain key and fed nothing yet: each link starts from a copy."""
    mac = _keyed[chain_key] = hmac.new(chain_key, digestmod="sha256")
    return mac


def _chain_key(head: AuditChainHead) -> bytes:
    blob = bytes(head.wrapped_key)
    with _key_lock:
        cached = _key_cache.get(blob)
    if cached is None:
        cached = keyring().unwrap(blob, aad=secret_aad(_CHAIN_SECRET), master_key_id=head.master_key_id)
        with _key_lock:
            _key_cache[blob] = cached
    return cached


def _locked_head() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditChainHead.objects.bulk_create([AuditChainHead(pk=1, seq=0, chain_hash=GENESIS)], ignore_conflicts=True)
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    if not head.wrapped_key:
        wrapped, master_id = keyring().wrap(os.urandom(32), aad=secret_aad(_CHAIN_SECRET))
        head.wrapped_key, head.master_key_id = wrapped, master_id
        head.save(update_fields=["wrapped_key", "master_key_id"])
    return head


def record(actor: Actor, action: str, **fields: Any) -> dict[str, Any]:
    """Append one event to the chain, inside the caller's transaction (or its own); `fields`
    are those of `event()` (outcome, key, key_name, key_version, error_code, details)."""
    row = event(actor, action, **fields)
    append([row])
    return row


def event(
    actor: Actor,
    action: str,
    *,
    outcome: str = "success",
    key: Key | None = None,
    key_name: str = "",
    key_version: int | None = None,
    error_code: str = "",
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One event's content fields (`at` an aware datetime), not yet chained.

    An action run on behalf of an approved request names its requester and approvers.
    """
    approval = actor.extra.get("approval")
    if approval:
        details = {**(details or {}), "approval": approval}
    return {
        "at": timezone.now(),
        "actor_id": actor.user.pk if actor.user is not None else None,
        "actor_name": actor.name,
        "auth_method": actor.auth_method,
        "token_id": actor.token_id,
        "source": actor.source,
        "action": action,
        "key_name": key.name if key is not None else key_name,
        "key_uid": str(key.uid) if key is not None else "",
        "key_version": key_version,
        "outcome": outcome,
        "error_code": error_code,
        "request_id": actor.request_id[:64],
        "client_addr": actor.client_addr[:64],
        "details": details or {},
    }


_COLUMNS = ("seq", *CHAINED_FIELDS[1:], "prev_hash", "chain_hash")
# Bandit B608 (SQL built from strings) does not apply: the statement is built once, at import,
# from the constant column names above; every value is a bound parameter (%s).
_INSERT = f"INSERT INTO kms_auditevent ({', '.join(_COLUMNS)}) VALUES ({', '.join('%s' for _ in _COLUMNS)})"  # noqa: S608  # nosec B608
_COPY = f"COPY kms_auditevent ({', '.join(_COLUMNS)}) FROM STDIN"


def _insert(params: list[list[Any]]) -> None:
    """PostgreSQL: COPY (one stream for the batch). SQLite: executemany (in-process)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The raw psycopg cursor: its errors must become Django's DatabaseError like any
            # other statement's, or no adapter maps them to 503 (they were 500s).
            with connection.wrap_database_errors, cursor.cursor.copy(_COPY) as copy:
                for row in params:
                    copy.write_row(row)
        else:
            cursor.executemany(_INSERT, params)


def append(rows: list[dict[str, Any]]) -> None:
    """Chain and insert events in order, under the head's row lock (one lock for many).

    Each row holds every content field of CHAINED_FIELDS but `seq` (`at` an aware datetime,
    `details` a dict); `seq`, `prev_hash` and `chain_hash` are assigned here. Inserted with
    multi-row INSERTs: the per-node audit spool ships through this.
    """
    if not rows:
        return
    with transaction.atomic():
        head = _locked_head()
        chain_key = _chain_key(head)
        params = []
        sqlite = connection.vendor == "sqlite"
        for row in rows:
            sanitize_row(row)
            row["seq"], row["prev_hash"] = head.seq + 1, head.chain_hash
            row["chain_hash"] = link(chain_key, head.chain_hash, row)
            head.seq, head.chain_hash = row["seq"], row["chain_hash"]
            params.append(_params(row, sqlite))
        _insert(params)
        head.save(update_fields=["seq", "chain_hash"])


_DETAILS, _AT = _COLUMNS.index("details"), _COLUMNS.index("at")
_column_values = operator.itemgetter(*_COLUMNS)  # a row's values in column order, in one C call


def _params(row: dict[str, Any], sqlite: bool) -> list[Any]:
    values = list(_column_values(row))
    values[_DETAILS] = details_json(row["details"])
    if sqlite:  # Django stores aware datetimes as naive UTC text there
        values[_AT] = row["at"].astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    elif AT_TEXT in row:  # COPY's text form: PostgreSQL reads the instant from the same text
        values[_AT] = row[AT_TEXT]
    return values


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str = ""
    head_hash: str = GENESIS


def _events_in_order() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("seq").iterator(chunk_size=2000)


def verify_chain() -> ChainReport:
    """Recompute every link; report the first event that does not fit."""
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None or not head.wrapped_key:
        empty = not AuditEvent.objects.exists()
        return ChainReport(ok=empty, checked=0, problem="" if empty else "chain head is missing")
    chain_key = _chain_key(head)
    prev, expected_seq, checked = GENESIS, 1, 0
    for event in _events_in_order():
        if event.seq != expected_seq:
            return ChainReport(False, checked, expected_seq, f"event #{expected_seq} is missing")
        if event.prev_hash != prev or not hmac.compare_digest(event.chain_hash, link(chain_key, prev, event)):
            return ChainReport(False, checked, event.seq, f"event #{event.seq} was modified")
        prev, expected_seq, checked = event.chain_hash, expected_seq + 1, checked + 1
    if head.seq != checked or head.chain_hash != prev:
        return ChainReport(False, checked, checked + 1, f"events after #{checked} are missing (head says #{head.seq})")
    return ChainReport(ok=True, checked=checked, head_hash=prev)
