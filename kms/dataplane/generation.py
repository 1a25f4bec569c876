"""The state generation: bumped with every change that a data-plane cache may hold.

Signals on the models that feed the caches (keys, versions, grants, users, groups,
tokens) bump `StateGeneration.n` inside the change's own transaction, so the new
number becomes visible exactly when the change does. Data-plane processes compare
it with the number their caches were filled under (kms.dataplane.state).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save

from kms.models import (
    ApiToken,
    Key,
    KeyGroupObjectPermission,
    KeyUserObjectPermission,
    KeyVersion,
    StateGeneration,
)

NOTIFY_CHANNEL = "egide_state"


class _Deferred(threading.local):
    depth = 0
    pending = False


_deferred = _Deferred()


@contextmanager
def deferred() -> Iterator[None]:
    """One bump for all the changes made inside, at its end (none if nothing changed).

    Use it inside the changes' own `transaction.atomic()` block (`with transaction.atomic(),
    generation.deferred():`), so the one bump commits with them. On an exception nothing is
    bumped: the transaction that made the changes is rolled back with it.
    """
    outermost = _deferred.depth == 0
    if outermost:
        _deferred.pending = False
    _deferred.depth += 1
    try:
        yield
    finally:
        _deferred.depth -= 1
    if outermost and _deferred.pending:
        _deferred.pending = False
        bump()


def changed() -> None:
    """A change the signals do not see (bulk_create, update()): bump, or note it for `deferred`."""
    bump()


def bump() -> None:
    if _deferred.depth:
        _deferred.pending = True
        return
    updated = StateGeneration.objects.filter(pk=1).update(n=F("n") + 1)
    if not updated:  # a flushed test database: recreate the row
        StateGeneration.objects.get_or_create(pk=1, defaults={"n": 1})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # delivered at commit, to LISTENing processes
            cursor.execute(f"NOTIFY {NOTIFY_CHANNEL}")
    transaction.on_commit(_pushed_here)  # this process sees its own change at once


def _pushed_here() -> None:
    from kms.dataplane.state import CACHE

    CACHE.pushed = True


def current() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT n FROM kms_stategeneration WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else None


def _on_change(sender: Any, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    if sender is get_user_model() and kwargs.get("update_fields") == frozenset({"last_login"}):
        return  # a login changes nothing the data plane decides on
    bump()


def _on_m2m(sender: Any, action: str, **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        bump()


def connect() -> None:
    for model in (Key, KeyVersion, KeyUserObjectPermission, KeyGroupObjectPermission, ApiToken, Group,
                  get_user_model()):  # fmt: skip
        post_save.connect(_on_change, sender=model, dispatch_uid=f"egide-gen-save-{model.__name__}")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"egide-gen-del-{model.__name__}")
    User = get_user_model()  # noqa: N806
    for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(_on_m2m, sender=through, dispatch_uid=f"egide-gen-m2m-{through.__name__}")
