"""Ship this node's audit spool files into the chained audit table, now.

The running server ships its own file every EGIDE_AUDIT_SHIP_INTERVAL_MS; this command
ships what is left, notably the files of processes that died (a killed worker), and
removes those once fully shipped. Each line is shipped exactly once, so it is safe to run
while the server runs and on several nodes at once (each ships its own spool directory).
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from kms.services.audit_spool import ship_all


class Command(BaseCommand):
    help = "Ship the audit spool files of this node into the audit table (and tidy dead ones)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--keep-files", action="store_true", help="keep the shipped files of dead processes")

    def handle(self, *args, keep_files: bool, **options) -> None:  # noqa: ANN002, ANN003
        shipped = ship_all(remove_orphans=not keep_files)
        self.stdout.write(f"shipped {shipped} audit event(s) from {settings.EGIDE_AUDIT_SPOOL_DIR}")
