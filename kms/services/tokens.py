"""API bearer tokens: random, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from kms.exceptions import InvalidRequest, KmsError, PermissionDenied, Unauthenticated
from kms.models import ApiToken
from kms.services.actor import Actor
from kms.services.operation import operation

TOKEN_PREFIX = "egd_"
MAX_TOKEN_LIFETIME = timedelta(days=3650)
# last_used_at is a coarse signal; writing it on every request would put a write
# on the hot path, so it is refreshed at most once a minute per token.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class TokenNotFound(KmsError):
    code = "token_not_found"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(
    *, actor: Actor, user, name: str = "", expires_in: timedelta | None = None  # noqa: ANN001
) -> tuple[ApiToken, str]:
    """A new token for `user` (the actor themself, unless the actor is the system)."""
    with operation(actor, "token_create") as op:
        if not actor.is_system and actor.user.pk != user.pk:
            raise PermissionDenied("tokens are created by their owner")
        if not isinstance(name, str) or len(name) > 100 or not name.isprintable():
            raise InvalidRequest("token name must be printable text of at most 100 characters")
        if expires_in is not None and not timedelta(seconds=60) <= expires_in <= MAX_TOKEN_LIFETIME:
            raise InvalidRequest("expires_in must be between 60 seconds and 10 years")
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with transaction.atomic():
            token = ApiToken.objects.create(
                user=user,
                name=name,
                prefix=raw[:12],
                token_hash=hash_token(raw),
                expires_at=timezone.now() + expires_in if expires_in else None,
            )
            op.success(details={"token_id": str(token.pk), "owner": user.get_username()})
        return token, raw


def token_authenticate(raw: str) -> ApiToken:
    """The live token for this bearer string, or Unauthenticated (one message for every cause)."""
    failure = Unauthenticated("invalid, expired or revoked token")
    if not isinstance(raw, str) or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        raise failure
    digest = hash_token(raw)
    token = ApiToken.objects.select_related("user").filter(token_hash=digest).first()
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        raise failure
    now = timezone.now()
    if token.revoked_at or (token.expires_at and token.expires_at <= now) or not token.user.is_active:
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
