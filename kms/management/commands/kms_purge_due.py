"""Purge keys, and destroy versions, whose recovery window has passed (material wiped)."""

from django.core.management.base import BaseCommand

from kms.services.actor import Actor
from kms.services.keys import keys_purge_due, versions_destroy_due


class Command(BaseCommand):
    help = "Purge soft-deleted keys and destroy versions past their recovery window."

    def handle(self, *args, **options) -> None:  # noqa: ANN002, ANN003
        actor = Actor.system()
        purged = keys_purge_due(actor=actor)
        self.stdout.write(f"purged {len(purged)} key(s)" + (f": {', '.join(purged)}" if purged else ""))
        destroyed = versions_destroy_due(actor=actor)
        if destroyed:
            self.stdout.write(f"destroyed {len(destroyed)} version(s): {', '.join(destroyed)}")
