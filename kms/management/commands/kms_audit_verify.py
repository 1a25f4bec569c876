"""Verify the audit chain; exit 1 naming the first bad row if anything was changed."""

from django.core.management.base import BaseCommand, CommandError

from kms.models import AuditEvent
from kms.services.audit import verify_chain
from kms.services.audit_spool import QUARANTINE_ACTION


class Command(BaseCommand):
    help = "Recompute the HMAC chain of the audit trail and report the first bad event."

    def handle(self, *args, **options) -> None:  # noqa: ANN002, ANN003
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"audit chain BROKEN at event #{report.first_bad_seq}: {report.problem} "
                f"({report.checked} events verified before it)"
            )
        self.stdout.write(
            f"audit chain OK: {report.checked} events; head {report.head_hash} "
            "(record the head elsewhere to detect a truncated tail later)"
        )
        quarantined = AuditEvent.objects.filter(action=QUARANTINE_ACTION).count()
        if quarantined:
            self.stdout.write(
                f"WARNING: {quarantined} quarantined event(s): spool lines the database refused, "
                f"kept in the chain with their original action (action={QUARANTINE_ACTION}); "
                "see the logs' AUDIT ALARM lines"
            )
