"""Purge keys whose recovery window has passed (material wiped; tombstone kept)."""

from django.core.management.base import BaseCommand

from kms.services.actor import Actor
from kms.services.keys import keys_purge_due


class Command(BaseCommand):
    help = "Purge soft-deleted keys past their recovery window."

    def handle(self, *args, **options) -> None:  # noqa: ANN002, ANN003
        purged = keys_purge_due(actor=Actor.system())
        self.stdout.write(f"purged {len(purged)} key(s)" + (f": {', '.join(purged)}" if purged else ""))
