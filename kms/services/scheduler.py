"""The scheduler's pass: everything that is due, in one place (kms_scheduler, kms_rotate_due).

Each step runs on its own and reports its own failure, so one broken step (a key that
cannot rotate, a database hiccup) never stops the others: rotations due, deleted keys
and destroyed versions past their recovery window, approval requests past their expiry,
and audit lines left in this node's spool by stopped processes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from kms.services import keys
from kms.services.actor import Actor
from kms.services.approvals import approvals_expire
from kms.services.audit_spool import ship_all
from kms.services.rotation import RotationPassResult, rotate_due

log = logging.getLogger(__name__)


@dataclass
class SchedulerPassResult:
    rotation: RotationPassResult = field(default_factory=RotationPassResult)
    purged: list[str] = field(default_factory=list)
    versions_destroyed: list[str] = field(default_factory=list)  # "name vN", past their window
    approvals_expired: int = 0
    audit_events_shipped: int = 0
    # Steps that could not run at all (e.g. the database was unreachable).
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.rotation.ok and not self.errors


def scheduler_pass(*, now: datetime | None = None) -> SchedulerPassResult:
    """One pass, as the system actor: rotate what is due, purge keys and destroy versions
    past their recovery window, expire approval requests. Each step runs even if an earlier one failed; each is
    safe to run on several nodes at once. Must be called outside any transaction.
    """
    now = now or timezone.now()
    actor = Actor.system()
    result = SchedulerPassResult()
    try:
        result.rotation = rotate_due(actor=actor, now=now)
    except Exception as exc:
        _step_failed(result, "rotate", exc)
    try:
        result.purged = keys.keys_purge_due(actor=actor, now=now)
    except Exception as exc:
        _step_failed(result, "purge", exc)
    try:
        result.versions_destroyed = keys.versions_destroy_due(actor=actor, now=now)
    except Exception as exc:
        _step_failed(result, "destroy versions", exc)
    try:
        result.approvals_expired = approvals_expire(actor=actor, now=now)
    except Exception as exc:
        _step_failed(result, "expire approvals", exc)
    try:
        # Audit lines left in this node's spool by stopped or killed server processes.
        result.audit_events_shipped = ship_all()
    except Exception as exc:
        _step_failed(result, "ship audit spool", exc)
    return result


def _step_failed(result: SchedulerPassResult, step: str, exc: Exception) -> None:
    log.error("scheduler step %r failed", step, exc_info=exc)
    result.errors.append(f"{step}: {type(exc).__name__}")
