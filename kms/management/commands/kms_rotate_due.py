"""One scheduler pass, for cron or a systemd timer: rotate what is due, purge keys past
their recovery window, expire approval requests. Exit status 1 if anything failed
(each failure is also in the audit trail). Safe to run on several nodes at once.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from kms.services.scheduler import SchedulerPassResult, scheduler_pass


def describe(result: SchedulerPassResult) -> list[str]:
    """What a pass did, one line per kind of outcome (nothing for what did not happen)."""
    rotation = result.rotation
    lines = []
    if rotation.rotated:
        done = ", ".join(f"{r.name} v{r.version} ({r.reason})" for r in rotation.rotated)
        lines.append(f"rotated {len(rotation.rotated)} key(s): {done}")
    if rotation.failed:
        failed = "; ".join(f"{f.name} ({f.code}: {f.message})" for f in rotation.failed)
        lines.append(f"FAILED to rotate {len(rotation.failed)} key(s): {failed}")
    if rotation.skipped:
        lines.append(f"left {len(rotation.skipped)} key(s) to another scheduler: "
                     + ", ".join(rotation.skipped))  # fmt: skip
    if result.purged:
        lines.append(f"purged {len(result.purged)} key(s): {', '.join(result.purged)}")
    if result.approvals_expired:
        lines.append(f"expired {result.approvals_expired} approval request(s)")
    lines.extend(f"FAILED step {error}" for error in result.errors)
    return lines


class Command(BaseCommand):
    help = "One scheduler pass: rotate due keys, purge expired deletions, expire approvals."

    def handle(self, *args, **options) -> None:  # noqa: ANN002, ANN003
        result = scheduler_pass()
        for line in describe(result) or ["nothing was due"]:
            self.stdout.write(line)
        if not result.ok:
            raise CommandError("some of the pass failed (see above and the audit trail)")
