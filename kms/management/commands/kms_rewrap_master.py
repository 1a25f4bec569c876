"""Re-wrap all stored material under the current master key (master-key rotation).

Zero downtime: configure the new key as EGIDE_MASTER_KEY and the old one in
EGIDE_MASTER_KEYS_OLD on every node (both unwrap), run this, then drop the old key.
"""

from django.core.management.base import BaseCommand

from kms.services.master import rewrap_all


class Command(BaseCommand):
    help = "Re-wrap every key version and system secret under the current master key."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args, batch_size: int, **options) -> None:  # noqa: ANN002, ANN003
        result = rewrap_all(batch_size=batch_size)
        self.stdout.write(
            f"re-wrapped {result.versions} key version(s) and {result.secrets} secret(s) "
            f"under master key {result.master_key_id}; {result.remaining} row(s) still under other keys"
        )
