"""Reads for display: which keys an actor may see, filtered and paginated."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from kms import access
from kms.crypto import KEY_TYPES
from kms.exceptions import InvalidRequest
from kms.models import Key, KeyState
from kms.services.actor import Actor
from kms.services.operation import operation
from kms.services.prepared import PreparedValues, datetime_bind, int_bind
from kms.services.rotation import aes_rotation_threshold, annotate_rotation_due
from kms.transit import namespaces

MAX_PAGE = 1000
_PAGE = PreparedValues("keys_list", datetime_bind("now"), int_bind("after"))  # one statement per shape
_NAME_TEXT = re.compile(r"[A-Za-z0-9._-]{1,128}\Z")
STATUSES = {KeyState.ACTIVE, KeyState.DISABLED, KeyState.DELETED}


# What a key's summary shows (the API's KeySummaryOut, a row of the pages' key list).
SUMMARY_COLUMNS = ("id", "name", "key_type", "current_version", "state", "created_at", "last_rotated_at",
                   "next_rotation_at", "origin", "verify_only")  # fmt: skip


@dataclass(frozen=True)
class KeyPage:
    # Plain rows, not model instances: SUMMARY_COLUMNS and `rotation_due_reason`.
    keys: list[dict[str, Any]]
    next_after: str | None  # the position after this page (opaque to callers), when there may be more


def keys_list(
    *,
    actor: Actor,
    key_type: str | None = None,
    status: str | None = None,
    name_prefix: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> KeyPage:
    """Keys the actor may view, in creation order (as the spec's `egide kms list` shows them),
    `limit` at a time after the position `after`; each row carries `rotation_due_reason`.

    One SELECT: visibility (kms.access), the filters and the rotation rule
    (kms.services.rotation) as columns of plain rows. The `list` event is a read's
    (kms.services.operation): the audit sink, not the chain's head lock in the request.
    """
    with operation(actor, "list", read=True) as op:
        if key_type is not None and key_type not in KEY_TYPES:
            raise InvalidRequest(f"type must be one of: {', '.join(KEY_TYPES)}")
        if status is not None and status not in STATUSES:
            raise InvalidRequest("status must be one of: active, disabled, deleted")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest(f"limit must be from 1 to {MAX_PAGE}")
        # Every cursor we issue is an id. isascii: str.isdigit() also takes "²" (int() refuses it).
        if after is not None and not (after.isascii() and after.isdigit() and len(after) < 19):
            raise InvalidRequest("cursor is not one this server issued")
        namespace = namespaces.current().namespace  # one key space (kms.transit.namespaces)
        # A prefix no name can start with (NUL, which PostgreSQL refuses in a query, or any
        # character outside the rule) matches nothing.
        impossible = bool(name_prefix) and not _NAME_TEXT.match(name_prefix or "")

        def build(now: datetime, after: int | None = None) -> QuerySet[Key]:
            keys = Key.objects.exclude(state=KeyState.PURGED) if actor.is_system else access.visible_keys(actor.user)
            keys = keys.filter(namespace=namespace)
            if key_type:
                keys = keys.filter(key_type=key_type)
            if status:
                keys = keys.filter(state=status)
            if impossible:
                keys = keys.none()
            elif name_prefix:
                keys = keys.filter(name__startswith=name_prefix)
            if after is not None:
                keys = keys.filter(pk__gt=after)
            keys = annotate_rotation_due(keys, now)
            return keys.order_by("pk").values(*SUMMARY_COLUMNS, "rotation_due_reason")[: limit + 1]

        # Everything `build` reads but its binds: the same shape builds the same statement.
        shape = (None if actor.is_system else access.visibility_shape(actor.user), namespace, key_type, status,
                 name_prefix, limit, aes_rotation_threshold())  # fmt: skip
        binds: dict[str, Any] = {"now": timezone.now()}
        if after:
            binds["after"] = int(after)
        page = _PAGE.rows(shape, build, **binds)
        more = len(page) > limit
        page = page[:limit]
        op.success(details={"returned": len(page)})
        return KeyPage(page, str(page[-1]["id"]) if more else None)
