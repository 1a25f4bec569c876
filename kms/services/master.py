"""Master-key rotation: re-wrap stored material under the current master key."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction

from kms.crypto import material_aad, secret_aad
from kms.crypto.errors import CryptoError
from kms.keyring import keyring
from kms.models import AuditChainHead, KeyVersion
from kms.services import audit
from kms.services.actor import Actor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RewrapFailure:
    """A row that could not be re-wrapped (its old master key is not configured, or it is
    corrupt): left as it was, reported, never retried in the same run."""

    row: str  # "<key name> v<version>" or "audit-chain"
    reason: str


@dataclass(frozen=True)
class RewrapResult:
    versions: int
    secrets: int
    remaining: int
    master_key_id: str
    failed: tuple[RewrapFailure, ...] = field(default=())


def rewrap_all(*, batch_size: int = 200) -> RewrapResult:
    """Move every row to the current master key, row by row (nodes keep serving).

    Each row is re-wrapped in its own savepoint inside a batch's transaction, so a row that
    cannot be opened rolls back only itself: it is skipped, reported in `failed`, and the
    run goes on past it (rows are walked in id order, so it is not picked up again). Reruns
    therefore always make progress on every row that can move.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError("batch_size must be a whole number of at least 1")
    ring = keyring()
    current = ring.current.id
    moved, after = 0, 0
    failed: list[RewrapFailure] = []
    pending = KeyVersion.objects.exclude(master_key_id=current).filter(destroyed_at__isnull=True)
    while True:
        ids = list(pending.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        after = ids[-1]
        done = 0
        with transaction.atomic():
            for pk in ids:
                try:
                    with transaction.atomic():  # a savepoint: a failure undoes this row only
                        done += _rewrap_version(ring, pending, pk)
                except (CryptoError, ValueError) as exc:
                    kv = KeyVersion.objects.select_related("key").filter(pk=pk).first()
                    row = f"{kv.key.name} v{kv.version}" if kv else f"version row {pk}"
                    log.warning("master rewrap: %s skipped: %s", row, exc)
                    failed.append(RewrapFailure(row, str(exc)))
            if done:
                audit.record(Actor.system(), "master_rewrap", details={"versions": done, "to": current})
        moved += done
    secrets = _rewrap_secrets(ring, current, failed)
    remaining = pending.count()
    if failed:
        with transaction.atomic():
            audit.record(Actor.system(), "master_rewrap", outcome="error", error_code="rewrap_failed",
                         details={"failed": [f.row for f in failed][:100], "to": current})  # fmt: skip
    return RewrapResult(moved, secrets, remaining, current, tuple(failed))


def _rewrap_version(ring, pending, pk: int) -> int:  # noqa: ANN001
    kv = pending.select_for_update().select_related("key").filter(pk=pk).first()
    if kv is None:  # moved or destroyed meanwhile
        return 0
    aad = material_aad(kv.key.uid.bytes, kv.version)
    material = ring.unwrap(bytes(kv.wrapped_material), aad=aad, master_key_id=kv.master_key_id)
    kv.wrapped_material, kv.master_key_id = ring.wrap(material, aad=aad)
    kv.save(update_fields=["wrapped_material", "master_key_id"])
    return 1


def _rewrap_secrets(ring, current: str, failed: list[RewrapFailure]) -> int:  # noqa: ANN001
    try:
        with transaction.atomic():
            head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
            if head is None or not head.wrapped_key or head.master_key_id == current:
                return 0
            aad = secret_aad("audit-chain")
            value = ring.unwrap(bytes(head.wrapped_key), aad=aad, master_key_id=head.master_key_id)
            head.wrapped_key, head.master_key_id = ring.wrap(value, aad=aad)
            head.save(update_fields=["wrapped_key", "master_key_id"])
            return 1
    except (CryptoError, ValueError) as exc:
        log.warning("master rewrap: the audit chain key skipped: %s", exc)
        failed.append(RewrapFailure("audit-chain", str(exc)))
        return 0
