#!/usr/bin/env python
"""Instructions per data-plane request, counted by callgrind: a figure the machine's load cannot move.

On a shared virtual machine CPU time per request moves by ±15–40 % from one minute to the
next (docs/benchmarks.md, issue 12's run 7), more than the 5 % two trees are compared on.
Instructions executed do not: this runs bench/fastlane_cpu.py's requests (the production
WSGI entry point, SQLite, the spool sink) in one process under `valgrind --tool=callgrind`,
counts only the request loop of each row (instrumentation switched on and off around it with
callgrind_control), and prints instructions per request. The last row is the audit
shipper: the spool lines of N × 5 encrypt requests moved into the chained table (the shipper's
Python and SQLite's own work, in process), per event.

    bench/fastlane_instructions.py [N] [ROW]                    # this tree, N=40 requests a row
    (cd <other tree> && PYTHONPATH=. <this tree>/bench/fastlane_instructions.py)   # another tree

Needs valgrind (Debian: apt-get install valgrind); about a minute a tree. Counts are of
instructions, not time: a cache miss or a system call's kernel time is not in them, so use
them to compare two trees' Python, with bench/run.sh for the server as a whole.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import callgrind  # bench/callgrind.py: this script's directory is first on sys.path

HERE = Path(__file__).resolve().parent
N = int(sys.argv[1]) if len(sys.argv) > 1 else 40
ONLY = sys.argv[2] if len(sys.argv) > 2 else ""


def outside() -> None:
    """Run this script again under callgrind; print one row per dump."""
    print(f"| request | instructions per request (N={N}, callgrind) |\n|---|---|")
    for label, count in callgrind.rows(Path(__file__), [str(N), ONLY]):
        print(f"| {label} | {count:,.0f} |")


class _Stopped:
    """The time module, with a monotonic clock that does not move."""

    def __init__(self, real: Any) -> None:
        self.real, self.at = real, real.monotonic()

    def monotonic(self) -> float:
        return self.at

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def inside() -> None:
    """Under callgrind: set up as fastlane_cpu.py does, then count each row's loop."""
    import runpy

    sys.argv = [sys.argv[0], "0", "\0no row"]  # fastlane_cpu.py sets up and runs no row of its own
    setup = runpy.run_path(str(HERE / "fastlane_cpu.py"), run_name="fastlane_setup")
    from kms.dataplane import state

    # Work done every so many milliseconds (the state window's generation check, the use
    # counts' re-read) would come every few requests at callgrind's pace, and more or less
    # often by how fast the machine happens to be: the data plane's state sees time stopped,
    # so that only the per-request work is counted (in production that work is once a
    # second per worker, not per request).
    state.time = _Stopped(time)
    call, rows = setup["call"], setup["ROWS"]

    for label, path, body in rows:
        if ONLY in label:
            for _ in range(3):  # warm: caches filled, code paths imported
                assert call(path, body)[0] == 200, label
            callgrind.counted(label, N, lambda p=path, b=body: [call(p, b) for _ in range(N)])
    if ONLY and ONLY not in "audit shipping":
        return
    try:  # the shipper: where it lives in this tree
        from kms.services.audit_spool import WRITER
    except ImportError:  # before the audit sinks moved (098e952)
        from kms.dataplane.spool import WRITER  # type: ignore[no-redef]
    WRITER.ship_now()
    label, path, body = rows[0]
    for _ in range(N * 5):
        call(path, body)
    callgrind.counted("audit shipping, per event", N * 5, WRITER.ship_now)


if __name__ == "__main__":
    inside() if os.environ.get("EGIDE_CALLGRIND_CHILD") else outside()
