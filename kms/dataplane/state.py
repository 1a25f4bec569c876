"""What a data-plane request needs to decide, loaded with hand-written SQL and cached.

Four small snapshots — the token, the key, one version, the caller's permissions
on the key — each loaded by one indexed statement. In the default mode they are
cached per process and the whole cache is dropped when the state generation
moves (kms.dataplane.generation): checked at most every EGIDE_STATE_WINDOW_MS
milliseconds, and at once on a PostgreSQL NOTIFY. With EGIDE_STATE_WINDOW_MS=0
(strict) the generation is read on every request, so there is no window at all.
Unwrapped key material is cached separately (kms.keyring) and never invalidated:
a version's material never changes; whether it may be used is decided here.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection

from kms.dataplane import config, generation
from kms.dataplane.core import KeySnap, VersionSnap
from kms.keyring import forget_versions
from kms.models import KEY_PERMISSIONS

log = logging.getLogger(__name__)
MAX_ENTRIES = 50_000  # per cache; past it the cache starts over


class NeedsDatabase(Exception):  # noqa: N818 - a signal to the transport, not an error
    """A request served without the database (`OFFLINE.on`) reached a step that needs it.

    Not a KmsError: no handler of the pipeline catches it. The transport that asked for
    the no-database mode (kms.dataplane.rsgi) hands the whole request to a thread, where
    it runs again from the start with the database (the pipeline undid its throttle counts).
    """


class _Offline(threading.local):
    on = False  # this thread serves a request without the database: a miss raises NeedsDatabase


OFFLINE = _Offline()


@dataclass(frozen=True, slots=True)
class TokenSnap:
    token_id: int
    user_id: int
    username: str
    is_superuser: bool
    active: bool
    expires_at: datetime | None
    revoked: bool
    last_used_at: datetime | None
    scope_keys: tuple[str, ...] = ()
    scope_operations: tuple[str, ...] = ()


def _dt(value: Any) -> datetime | None:
    """SQLite returns text for datetimes; PostgreSQL returns aware datetimes."""
    if value is None:
        return None
    if isinstance(value, datetime):  # Django's SQLite backend hands back naive UTC datetimes
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _uid(value: Any) -> bytes:
    import uuid

    return value.bytes if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).bytes


def _fetchone(sql: str, params: tuple) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def load_token(token_hash: str) -> TokenSnap | None:
    row = _fetchone(
        "SELECT t.id, t.user_id, u.username, u.is_superuser, u.is_active, t.expires_at, t.revoked_at, "
        "t.last_used_at, t.scope_keys, t.scope_operations "
        "FROM kms_apitoken t JOIN auth_user u ON u.id = t.user_id WHERE t.token_hash = %s",
        (token_hash,),
    )
    if row is None:
        return None
    return TokenSnap(row[0], row[1], row[2], bool(row[3]), bool(row[4]), _dt(row[5]), row[6] is not None,
                     _dt(row[7]), _names(row[8]), _names(row[9]))  # fmt: skip


def _names(value: Any) -> tuple[str, ...]:
    """A JSON list column: a list from PostgreSQL (jsonb), text from SQLite."""
    if isinstance(value, str):
        value = json.loads(value)
    return tuple(str(v) for v in value or ())


def load_key(name: str, namespace: str = "") -> KeySnap | None:
    """The live key `name` of a key space: "" is the native one (kms.transit.namespaces)."""
    row = _fetchone(
        "SELECT id, uid, name, key_type, state, current_version, min_encryption_version, "
        "min_decryption_version, aad_uid FROM kms_key WHERE namespace = %s AND name = %s AND state <> 'purged'",
        (namespace, name),
    )
    if row is None:
        return None
    return KeySnap(row[0], _uid(row[1]), row[2], row[3], row[4], row[5], row[6], row[7],
                   None if row[8] is None else _uid(row[8]))  # fmt: skip


def load_version(key_id: int, version: int) -> VersionSnap | None:
    row = _fetchone(
        "SELECT version, wrapped_material, master_key_id, disabled_at, destroyed_at, encrypt_count, "
        "sign_count FROM kms_keyversion WHERE key_id = %s AND version = %s",
        (key_id, version),
    )
    if row is None:
        return None
    return VersionSnap(row[0], bytes(row[1]), row[2], row[3] is not None, row[4] is not None, row[5], row[6])


_PERMISSIONS_SQL = """
SELECT p.codename FROM auth_permission p
JOIN django_content_type ct ON ct.id = p.content_type_id AND ct.app_label = 'kms' AND ct.model = 'key'
WHERE p.id IN (
  SELECT permission_id FROM kms_keyuserobjectpermission WHERE user_id = %s AND content_object_id = %s
  UNION SELECT g.permission_id FROM kms_keygroupobjectpermission g
        JOIN auth_user_groups ug ON ug.group_id = g.group_id
        WHERE ug.user_id = %s AND g.content_object_id = %s
  UNION SELECT permission_id FROM auth_user_user_permissions WHERE user_id = %s
  UNION SELECT gp.permission_id FROM auth_group_permissions gp
        JOIN auth_user_groups ug ON ug.group_id = gp.group_id WHERE ug.user_id = %s
)
"""


def load_permissions(user_id: int, key_id: int) -> frozenset[str]:
    """The key permission names the user holds on the key: per key, via groups, or globally."""
    with connection.cursor() as cursor:
        cursor.execute(_PERMISSIONS_SQL, (user_id, key_id, user_id, key_id, user_id, user_id))
        codes = [row[0] for row in cursor.fetchall()]
    # Key permissions only: the global right to create keys (`add`) shows no key.
    names = (code.removesuffix("_key") for code in codes if code.endswith("_key"))
    return frozenset(name for name in names if name in KEY_PERMISSIONS)


def load_counts(key_id: int, version: int, files: tuple[str, ...] = ()) -> tuple[int, int, dict[str, int]] | None:
    """A version's use counts and, read in the same statement (one snapshot), how far each of
    `files` has been shipped: a spool line ending at or before its file's offset has its uses
    in these counts, a line past it does not (the shipper moves both in one transaction)."""
    if not files:
        row = _fetchone("SELECT encrypt_count, sign_count FROM kms_keyversion WHERE key_id = %s AND version = %s",
                        (key_id, version))  # fmt: skip
        return None if row is None else (row[0], row[1], {})
    # Bandit B608 does not apply: only "%s" placeholders are joined in; the names are parameters.
    marks = ", ".join(["%s"] * len(files))
    sql = ('SELECT v.encrypt_count, v.sign_count, o.name, o."offset" FROM kms_keyversion v '  # noqa: S608  # nosec B608
           f"LEFT JOIN kms_auditspooloffset o ON o.name IN ({marks}) "
           "WHERE v.key_id = %s AND v.version = %s")  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, (*files, key_id, version))
        rows = cursor.fetchall()
    if not rows:
        return None
    return rows[0][0], rows[0][1], {row[2]: row[3] for row in rows if row[2] is not None}


def load_destroyed_since(since: datetime) -> list[tuple[bytes, int]]:
    """(key uid, version) of the versions destroyed (or purged) since `since`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT k.uid, v.version FROM kms_keyversion v JOIN kms_key k ON k.id = v.key_id "
            "WHERE v.destroyed_at >= %s",
            (connection.ops.adapt_datetimefield_value(since),),
        )
        return [(_uid(row[0]), row[1]) for row in cursor.fetchall()]


USAGE_FRESHNESS_SECONDS = 1.0  # use counts decided from the database no older than this
EVICTION_MARGIN = timedelta(minutes=10)  # clock skew between nodes, for the destroyed-since query


class StateCache:
    """Per-process caches of the four snapshots, valid for one state generation.

    Use counters are not part of the generation (the audit shipper raises them with plain
    UPDATEs): a version's counts are re-read when older than USAGE_FRESHNESS_SECONDS, and
    this process's own uses not yet shipped (`pending`) are added to them. Whichever process
    ships (a thread here, or the node's shipping process), "shipped" is read from the
    database with the counts: each use is remembered with the spool file and offset its line
    ends at (`unshipped`), and forgotten once that file's shipped offset, read in the same
    statement as the counts, has passed it — never counted twice, never missed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.generation: int | None = None
        self.checked_at = 0.0
        self.pushed = False  # set by the LISTEN thread when a NOTIFY arrives
        self.pending: dict[tuple[int, int, str], int] = {}  # (key, version, purpose) -> uses
        self.unshipped: dict[tuple[int, int], list[tuple[str, int, str, int]]] = {}  # (file, end, purpose, n)
        self.counts_read: dict[tuple[int, int], float] = {}
        self.evicted_until = datetime.now(UTC) - EVICTION_MARGIN
        self._reset()

    def _reset(self) -> None:
        self.tokens: dict[str, TokenSnap | None] = {}
        self.keys: dict[tuple[str, str], KeySnap | None] = {}
        self.versions: dict[tuple[int, int], VersionSnap | None] = {}
        self.permissions: dict[tuple[int, int], frozenset[str]] = {}

    def clear(self) -> None:
        with self._lock:
            self.generation = None
            self.pending.clear()
            self.unshipped.clear()
            self.counts_read.clear()
            self._reset()

    def sync(self) -> None:
        """Drop everything if the generation moved (read now, or within the window)."""
        conf = config.current()
        window = conf.state_window_s
        if window > 0 and conf.postgres:
            LISTENER.ensure_running()
        now = time.monotonic()
        if window > 0 and not self.pushed and now - self.checked_at < window and self.generation is not None:
            return
        if OFFLINE.on:
            raise NeedsDatabase("the state generation is due for a check")
        self.pushed = False
        seen = generation.current()
        with self._lock:
            self.checked_at = now
            moved = seen is None or seen != self.generation
            if moved:
                self._reset()
            self.generation = seen
        if moved:
            self._evict_destroyed()

    def _evict_destroyed(self) -> None:
        """Unwrapped material of versions destroyed or purged since the last look leaves memory."""
        started = datetime.now(UTC)
        gone = load_destroyed_since(self.evicted_until)
        if gone:
            forget_versions(gone)
        self.evicted_until = started - EVICTION_MARGIN

    def add_pending(self, key_id: int, counts: list[list[Any]], where: tuple[str, int]) -> None:
        """This process's uses, written to its spool (file, offset past the line), not yet shipped."""
        file, end = where
        with self._lock:
            for version, purpose, n in counts:
                slot = (key_id, version, purpose)
                self.pending[slot] = self.pending.get(slot, 0) + n
                self.unshipped.setdefault((key_id, version), []).append((file, end, purpose, n))

    def _forget_shipped(self, key_id: int, version: int, offsets: dict[str, int]) -> None:
        """Drop the uses whose lines the database says are shipped (their counts are in the row)."""
        with self._lock:
            entries = self.unshipped.get((key_id, version))
            if not entries:
                return
            left = []
            for entry in entries:
                file, end, purpose, n = entry
                if end <= offsets.get(file, 0):
                    slot = (key_id, version, purpose)
                    remaining = self.pending.get(slot, 0) - n
                    if remaining > 0:
                        self.pending[slot] = remaining
                    else:
                        self.pending.pop(slot, None)
                else:
                    left.append(entry)
            if left:
                self.unshipped[(key_id, version)] = left
            else:
                self.unshipped.pop((key_id, version), None)

    def _unshipped_files(self, key_id: int, version: int) -> tuple[str, ...]:
        entries = self.unshipped.get((key_id, version))
        return tuple(sorted({entry[0] for entry in entries})) if entries else ()

    def _cached(self, table: dict, key: Any, load: Any) -> Any:
        if self.generation is not None and key in table:
            return table[key]
        if OFFLINE.on:
            raise NeedsDatabase("not cached")
        value = load()
        if self.generation is not None:
            if len(table) >= MAX_ENTRIES:
                table.clear()
            table[key] = value
        return value

    def token(self, token_hash: str) -> TokenSnap | None:
        return self._cached(self.tokens, token_hash, lambda: load_token(token_hash))

    def key(self, name: str, namespace: str = "") -> KeySnap | None:
        return self._cached(self.keys, (namespace, name), lambda: load_key(name, namespace))

    def version(self, key_id: int, version: int) -> VersionSnap | None:
        snap = self._cached(self.versions, (key_id, version), lambda: self._loaded_version(key_id, version))
        if snap is None:
            return None
        now = time.monotonic()
        if now - self.counts_read.get((key_id, version), 0.0) > USAGE_FRESHNESS_SECONDS:
            if OFFLINE.on:
                raise NeedsDatabase("the use counts are due for a read")
            counts = load_counts(key_id, version, self._unshipped_files(key_id, version))
            if counts is None:
                return None
            self._forget_shipped(key_id, version, counts[2])
            self.counts_read[(key_id, version)] = now
            snap = replace(snap, encrypt_count=counts[0], sign_count=counts[1])
            if self.generation is not None:
                self.versions[(key_id, version)] = snap
        return snap

    def pending_uses(self, key_id: int, version: int, purpose: str) -> int:
        """This process's uses of a version written to its spool, not yet in the row's count."""
        return self.pending.get((key_id, version, purpose), 0) if self.pending else 0

    def _loaded_version(self, key_id: int, version: int) -> VersionSnap | None:
        self.counts_read[(key_id, version)] = time.monotonic()
        if len(self.counts_read) > MAX_ENTRIES:
            self.counts_read.clear()
        return load_version(key_id, version)

    def permissions_of(self, user_id: int, key_id: int) -> frozenset[str]:
        return self._cached(self.permissions, (user_id, key_id), lambda: load_permissions(user_id, key_id))


CACHE = StateCache()


class Listener:
    """LISTEN for the generation's NOTIFY (PostgreSQL): other processes' changes are pushed.

    The poll window stays the bound: if this connection is down, nothing is lost but speed.
    """

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._pid = -1
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="egide-state-listener", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        import psycopg

        params = connection.get_connection_params()
        params.pop("cursor_factory", None), params.pop("context", None)
        while True:
            try:
                with psycopg.connect(**params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {generation.NOTIFY_CHANNEL}")
                    CACHE.pushed = True  # anything missed while not listening
                    for _notify in conn.notifies():
                        CACHE.pushed = True
            except Exception:  # noqa: BLE001 - reconnect; the window bounds staleness meanwhile
                log.warning("state listener lost its connection; retrying", exc_info=True)
                time.sleep(1.0)


LISTENER = Listener()
