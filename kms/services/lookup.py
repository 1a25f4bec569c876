"""Finding a key for an actor: existence and permission in one step."""

from __future__ import annotations

from kms import access
from kms.exceptions import KeyNotFound
from kms.models import Key, KeyState, KeyVersion
from kms.rules import NAME_PATTERN, printable_name
from kms.services.actor import Actor


def key_for(actor: Actor, name: str, permission: str, *, lock: bool = False) -> Key:
    """The live (not purged) key named `name`, if the actor holds `permission` on it.

    KeyNotFound when it does not exist or the actor may not see it; PermissionDenied
    when they may see it but not do this. `lock` takes the row lock (in a transaction).
    """
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        # No key can bear a name outside the rule; and PostgreSQL refuses NUL in a query.
        raise KeyNotFound(printable_name(name))
    keys = Key.objects.exclude(state=KeyState.PURGED)
    if lock:
        keys = keys.select_for_update()
    key = keys.filter(name=name).first()
    if key is None:
        raise KeyNotFound(printable_name(name))
    if not actor.is_system:
        access.require(actor.user, key, permission)
    return key


def version_of(key: Key, version: int) -> KeyVersion | None:
    return KeyVersion.objects.filter(key=key, version=version).first()


def version_status(key: Key, kv: KeyVersion | None) -> str | None:
    return None if kv is None else kv.status_in(key)
