"""Which keys may this actor use for one operation: the choices of the playground's key menus.

The same two grant paths as `kms.access` (global, or per key to the user or one of their
groups), narrowed to one permission and to active keys whose type can do the operation, in
one query. A menu only: every operation still goes through its service's own check.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from kms import access
from kms.crypto import KEY_TYPES
from kms.exceptions import InvalidRequest
from kms.models import KeyGroupObjectPermission, KeyState, KeyUserObjectPermission
from kms.services.actor import Actor

OPERATIONS = ("encrypt", "decrypt", "sign", "verify")


def keys_usable_for(*, actor: Actor, operation: str, limit: int = 500) -> list[str]:
    """Names of the active keys the actor may `operation` with, in name order."""
    if operation not in OPERATIONS:
        raise InvalidRequest(f"operation must be one of: {', '.join(OPERATIONS)}")
    types = [name for name, kt in KEY_TYPES.items() if kt.supports(operation)]
    keys = access.visible_keys(actor.user).filter(state=KeyState.ACTIVE, key_type__in=types)
    if not access.has_global(actor.user, operation):
        codename = access.codename(operation)
        direct = KeyUserObjectPermission.objects.filter(
            content_object=OuterRef("pk"), user=actor.user, permission__codename=codename
        )
        via_group = KeyGroupObjectPermission.objects.filter(
            content_object=OuterRef("pk"), group__user=actor.user, permission__codename=codename
        )
        keys = keys.filter(Q(Exists(direct)) | Q(Exists(via_group)))
    return list(keys.order_by("name").values_list("name", flat=True)[:limit])
