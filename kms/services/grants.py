"""Who may do what with a key: list, add and remove per-key grants (django-guardian).

Changing grants needs `grant` on the key and, when the key requires approvals, the
approvers' consent. A change that would leave the key with nobody (besides
superusers, who are break-glass accounts) able to `manage` it or to `grant` on it
is refused: every key keeps a named administrator.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Q
from guardian.shortcuts import assign_perm, remove_perm

from kms import access
from kms.exceptions import Conflict, GrantNotFound, InvalidRequest, PermissionDenied
from kms.models import KEY_PERMISSIONS, Key, KeyGroupObjectPermission, KeyUserObjectPermission
from kms.services import gate
from kms.services.actor import Actor
from kms.services.lookup import key_for
from kms.services.operation import operation
from kms.services.users import UnknownUser, unknown_user_refusal


def _names(codenames: list[str]) -> list[str]:
    order = {name: i for i, name in enumerate(KEY_PERMISSIONS)}
    names = {c.removesuffix("_key") for c in codenames if c.endswith("_key") and c != "add_key"}
    return sorted((n for n in names if n in order), key=order.__getitem__)


@dataclass(frozen=True)
class _GrantRows:
    """Every grant that bears on a key, read once (one statement), for grants_of and holders_of."""

    on_key_users: list[tuple[str, bool, str]]  # (username, active, codename)
    on_key_groups: list[tuple[str, str, str | None, bool | None]]  # (group, codename, member, member active)
    all_keys_groups: list[tuple[str, str, str | None, bool | None]]  # (codename, group, member, member active)
    all_keys_users: list[tuple[str, str, bool]]  # (codename, username, active)
    superusers: list[str]  # active ones


@functools.cache
def _grant_sql() -> str:
    """The grant tables of a key, in one UNION ALL: per-key user and group grants (with the
    groups' members), all-keys grants of groups (with members) and of users (a key
    permission: app `kms`, codename `*_key`, as kms.access counts them), and the active
    superusers. Table names from the models; every value a bound parameter."""
    user = get_user_model()
    t = {
        "u": user._meta.db_table, "g": Group._meta.db_table, "p": Permission._meta.db_table,
        "ct": ContentType._meta.db_table, "ku": KeyUserObjectPermission._meta.db_table,
        "kg": KeyGroupObjectPermission._meta.db_table, "ug": user.groups.through._meta.db_table,
        "gp": Group.permissions.through._meta.db_table, "up": user.user_permissions.through._meta.db_table,
    }  # fmt: skip
    key_permission = "ct.app_label = 'kms' AND p.codename LIKE %s ESCAPE '!'"
    # Bandit B608 / ruff S608 do not apply: table names from the models, every value bound.
    return (
        f"SELECT 1, u.username, u.is_active, p.codename, NULL FROM {t['ku']} x"  # noqa: S608  # nosec B608
        f" JOIN {t['u']} u ON u.id = x.user_id JOIN {t['p']} p ON p.id = x.permission_id"
        " WHERE x.content_object_id = %s"
        f" UNION ALL SELECT 2, gr.name, m.is_active, p.codename, m.username FROM {t['kg']} x"
        f" JOIN {t['g']} gr ON gr.id = x.group_id JOIN {t['p']} p ON p.id = x.permission_id"
        f" LEFT JOIN {t['ug']} ug ON ug.group_id = gr.id LEFT JOIN {t['u']} m ON m.id = ug.user_id"
        " WHERE x.content_object_id = %s"
        f" UNION ALL SELECT 3, gr.name, m.is_active, p.codename, m.username FROM {t['gp']} x"
        f" JOIN {t['g']} gr ON gr.id = x.group_id JOIN {t['p']} p ON p.id = x.permission_id"
        f" JOIN {t['ct']} ct ON ct.id = p.content_type_id"
        f" LEFT JOIN {t['ug']} ug ON ug.group_id = gr.id LEFT JOIN {t['u']} m ON m.id = ug.user_id"
        f" WHERE {key_permission}"
        f" UNION ALL SELECT 4, u.username, u.is_active, p.codename, NULL FROM {t['up']} x"
        f" JOIN {t['u']} u ON u.id = x.user_id JOIN {t['p']} p ON p.id = x.permission_id"
        f" JOIN {t['ct']} ct ON ct.id = p.content_type_id WHERE {key_permission}"
        f" UNION ALL SELECT 5, u.username, u.is_active, NULL, NULL FROM {t['u']} u"
        " WHERE u.is_superuser = %s AND u.is_active = %s"
    )


def _grant_rows(key: Key) -> _GrantRows:
    rows = _GrantRows([], [], [], [], [])
    with connection.cursor() as cursor:
        cursor.execute(_grant_sql(), [key.pk, key.pk, "%!_key", "%!_key", True, True])
        for kind, name, active, code, member in cursor.fetchall():
            active = bool(active) if active is not None else None
            if kind == 1:
                rows.on_key_users.append((name, bool(active), code))
            elif kind == 2:
                rows.on_key_groups.append((name, code, member, active))
            elif kind == 3:
                rows.all_keys_groups.append((code, name, member, active))
            elif kind == 4:
                rows.all_keys_users.append((code, name, bool(active)))
            else:
                rows.superusers.append(name)
    return rows


def grants_of(key: Key, rows: _GrantRows | None = None) -> list[dict[str, Any]]:
    """Per-key grants, then all-keys grants (a role's, a group's, a user's), as API entries.

    `scope` is "key" (this key only) or "all_keys"; `through` says how: "direct" (to the
    user), "group" or "role" (a role group of access.ROLES).
    """
    rows = rows or _grant_rows(key)
    entries: dict[tuple[str, str, str, str], set[str]] = {}
    for username, _active, code in rows.on_key_users:
        entries.setdefault(("user", username, "key", "direct"), set()).add(code)
    for group, code, _member, _active in rows.on_key_groups:
        entries.setdefault(("group", group, "key", "group"), set()).add(code)
    for code, group, _member, _active in rows.all_keys_groups:
        through = "role" if group in access.ROLES else "group"
        entries.setdefault(("group", group, "all_keys", through), set()).add(code)
    for code, username, _active in rows.all_keys_users:
        entries.setdefault(("user", username, "all_keys", "direct"), set()).add(code)
    return [
        {kind: who, "permissions": _names(list(codes)), "scope": scope, "through": through}
        for (kind, who, scope, through), codes in sorted(entries.items())
        if _names(list(codes))
    ]


def grants_list(*, actor: Actor, name: str) -> list[dict[str, Any]]:
    with operation(actor, "grants_list", key_name=name, read=True) as op:
        key = key_for(actor, name, "view")
        op.success(key=key)
        return grants_of(key)


def key_grants(*, actor: Actor, name: str) -> tuple[Key, list[dict[str, Any]], list[dict[str, Any]]]:
    """The key (one the actor may view), its grants (grants_of) and who holds what through
    them (holders_of), from one reading of the grant tables: the `grants_list` read."""
    with operation(actor, "grants_list", key_name=name, read=True) as op:
        key = key_for(actor, name, "view")
        op.success(key=key)
        rows = _grant_rows(key)
        return key, grants_of(key, rows), holders_of(key, rows)


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
            raise UnknownUser(f"no user named '{user}'")
    else:
        target = Group.objects.filter(name=group).first()
        if target is None:
            raise InvalidRequest(f"no group named '{group}'")
    return target, sorted(set(permissions), key=KEY_PERMISSIONS.index)


def administrators(key: Key, permission: str) -> set[int]:
    """Active non-superuser ids holding `permission` on `key`, by any grant.

    One query of three IN-subqueries, each on one grant table: as one filter over the four
    joined relations (the user's and groups' object and global permissions), PostgreSQL
    joined their cross product — about a second a call with 30 users and groups on a key,
    twice in every grant change (tests/web/test_control_plane_queries.py took a minute).
    """
    codename = access.codename(permission)
    User = get_user_model()  # noqa: N806
    global_perm = Permission.objects.filter(codename=codename, content_type__app_label="kms").values("pk")
    groups = Group.objects.filter(
        Q(pk__in=KeyGroupObjectPermission.objects.filter(content_object=key, permission__codename=codename)
          .values("group_id"))
        | Q(pk__in=Group.permissions.through.objects.filter(permission_id__in=global_perm).values("group_id"))
    ).values("pk")  # fmt: skip
    holders = User.objects.filter(is_active=True, is_superuser=False).filter(
        Q(pk__in=KeyUserObjectPermission.objects.filter(content_object=key, permission__codename=codename)
          .values("user_id"))
        | Q(pk__in=User.user_permissions.through.objects.filter(permission_id__in=global_perm).values("user_id"))
        | Q(pk__in=User.groups.through.objects.filter(group_id__in=groups).values("user_id"))
    )  # fmt: skip
    return set(holders.values_list("pk", flat=True))


def _check_still_administered(key: Key, before: dict[str, bool]) -> None:
    for permission in access.ADMINISTRATION:
        if before[permission] and not administrators(key, permission):
            raise Conflict(
                f"refused: key '{key.name}' would have nobody able to {permission} it "
                "(superusers do not count); grant it to someone else first"
            )


def _beneficiaries(target: Any) -> set[int]:
    """The user ids a grant to `target` (a user or a group) gives power to."""
    if isinstance(target, Group):
        return set(target.user_set.values_list("pk", flat=True))
    return {target.pk}


def _is_superuser(actor: Actor) -> bool:
    return bool(actor.user is not None and actor.user.is_superuser)


def _check_no_self_raise(actor: Actor, key: Key, target: Any, perms: list[str]) -> None:
    """Nobody raises their own power (superusers aside: break-glass).

    No one gives themselves, directly or through a group they are in, a permission they do
    not already hold on the key; `approve` is never given on a key by its administrators.
    """
    if actor.is_system or _is_superuser(actor):
        return
    role_only = [p for p in perms if p in access.ROLE_ONLY]
    if role_only:
        raise PermissionDenied(
            f"'{role_only[0]}' is not granted on keys: approvers are the kms-approver role, "
            "managed by whoever manages users"
        )
    if actor.user.pk not in _beneficiaries(target):
        return
    missing = [p for p in perms if not access.can(actor.user, key, p)]
    if missing:
        through = "" if not isinstance(target, Group) else f" (through group '{target.name}', which you are in)"
        raise PermissionDenied(
            f"you may not give yourself {', '.join(missing)} on key '{key.name}'{through}: someone else must grant it"
        )


def _has_key_grant(target: Any, key: Key, permission: str) -> bool:
    table = KeyGroupObjectPermission if isinstance(target, Group) else KeyUserObjectPermission
    who = {"group": target} if isinstance(target, Group) else {"user": target}
    return table.objects.filter(content_object=key, permission__codename=access.codename(permission),
                                **who).exists()  # fmt: skip


def _check_removable(key: Key, target: Any, perms: list[str]) -> None:
    """A removal must have its effect: the per-key grant exists, and nothing else keeps it.

    A permission held only through a global grant (a role, an all-keys group grant, a user's
    global permission) cannot be removed on one key: the answer names what remains.
    """
    kind = "group" if isinstance(target, Group) else "user"
    who = target.name if isinstance(target, Group) else target.get_username()
    for permission in perms:
        globally = _global_sources(target, permission)
        if globally:
            raise Conflict(
                f"{kind} '{who}' holds {permission} on every key through {', '.join(globally)}; "
                "a per-key removal cannot take it away: change that global grant instead"
            )
        if not _has_key_grant(target, key, permission):
            raise GrantNotFound(f"{kind} '{who}' has no grant of {permission} on key '{key.name}'")


def _global_sources(target: Any, permission: str) -> list[str]:
    """What gives `target` `permission` on all keys: roles, all-keys group grants, direct."""
    codename = access.codename(permission)
    if isinstance(target, Group):
        held = target.permissions.filter(codename=codename, content_type__app_label="kms").exists()
        return [_group_label(target.name)] if held else []
    sources = [
        _group_label(name)
        for name in target.groups.filter(permissions__codename=codename,
                                         permissions__content_type__app_label="kms").values_list("name", flat=True)
    ]  # fmt: skip
    if target.user_permissions.filter(codename=codename, content_type__app_label="kms").exists():
        sources.append("a direct all-keys grant")
    return sources


def _group_label(name: str) -> str:
    return f"role {name}" if name in access.ROLES else f"group {name}'s all-keys grant"


def _change(
    actor: Actor, name: str, action: str, user: str | None, group: str | None, permissions: Any
) -> list[dict[str, Any]]:
    with operation(actor, action, key_name=name) as op:
        key = key_for(actor, name, "grant")
        op.key = key
        try:
            target, perms = _validated(user, group, permissions)
        except UnknownUser as exc:  # said only to those who may see users (no name oracle)
            raise unknown_user_refusal(actor, key, exc) from None
        parameters = {("user" if user is not None else "group"): user or group, "permissions": perms}
        _check_request(actor, key, action, target, perms)
        unchanged = action == "grant_add" and all(_has_key_grant(target, key, p) for p in perms)
        if not unchanged:  # never an approval request for a no-op
            second = action == "grant_add" and any(p in access.SECOND_PERSON for p in perms)
            gate.gate(actor=actor, key=key, action=action, parameters=parameters,
                           at_least=1 if second else 0)  # fmt: skip
        with transaction.atomic():
            key = key_for(actor, name, "grant", lock=True)
            _check_request(actor, key, action, target, perms)
            before = {p: bool(administrators(key, p)) for p in access.ADMINISTRATION}
            apply = assign_perm if action == "grant_add" else remove_perm
            for permission in perms:
                apply(access.codename(permission), target, key)
            if action == "grant_remove":
                _check_still_administered(key, before)
            op.success(key=key, details={**parameters, **({"unchanged": True} if unchanged else {})})
        return grants_of(key)


def _check_request(actor: Actor, key: Key, action: str, target: Any, perms: list[str]) -> None:
    if action == "grant_add":
        _check_no_self_raise(actor, key, target, perms)
    else:
        _check_removable(key, target, perms)


def grant_add(*, actor: Actor, name: str, user: str | None = None, group: str | None = None,
              permissions: list[str]) -> list[dict[str, Any]]:  # fmt: skip
    return _change(actor, name, "grant_add", user, group, permissions)


def grant_remove(*, actor: Actor, name: str, user: str | None = None, group: str | None = None,
                 permissions: list[str]) -> list[dict[str, Any]]:  # fmt: skip
    return _change(actor, name, "grant_remove", user, group, permissions)


# --- who holds what, and through what ---------------------------------------------------


def holders_of(key: Key, rows: _GrantRows | None = None) -> list[dict[str, Any]]:
    """For each key permission, every active account holding it and through what.

    `through` is one or more of: "superuser", "role <name>" (a role group's global grant),
    "group <name> (all keys)", "group <name> (this key)", "direct (all keys)",
    "direct (this key)". Superusers hold everything (break-glass).
    """
    rows = rows or _grant_rows(key)
    through: dict[str, dict[str, list[str]]] = {p: {} for p in KEY_PERMISSIONS}

    def add(permission: str, username: str, how: str) -> None:
        if permission in through:
            through[permission].setdefault(username, []).append(how)

    for username in rows.superusers:
        for permission in KEY_PERMISSIONS:
            add(permission, username, "superuser")
    for username, active, code in rows.on_key_users:
        if active:
            add(code.removesuffix("_key"), username, "direct (this key)")
    for group, code, member, active in rows.on_key_groups:
        if member and active:
            add(code.removesuffix("_key"), member, f"group {group} (this key)")
    for code, group, member, active in rows.all_keys_groups:
        if member and active:
            how = f"role {group}" if group in access.ROLES else f"group {group} (all keys)"
            add(code.removesuffix("_key"), member, how)
    for code, username, active in rows.all_keys_users:
        if active:
            add(code.removesuffix("_key"), username, "direct (all keys)")
    return [
        {"permission": p, "holders": [{"user": u, "through": sorted(set(h))} for u, h in sorted(through[p].items())]}
        for p in KEY_PERMISSIONS
    ]
