"""Which keys may this actor use for one operation: the choices of the playground's key menus.

`kms.access.keys_with` narrowed to active keys whose type can do the operation, in one
query. A menu only: every operation still goes through its service's own check.
"""

from __future__ import annotations

from kms import access
from kms.crypto import HMAC, KEY_TYPES
from kms.dataplane.ops import OPERATIONS as DATA_PLANE
from kms.exceptions import InvalidRequest
from kms.models import KeyState
from kms.services.actor import Actor
from kms.services.lookup import key_for

# The playground's operations, in the registry's order (kms/dataplane/ops).
OPERATIONS = tuple(name for name, op in DATA_PLANE.items() if op.playground)


def keys_usable_for(*, actor: Actor, operation: str, limit: int = 500) -> list[str]:
    """Names of the active keys the actor may `operation` with, in name order."""
    if operation not in OPERATIONS:
        raise InvalidRequest(f"operation must be one of: {', '.join(OPERATIONS)}")
    op = DATA_PLANE[operation]
    types = [name for name, kt in KEY_TYPES.items() if all(kt.supports(c) for c in op.capability)]
    keys = access.keys_with(actor.user, op.permissions).filter(state=KeyState.ACTIVE, key_type__in=types)
    return list(keys.order_by("name").values_list("name", flat=True)[:limit])


def key_types_usable_for(*, actor: Actor, operation: str, limit: int = 500) -> dict[str, str]:
    """The same keys as keys_usable_for, each with its type (the playground fits its options)."""
    if operation not in OPERATIONS:
        raise InvalidRequest(f"operation must be one of: {', '.join(OPERATIONS)}")
    op = DATA_PLANE[operation]
    types = [name for name, kt in KEY_TYPES.items() if all(kt.supports(c) for c in op.capability)]
    keys = access.keys_with(actor.user, op.permissions).filter(state=KeyState.ACTIVE, key_type__in=types)
    return dict(keys.order_by("name").values_list("name", "key_type")[:limit])


def is_mac_key(*, actor: Actor, name: str) -> bool:
    """Whether the key (one the actor may verify with) computes MACs: the playground's verify then
    sends an `hmac`, not a `signature`. KeyNotFound / PermissionDenied as its verify would."""
    return KEY_TYPES[key_for(actor, name, "verify").key_type].supports(HMAC)
