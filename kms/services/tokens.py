"""API bearer tokens: random, shown once, stored only as a SHA-256 hash.

A token created without a lifetime gets the default one (EGIDE_TOKEN_TTL_DAYS, like
Vault's default TTL). A token may be scoped to named keys and to permission names
(`scope_permits` decides, for every transport); a password change or a deactivation
revokes all of a user's tokens (kms.services.users).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from kms.exceptions import InvalidRequest, KmsError, PermissionDenied, Unauthenticated
from kms.models import KEY_PERMISSIONS, ApiToken
from kms.rules import NAME_PATTERN
from kms.services.actor import Actor
from kms.services.operation import operation
from kms.services.prepared import PreparedValues, columns, instance, str_bind

TOKEN_PREFIX = "egd_"  # noqa: S105 - a marker, not a secret
MAX_TOKEN_LIFETIME = timedelta(days=3650)
# last_used_at is a coarse signal; writing it on every request would put a write
# on the hot path, so it is refreshed at most once a minute per token.
LAST_USED_RESOLUTION = timedelta(seconds=60)
MAX_SCOPE_KEYS = 100


def scope_permits(scope_keys: list[str], scope_operations: list[str], key_name: str | None,
                  permission: str) -> bool:  # fmt: skip
    """May a token with this scope do `permission` on the key `key_name`?

    Pure, for every transport. An empty list sets no limit on its axis. `key_name` None is
    an action on no key (create a key, list keys, manage users or tokens): a token scoped
    to keys may do none of those. Key names compare regardless of case (names are unique
    regardless of case).
    """
    if scope_operations and permission not in scope_operations:
        return False
    if not scope_keys:
        return True
    if key_name is None:
        return False
    wanted = key_name.casefold()
    return any(name.casefold() == wanted for name in scope_keys)


def is_scoped(token: ApiToken | None) -> bool:
    return token is not None and bool(token.scope_keys or token.scope_operations)


def default_lifetime() -> timedelta | None:
    days = settings.EGIDE_TOKEN_TTL_DAYS
    return timedelta(days=days) if days else None


def _valid_scope(keys: object, operations: object) -> tuple[list[str], list[str]]:
    if not isinstance(keys, list | tuple) or not all(isinstance(k, str) for k in keys):
        raise InvalidRequest("scope_keys must be a list of key names")
    if len(keys) > MAX_SCOPE_KEYS or not all(NAME_PATTERN.match(k) for k in keys):
        raise InvalidRequest(f"scope_keys: at most {MAX_SCOPE_KEYS} valid key names")
    if not isinstance(operations, list | tuple) or not all(isinstance(o, str) for o in operations):
        raise InvalidRequest("scope_operations must be a list of permission names")
    unknown = sorted(set(operations) - set(KEY_PERMISSIONS))
    if unknown:
        known = ", ".join(KEY_PERMISSIONS)
        raise InvalidRequest(f"scope_operations: unknown permission '{unknown[0]}'; known: {known}")
    ordered = [name for name in KEY_PERMISSIONS if name in set(operations)]
    return sorted(set(keys)), ordered


class TokenNotFound(KmsError):
    code = "token_not_found"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(
    *,
    actor: Actor,
    user,  # noqa: ANN001
    name: str = "",
    expires_in: timedelta | None = None,
    scope_keys: list[str] | tuple[str, ...] = (),
    scope_operations: list[str] | tuple[str, ...] = (),
) -> tuple[ApiToken, str]:
    """A new token for `user` (the actor themself, unless the actor is the system).

    No `expires_in`: the default lifetime (EGIDE_TOKEN_TTL_DAYS). The caller has checked
    the password (API, pages) or is the system (bootstrap).
    """
    with operation(actor, "token_create") as op:
        if not actor.is_system and actor.user.pk != user.pk:
            raise PermissionDenied("tokens are created by their owner")
        if not isinstance(name, str) or len(name) > 100 or not name.isprintable():
            raise InvalidRequest("token name must be printable text of at most 100 characters")
        if expires_in is not None and not timedelta(seconds=60) <= expires_in <= MAX_TOKEN_LIFETIME:
            raise InvalidRequest("expires_in must be between 60 seconds and 10 years")
        keys, operations = _valid_scope(scope_keys, scope_operations)
        lifetime = expires_in if expires_in is not None else default_lifetime()
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with transaction.atomic():
            token = ApiToken.objects.create(
                user=user,
                name=name,
                prefix=raw[:12],
                token_hash=hash_token(raw),
                expires_at=timezone.now() + lifetime if lifetime else None,
                scope_keys=keys,
                scope_operations=operations,
            )
            expires = token.expires_at.isoformat() if token.expires_at else None
            details: dict = {"token_id": str(token.pk), "owner": user.get_username(),
                             "expires_at": expires}  # fmt: skip
            if keys or operations:
                details["scope"] = {"keys": keys, "operations": operations}
            op.success(details=details)
        return token, raw


_BY_HASH = PreparedValues("token_authenticate", str_bind("digest"))  # every API request: compiled once


def _token_by_hash(digest: str) -> ApiToken | None:
    """The token row and its user's, in one statement kept compiled (kms.services.prepared);
    instances made as the ORM makes them, the user in the token's cache."""
    user_model = get_user_model()
    names = (*columns(ApiToken), *columns(user_model, "user__"))
    rows = _BY_HASH.rows(
        "by_hash", lambda digest: ApiToken.objects.filter(token_hash=digest).values(*names)[:1], digest=digest
    )
    if not rows:
        return None
    token = instance(ApiToken, rows[0])
    token.user = instance(user_model, rows[0], "user__")
    return token


def token_authenticate(raw: str) -> ApiToken:
    """The live token for this bearer string, or Unauthenticated (one message for every cause)."""
    failure = Unauthenticated("invalid, expired or revoked token")
    if not isinstance(raw, str) or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        raise failure
    digest = hash_token(raw)
    token = _token_by_hash(digest)
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        raise failure
    now = timezone.now()
    expired = token.expires_at is not None and token.expires_at <= now
    if token.revoked_at or expired or not token.user.is_active:
        raise failure
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def token_revoke(*, actor: Actor, token_id: int) -> ApiToken:
    """Revoke a token: its owner may, and so may a superuser; others learn nothing."""
    with operation(actor, "token_revoke") as op:
        with transaction.atomic():
            token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
            owner_or_admin = token is not None and (
                actor.is_system or actor.user.is_superuser or token.user_id == actor.user.pk
            )
            if not owner_or_admin:
                raise TokenNotFound(f"no token {token_id}")
            if token.revoked_at is None:
                token.revoked_at = timezone.now()
                token.save(update_fields=["revoked_at"])
            op.success(details={"token_id": str(token.pk), "owner": token.user.get_username()})
        return token


def tokens_of(user) -> list[ApiToken]:  # noqa: ANN001
    return list(ApiToken.objects.filter(user=user).order_by("-created_at"))


def tokens_revoke_all(user) -> int:  # noqa: ANN001
    """Revoke every live token of `user`, in the caller's transaction; how many.

    Row by row (a user has few tokens): each save bumps the data plane's state
    generation (kms.dataplane.generation), so no process keeps serving one of them.
    The caller records the audit event that says why.
    """
    now = timezone.now()
    revoked = 0
    for token in ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True):
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
        revoked += 1
    return revoked
