"""A progress bar on stderr for long file operations, shown only on a terminal."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

_WIDTH = 24
_INTERVAL = 0.1  # seconds between redraws


class ProgressBar:
    """Redraws one stderr line (at most 10 times a second) as bytes are processed."""

    def __init__(self, label: str, total: int | None, stream: TextIO) -> None:
        self.label = label
        self.total = total
        self.stream = stream
        self.started = time.monotonic()
        self._drawn = 0.0
        self._done = 0

    def __call__(self, done: int) -> None:
        self._done = done
        now = time.monotonic()
        if now - self._drawn >= _INTERVAL:
            self._drawn = now
            self._draw(now)

    def finish(self) -> None:
        self._draw(time.monotonic())
        self.stream.write("\n")
        self.stream.flush()

    def clear(self) -> None:
        self.stream.write("\r\x1b[K")
        self.stream.flush()

    def _draw(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-6)
        rate = f"{self._done / elapsed / 1e6:,.0f} MB/s"
        if self.total:
            share = min(self._done / self.total, 1.0)
            filled = int(share * _WIDTH)
            bar = "#" * filled + "-" * (_WIDTH - filled)
            line = f"{self.label} [{bar}] {share:4.0%}  {human(self._done)} / {human(self.total)}"
        else:
            line = f"{self.label}  {human(self._done)}"
        self.stream.write(f"\r\x1b[K{line}  {rate}")
        self.stream.flush()


@contextmanager
def progress(label: str, total: int | None, stream: TextIO, *, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """A progress callback for a block, or None when ``enabled`` is false (not a terminal).

    The bar is finished with a newline on success and erased on failure, so an error
    message starts on a clean line.
    """
    if not enabled:
        yield None
        return
    bar = ProgressBar(label, total, stream)
    try:
        yield bar
    except BaseException:
        bar.clear()
        raise
    bar.finish()


def human(count: int) -> str:
    """A byte count for people: 1.5 GiB, 12.0 MiB, 900 B."""
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")
