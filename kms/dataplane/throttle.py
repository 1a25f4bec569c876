"""Rate limits on the fast lane: the same settings as the DRF views (EGIDE_THROTTLE_TOKEN,
EGIDE_THROTTLE_ADDRESS), as fixed-window counters in process memory.

Like DRF's throttles over the local-memory cache, the count is per server process: with
W workers a client may reach up to W times the rate. O(1) per request.
"""

from __future__ import annotations

import threading
import time

from kms.dataplane import config

_lock = threading.Lock()
_windows: dict[tuple[str, str], tuple[float, int]] = {}


class _Journal(threading.local):
    entries: list[tuple[tuple[str, str], int]] | None = None  # counts this request added


_journal = _Journal()


def begin() -> None:
    """Remember what this thread's request counts from now on (a request served without
    the database, which may have to run again in a thread: see `undo`)."""
    _journal.entries = []


def end() -> None:
    _journal.entries = None


def undo() -> None:
    """Take back the counts the request added since `begin` (it will run again)."""
    entries, _journal.entries = _journal.entries, None
    with _lock:
        for slot, n in entries or ():
            if slot in _windows:
                start, count = _windows[slot]
                _windows[slot] = (start, max(0, count - n))


def wait_needed(scope: str, ident: str) -> int:
    """0 if this request may go on, else the seconds to wait (for Retry-After)."""
    limit, period = config.current().throttles[scope]
    now = time.monotonic()
    with _lock:
        start, count = _windows.get((scope, ident), (now, 0))
        if now - start >= period:
            start, count = now, 0
        if count >= limit:
            return max(1, int(period - (now - start)) + 1)
        _windows[(scope, ident)] = (start, count + 1)
        if len(_windows) > 100_000:  # forget idle clients
            _windows.clear()
    if _journal.entries is not None:
        _journal.entries.append(((scope, ident), 1))
    return 0


def reset() -> None:
    with _lock:
        _windows.clear()


def charge(scope: str, ident: str, cost: int) -> None:
    """Count `cost` more requests in the current window (a batch's work beyond one request).

    Never refuses what is already running: the next request waits instead.
    """
    if cost <= 0:
        return
    now = time.monotonic()
    with _lock:
        start, count = _windows.get((scope, ident), (now, 0))
        _windows[(scope, ident)] = (start, count + cost)
    if _journal.entries is not None:
        _journal.entries.append(((scope, ident), cost))
