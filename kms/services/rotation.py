"""Automatic rotation and the scheduler's pass.

A key is *due* for rotation (`keys_due`) when it is active and
- its period has run out (`next_rotation_at <= now`), or
- its current version has made `max_signatures_per_version` signatures, or
- it is aes256 and its current version has made `aes_rotation_threshold()` encryptions
  (settings.EGIDE_AES_MAX_ENCRYPTIONS, a safe share of NIST's 2^32 limit for random
  96-bit GCM nonces), whatever its policy.

The rule is one SQL expression (`annotate_rotation_due`), used to list candidates, to
re-check each one under its row lock, and by the adapters to show overdue keys.

`rotate_due` rotates each due key once per due time, even with several schedulers on
several nodes at once: each key is claimed in its own short transaction under its row
lock (PostgreSQL: SKIP LOCKED) and re-checked there, so a scheduler that comes second
finds `next_rotation_at` already moved (or the fresh version's counts at zero) and
leaves the key alone. Must be called outside any transaction.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Case, CharField, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone

from kms import rules
from kms.crypto import KEY_TYPES
from kms.exceptions import ERRORS, error_code, error_message
from kms.models import Key, KeyState, KeyVersion
from kms.services import keys
from kms.services.actor import Actor
from kms.services.operation import operation

log = logging.getLogger(__name__)

# Why a key is due; also the `reason` in the audit details of the rotation.
PERIOD = "period"
SIGNATURE_CAP = "signature_cap"
AES_USAGE = "aes_usage_limit"
# Types whose versions have an encryption limit (AES-GCM under random 96-bit nonces).
RANDOM_NONCE_TYPES = tuple(name for name, kt in KEY_TYPES.items() if kt.encrypt_limit)

# --- what is due ------------------------------------------------------------------------


def aes_rotation_threshold() -> int:
    """Encryptions after which an aes256 version is rotated (EGIDE_AES_MAX_ENCRYPTIONS).

    Capped at half the hard refusal limit (rules.AES_HARD_LIMIT) so that a misconfigured
    value still rotates long before encryption starts being refused.
    """
    return min(settings.EGIDE_AES_MAX_ENCRYPTIONS, rules.AES_HARD_LIMIT // 2)


def _current_version_count(field: str) -> Subquery:
    """The current version's `field`, looked up per key through the (key, version) index.

    (An EXISTS here let PostgreSQL hash the whole version table once per list page: a page
    of 100 keys cost a scan of every version — measured in docs/benchmarks.md.)
    """
    versions = KeyVersion.objects.filter(key=OuterRef("pk"), version=OuterRef("current_version"))
    return Subquery(versions.order_by().values(field)[:1])


def annotate_rotation_due(keys_qs: QuerySet[Key], now: datetime) -> QuerySet[Key]:
    """Add `rotation_due_reason` to each key: PERIOD, SIGNATURE_CAP, AES_USAGE, or None.

    Non-None exactly when the scheduler would rotate the key at `now`; an adapter shows it
    as "overdue" (only active keys: a disabled key does nothing until enabled again).
    """
    active = Q(state=KeyState.ACTIVE)
    keys_qs = keys_qs.annotate(
        _current_sign_count=_current_version_count("sign_count"),
        _current_encrypt_count=_current_version_count("encrypt_count"),
    )
    reason = Case(
        When(active & Q(next_rotation_at__lte=now), then=Value(PERIOD)),
        When(
            active
            & Q(max_signatures_per_version__isnull=False)
            & Q(_current_sign_count__gte=F("max_signatures_per_version")),
            then=Value(SIGNATURE_CAP),
        ),
        When(
            active & Q(key_type__in=RANDOM_NONCE_TYPES) & Q(_current_encrypt_count__gte=aes_rotation_threshold()),
            then=Value(AES_USAGE),
        ),
        default=Value(None),
        output_field=CharField(),
    )
    return keys_qs.annotate(rotation_due_reason=reason)


def keys_due(now: datetime | None = None) -> QuerySet[Key]:
    """Every key due for rotation at `now`, each with its `rotation_due_reason`."""
    annotated = annotate_rotation_due(Key.objects.all(), now or timezone.now())
    return annotated.filter(rotation_due_reason__isnull=False)


def rotation_due_reason(key: Key, now: datetime | None = None) -> str | None:
    """Why `key` is due for rotation at `now` (one query), or None: for one key's info."""
    return keys_due(now).filter(pk=key.pk).values_list("rotation_due_reason", flat=True).first()


# --- the rotation pass ------------------------------------------------------------------


@dataclass(frozen=True)
class Rotated:
    name: str
    version: int
    reason: str


@dataclass(frozen=True)
class Failed:
    name: str
    code: str
    message: str


@dataclass
class RotationPassResult:
    rotated: list[Rotated] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    # Found due, then rotated by another scheduler (or changed) before this one claimed it.
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def rotate_due(*, actor: Actor, now: datetime | None = None) -> RotationPassResult:
    """Rotate every key due at `now`, each once, each in its own transaction.

    Guarantees: a key is rotated at most once per due time however many schedulers run this
    at the same moment; a failure is audited (an `error` event for `rotate`), reported in
    the result, and does not stop the others. `now` becomes the rotation time, so the next
    one falls a period later. Candidates are taken in random order so that schedulers on
    several nodes share the work instead of racing for the same key.
    """
    now = now or timezone.now()
    result = RotationPassResult()
    candidates = list(keys_due(now))
    random.shuffle(candidates)
    for candidate in candidates:
        try:
            result.rotated.append(_rotate_if_due(actor, candidate, now))
        except keys.NotClaimed:
            result.skipped.append(candidate.name)
        except Exception as exc:  # one failure must not stop the others
            result.failed.append(_failure(actor, candidate, exc))
    return result


def _rotate_if_due(actor: Actor, candidate: Key, now: datetime) -> Rotated:
    """Rotate one key if it is still due once locked; NotClaimed (nothing written) if not."""
    due = keys_due(now).filter(pk=candidate.pk)
    if not due.exists():  # cheap look before generating (RSA-4096 takes a second)
        raise keys.NotClaimed
    with operation(actor, "rotate", key_name=candidate.name) as op:
        op.key = candidate
        new = keys._generate(candidate.key_type)
        with transaction.atomic():
            key = keys.claim(due)
            reason = key.rotation_due_reason  # type: ignore[attr-defined]
            kv = keys.key_rotate_locked(op, key, new, reason=reason, now=now)
    return Rotated(key.name, kv.version, reason)


def _failure(actor: Actor, key: Key, exc: Exception) -> Failed:
    """Report a failed rotation. The operation frame audited it (typed errors with their
    code, anything else as `internal_error` naming only the exception's class)."""
    if isinstance(exc, ERRORS):
        return Failed(key.name, error_code(exc), error_message(exc))
    log.error("rotation of key %s failed", key.name, exc_info=exc)
    return Failed(key.name, "internal_error", f"{type(exc).__name__} (see the scheduler's log)")


# --- the scheduler's pass ---------------------------------------------------------------
