"""Who may do what with a key: list, add and remove per-key grants (django-guardian).

Changing grants needs `grant` on the key and, when the key requires approvals, the
approvers' consent. A change that would leave the key with nobody (besides
superusers, who are break-glass accounts) able to `manage` it or to `grant` on it
is refused: every key keeps a named administrator.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from guardian.shortcuts import assign_perm, remove_perm

from kms import access
from kms.exceptions import Conflict, InvalidRequest
from kms.models import KEY_PERMISSIONS, Key, KeyGroupObjectPermission, KeyUserObjectPermission
from kms.services import approvals
from kms.services.actor import Actor
from kms.services.lookup import key_for
from kms.services.operation import operation


def _names(codenames: list[str]) -> list[str]:
    order = {name: i for i, name in enumerate(KEY_PERMISSIONS)}
    names = {c.removesuffix("_key") for c in codenames if c.endswith("_key") and c != "add_key"}
    return sorted((n for n in names if n in order), key=order.__getitem__)


def grants_of(key: Key) -> list[dict[str, Any]]:
    """Per-key grants, then global grants (through roles or direct), as API entries."""
    entries: dict[tuple[str, str, str], list[str]] = {}
    for row in KeyUserObjectPermission.objects.filter(content_object=key).select_related("user", "permission"):
        entries.setdefault(("user", row.user.get_username(), "key"), []).append(row.permission.codename)
    for row in KeyGroupObjectPermission.objects.filter(content_object=key).select_related("group", "permission"):
        entries.setdefault(("group", row.group.name, "key"), []).append(row.permission.codename)
    key_perms = Permission.objects.filter(content_type__app_label="kms", codename__endswith="_key")
    for group in Group.objects.filter(permissions__in=key_perms).distinct().prefetch_related("permissions"):
        entries[("group", group.name, "global")] = [p.codename for p in group.permissions.all()]
    User = get_user_model()  # noqa: N806
    for user in User.objects.filter(user_permissions__in=key_perms).distinct().prefetch_related("user_permissions"):
        entries[("user", user.get_username(), "global")] = [p.codename for p in user.user_permissions.all()]
    return [
        {kind: who, "permissions": _names(codes), "scope": scope}
        for (kind, who, scope), codes in sorted(entries.items())
        if _names(codes)
    ]


def grants_list(*, actor: Actor, name: str) -> list[dict[str, Any]]:
    with operation(actor, "grants_list", key_name=name) as op:
        key = key_for(actor, name, "view")
        op.success(key=key)
        return grants_of(key)


def _validated(user: str | None, group: str | None, permissions: Any) -> tuple[Any, list[str]]:
    if (user is None) == (group is None):
        raise InvalidRequest("give exactly one of 'user' or 'group'")
    if not isinstance(permissions, list) or not permissions or not all(isinstance(p, str) for p in permissions):
        raise InvalidRequest("permissions must be a non-empty list of names")
    unknown = sorted(set(permissions) - set(KEY_PERMISSIONS))
    if unknown:
        raise InvalidRequest(f"unknown permission '{unknown[0]}'; known: {', '.join(KEY_PERMISSIONS)}")
    if user is not None:
        target = get_user_model().objects.filter(username=user).first()
        if target is None:
            raise InvalidRequest(f"no user named '{user}'")
    else:
        target = Group.objects.filter(name=group).first()
        if target is None:
            raise InvalidRequest(f"no group named '{group}'")
    return target, sorted(set(permissions), key=KEY_PERMISSIONS.index)


def administrators(key: Key, permission: str) -> set[int]:
    """Active non-superuser ids holding `permission` on `key`, by any grant."""
    codename = access.codename(permission)
    User = get_user_model()  # noqa: N806
    direct = Q(keyuserobjectpermission__content_object=key, keyuserobjectpermission__permission__codename=codename)
    via_group = Q(groups__keygroupobjectpermission__content_object=key,
                  groups__keygroupobjectpermission__permission__codename=codename)  # fmt: skip
    global_ = Q(user_permissions__codename=codename, user_permissions__content_type__app_label="kms") | Q(
        groups__permissions__codename=codename, groups__permissions__content_type__app_label="kms"
    )
    holders = User.objects.filter(is_active=True, is_superuser=False).filter(direct | via_group | global_)
    return set(holders.values_list("pk", flat=True))


def _check_still_administered(key: Key, before: dict[str, bool]) -> None:
    for permission in access.ADMINISTRATION:
        if before[permission] and not administrators(key, permission):
            raise Conflict(
                f"refused: key '{key.name}' would have nobody able to {permission} it "
                "(superusers do not count); grant it to someone else first"
            )


def _change(actor: Actor, name: str, action: str, user: str | None, group: str | None, permissions: Any) -> list[dict[str, Any]]:
    with operation(actor, action, key_name=name) as op:
        key = key_for(actor, name, "grant")
        op.key = key
        target, perms = _validated(user, group, permissions)
        parameters = {("user" if user is not None else "group"): user or group, "permissions": perms}
        approvals.gate(actor=actor, key=key, action=action, parameters=parameters)
        with transaction.atomic():
            key = key_for(actor, name, "grant", lock=True)
            before = {p: bool(administrators(key, p)) for p in access.ADMINISTRATION}
            apply = assign_perm if action == "grant_add" else remove_perm
            for permission in perms:
                apply(access.codename(permission), target, key)
            if action == "grant_remove":
                _check_still_administered(key, before)
            op.success(key=key, details=parameters)
        return grants_of(key)


def grant_add(*, actor: Actor, name: str, user: str | None = None, group: str | None = None,
              permissions: list[str]) -> list[dict[str, Any]]:  # fmt: skip
    return _change(actor, name, "grant_add", user, group, permissions)


def grant_remove(*, actor: Actor, name: str, user: str | None = None, group: str | None = None,
                 permissions: list[str]) -> list[dict[str, Any]]:  # fmt: skip
    return _change(actor, name, "grant_remove", user, group, permissions)
