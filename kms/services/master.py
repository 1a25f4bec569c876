"""Master-key rotation: re-wrap stored material under the current master key."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from kms.crypto import material_aad, secret_aad
from kms.keyring import keyring
from kms.models import AuditChainHead, KeyVersion
from kms.services import audit
from kms.services.actor import Actor


@dataclass(frozen=True)
class RewrapResult:
    versions: int
    secrets: int
    remaining: int
    master_key_id: str


def rewrap_all(*, batch_size: int = 200) -> RewrapResult:
    """Move every row to the current master key, in small transactions (nodes keep serving)."""
    ring = keyring()
    current = ring.current.id
    moved = 0
    while True:
        with transaction.atomic():
            batch = list(
                KeyVersion.objects.select_for_update()
                .select_related("key")
                .exclude(master_key_id=current)
                .filter(destroyed_at__isnull=True)[:batch_size]
            )
            for kv in batch:
                aad = material_aad(kv.key.uid.bytes, kv.version)
                material = ring.unwrap(bytes(kv.wrapped_material), aad=aad, master_key_id=kv.master_key_id)
                kv.wrapped_material, kv.master_key_id = ring.wrap(material, aad=aad)
                kv.save(update_fields=["wrapped_material", "master_key_id"])
            if batch:
                audit.record(Actor.system(), "master_rewrap", details={"versions": len(batch), "to": current})
        moved += len(batch)
        if len(batch) < batch_size:
            break
    secrets = 0
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
        if head is not None and head.wrapped_key and head.master_key_id != current:
            aad = secret_aad("audit-chain")
            value = ring.unwrap(bytes(head.wrapped_key), aad=aad, master_key_id=head.master_key_id)
            head.wrapped_key, head.master_key_id = ring.wrap(value, aad=aad)
            head.save(update_fields=["wrapped_key", "master_key_id"])
            secrets = 1
    remaining = KeyVersion.objects.exclude(master_key_id=current).filter(destroyed_at__isnull=True).count()
    return RewrapResult(moved, secrets, remaining, current)
