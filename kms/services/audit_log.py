"""Reading the audit trail: filtered searches and exports, a key's recent events, and its
operations per day.

Who may read what:
- the whole log (search, export): the auditor's global `audit` permission (superusers too);
- one key's recent events: `audit`, or `manage` on that key (its administrators);
- one key's operations per day: `view` on the key (counts are metadata, like the
  per-version use counts).
Searches and exports are operations and write their own event; the two per-key reads are
panels of the key page (loaded after it, kms.web.key_panels), whose `info` event records
the visit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from kms import access
from kms.dataplane.ops import OPERATIONS
from kms.exceptions import InvalidRequest, PermissionDenied
from kms.models import AuditEvent
from kms.services.actor import Actor
from kms.services.lookup import key_for
from kms.services.operation import operation

OUTCOMES = ("success", "denied", "error")
# The data plane: what the per-day chart counts (one batch is one operation).
DATA_PLANE = tuple(OPERATIONS)  # the audit action of each data-plane operation is its name
# Offered as suggestions in the filter; the filter itself takes any action name.
KNOWN_ACTIONS = (
    "create", "info", "list", "update", "rotate", "disable", "enable", "delete", "restore",
    "purge", "disable_version", "enable_version", "destroy_version", "restore_version", "public_key", "export",
    *DATA_PLANE, "grants_list", "grant_add", "grant_remove", "approval_request",
    "approval_approve", "approval_reject", "approval_cancel", "approval_expire",
    "approval_consume", "token_create", "token_revoke", "audit_search", "audit_export",
    "import", "import_version", "backup", "backup_restore", "wrapping_key", "wrapping_key_rotate",
)  # fmt: skip
# Reads: events that only looked (a page view is the `info` or `list` it made). They stay in
# the trail, but the audit page hides them unless asked (AuditFilter.hide_reads) and a key's
# recent events leave them out: what changed and what was used is what people look for.
READ_ACTIONS = frozenset({
    "info", "list", "grants_list", "audit_search", "public_key", "wrapping_key", "approval_show",
    "mount_list", "jwks",
})  # fmt: skip
MAX_PAGE = 200
MAX_CHART_DAYS = 366


@dataclass(frozen=True)
class AuditFilter:
    """What to search for; empty means any. Times are inclusive bounds."""

    key: str = ""
    actor: str = ""
    action: str = ""
    outcome: str = ""
    since: datetime | None = None
    until: datetime | None = None
    hide_reads: bool = False  # leave out READ_ACTIONS, unless `action` names one

    def details(self) -> dict[str, Any]:
        """The filter as it goes into the audit event of the search itself."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(self).items() if v}


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    next_before: int | None  # the seq to continue from (older events), when there are more


def _require_auditor(actor: Actor) -> None:
    if not actor.is_system and not access.has_global(actor.user, "audit"):
        raise PermissionDenied("reading the audit log needs the auditor role")


def _filtered(filters: AuditFilter) -> QuerySet[AuditEvent]:
    if filters.outcome and filters.outcome not in OUTCOMES:
        raise InvalidRequest(f"outcome must be one of: {', '.join(OUTCOMES)}")
    if filters.since and filters.until and filters.since > filters.until:
        raise InvalidRequest("'since' must not be after 'until'")
    events = AuditEvent.objects.all()
    exact = {"key_name": filters.key, "actor_name": filters.actor, "action": filters.action,
             "outcome": filters.outcome}  # fmt: skip
    events = events.filter(**{field: value for field, value in exact.items() if value})
    if filters.hide_reads and not filters.action:
        events = events.exclude(action__in=READ_ACTIONS)
    if filters.since:
        events = events.filter(at__gte=filters.since)
    if filters.until:
        events = events.filter(at__lte=filters.until)
    return events.order_by("-seq")


def audit_search(*, actor: Actor, filters: AuditFilter, before: int | None = None, limit: int = 50) -> AuditPage:
    """The newest events matching `filters`, `limit` at a time, older than seq `before`."""
    with operation(actor, "audit_search") as op:
        _require_auditor(actor)
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest(f"limit must be from 1 to {MAX_PAGE}")
        events = _filtered(filters)
        if before is not None:
            events = events.filter(seq__lt=before)
        page = list(events[: limit + 1])
        more = len(page) > limit
        page = page[:limit]
        op.success(details={"filters": filters.details(), "returned": len(page)})
        return AuditPage(page, page[-1].seq if more else None)


def audit_export(*, actor: Actor, filters: AuditFilter) -> Iterator[dict[str, Any]]:
    """Every event matching `filters`, newest first, as plain dicts (for JSON lines).

    The export's own event is written before the first row is read, so an export that
    is interrupted is still on record.
    """
    with operation(actor, "audit_export") as op:
        _require_auditor(actor)
        events = _filtered(filters)
        op.success(details={"filters": filters.details()})
    return (event_data(e) for e in events.iterator(chunk_size=2000))


def event_data(event: AuditEvent) -> dict[str, Any]:
    """An event's fields, as exported; details never hold plaintext or key material."""
    return {
        "seq": event.seq,
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": event.actor_name,
        "auth_method": event.auth_method,
        "token_id": event.token_id,
        "source": event.source,
        "action": event.action,
        "key": event.key_name,
        "key_uid": event.key_uid,
        "key_version": event.key_version,
        "outcome": event.outcome,
        "error_code": event.error_code,
        "request_id": event.request_id,
        "client_addr": event.client_addr,
        "details": event.details,
        "prev_hash": event.prev_hash,
        "chain_hash": event.chain_hash,
    }


def key_events(*, actor: Actor, name: str, limit: int = 20) -> list[AuditEvent] | None:
    """The key's newest changes and uses (no READ_ACTIONS), or None when the actor may not
    read them (see above).

    A read of the audit trail leaves its own trace, as a search does (`audit_search`, the
    key as its filter): the panel is a URL of its own, fetched with or without the key's page.
    Nothing is recorded for a viewer who is shown no events.
    """
    key = key_for(actor, name, "view")  # an outsider's miss is the page's `info` denial, not a search
    if not (actor.is_system or access.has_global(actor.user, "audit") or access.can(actor.user, key, "manage")):
        return None
    with operation(actor, "audit_search", key_name=key.name, read=True) as op:
        events = AuditEvent.objects.filter(key_name=key.name, key_uid=str(key.uid)).exclude(action__in=READ_ACTIONS)
        page = list(events.order_by("-seq")[:limit])
        op.success(key=key, details={"filters": {"key": key.name}, "returned": len(page), "panel": "key_events"})
        return page


@dataclass(frozen=True)
class DayCount:
    day: date
    ok: int
    failed: int  # denied or error

    @property
    def total(self) -> int:
        return self.ok + self.failed


def ops_per_day(*, actor: Actor, name: str, days: int = 30, now: datetime | None = None) -> list[DayCount]:
    """Data-plane operations on the key for each of the last `days` UTC days, oldest first."""
    if not 1 <= days <= MAX_CHART_DAYS:
        raise InvalidRequest(f"days must be from 1 to {MAX_CHART_DAYS}")
    key = key_for(actor, name, "view")
    today = (now or timezone.now()).astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    rows = (
        AuditEvent.objects.filter(
            key_name=key.name, key_uid=str(key.uid), action__in=DATA_PLANE,
            at__gte=datetime.combine(first, time.min, tzinfo=UTC),
        )
        .annotate(day=TruncDate("at", tzinfo=UTC))
        .values("day", "outcome")
        .annotate(n=Count("id"))
    )  # fmt: skip
    ok: dict[date, int] = {}
    failed: dict[date, int] = {}
    for row in rows:
        bucket = ok if row["outcome"] == "success" else failed
        bucket[row["day"]] = bucket.get(row["day"], 0) + row["n"]
    span = (first + timedelta(days=i) for i in range(days))
    return [DayCount(d, ok.get(d, 0), failed.get(d, 0)) for d in span]
