"""Which keys may this actor use for one operation: the choices of the playground's key menus.

`kms.access.keys_with` narrowed to active keys whose type can do the operation, in one
query. A menu only: every operation still goes through its service's own check.
"""

from __future__ import annotations

from kms import access
from kms.crypto import KEY_TYPES
from kms.exceptions import InvalidRequest
from kms.models import KeyState
from kms.services.actor import Actor

OPERATIONS = ("encrypt", "decrypt", "sign", "verify")


def keys_usable_for(*, actor: Actor, operation: str, limit: int = 500) -> list[str]:
    """Names of the active keys the actor may `operation` with, in name order."""
    if operation not in OPERATIONS:
        raise InvalidRequest(f"operation must be one of: {', '.join(OPERATIONS)}")
    types = [name for name, kt in KEY_TYPES.items() if kt.supports(operation)]
    keys = access.keys_with(actor.user, [operation]).filter(state=KeyState.ACTIVE, key_type__in=types)
    return list(keys.order_by("name").values_list("name", flat=True)[:limit])
