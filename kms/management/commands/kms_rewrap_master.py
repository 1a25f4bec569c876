"""Re-wrap all stored material under the current master key (master-key rotation).

Zero downtime: configure the new key as EGIDE_MASTER_KEY and the old one in
EGIDE_MASTER_KEYS_OLD on every node (both unwrap), run this, then drop the old key.
Rows that cannot be opened are skipped and listed; the command then exits non-zero.
"""

import argparse

from django.core.management.base import BaseCommand, CommandError

from kms.services.master import rewrap_all


def batch_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


class Command(BaseCommand):
    help = "Re-wrap every key version and system secret under the current master key."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--batch-size", type=batch_size, default=200,
                            help="rows per transaction (at least 1); each row has its own savepoint")  # fmt: skip

    def handle(self, *args, batch_size: int, **options) -> None:  # noqa: ANN002, ANN003
        result = rewrap_all(batch_size=batch_size)
        self.stdout.write(
            f"re-wrapped {result.versions} key version(s) and {result.secrets} secret(s) "
            f"under master key {result.master_key_id}; {result.remaining} row(s) still under other keys"
        )
        if result.failed:
            for failure in result.failed:
                self.stderr.write(f"skipped {failure.row}: {failure.reason}")
            raise CommandError(f"{len(result.failed)} row(s) could not be re-wrapped (listed above)")
