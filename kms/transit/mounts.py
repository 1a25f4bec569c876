"""Transit mounts (`sys/mounts`): enable, disable, list, and resolving a request's mount.

- `transit` is the default mount: Egide's native key space. It always answers and cannot be
  disabled or enabled again (its keys are the native API's and the pages').
- Another path is enabled as a new namespace (kms.transit.models.TransitMount); its keys are
  its own (the same name in two mounts is two keys).
- Disabling a mount archives its namespace: its keys stop answering, are no longer listed and
  no longer hold names under that path; nothing is destroyed (the rows and their material
  stay). Enabling the path again starts a new, empty namespace.
- Native paths (`kms`, `auth`, `health`, `schema`, `docs`, `users`, `sys`) cannot be mounts.

Enabling needs the global `add` permission (the right to create keys); disabling a mount needs
a superuser (it takes a whole key space out of service). Both are audited.
"""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from kms import access
from kms.dataplane import generation
from kms.dataplane.state import CACHE
from kms.exceptions import Conflict, InvalidRequest, PermissionDenied
from kms.services.actor import Actor
from kms.services.operation import operation
from kms.transit.models import TransitMount
from kms.transit.namespaces import NATIVE, Space

DEFAULT_PATH = "transit"
RESERVED = ("kms", "auth", "health", "schema", "docs", "users", "sys", "identity", "cubbyhole", "admin")
_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(/[A-Za-z0-9][A-Za-z0-9._-]{0,63}){0,3}\Z")
# Options Transit clients send when enabling a mount; a default (or null) value is accepted.
_DEFAULT_OPTIONS: dict[str, tuple[Any, ...]] = {
    "description": (), "config": (None, {}), "options": (None, {}, {"version": ""}), "local": (None, False),
    "seal_wrap": (None, False), "external_entropy_access": (None, False), "plugin_name": (None, "", "transit"),
    "plugin_version": (None, ""), "type": ("transit",), "path": (),
}  # fmt: skip

# Mount changes move the state generation, so every process's mount table follows them.
post_save.connect(generation._on_change, sender=TransitMount, dispatch_uid="egide-gen-save-TransitMount")
post_delete.connect(generation._on_change, sender=TransitMount, dispatch_uid="egide-gen-del-TransitMount")

_lock = threading.Lock()
_table: tuple[int | None, dict[str, Space]] = (None, {})


def normalize(path: Any) -> str:
    if not isinstance(path, str):
        raise InvalidRequest("path must be a string")
    path = path.strip("/")
    if not _PATH.match(path):
        raise InvalidRequest("path must be 1-4 segments of letters, digits, '.', '_' or '-', separated by '/'")
    return path


def table() -> dict[str, Space]:
    """Enabled mounts by path (the default included), for the state generation in force."""
    global _table
    seen = CACHE.generation
    cached_at, mounts = _table
    if seen is not None and cached_at == seen:
        return mounts
    mounts = {DEFAULT_PATH: NATIVE}
    for path, namespace in TransitMount.objects.filter(disabled_at__isnull=True).values_list("path", "namespace"):
        mounts[path] = Space(namespace, path)
    with _lock:
        _table = (seen, mounts)
    return mounts


def resolve(path: str) -> tuple[Space, str] | None:
    """(mount, the rest of the path) for a path under /v1/, the longest mount first."""
    mounts = table()
    segments = path.split("/")
    for cut in range(min(len(segments) - 1, 4), 0, -1):
        space = mounts.get("/".join(segments[:cut]))
        if space is not None:
            return space, "/".join(segments[cut:])
    return None


def mount_enable(*, actor: Actor, path: Any, body: dict[str, Any]) -> TransitMount:
    with operation(actor, "mount_enable") as op:
        path = normalize(path)
        kind = body.get("type")
        if kind != "transit":
            raise InvalidRequest(f"only secrets engines of type 'transit' can be enabled here, not {str(kind)[:40]!r}")
        for name, value in body.items():
            if name in _DEFAULT_OPTIONS and (not _DEFAULT_OPTIONS[name] or value in _DEFAULT_OPTIONS[name]):
                continue
            if name in _DEFAULT_OPTIONS:
                raise InvalidRequest(f"mount option {name}={str(value)[:60]} is not supported by Egide")
            raise InvalidRequest(f"unknown mount option {name[:40]!r}")
        if path.split("/")[0] in RESERVED or path == DEFAULT_PATH:
            raise InvalidRequest(f"path is already in use at {path}/" if path == DEFAULT_PATH
                                 else f"'{path}' is one of Egide's own paths and cannot be a mount")  # fmt: skip
        if not actor.is_system:
            access.require_global(actor.user, "add")
        description = body.get("description") or ""
        if not isinstance(description, str) or len(description) > 1000 or "\x00" in description:
            raise InvalidRequest("description must be text of at most 1000 characters")
        try:
            with transaction.atomic():
                mount = TransitMount.objects.create(path=path, namespace=uuid.uuid4().hex, description=description,
                                                    created_by=actor.user)  # fmt: skip
                op.success(details={"path": path, "namespace": mount.namespace})
        except IntegrityError:
            raise Conflict(f"path is already in use at {path}/") from None
        return mount


def mount_disable(*, actor: Actor, path: Any) -> None:
    """Archive the mount's namespace (nothing destroyed); a path that is not mounted is no error."""
    with operation(actor, "mount_disable") as op:
        path = normalize(path)
        if path == DEFAULT_PATH:
            raise InvalidRequest("the default mount 'transit' is Egide's native key space; it cannot be disabled")
        if not (actor.is_system or getattr(actor.user, "is_superuser", False)):
            raise PermissionDenied("disabling a mount takes a superuser (it archives a whole key space)")
        with transaction.atomic():
            mount = TransitMount.objects.select_for_update().filter(path=path, disabled_at__isnull=True).first()
            if mount is not None:
                mount.disabled_at = timezone.now()
                mount.save(update_fields=["disabled_at"])
            op.success(details={"path": path, "archived": mount.namespace if mount else None})


def mounts_list(*, actor: Actor) -> dict[str, Any]:
    """sys/mounts: the enabled Transit mounts, in Vault's shape."""
    with operation(actor, "mount_list") as op:
        rows = {DEFAULT_PATH: ("Egide's native key space", "")}
        for mount in TransitMount.objects.filter(disabled_at__isnull=True):
            rows[mount.path] = (mount.description, mount.namespace)
        op.success(details={"mounts": len(rows)})
    return {
        f"{path}/": {"type": "transit", "description": description, "accessor": f"transit_{(ns or 'native')[:8]}",
                     "uuid": ns or "native", "config": {"default_lease_ttl": 0, "max_lease_ttl": 0},
                     "options": None, "local": False, "seal_wrap": False, "external_entropy_access": False}
        for path, (description, ns) in sorted(rows.items())
    }  # fmt: skip
