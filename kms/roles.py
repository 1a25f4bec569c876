"""The role groups of the design, kept in step with `access.ROLES`.

Created by data migration 0002 and re-asserted after every migrate/flush
(post_migrate), so a role's permission set is exactly what `ROLES` says.
"""

from __future__ import annotations

from typing import Any

from kms.access import ROLES, codename


def ensure_roles(group_model: Any, permission_model: Any) -> None:
    for role, names in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = [codename(name) for name in names]
        perms = list(permission_model.objects.filter(content_type__app_label="kms", codename__in=wanted))
        missing = set(wanted) - {p.codename for p in perms}
        if missing:
            raise RuntimeError(f"role {role}: permissions not created yet: {sorted(missing)}")
        group.permissions.set(perms)


def on_post_migrate(sender: Any, apps: Any = None, **kwargs: Any) -> None:
    if getattr(sender, "name", None) != "kms":
        return
    from django.contrib.auth.models import Group, Permission

    ensure_roles(Group, Permission)
