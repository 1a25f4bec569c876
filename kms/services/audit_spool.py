"""The per-node audit spool: data-plane events appended to a local file, then shipped.

Writing: each server process appends one JSON line per operation to its own file
(O_APPEND, mode 0600) with a single write(2) *before* the answer is sent; if the write
fails the request fails (503) — fail closed. A line that reached the kernel survives the
process being killed; with EGIDE_AUDIT_FSYNC=1 it is also fsynced before the answer
(power-loss durable, slower).

Shipping: every EGIDE_AUDIT_SHIP_INTERVAL_MS the file's new complete lines move into the
chained audit table (kms.services.audit.append, one head lock per batch), their counted
uses are added to the version rows, and the file's shipped offset advances — all in one
transaction, so a line is shipped exactly once, and "shipped up to offset N" is exactly
"its uses are in the version rows" (kms.dataplane.state reads both in one statement).
Who ships (EGIDE_AUDIT_SHIPPER): "process", a thread in each server process ships its own
file; "node", one process per node (`follow`, started by scripts/serve) ships the whole
directory and the serving workers spend nothing on it. The scheduler (and
`manage.py kms_audit_ship`) ships files left by dead processes and removes them once fully
shipped. See docs/dataplane.md for the measured delay.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import F

from kms import jsontext
from kms.exceptions import KmsError
from kms.models import AuditSpoolOffset, KeyVersion
from kms.services import audit

log = logging.getLogger(__name__)
# What json.dumps(default=str) did: datetimes and dataclasses through str(), int keys as text.
_LINE = (orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
         | orjson.OPT_PASSTHROUGH_DATACLASS)  # fmt: skip
SHIP_BATCH_BYTES = 256 * 1024  # ~600 events a transaction: short write locks (SQLite), short GIL holds
ORPHAN_AGE_SECONDS = 60


class AuditUnavailable(KmsError):
    code = "unavailable"


class SpoolWriter:
    """This process's spool file. Reopened after a fork."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = -1
        self._fd = -1
        self.path: Path | None = None
        self._shipper: threading.Thread | None = None
        self.fsync = False

    def _open(self) -> None:
        directory = Path(settings.EGIDE_AUDIT_SPOOL_DIR)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"spool-{socket.gethostname()}-{os.getpid()}-{time.time_ns()}.jsonl"
        self.path = directory / name
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._pid = os.getpid()
        self.fsync = bool(settings.EGIDE_AUDIT_FSYNC)  # read once per file, not per line
        self._start_shipper()

    def append(self, event: dict[str, Any]) -> tuple[str, int]:
        """Write the event's line; return (file name, offset just past the line)."""
        line = orjson.dumps(event, default=str, option=_LINE)  # as json.dumps(default=str), in UTF-8
        try:
            with self._lock:
                if self._pid != os.getpid():
                    self._open()
                assert self.path is not None
                return self.path.name, self._write_whole(line)
        except OSError as exc:
            log.error("audit spool write failed: %s", exc)
            raise AuditUnavailable("the audit trail cannot be written; the operation was refused") from None

    def _write_whole(self, line: bytes) -> int:
        """The line whole, or nothing: a failed, short or unsynced write is cut off again.

        Left in place, a torn line (a disk filling up mid-write) would glue itself to the
        next line written once there is space again, and the shipper would read both as
        one corrupt line: that next operation, answered as done, would lose its event. A
        refused operation's whole line would be shipped as a success.
        """
        start = os.lseek(self._fd, 0, os.SEEK_END)  # only this process writes this file
        try:
            written = os.write(self._fd, line)
            if written != len(line):
                raise OSError(f"short write ({written} of {len(line)} bytes)")
            if self.fsync:
                os.fsync(self._fd)
            return start + written
        except OSError:
            try:
                os.ftruncate(self._fd, start)
            except OSError:
                self._pid = -1  # cannot cut it off: the next line goes to a new file
            raise

    def _start_shipper(self) -> None:
        if settings.EGIDE_AUDIT_SHIPPER != "process":  # the node's shipping process ships this file
            return
        if self._shipper is not None and self._shipper.is_alive() and self._pid == os.getpid():
            return
        self._shipper = threading.Thread(target=self._ship_loop, name="egide-audit-shipper", daemon=True)
        self._shipper.start()
        atexit.register(self.ship_now)

    def _ship_loop(self) -> None:
        interval = settings.EGIDE_AUDIT_SHIP_INTERVAL_MS / 1000.0
        while True:
            time.sleep(interval)
            self.ship_now()

    def ship_now(self) -> int:
        if self.path is None:
            return 0
        try:
            close_old_connections()
            return ship_file(self.path)
        except Exception:  # noqa: BLE001 - keep shipping later; the lines stay in the file
            log.exception("audit spool shipping failed; will retry")
            return 0
        finally:
            connection.close()


WRITER = SpoolWriter()


def row_of(line: dict[str, Any]) -> dict[str, Any]:
    """A spool line → an audit row for kms.services.audit.append."""
    get, at = line.get, line["at"]
    row = {  # one dict display, no loop: the shipper makes one per event
        "actor_name": get("actor_name") or "", "auth_method": get("auth_method") or "",
        "token_id": get("token_id") or "", "key_name": get("key_name") or "", "key_uid": get("key_uid") or "",
        "error_code": get("error_code") or "", "request_id": get("request_id") or "",
        "client_addr": get("client_addr") or "", "at": datetime.fromisoformat(at), "actor_id": get("actor_id"),
        "source": get("source") or "api", "action": line["action"], "key_version": get("key_version"),
        "outcome": get("outcome") or "success", "details": get("details") or {},
    }  # fmt: skip
    if audit.is_canonical_at(at):  # as the data plane writes it: hashed and stored as it is
        row[audit.AT_TEXT] = at
    return row


def add_counts(lines: list[dict[str, Any]]) -> None:
    """Add the lines' use counts to their version rows: one UPDATE per row, in id order.

    One, not one per purpose: PostgreSQL re-checks the foreign key of a row updated twice
    in a transaction at COMMIT (FOR KEY SHARE on the key row), which deadlocked with a
    rotation holding that key row FOR UPDATE while waiting for the audit chain head.
    """
    totals: dict[tuple[int, int], dict[str, int]] = {}
    for line in lines:
        for version, purpose, n in line.get("counts", ()):
            row = totals.setdefault((line["key_id"], version), {})
            row[purpose] = row.get(purpose, 0) + n
    for (key_id, version), row in sorted(totals.items()):
        KeyVersion.objects.filter(key_id=key_id, version=version).update(
            **{f"{purpose}_count": F(f"{purpose}_count") + n for purpose, n in sorted(row.items())}
        )


def _read_new(path: Path, offset: int, limit: int) -> tuple[bytes, int]:
    """The complete lines from `offset`, at most SHIP_BATCH_BYTES of them, none past `limit`."""
    if offset >= limit:
        return b"", offset
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())  # what we ship is also on disk before the offset moves
        fh.seek(offset)
        data = fh.read(min(SHIP_BATCH_BYTES, limit - offset))
    end = data.rfind(b"\n") + 1  # only complete lines; a torn last line waits
    return data[:end], offset + end


def ship_file(path: Path) -> int:
    """Move the file's new complete lines into the audit table; return how many.

    Only the lines written before the call: those written while it ships wait for the next
    pass. Chasing the end of a file that its workers keep writing shipped it in slivers of a
    few lines, each paying a batch's eight statements and commit: at one request at a time
    the shipper spent 249 µs an event, more than the request it records (docs/benchmarks.md,
    round seven).
    """
    shipped = 0
    limit = path.stat().st_size
    while True:
        with transaction.atomic():
            AuditSpoolOffset.objects.get_or_create(name=path.name)
            position = AuditSpoolOffset.objects.select_for_update().get(name=path.name)
            chunk, new_offset = _read_new(path, position.offset, limit)
            if not chunk:
                return shipped
            lines = []
            for raw in chunk.splitlines():
                try:
                    lines.append(jsontext.loads_written_by_orjson(raw))
                except ValueError:
                    lines.append({"at": datetime.now().astimezone().isoformat(), "action": "audit_spool_corrupt",
                                  "source": "system", "outcome": "error", "error_code": "spool_corrupt",
                                  "details": {"file": path.name, "offset": position.offset}})  # fmt: skip
            # Counts before the chain head: version rows, then the head, the order in which
            # version disable/destroy take them too (the other order could deadlock).
            counted = [line for line in lines if "key_id" in line]
            add_counts(counted)
            _append_or_quarantine(lines, path.name, position.offset)
            position.offset, position.shipped_events = new_offset, position.shipped_events + len(lines)
            position.save(update_fields=["offset", "shipped_events", "updated_at"])
            shipped += len(lines)


QUARANTINE_ACTION = "audit_quarantined"


def _append_or_quarantine(lines: list[dict[str, Any]], file: str, offset: int) -> None:
    """Chain the lines; a line the database refuses never stops the ones after it.

    Events are sanitized before chaining (kms.services.audit.sanitize), so a refusal is not
    expected; if one comes anyway, each line is tried alone and a refused one is stored as a
    marked quarantine event that keeps its action, actor and outcome (kms_audit_verify
    reports them), with an alarm in the log.
    """
    try:
        with transaction.atomic():
            audit.append([row_of(line) for line in lines])
        return
    except (DatabaseError, ValueError, KeyError, TypeError):
        log.error("audit spool %s at %d: a batch was refused; shipping line by line", file, offset)
    for line in lines:
        try:
            with transaction.atomic():
                audit.append([row_of(line)])
        except (DatabaseError, ValueError, KeyError, TypeError) as exc:
            log.critical("AUDIT ALARM: spool %s at %d: a line was refused (%s); stored quarantined",
                         file, offset, type(exc).__name__)  # fmt: skip
            with transaction.atomic():
                audit.append([quarantined(line, file, offset, exc)])


def quarantined(line: Any, file: str, offset: int, exc: BaseException) -> dict[str, Any]:
    """A marked event in place of a line the database refused: what can be kept of it."""
    kept = line if isinstance(line, dict) else {}
    original = kept.get("action") if isinstance(kept.get("action"), str) else "unknown"
    return row_of({
        "at": datetime.now().astimezone().isoformat(), "action": QUARANTINE_ACTION, "source": "system",
        "outcome": "error", "error_code": "audit_quarantined",
        "actor_id": kept.get("actor_id") if isinstance(kept.get("actor_id"), int) else None,
        "actor_name": str(kept.get("actor_name") or ""), "request_id": str(kept.get("request_id") or ""),
        "details": {"original_action": original, "original_outcome": str(kept.get("outcome") or ""),
                    "file": file, "offset": offset, "reason": type(exc).__name__,
                    "line": repr(line)[:500]},
    })  # fmt: skip


def ship_all(*, remove_orphans: bool = True) -> int:
    """Ship every spool file in the directory (the scheduler's pass); tidy up dead ones."""
    directory = Path(settings.EGIDE_AUDIT_SPOOL_DIR)
    if not directory.exists():
        return 0
    total = 0
    for path in sorted(directory.glob("spool-*.jsonl")):
        total += ship_file(path)
        idle = time.time() - path.stat().st_mtime > ORPHAN_AGE_SECONDS
        if remove_orphans and idle and path != WRITER.path and _writer_is_gone(path):
            offset = AuditSpoolOffset.objects.filter(name=path.name).values_list("offset", flat=True).first()
            if offset is not None and offset >= path.stat().st_size:
                path.unlink()
                AuditSpoolOffset.objects.filter(name=path.name).delete()
    return total


def _writer_is_gone(path: Path) -> bool:
    """The file was written by a process of this host that no longer runs."""
    try:
        parts = path.stem.split("-")  # spool-<host>-<pid>-<ns>; the host may hold dashes
        host, pid = "-".join(parts[1:-2]), parts[-2]
        if host != socket.gethostname():
            return False
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (ValueError, PermissionError):
        return False
    return False


def follow(stop: threading.Event, *, interval: float | None = None, remove_orphans: bool = True) -> int:
    """The node's shipping process: ship the whole spool directory every interval until
    `stop` is set, then once more; return how many events were shipped.

    A pass that fails (the database away, a file unreadable) is logged and retried on the
    next one: the lines wait in their files, and the workers keep answering (their lines are
    on disk before each answer).
    """
    pause = settings.EGIDE_AUDIT_SHIP_INTERVAL_MS / 1000.0 if interval is None else interval
    total = 0
    while True:
        last = stop.is_set()
        started = time.monotonic()
        try:
            close_old_connections()
            total += ship_all(remove_orphans=remove_orphans)
        except Exception:  # noqa: BLE001 - keep shipping later; the lines stay in their files
            log.exception("audit spool shipping failed; will retry")
            connection.close()
        if last:
            return total
        stop.wait(max(0.0, pause - (time.monotonic() - started)))
