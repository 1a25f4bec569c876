"""Small helpers shared by the crypto-core tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def flip(blob: bytes, position: int, mask: int = 0x01) -> bytes:
    """``blob`` with the byte at ``position`` XORed with ``mask``."""
    changed = bytearray(blob)
    changed[position] ^= mask
    return bytes(changed)


def spread(length: int, count: int = 8) -> list[int]:
    """About ``count`` positions spread over ``range(length)``, always with the first and last."""
    step = max(1, length // count)
    return sorted({*range(0, length, step), length - 1})


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl binary")


def openssl(*args: str | Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run the ``openssl`` command line with ``args``; the caller checks the return code."""
    command = ["openssl", *map(str, args)]
    return subprocess.run(command, input=stdin, capture_output=True, check=False)  # noqa: S603
