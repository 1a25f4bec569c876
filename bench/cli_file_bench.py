#!/usr/bin/env python3
"""Encrypt and decrypt a big file through the real `egide` CLI; print time, MB/s, peak RSS.

Against a running server (`make run`, or EGIDE_ADDR + EGIDE_TOKEN / the saved token),
as a user who may create keys:

    .venv/bin/python bench/cli_file_bench.py                  # 2 GiB sparse zero file
    .venv/bin/python bench/cli_file_bench.py --size 512M --random --dir /var/tmp

Each command is one child process; its peak RSS is read from os.wait4 (that child
only). MB/s is plaintext bytes (10^6) per wall-clock second, including process start,
the server round trips, and the fsync of the output. The decrypted file is checked
against the input. A fresh aes256 key `bench-file-<random>` is created (and left).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EGIDE = Path(sys.executable).with_name("egide")
UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def parse_size(text: str) -> int:
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = text[-1] if text and text[-1] in UNITS else ""
    return int(text.removesuffix(unit)) * UNITS[unit]


def run(argv: list[str]) -> tuple[float, int]:
    """Run `egide argv`; return (wall seconds, peak RSS in KiB). Exits on failure."""
    started = time.perf_counter()
    child = subprocess.Popen([EGIDE, *argv], stderr=subprocess.PIPE)  # noqa: S603
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    stderr = child.stderr.read().decode() if child.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"egide {' '.join(argv)} failed: {stderr.strip()}")
    return wall, usage.ru_maxrss


def make_input(path: Path, size: int, random: bool) -> None:
    with open(path, "wb") as out:
        if not random:
            out.truncate(size)  # sparse: zeros, no disk blocks
            return
        block = 8 * 1024 * 1024
        for offset in range(0, size, block):
            out.write(os.urandom(min(block, size - offset)))


def digest(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as src:
        while chunk := src.read(8 * 1024 * 1024):
            hasher.update(chunk)
    return hasher.hexdigest()


def report(label: str, size: int, wall: float, rss_kib: int) -> None:
    print(
        f"{label:8} {size / 2**30:6.2f} GiB  {wall:7.2f} s  {size / wall / 1e6:8.0f} MB/s  "
        f"peak RSS {rss_kib / 1024:6.1f} MiB"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", type=parse_size, default=2 * 1024**3, help="default 2G")
    ap.add_argument("--random", action="store_true", help="random contents (default: sparse zeros)")
    ap.add_argument("--dir", default=None, help="where the files go (default: system temp)")
    ap.add_argument("--key", default=f"bench-file-{secrets.token_hex(4)}")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="egide-bench-", dir=args.dir) as tmp:
        plain, enc, out = Path(tmp, "plain"), Path(tmp, "plain.enc"), Path(tmp, "plain.out")
        make_input(plain, args.size, args.random)
        run(["kms", "create", args.key, "--type", "aes256"])
        contents = "random" if args.random else "sparse zeros"
        print(f"egide {EGIDE}  key {args.key}  file {args.size} bytes ({contents})")
        wall, rss = run(["kms", "encrypt", args.key, "--input", str(plain), "--output", str(enc)])
        report("encrypt", args.size, wall, rss)
        wall, rss = run(["kms", "decrypt", args.key, "--input", str(enc), "--output", str(out)])
        report("decrypt", args.size, wall, rss)
        overhead = enc.stat().st_size - args.size
        same = out.stat().st_size == args.size and digest(out) == digest(plain)
        print(f"encrypted file overhead {overhead} bytes; decrypted file identical: {same}")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
