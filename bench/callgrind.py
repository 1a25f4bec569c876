"""Instructions counted by callgrind around chosen loops of a Python process: the shared part of
bench/fastlane_instructions.py and bench/control_instructions.py.

`rows(script, args)` runs `script` again under `valgrind --tool=callgrind` with instrumentation
off (EGIDE_CALLGRIND_CHILD=1 tells it that it is the child); the child wraps each loop it
measures in `counted(label, times, fn)`, which zeroes the counters, switches them on, runs the
loop, switches them off and dumps them (the label kept in a file beside the dumps). The parent reads every dump back
as (label, instructions per time). Counts are of instructions, not time: repeatable within
0.1 % whatever else the machine does, blind to cache misses and the kernel's share.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess  # nosec B404 - valgrind and callgrind_control, fixed arguments
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHILD = bool(os.environ.get("EGIDE_CALLGRIND_CHILD"))


def rows(script: Path, args: list[str]) -> list[tuple[str, float]]:
    """Run `script args` under callgrind; (label, instructions per time) for each dump, in order."""
    if not shutil.which("valgrind"):
        sys.exit(f"{script.name}: needs valgrind (apt-get install valgrind)")
    out = Path(tempfile.mkdtemp(prefix="egide-callgrind-"))
    env = {**os.environ, "EGIDE_CALLGRIND_CHILD": "1", "EGIDE_CALLGRIND_DIR": str(out), "PYTHONHASHSEED": "0",
           "EGIDE_DEV": "1"}  # fmt: skip
    cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}/cg.%p",
           sys.executable, str(script), *args]  # fmt: skip
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if run.returncode:
        sys.exit(f"callgrind run failed ({run.returncode}):\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    labels = (out / "labels").read_text().splitlines() if (out / "labels").exists() else []
    found = []
    for dump in sorted(out.glob("cg.*.*"), key=lambda p: int(p.suffix[1:])):
        text = dump.read_text()
        label = re.search(r"^desc: Trigger: dump (.*)$", text, re.M)
        total = re.search(r"^totals: (\d+)", text, re.M)
        if label and total:  # "dump row<n>/<times>": the row's label is line <n> of `labels`
            row, count = label.group(1).removeprefix("row").rsplit("/", 1)
            found.append((labels[int(row)], int(total.group(1)) / int(count)))
    shutil.rmtree(out, ignore_errors=True)
    return found


def counted(label: str, times: int, fn: Callable[[], Any]) -> None:
    """In the child: count the instructions of `fn()` (which runs the measured thing `times` times)."""
    control, pid = ["callgrind_control"], str(os.getpid())
    # A dump is named "row<n>/<times>" and its label kept in a file: `<` or `/` are no part of a dump name.
    labels = Path(os.environ["EGIDE_CALLGRIND_DIR"]) / "labels"
    row = len(labels.read_text().splitlines()) if labels.exists() else 0
    with labels.open("a") as fh:
        fh.write(label + "\n")
    for args in (["-z"], ["-i", "on"]):  # zero the counters, count from here
        subprocess.run([*control, *args, pid], capture_output=True, check=False)  # noqa: S603
    fn()
    for args in (["-i", "off"], [f"--dump=row{row}/{times}"]):  # stop, write the count
        subprocess.run([*control, *args, pid], capture_output=True, check=False)  # noqa: S603
