"""Who may do what: the one place that answers both questions of access.

1. *Which keys may this user see?* — `visible_keys(user)`, one query.
2. *May they do this to this key?* — `require(user, key, permission)`.

Permissions are Django permissions on `Key` ("kms.<name>_key"), granted
globally (to a user or a group, e.g. the role groups below) or per key
through django-guardian. Holding any permission on a key lets you see it;
a key you cannot see answers `key_not_found`, so names never leak; a key you
can see but not use answers `permission_denied`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.db.models import Exists, OuterRef, Q, QuerySet
from guardian.core import ObjectPermissionChecker

from kms.dataplane import generation
from kms.exceptions import KeyNotFound, PermissionDenied
from kms.models import KEY_PERMISSIONS, Key, KeyGroupObjectPermission, KeyUserObjectPermission

AnyUser = AbstractBaseUser | AnonymousUser

# The role groups (created by migration 0002) and the global permissions they carry.
# As in AWS KMS, key administrators and key users are separate people. `kms-user` holds
# nothing global: key use comes only from per-key grants (to a user or a group), or from an
# all-keys grant an administrator gave a group on purpose (migration 0008 moved old installs).
ROLES: dict[str, tuple[str, ...]] = {
    "kms-admin": ("add", "view", "manage", "rotate", "delete", "grant"),
    "kms-user": (),
    "kms-approver": ("view", "approve"),
    "kms-auditor": ("view", "audit"),
}
# Use of a key's material.
USE = ("encrypt", "decrypt", "sign", "verify", "hmac", "decapsulate", "derive")
# Never given on a key by its administrators: approvers are the kms-approver role, managed by
# whoever manages users (superusers).
ROLE_ONLY = ("approve",)
# Granting these always needs someone other than the requester, whatever approvals_required.
SECOND_PERSON = ("export",)
# What the creator of a key is granted on it: administration, not use.
CREATOR_PERMISSIONS = ("view", "manage", "rotate", "delete", "grant")
# Who counts as able to administer a key (a key must always keep one).
ADMINISTRATION = ("manage", "grant")


def codename(permission: str) -> str:
    """'encrypt' -> 'encrypt_key' (the Django codename)."""
    if permission == "add":
        return "add_key"
    if permission == "audit":
        return "view_auditevent"
    if permission not in KEY_PERMISSIONS:
        raise ValueError(f"unknown key permission {permission!r}")
    return f"{permission}_key"


def grant_creator(user: AbstractBaseUser, key: Key) -> None:
    """The creator's permissions on a new key (CREATOR_PERMISSIONS): one SELECT, one INSERT.

    bulk_create sends no signal: the state generation is bumped here (inside the caller's
    `generation.deferred()`, once for the whole creation).
    """
    wanted = [codename(permission) for permission in CREATOR_PERMISSIONS]
    ids = Permission.objects.filter(content_type__app_label="kms", content_type__model="key",
                                    codename__in=wanted).values_list("id", flat=True)  # fmt: skip
    KeyUserObjectPermission.objects.bulk_create(
        KeyUserObjectPermission(permission_id=pk, user=user, content_object=key) for pk in ids
    )
    generation.changed()


def perm(permission: str) -> str:
    return f"kms.{codename(permission)}"


def _active(user: AnyUser | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def has_global(user: AnyUser | None, permission: str) -> bool:
    return _active(user) and user.has_perm(perm(permission))  # type: ignore[union-attr]


def can(user: AnyUser | None, key: Key, permission: str) -> bool:
    """May `user` do `permission` on `key`, through a global or a per-key grant?"""
    if not _active(user):
        return False
    return user.has_perm(perm(permission)) or user.has_perm(perm(permission), key)  # type: ignore[union-attr]


def can_view(user: AnyUser | None, key: Key) -> bool:
    if not _active(user):
        return False
    if user.is_superuser or _has_any_global_key_permission(user):  # type: ignore[union-attr]
        return True
    return visible_keys(user).filter(pk=key.pk).exists()


def require(user: AnyUser | None, key: Key, permission: str) -> None:
    """Raise KeyNotFound if the user may not see the key, PermissionDenied if not do this."""
    if can(user, key, permission):
        return
    if not can_view(user, key):
        raise KeyNotFound(key.name)
    raise PermissionDenied(f"you may not {permission} with key '{key.name}'")


def require_global(user: AnyUser | None, permission: str) -> None:
    if not has_global(user, permission):
        raise PermissionDenied(f"you may not {permission} keys")


def _has_any_global_key_permission(user: AnyUser) -> bool:
    granted = user.get_all_permissions()  # cached on the user object by Django
    return any(perm(name) in granted for name in KEY_PERMISSIONS)


def visible_keys(user: AnyUser | None) -> QuerySet[Key]:
    """Every key the user may see (not purged), as one query: any permission shows a key."""
    return keys_with(user, KEY_PERMISSIONS)


def keys_with(user: AnyUser | None, permissions: Iterable[str]) -> QuerySet[Key]:
    """The keys (not purged) on which the user holds one of `permissions`, as one query.

    Global grants are part of that query, not read first through the user's permission
    cache (two more queries on every request's fresh user object).
    """
    keys = Key.objects.exclude(state="purged")
    if not _active(user):
        return keys.none()
    if user.is_superuser:  # type: ignore[union-attr]
        return keys
    codenames = [codename(name) for name in permissions]
    key_permissions = Permission.objects.filter(
        content_type__app_label="kms", content_type__model="key", codename__in=codenames
    )
    direct = KeyUserObjectPermission.objects.filter(
        content_object=OuterRef("pk"), user=user, permission__codename__in=codenames
    )
    via_group = KeyGroupObjectPermission.objects.filter(
        content_object=OuterRef("pk"), group__user=user, permission__codename__in=codenames
    )
    return keys.filter(
        Q(Exists(key_permissions.filter(user=user)))
        | Q(Exists(key_permissions.filter(group__user=user)))
        | Q(Exists(direct))
        | Q(Exists(via_group))
    )


def visibility_shape(user: AnyUser | None) -> tuple[Any, ...]:
    """What keys_with reads of the user (kms.services.prepared: the same shape, the same SQL)."""
    if user is None:
        return (None,)
    return (user.pk, user.is_authenticated, user.is_active, user.is_superuser)


def permissions_on(user: AnyUser | None, key: Key) -> list[str]:
    """The key permission names the user holds on the key (global or per key): what `can`
    answers for each, read at once — the global ones from the user's permission cache, the
    per-key ones (direct and through groups) in one pass, not two queries per name."""
    if not _active(user):
        return []
    if user.is_superuser:  # type: ignore[union-attr]
        return list(KEY_PERMISSIONS)
    granted = user.get_all_permissions()  # type: ignore[union-attr]  # cached on the user object
    on_key = set(ObjectPermissionChecker(user).get_perms(key))
    return [name for name in KEY_PERMISSIONS if perm(name) in granted or codename(name) in on_key]


def role_groups() -> Iterable[Group]:
    return Group.objects.filter(name__in=ROLES)
