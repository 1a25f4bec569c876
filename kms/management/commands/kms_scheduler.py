"""The long-running scheduler: a pass (see kms_rotate_due) every --interval seconds.

SIGTERM or SIGINT stops it cleanly: the pass under way finishes, then it exits 0.
A pass that fails is logged and audited; the loop goes on. Safe on several nodes at once.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections
from django.utils import timezone

from kms.management.commands.kms_rotate_due import describe
from kms.services.scheduler import scheduler_pass

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set `stop` on SIGTERM/SIGINT while inside; the previous handlers come back after."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


class Command(BaseCommand):
    help = "Run a scheduler pass every --interval seconds until SIGTERM or SIGINT."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=60.0, help="seconds between passes")
        parser.add_argument("--max-passes", type=int, default=0, help="stop after N (0: never)")

    def handle(self, *args, interval: float, max_passes: int, **options) -> None:  # noqa: ANN002, ANN003
        self.verbosity = options["verbosity"]
        if interval < 0 or max_passes < 0:
            raise CommandError("--interval and --max-passes must not be negative")
        stop = threading.Event()
        self.stdout.write(f"scheduler started: a pass every {interval:g}s")
        passes = 0
        with stop_on_signals(stop):
            while not stop.is_set():
                started = time.monotonic()
                passes += 1
                self._one_pass(passes)
                if 0 < max_passes <= passes:
                    break
                stop.wait(max(0.0, interval - (time.monotonic() - started)))
        self.stdout.write(f"scheduler stopped after {passes} pass(es)")

    def _one_pass(self, number: int) -> None:
        close_old_connections()  # a long-lived process: drop connections broken or too old
        try:
            result = scheduler_pass()
        except Exception as exc:  # scheduler_pass reports its own steps; this is a bug
            self.stderr.write(f"pass {number} crashed: {type(exc).__name__}: {exc}")
            return
        finally:
            close_old_connections()
        lines = describe(result)
        if lines or self.verbosity >= 2:
            stamp = timezone.now().isoformat(timespec="seconds")
            for line in lines or ["nothing was due"]:
                self.stdout.write(f"{stamp} pass {number}: {line}")
