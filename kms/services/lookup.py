"""Finding a key for an actor: existence and permission in one step."""

from __future__ import annotations

from django.db.models import QuerySet

from kms import access
from kms.exceptions import KeyNotFound, PermissionDenied
from kms.models import Key, KeyState, KeyVersion
from kms.rules import NAME_PATTERN, printable_name
from kms.services.actor import Actor
from kms.services.prepared import PreparedValues, columns, instance, str_bind
from kms.services.tokens import scope_permits
from kms.transit import namespaces


def key_for(actor: Actor, name: str, permission: str, *, lock: bool = False) -> Key:
    """The live (not purged) key named `name`, if the actor holds `permission` on it.

    KeyNotFound when it does not exist or the actor may not see it; PermissionDenied
    when they may see it but not do this. `lock` takes the row lock (in a transaction).
    """
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        # No key can bear a name outside the rule; and PostgreSQL refuses NUL in a query.
        raise KeyNotFound(printable_name(name))
    space = namespaces.current()  # the native space unless a Transit mount's request set another
    if lock:
        key = _live(space.namespace).select_for_update().filter(name=name).first()
    else:
        key = _live_key(space.namespace, name)
    if key is None:
        raise KeyNotFound(printable_name(name))
    approval = actor.extra.get("approval")
    if approval and approval.get("key_uid") not in (None, str(key.uid)):
        # An approved request acts on the key it was made for, never on another key that
        # took its name (the request's key was deleted or purged meanwhile).
        raise KeyNotFound(printable_name(name))
    if not actor.is_system:
        access.require(actor.user, key, permission)
    require_token_scope(actor, space.qualified(key.name), permission)
    return key


def _live(namespace: str) -> QuerySet[Key]:
    return Key.objects.exclude(state=KeyState.PURGED).filter(namespace=namespace)


_BY_NAME = PreparedValues("key_for", str_bind("name"))  # every key-scoped request: compiled once


def _live_key(namespace: str, name: str) -> Key | None:
    """The live key of that name (the read without a lock), as a kept statement
    (kms.services.prepared); the instance made as the ORM makes it."""
    rows = _BY_NAME.rows(
        namespace, lambda name: _live(namespace).filter(name=name).order_by("pk").values(*columns(Key))[:1], name=name
    )
    return instance(Key, rows[0]) if rows else None


def require_token_scope(actor: Actor, key_name: str | None, permission: str) -> None:
    """PermissionDenied if the actor's API token is scoped and its scope excludes this
    (kms.services.tokens.scope_permits; the scope rides in `actor.extra["token_scope"]`)."""
    scope = actor.extra.get("token_scope")
    if scope is None or scope_permits(scope[0], scope[1], key_name, permission):
        return
    target = f"with key '{key_name}'" if key_name else "without naming a key"
    raise PermissionDenied(f"this API token's scope does not allow {permission} {target}")


def version_of(key: Key, version: int) -> KeyVersion | None:
    return KeyVersion.objects.filter(key=key, version=version).first()


def version_status(key: Key, kv: KeyVersion | None) -> str | None:
    return None if kv is None else kv.status_in(key)
