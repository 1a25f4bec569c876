#!/usr/bin/env python
"""Instructions per audit event shipped on PostgreSQL (the node shipper's own process), counted
by callgrind: bench/ship_cpu.py's setup, then `ship_all()` over N spooled encrypt events.

CPU time per event moves with the machine (docs/benchmarks.md); instructions do not. Only
this process is counted: the PostgreSQL backend's share is in bench/ship_cpu.py.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<throw-away> bench/ship_instructions.py [N]
    (cd <other tree> && DATABASE_URL=... PYTHONPATH=. <this tree>/bench/ship_instructions.py)

About a minute a tree at N=600 (a fresh database each time is the same figure).
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

import callgrind  # bench/callgrind.py: this script's directory is first on sys.path

N = int(sys.argv[1]) if len(sys.argv) > 1 else 600


def outside() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("ship_instructions.py: DATABASE_URL must name a throw-away PostgreSQL database")
    print(f"| shipping | instructions per event (N={N}, PostgreSQL, callgrind) |\n|---|---|")
    for label, count in callgrind.rows(Path(__file__), [str(N)]):
        print(f"| {label} | {count:,.0f} |")


def inside() -> None:
    sys.argv = [sys.argv[0], "-n", "0", "--rounds", "0"]  # ship_cpu.py sets up and measures nothing
    setup = runpy.run_path(str(Path(__file__).with_name("ship_cpu.py")), run_name="ship_setup")
    encrypt, audit_spool = setup["encrypt"], setup["audit_spool"]
    for _ in range(50):  # warm: the chain key unwrapped, statements and code paths ready
        encrypt()
    audit_spool.ship_all(remove_orphans=False)
    for _ in range(N):
        encrypt()
    callgrind.counted("ship_all, per event", N, lambda: audit_spool.ship_all(remove_orphans=False))


if __name__ == "__main__":
    inside() if callgrind.CHILD else outside()
