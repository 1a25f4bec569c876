#!/usr/bin/env python3
"""file_stream_bench.py - throughput of Egide's file encryption against raw AES-256-GCM.

For each segment size: encrypt_stream reading SIZE bytes of /dev/zero and writing to
/dev/null, and decrypt_stream reading that ciphertext back from a temporary file
(page cache) and writing to /dev/null; against AESGCM.encrypt_into / decrypt_into
looping over one preallocated buffer (the cipher's own speed, no I/O). Medians of
--repeat runs, single thread; peak RSS from getrusage shows memory stays flat.

    python bench/file_stream_bench.py [--mib 512] [--repeat 3] [--sizes 64,256,1024,4096]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cryptography
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kms.crypto import filestream as fs

KEY = bytes(range(32))


class Limited(io.RawIOBase):
    """The first ``size`` bytes of a raw stream (e.g. /dev/zero)."""

    def __init__(self, raw: io.FileIO, size: int) -> None:
        self.raw, self.left = raw, size

    def readable(self) -> bool:
        return True

    def readinto(self, view: memoryview) -> int:  # type: ignore[override]
        count = self.raw.readinto(memoryview(view)[: self.left]) if self.left else 0
        self.left -= count
        return count


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def raw_seconds(segment: int, total: int, repeat: int, decrypt: bool) -> float:
    """Raw AES-256-GCM over `total` bytes in `segment`-sized calls into one buffer."""
    aead = AESGCM(KEY)
    nonce = bytes(12)
    plain = bytearray(segment)
    sealed = bytearray(segment + 16)
    aead.encrypt_into(nonce, plain, None, sealed)
    calls = total // segment

    def run() -> None:
        if decrypt:
            for _ in range(calls):
                aead.decrypt_into(nonce, sealed, None, plain)
        else:
            for _ in range(calls):
                aead.encrypt_into(nonce, plain, None, sealed)

    return median_seconds(run, repeat)


def stream_seconds(segment: int, total: int, repeat: int, workdir: str) -> tuple[float, float]:
    """Median seconds of encrypt_stream and decrypt_stream over `total` plaintext bytes."""
    header = fs.new_header(key_name="bench", key_version=1, wrapped_key="egide:v1:AAAA", segment_size=segment)
    path = os.path.join(workdir, f"bench-{segment}.egide")
    with open(os.devnull, "wb", buffering=0) as sink:

        def encrypt() -> None:
            with open("/dev/zero", "rb", buffering=0) as zero:
                fs.encrypt_stream(cast(BinaryIO, Limited(zero, total)), sink, header=header, data_key=KEY)

        def decrypt() -> None:
            with open(path, "rb", buffering=0) as src:
                got = fs.read_header(src)
                assert fs.decrypt_stream(src, sink, header=got, data_key=KEY) == total

        enc = median_seconds(encrypt, repeat)
        with open("/dev/zero", "rb", buffering=0) as zero, open(path, "wb") as out:
            fs.encrypt_stream(cast(BinaryIO, Limited(zero, total)), out, header=header, data_key=KEY)
        decrypt()  # warm the page cache
        dec = median_seconds(decrypt, repeat)
    os.unlink(path)
    return enc, dec


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=512, help="plaintext size per run, MiB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="64,256,1024,4096", help="segment sizes, KiB")
    args = parser.parse_args()
    total = args.mib * 2**20
    sizes = [int(kib) * 1024 for kib in args.sizes.split(",")]
    print(
        f"# cryptography {cryptography.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}, {args.mib} MiB per run, median of {args.repeat}, "
        f"encrypt_into available: {fs._HAS_INTO}"
    )
    print(f"# peak RSS before streaming: {peak_rss_mib():.1f} MiB")
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for segment in sizes:
            enc, dec = stream_seconds(segment, total, args.repeat, workdir)
            rows.append((segment, enc, dec, peak_rss_mib()))
    bulk = 64 * 2**20
    bulk_enc = raw_seconds(bulk, total, args.repeat, decrypt=False)
    bulk_dec = raw_seconds(bulk, total, args.repeat, decrypt=True)
    print(
        f"# raw AES-256-GCM on one 64 MiB buffer (crypto_limit.py's bulk reference): "
        f"encrypt_into {mbs(total, bulk_enc)} MB/s, decrypt_into {mbs(total, bulk_dec)} MB/s"
    )
    print("# 'vs bulk' = stream / that reference; 'vs same' = stream / raw *_into looping")
    print("# over one buffer of the segment size (cache-hot: the cipher alone, no I/O)")
    print(
        "| segment | encrypt MB/s | vs bulk | vs same | decrypt MB/s | vs bulk | vs same "
        "| file read alone MB/s | peak RSS so far |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for segment, enc, dec, rss in rows:
        same_enc = raw_seconds(segment, total, args.repeat, decrypt=False)
        same_dec = raw_seconds(segment, total, args.repeat, decrypt=True)
        print(
            f"| {segment // 1024} KiB | {mbs(total, enc)} | {bulk_enc / enc:.0%} "
            f"| {same_enc / enc:.0%} | {mbs(total, dec)} | {bulk_dec / dec:.0%} "
            f"| {same_dec / dec:.0%} | {mbs(total, read_seconds(segment, total, args.repeat))} "
            f"| {rss:.1f} MiB |",
            flush=True,
        )
    print(f"# peak RSS at the end (after the 64 MiB raw buffers): {peak_rss_mib():.1f} MiB")
    return 0


def mbs(total: int, seconds: float) -> str:
    return f"{total / seconds / 1e6:,.0f}"


def read_seconds(segment: int, total: int, repeat: int) -> float:
    """Reading a page-cached file into one buffer, no crypto: decrypt's I/O floor."""
    with tempfile.NamedTemporaryFile() as tmp:
        tmp.truncate(total)
        view = memoryview(bytearray(segment + 17))

        def run() -> None:
            with open(tmp.name, "rb", buffering=0) as src:
                while src.readinto(view):
                    pass

        run()
        return median_seconds(run, repeat)


if __name__ == "__main__":
    sys.exit(main())
