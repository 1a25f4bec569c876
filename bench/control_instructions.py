#!/usr/bin/env python
"""Instructions per control-plane request (bench/control_cpu.py's rows), counted by callgrind.

CPU time per page moves by ±25 % from one run to the next on a shared virtual machine
(docs/benchmarks.md, "Round four"), more than most changes to a page are worth; instructions
do not. This sets up as bench/control_cpu.py does (the production WSGI entry point,
PostgreSQL, the spool sink, a session and a bearer token, SIZE keys seeded), then counts each
row's N requests under `valgrind --tool=callgrind` (bench/callgrind.py). Only this process is
counted: the PostgreSQL backend's share is not (bench/control_cpu.py prints it).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<throw-away> bench/control_instructions.py [N] [SIZE] [ROW]
    (cd <other tree> && DATABASE_URL=... PYTHONPATH=. <this tree>/bench/control_instructions.py)

About two minutes a tree at N=10. The database is control_cpu.py's: a throw-away one, migrated
and seeded here; reusing one needs the same EGIDE_MASTER_KEY.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

import callgrind  # bench/callgrind.py: this script's directory is first on sys.path

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10
SIZE = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
ONLY = sys.argv[3] if len(sys.argv) > 3 else ""


def outside() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("control_instructions.py: DATABASE_URL must name a throw-away PostgreSQL database")
    print(f"| request | instructions per request (N={N}, {SIZE:,} keys, callgrind) |\n|---|---|")
    for label, count in callgrind.rows(Path(__file__), [str(N), str(SIZE), ONLY]):
        print(f"| {label} | {count:,.0f} |")


def inside() -> None:
    sys.argv = [sys.argv[0], "--sizes", "", "-n", str(N)]  # control_cpu.py sets up, measures nothing
    setup = runpy.run_path(str(Path(__file__).with_name("control_cpu.py")), run_name="control_setup")
    call = setup["call"]
    for label, path, session, htmx in setup["requests"](setup["seeded"](SIZE)):
        if ONLY not in label:
            continue
        for _ in range(3):  # warm: statements kept, templates loaded, code paths imported
            assert call(path, session=session, htmx=htmx) == 200, label
        callgrind.counted(label, N, lambda p=path, s=session, h=htmx: [call(p, session=s, htmx=h) for _ in range(N)])


if __name__ == "__main__":
    inside() if callgrind.CHILD else outside()
