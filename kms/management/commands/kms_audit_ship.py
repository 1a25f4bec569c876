"""Ship this node's audit spool files into the chained audit table: now, or continuously.

Without --follow: one pass. The running server ships every EGIDE_AUDIT_SHIP_INTERVAL_MS;
this ships what is left, notably the files of processes that died (a killed worker), and
removes those once fully shipped. Each line is shipped exactly once, so it is safe to run
while the server runs and on several nodes at once (each ships its own spool directory).

With --follow: the node's shipping process (EGIDE_AUDIT_SHIPPER=node; scripts/serve starts
it beside granian): a pass every EGIDE_AUDIT_SHIP_INTERVAL_MS until SIGTERM or SIGINT (or,
with --parent PID, until that process is gone), then a last pass, exit 0.
"""

import gc
import os
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from kms.management.commands.kms_scheduler import stop_on_signals
from kms.services import audit_spool


def _watch_parent(pid: int, stop: threading.Event) -> None:
    """Set `stop` once `pid` is no longer this process's parent (the server's master died)."""
    while not stop.wait(1.0):
        if os.getppid() != pid:
            stop.set()


class Command(BaseCommand):
    help = "Ship the audit spool files of this node into the audit table (and tidy dead ones)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--keep-files", action="store_true", help="keep the shipped files of dead processes")
        parser.add_argument("--follow", action="store_true", help="keep shipping until SIGTERM/SIGINT")
        parser.add_argument("--parent", type=int, default=0, help="with --follow: stop when this parent exits")

    def handle(self, *args, keep_files: bool, follow: bool, parent: int, **options) -> None:  # noqa: ANN002, ANN003
        if not follow:
            shipped = audit_spool.ship_all(remove_orphans=not keep_files)
            self.stdout.write(f"shipped {shipped} audit event(s) from {settings.EGIDE_AUDIT_SPOOL_DIR}")
            return
        gc.freeze()  # a long-running process: what Django loaded is never garbage (as egide_site/wsgi.py)
        stop = threading.Event()
        if parent:
            threading.Thread(target=_watch_parent, args=(parent, stop), daemon=True).start()
        with stop_on_signals(stop):
            shipped = audit_spool.follow(stop, remove_orphans=not keep_files)
        self.stdout.write(f"audit shipper stopped: shipped {shipped} audit event(s)")
