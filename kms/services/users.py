"""People: create, list, show and deactivate users; put them in roles and groups; passwords.

Who may: those who manage users — superusers, and holders of Django's `auth.change_user`
(given in the Django admin). Seeing users (`auth.view_user`) is enough to list them and to
learn that a name does not exist (kms.services.grants asks `may_see_users`).

- A new user gets a random one-time password, returned once to the person who created
  them and stored only hashed; they change it on their "Password" page.
- Nobody changes their own roles, groups or activity here (no one raises their own
  power), and only a superuser touches a superuser.
- A password change or a deactivation by *any* path revokes every token of the user in
  the same transaction and is audited: through these services (one event each), and
  through anything else that saves the user — the Django admin's password form,
  `manage.py changepassword`, the ORM — by the user model's signals below, with the
  request's actor when there is one (kms.services.authn.ambient_actor), else the system.
  Each revoked token bumps the data plane's state generation, so they stop at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.signals import post_save, pre_save

from kms.access import ROLES
from kms.exceptions import Conflict, InvalidRequest, KmsError, PermissionDenied
from kms.models import ApiToken, AuditEvent
from kms.services import audit
from kms.services.actor import Actor
from kms.services.authn import ambient_actor
from kms.services.operation import operation
from kms.services.tokens import tokens_revoke_all

RECENT_EVENTS = 20
_SERVICE_FLAG = "_egide_audited_by_service"


class UserNotFound(KmsError):
    code = "user_not_found"


class UnknownUser(InvalidRequest):
    """A name that is no user's, met where a user is named (a grant's grantee)."""


def unknown_user_refusal(actor: Actor, key: Any, exc: UnknownUser) -> KmsError:
    """What to answer for a grant to a name that is no user's: that it is no user's, only to
    those who may see users; to anyone else, the answer of any refused grant, so that granting
    is no way to learn which names exist."""
    if actor.is_system or may_see_users(actor.user):
        return exc
    return PermissionDenied(f"you may not grant with key '{key.name}'")


@dataclass(frozen=True)
class UserDetail:
    user: Any
    roles: list[str]
    groups: list[str]
    tokens: list[ApiToken]
    recent_events: list[AuditEvent]


def _users() -> Any:
    return get_user_model().objects


def _active(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def may_manage_users(user: Any) -> bool:
    return _active(user) and (user.is_superuser or user.has_perm("auth.change_user"))


def may_see_users(user: Any) -> bool:
    return may_manage_users(user) or (_active(user) and user.has_perm("auth.view_user"))


def _require_manager(actor: Actor) -> None:
    if not actor.is_system and not may_manage_users(actor.user):
        raise PermissionDenied("you may not manage users")


def _target(actor: Actor, username: Any, *, for_change: bool = True) -> Any:
    """The user named `username`; a manager never changes themself, nor (unless a superuser)
    a superuser."""
    user = _users().filter(username=username).first() if isinstance(username, str) else None
    if user is None:
        raise UserNotFound(f"no user named '{str(username)[:150]}'")
    if for_change and not actor.is_system:
        if user.pk == actor.user.pk:
            raise PermissionDenied("you may not change your own account's roles or status here")
        if user.is_superuser and not actor.user.is_superuser:
            raise PermissionDenied("only a superuser may change a superuser")
    return user


def roles_of(user: Any) -> list[str]:
    return sorted(g.name for g in user.groups.all() if g.name in ROLES)


def groups_of(user: Any) -> list[str]:
    return sorted(g.name for g in user.groups.all() if g.name not in ROLES)


def _valid_username(username: Any) -> str:
    if not isinstance(username, str) or not 1 <= len(username) <= 150:
        raise InvalidRequest("a username is 1 to 150 characters")
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise InvalidRequest("a username has letters, digits and @ . + - _ only") from None
    return username


def _valid_groups(names: Any) -> list[Group]:
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise InvalidRequest("roles must be a list of names")
    found = {g.name: g for g in Group.objects.filter(name__in=list(names))}
    for name in names:
        if name not in found:
            known = ", ".join(ROLES)
            raise InvalidRequest(f"no role or group named '{name[:150]}'; the roles are: {known}")
    return [found[name] for name in dict.fromkeys(names)]


def one_time_password() -> str:
    return secrets.token_urlsafe(15)


def user_create(*, actor: Actor, username: str, roles: list[str] | tuple[str, ...] = (),
                email: str = "") -> tuple[Any, str]:  # fmt: skip
    """A new active user in `roles` (role or group names), with a one-time password that is
    returned once and stored only hashed."""
    with operation(actor, "user_create") as op:
        _require_manager(actor)
        username = _valid_username(username)
        groups = _valid_groups(roles)
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise InvalidRequest("that is not an e-mail address") from None
        password = one_time_password()
        with transaction.atomic():
            if _users().filter(username__iexact=username).exists():
                raise Conflict(f"a user named '{username}' exists")
            user = _users().create_user(username=username, email=email, password=password)
            user.groups.add(*groups)
            op.success(details={"user": username, "roles": [g.name for g in groups]})
        return user, password


def users_list(*, actor: Actor) -> list[Any]:
    if not actor.is_system and not may_see_users(actor.user):
        raise PermissionDenied("you may not see users")
    return list(_users().order_by("username").prefetch_related("groups"))


def user_detail(*, actor: Actor, username: str) -> UserDetail:
    if not actor.is_system and not may_see_users(actor.user):
        raise PermissionDenied("you may not see users")
    user = _target(actor, username, for_change=False)
    events = AuditEvent.objects.filter(actor_id=user.pk).order_by("-seq")[:RECENT_EVENTS]
    tokens = list(ApiToken.objects.filter(user=user).order_by("-created_at"))
    return UserDetail(user, roles_of(user), groups_of(user), tokens, list(events))


def _save_audited(user: Any, fields: list[str]) -> int:
    """Save `user` (the caller audits) and revoke their tokens; how many were revoked."""
    setattr(user, _SERVICE_FLAG, True)
    try:
        user.save(update_fields=fields)
    finally:
        delattr(user, _SERVICE_FLAG)
    return tokens_revoke_all(user)


def user_deactivate(*, actor: Actor, username: str) -> tuple[Any, int]:
    """Deactivate: no login, and every token stops at once (revoked). Returns (user, revoked)."""
    with operation(actor, "user_deactivate") as op:
        _require_manager(actor)
        with transaction.atomic():
            user = _target(actor, username)
            user = _users().select_for_update().get(pk=user.pk)
            user.is_active = False
            revoked = _save_audited(user, ["is_active"])
            op.success(details={"user": user.get_username(), "tokens_revoked": revoked})
        return user, revoked


def user_reactivate(*, actor: Actor, username: str) -> Any:
    with operation(actor, "user_reactivate") as op:
        _require_manager(actor)
        with transaction.atomic():
            user = _target(actor, username)
            user.is_active = True
            user.save(update_fields=["is_active"])
            op.success(details={"user": user.get_username()})
        return user


def _role_change(actor: Actor, action: str, username: str, role: str) -> Any:
    with operation(actor, action) as op:
        _require_manager(actor)
        (group,) = _valid_groups([role])
        with transaction.atomic():
            user = _target(actor, username)
            held = user.groups.filter(pk=group.pk).exists()
            if action == "role_add":
                user.groups.add(group)
            elif not held:
                raise InvalidRequest(f"'{user.get_username()}' is not in '{group.name}'")
            else:
                user.groups.remove(group)
            op.success(details={"user": user.get_username(), "role": group.name})
        return user


def role_add(*, actor: Actor, username: str, role: str) -> Any:
    """Put a user in a role (or group); already in it is fine (and audited)."""
    return _role_change(actor, "role_add", username, role)


def role_remove(*, actor: Actor, username: str, role: str) -> Any:
    """Take a user out of a role (or group); refused if they are not in it."""
    return _role_change(actor, "role_remove", username, role)


def password_change(*, actor: Actor, user: Any, password: str) -> int:
    """Set `user`'s password (the caller has checked the old one) and revoke all their tokens.

    Returns how many tokens were revoked.
    """
    with operation(actor, "password_change") as op:
        if not actor.is_system and actor.user.pk != user.pk and not may_manage_users(actor.user):
            raise PermissionDenied("you may not change another user's password")
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise InvalidRequest(" ".join(exc.messages)) from None
        with transaction.atomic():
            user.set_password(password)
            revoked = _save_audited(user, ["password"])
            op.success(details={"user": user.get_username(), "tokens_revoked": revoked})
        return revoked


# --- every other path: the user model's signals -------------------------------------------


def _before_save(sender: Any, instance: Any, raw: bool = False, update_fields: Any = None,
                 **kwargs: Any) -> None:  # fmt: skip
    if raw or instance.pk is None or update_fields == frozenset({"last_login"}):
        return
    row = sender.objects.filter(pk=instance.pk).values("password", "is_active").first()
    instance._egide_before = row  # noqa: SLF001 - read by _after_save, for this save only


def _after_save(sender: Any, instance: Any, created: bool = False, raw: bool = False,
                **kwargs: Any) -> None:  # fmt: skip
    before = instance.__dict__.pop("_egide_before", None)
    if raw or created or before is None or getattr(instance, _SERVICE_FLAG, False):
        return
    if before["password"] != instance.password:
        action = "password_change"
    elif before["is_active"] and not instance.is_active:
        action = "user_deactivate"
    else:
        return
    with transaction.atomic():
        revoked = tokens_revoke_all(instance)
        audit.record(ambient_actor(), action, details={
            "user": instance.get_username(), "tokens_revoked": revoked, "via": "model",
        })  # fmt: skip


def connect() -> None:
    User = get_user_model()  # noqa: N806
    pre_save.connect(_before_save, sender=User, dispatch_uid="egide-user-before-save")
    post_save.connect(_after_save, sender=User, dispatch_uid="egide-user-after-save")
