"""Where an operation's one audit event goes when nothing else is written with it.

The data plane's operations and the control plane's reads (a list, a key's info, its
grants) change nothing in the database that their event must commit with, so their event
takes the sink of EGIDE_AUDIT_SINK, decided here and nowhere else:

- "spool" (production): one JSON line appended to this process's spool file with a single
  write(2) *before* the answer, shipped into the chain later (kms.services.audit_spool);
- "table": the chained row, appended at once (kms.services.audit.append).

Both fail closed: a line that cannot be written raises `AuditUnavailable` (code
`unavailable`, 503), and the operation's answer is not sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

from kms.dataplane import config
from kms.services import audit
from kms.services import audit_spool as spool
from kms.services.actor import Actor

AuditUnavailable = spool.AuditUnavailable


def write(event: dict[str, Any], *, before_table: Callable[[], None] | None = None) -> tuple[str, int] | None:
    """Write one event (a spool line: `at` ISO text, `details` a dict, optional `counts` of a
    data-plane use with its `key_id`) to the configured sink, fail closed.

    Returns (spool file, offset past the line) for the spool, None for the table, where
    `before_table()` runs first (it may refuse by raising) and the event's `counts` are added
    to the version rows in the event's own transaction.
    """
    if config.current().audit_sink == "spool":
        return spool.WRITER.append(event)
    if before_table is not None:
        before_table()
    with transaction.atomic():
        if event.get("counts"):
            spool.add_counts([event])
        audit.append([spool.row_of(event)])
    return None


def record(actor: Actor, action: str, **fields: Any) -> None:
    """`kms.services.audit.record` for an operation that changed nothing: through `write`."""
    event = audit.event(actor, action, **fields)
    event["at"] = event["at"].isoformat(timespec="microseconds")
    write(event)
