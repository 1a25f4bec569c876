"""Key lifecycle services: create, rotate, settings, disable/enable, delete/restore/purge,
version disable/enable/destroy, export, public key.

Each is keyword-only, takes the acting `Actor`, checks permission and state,
and writes its audit event in the transaction of its change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from kms import access, rules
from kms.crypto import get_key_type, material_aad
from kms.dataplane import generation
from kms.durations import format_duration
from kms.exceptions import (
    DeletionDisabled,
    ExportDisabled,
    InvalidRequest,
    KeyDisabled,
    KeyExists,
    OperationNotAllowed,
    VersionNotUsable,
)
from kms.keyring import forget_cache, keyring, load_version
from kms.models import Key, KeyState, KeyVersion
from kms.services import gate
from kms.services.actor import Actor
from kms.services.lookup import key_for, version_of
from kms.services.operation import Abandoned, Operation, operation
from kms.services.prepared import PreparedValues, columns, instance, int_bind
from kms.transit import namespaces

log = logging.getLogger(__name__)
MAX_APPROVALS = 10
MAX_SIGNATURE_CAP = 2**63 - 1  # the column's range (a 64-bit signed integer)
MIN_ROTATION_PERIOD = timedelta(hours=1)
# Beyond this a period means "never" (and last_rotated_at + period could pass datetime.max).
MAX_ROTATION_PERIOD = timedelta(days=3660)


@dataclass(frozen=True)
class NewMaterial:
    """Generated outside any transaction (RSA-4096 takes a second), wrapped inside."""

    material: bytes
    public_key_pem: str
    imported: bool = False  # brought in (kms.services.imports), not generated here


def _generate(key_type: str) -> NewMaterial:
    kt = get_key_type(key_type)
    material = kt.generate()
    return NewMaterial(material, kt.load(material, trusted=True).public_key_pem() or "")


def _imported(key_type: str, material: bytes) -> NewMaterial:
    kt = get_key_type(key_type)
    stored = kt.import_material(material)  # InvalidKeyMaterial unless a whole, matching key of the type
    return NewMaterial(stored, kt.load(stored, trusted=True).public_key_pem() or "", imported=True)


def _imported_public(key_type: str, public_key: str | bytes) -> NewMaterial:
    """A verify-only version: the public key alone (kms.keyring.public_only_material)."""
    from kms.crypto.pkcs8 import public_der
    from kms.keyring import public_only_material

    loaded = get_key_type(key_type).load_public(public_key)  # OperationNotAllowed / InvalidKeyMaterial
    pem = loaded.public_key_pem() or ""
    return NewMaterial(public_only_material(_spki_der(pem, public_der)), pem, imported=True)


def _spki_der(pem: str, public_der: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_der(serialization.load_pem_public_key(pem.encode()))


def _new_material(key_type: str, material: bytes | None, public_key: str | bytes | None) -> NewMaterial:
    if material is not None and public_key is not None:
        raise InvalidRequest("give either key material or a public key, not both")
    if public_key is not None:
        return _imported_public(key_type, public_key)
    return _generate(key_type) if material is None else _imported(key_type, material)


def _origin(actor: Actor, new: NewMaterial, now: datetime) -> dict[str, Any]:
    """Where a new key's material came from, as its row records it."""
    if not new.imported:
        return {}
    return {"origin": "imported", "imported_at": now, "imported_by": actor.user, "imported_by_name": actor.name[:150],
            "verify_only": new.material.startswith(_public_only_marker())}  # fmt: skip


def _public_only_marker() -> bytes:
    from kms.keyring import PUBLIC_ONLY_MARKER

    return PUBLIC_ONLY_MARKER


def _check_generated_rotation(key: Key) -> None:
    """An imported key rotates by importing a new version, unless it allows generated rotation."""
    from kms.crypto.errors import OperationNotAllowed

    if key.verify_only:
        raise OperationNotAllowed(f"key '{key.name}' is verify-only: it rotates by importing a new public key "
                                  "(import-version)")  # fmt: skip
    if key.origin == "imported" and not key.allow_generated_rotation:
        raise OperationNotAllowed(f"key '{key.name}' is imported: it rotates by importing a new version "
                                  "(import-version), unless its allow_generated_rotation setting is on")  # fmt: skip


def _store_version(key: Key, version: int, new: NewMaterial) -> KeyVersion:
    wrapped, master_id = keyring().wrap(new.material, aad=material_aad(key.uid.bytes, version))
    return KeyVersion.objects.create(
        key=key,
        version=version,
        wrapped_material=wrapped,
        master_key_id=master_id,
        public_key_pem=new.public_key_pem,
    )


def _next_rotation(key: Key, now: Any) -> Any:
    if key.rotation_period is None:
        return None
    return (key.last_rotated_at or key.created_at or now) + key.rotation_period


def _settings_values(key_type: str, values: dict[str, Any]) -> dict[str, Any]:
    """Validate creation-time settings; unknown names are refused, never ignored."""
    allowed = {
        "description", "exportable", "allow_deletion", "approvals_required",
        "rotation_period", "max_signatures_per_version", "backup_allowed", "allow_generated_rotation",
    }  # fmt: skip
    unknown = set(values) - allowed
    if unknown:
        raise InvalidRequest(f"unknown setting(s): {', '.join(sorted(unknown))}")
    out = dict(values)
    if "description" in out and not _is_text(out["description"], 1000):
        raise InvalidRequest("description must be text of at most 1000 characters, without NUL")
    for flag in ("exportable", "allow_deletion", "backup_allowed", "allow_generated_rotation"):
        if flag in out and not isinstance(out[flag], bool):
            raise InvalidRequest(f"{flag} must be true or false")
    if "approvals_required" in out:
        count = out["approvals_required"]
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_APPROVALS:
            raise InvalidRequest(f"approvals_required must be a whole number from 0 to {MAX_APPROVALS}")
    if out.get("rotation_period") is not None:
        period = out["rotation_period"]
        if not isinstance(period, timedelta) or not (MIN_ROTATION_PERIOD <= period <= MAX_ROTATION_PERIOD):
            raise InvalidRequest("rotation_period must be from 1h to 3660d (e.g. 12h, 90d)")
    if out.get("max_signatures_per_version") is not None:
        cap = out["max_signatures_per_version"]
        if "sign" not in get_key_type(key_type).operations:
            raise InvalidRequest("max_signatures_per_version applies only to signing keys")
        if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_SIGNATURE_CAP:
            raise InvalidRequest(f"max_signatures_per_version must be a whole number from 1 to {MAX_SIGNATURE_CAP}")
    return out


def _is_text(value: object, max_length: int) -> bool:
    # NUL: PostgreSQL text refuses it, and no adapter should have let it through.
    return isinstance(value, str) and len(value) <= max_length and "\x00" not in value


def key_create(*, actor: Actor, name: str, key_type: str, material: bytes | None = None,
               public_key: str | bytes | None = None, **options: Any) -> Key:  # fmt: skip
    """A new key; with `material` (imported: checked in full by its type, kms.crypto.keytypes
    KeyType.import_material) instead of generated material, or with `public_key` alone (a
    verify-only key, KeyType.load_public), audited as `import` and marked imported."""
    imported = material is not None or public_key is not None
    with operation(actor, "import" if imported else "create", key_name=name) as op:
        rules.check_name(name)
        get_key_type(key_type)  # InvalidKeyType lists the valid names
        if not actor.is_system:
            access.require_global(actor.user, "add")
        values = _settings_values(key_type, options)
        values.setdefault("approvals_required", settings.EGIDE_APPROVALS_REQUIRED_DEFAULT)
        space = namespaces.current()  # the native space unless a Transit mount's request set another
        if Key.objects.exclude(state=KeyState.PURGED).filter(namespace=space.namespace, name__iexact=name).exists():
            raise KeyExists(_exists_message(name))
        new = _new_material(key_type, material, public_key)
        try:
            # One INSERT per row and one state-generation bump for the lot (issue 19: 55 -> 13
            # queries for a user's key; tests/services/test_key_create_queries.py).
            with transaction.atomic(), generation.deferred():
                now = timezone.now()
                key = Key(name=name, namespace=space.namespace, key_type=key_type, created_by=actor.user,
                          last_rotated_at=now, **values, **_origin(actor, new, now))  # fmt: skip
                key.next_rotation_at = _next_rotation(key, now)
                key.save(force_insert=True)
                _store_version(key, 1, new)
                if actor.user is not None:
                    access.grant_creator(actor.user, key)
                op.success(key=key, key_version=1, details={"type": key_type, **_audit_settings(values)})
        except IntegrityError:
            raise KeyExists(_exists_message(name)) from None
        return key


def _exists_message(name: str) -> str:
    live = Key.objects.exclude(state=KeyState.PURGED).filter(namespace=namespaces.current().namespace)
    other = live.filter(name__iexact=name).values_list("name", flat=True).first()
    if other is not None and other != name:
        return f"a key named '{other}' already exists (key names are unique regardless of case)"
    return f"a key named '{name}' already exists"


def _audit_settings(values: dict[str, Any]) -> dict[str, Any]:
    """Settings as JSON (durations as '90d'), for audit details and approval parameters."""

    return {k: (format_duration(v) if isinstance(v, timedelta) else v) for k, v in values.items()}


def key_rotate(*, actor: Actor, name: str, reason: str = "manual") -> KeyVersion:
    """Add version N+1 and make it current. Concurrent rotations queue on the key's row lock."""
    with operation(actor, "rotate", key_name=name) as op:
        key = key_for(actor, name, "rotate")
        op.key = key
        rules.check_key_usable(name=key.name, state=key.state)
        _check_generated_rotation(key)
        new = _generate(key.key_type)
        with transaction.atomic():
            key = key_for(actor, name, "rotate", lock=True)
            return key_rotate_locked(op, key, new, reason=reason, now=timezone.now())


def key_rotate_locked(op: Operation, key: Key, new: NewMaterial, *, reason: str, now: datetime) -> KeyVersion:
    """Rotation itself, for a key whose row the caller has locked in its open transaction.

    The one implementation, shared by `key_rotate` and the scheduler (services.rotation).
    `now` becomes last_rotated_at, so the next rotation falls one period after it.
    """
    rules.check_key_usable(name=key.name, state=key.state)
    if not new.imported:
        _check_generated_rotation(key)
    version = key.current_version + 1
    kv = _store_version(key, version, new)
    key.current_version, key.last_rotated_at = version, now
    key.next_rotation_at = _next_rotation(key, now)
    key.save(update_fields=["current_version", "last_rotated_at", "next_rotation_at", "updated_at"])
    op.success(key=key, key_version=version, details={"reason": reason})
    return kv


UPDATABLE = {
    "description", "min_encryption_version", "min_decryption_version", "allow_deletion",
    "exportable", "approvals_required", "rotation_period", "max_signatures_per_version",
    "backup_allowed", "allow_generated_rotation",
}  # fmt: skip


def key_update(*, actor: Actor, name: str, changes: dict[str, Any]) -> Key:
    """Change a key's settings (PATCH). Every name must be known and every value valid."""
    with operation(actor, "update", key_name=name) as op:
        if not changes:
            raise InvalidRequest("no settings given")
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise InvalidRequest(f"unknown or read-only setting(s): {', '.join(sorted(unknown))}")
        op.key = _check_update(key_for(actor, name, "manage"), changes)
        if _is_sensitive_update(op.key, changes):
            # Turning exportable (or backup_allowed) on needs a second person whatever
            # approvals_required says: material may then leave.
            second = (changes.get("exportable") is True and not op.key.exportable) or (
                changes.get("backup_allowed") is True and not op.key.backup_allowed)  # fmt: skip
            gate.gate(actor=actor, key=op.key, action="update",
                           parameters={"changes": _audit_settings(changes)}, at_least=int(second))  # fmt: skip
        with transaction.atomic():
            key = _check_update(key_for(actor, name, "manage", lock=True), changes)
            op.key = key
            before = {field: getattr(key, field) for field in changes}
            for field, value in changes.items():
                setattr(key, field, value)
            if "rotation_period" in changes:
                key.next_rotation_at = _next_rotation(key, timezone.now())
            key.save()
            op.success(
                key=key,
                details={"before": _audit_settings(before), "after": _audit_settings(changes)},
            )
        return key


def _check_update(key: Key, changes: dict[str, Any]) -> Key:
    rules.check_not_deleted(name=key.name, state=key.state)
    creation_like = {k: v for k, v in changes.items() if k not in ("min_encryption_version", "min_decryption_version")}
    _settings_values(key.key_type, creation_like)
    _check_version_floors(key, changes)
    if changes.get("exportable") is False and key.exportable:
        raise InvalidRequest("exportable cannot be turned off: the material may already have left")
    if changes.get("backup_allowed") is False and key.backup_allowed:
        raise InvalidRequest("backup_allowed cannot be turned off: backups may already exist")
    if changes.get("allow_generated_rotation") and key.verify_only:
        raise InvalidRequest("a verify-only key has no private material to rotate by generation")
    return key


def _is_sensitive_update(key: Key, changes: dict[str, Any]) -> bool:
    """The settings changes that need approvers when the key requires them (DESIGN, Approvals):
    the restrictions and the loosenings alike (undoing an approved restriction, e.g. lowering
    the decryption floor again, is as sensitive as the restriction)."""
    return (
        (changes.get("exportable") is True and not key.exportable)
        or (changes.get("backup_allowed") is True and not key.backup_allowed)
        or (changes.get("allow_deletion") is True and not key.allow_deletion)
        or changes.get("min_decryption_version", key.min_decryption_version) != key.min_decryption_version
        or changes.get("approvals_required", key.approvals_required) < key.approvals_required
    )


def _check_version_floors(key: Key, changes: dict[str, Any]) -> None:
    for field, low in (("min_encryption_version", 0), ("min_decryption_version", 1)):
        if field not in changes:
            continue
        value = changes[field]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= key.current_version:
            raise InvalidRequest(f"{field} must be a whole number from {low} to {key.current_version}")
    floor = changes.get("min_decryption_version")
    if floor is not None and floor < key.min_decryption_version:
        doomed = key.versions.filter(version__gte=floor, version__lt=key.min_decryption_version).filter(
            models.Q(destroyed_at__isnull=False) | models.Q(destroy_after__isnull=False))  # fmt: skip
        if doomed.exists():
            raise InvalidRequest(
                "cannot lower min_decryption_version below a destroyed version, or one scheduled "
                "for destruction (cancel its destruction first)"
            )


def _set_state(actor: Actor, name: str, action: str, permission: str, allowed_from: set[str], to: str) -> Key:
    """Disable or enable: both under approvals (enabling undoes an approved disable)."""
    with operation(actor, action, key_name=name) as op:
        op.key = _state_allows(key_for(actor, name, permission), action, allowed_from)
        gate.gate(actor=actor, key=op.key, action=action, parameters={})
        with transaction.atomic():
            key = key_for(actor, name, permission, lock=True)
            op.key = key
            if key.state not in allowed_from:
                raise KeyDisabled(f"key '{key.name}' is {key.state}; cannot {action} it")
            key.state = to
            key.save(update_fields=["state", "updated_at"])
            op.success(key=key)
        return key


def _state_allows(key: Key, action: str, allowed_from: set[str]) -> Key:
    if key.state not in allowed_from:
        raise KeyDisabled(f"key '{key.name}' is {key.state}; cannot {action} it")
    return key


def key_disable(*, actor: Actor, name: str) -> Key:
    return _set_state(actor, name, "disable", "manage", {KeyState.ACTIVE}, KeyState.DISABLED)


def key_enable(*, actor: Actor, name: str) -> Key:
    return _set_state(actor, name, "enable", "manage", {KeyState.DISABLED}, KeyState.ACTIVE)


def key_delete(*, actor: Actor, name: str) -> Key:
    """Soft delete: the key does nothing until restored; purged after the recovery window."""
    with operation(actor, "delete", key_name=name) as op:
        op.key = _deletable(key_for(actor, name, "delete"))
        gate.gate(actor=actor, key=op.key, action="delete", parameters={})
        with transaction.atomic():
            key = _deletable(key_for(actor, name, "delete", lock=True))
            op.key = key
            now = timezone.now()
            key.state_before_delete = key.state
            key.state, key.deleted_at = KeyState.DELETED, now
            key.purge_after = now + timedelta(days=settings.EGIDE_DELETION_WINDOW_DAYS)
            key.save(update_fields=["state", "state_before_delete", "deleted_at", "purge_after", "updated_at"])
            cancelled = gate.cancel_for_key(key, reason="key deleted", keep=gate.executing_request_id(actor))
            op.success(key=key, details={"purge_after": key.purge_after.isoformat(),
                                         **({"cancelled_requests": cancelled} if cancelled else {})})  # fmt: skip
        return key


def _deletable(key: Key) -> Key:
    if not key.allow_deletion:
        raise DeletionDisabled(f"key '{key.name}' was created with allow_deletion false")
    if key.state == KeyState.DELETED:
        raise KeyDisabled(f"key '{key.name}' is already deleted")
    return key


def key_restore(*, actor: Actor, name: str) -> Key:
    """Undo a deletion within its window: under approvals, as the deletion was."""
    with operation(actor, "restore", key_name=name) as op:
        op.key = key_for(actor, name, "delete")
        if op.key.state != KeyState.DELETED:
            raise InvalidRequest(f"key '{op.key.name}' is not deleted")
        gate.gate(actor=actor, key=op.key, action="restore", parameters={})
        with transaction.atomic():
            key = key_for(actor, name, "delete", lock=True)
            op.key = key
            if key.state != KeyState.DELETED:
                raise InvalidRequest(f"key '{key.name}' is not deleted")
            # Back to what it was: a key disabled before its deletion stays disabled.
            key.state = key.state_before_delete or KeyState.ACTIVE
            key.deleted_at, key.purge_after, key.state_before_delete = None, None, ""
            key.save(update_fields=["state", "state_before_delete", "deleted_at", "purge_after", "updated_at"])
            op.success(key=key)
        return key


def key_purge(*, actor: Actor, name: str) -> Key:
    """Wipe a deleted key's material for good; its row stays as a tombstone."""
    with operation(actor, "purge", key_name=name) as op:
        op.key = key_for(actor, name, "delete")
        if op.key.state != KeyState.DELETED:
            raise InvalidRequest(f"key '{op.key.name}' must be deleted before it is purged")
        gate.gate(actor=actor, key=op.key, action="purge", parameters={})
        with transaction.atomic():
            key = key_for(actor, name, "delete", lock=True)
            op.key = key
            _purge_locked(op, key)
        forget_cache()
        return key


def _purge_locked(op: Operation, key: Key) -> None:
    """Purge itself, for a key whose row the caller has locked in its open transaction."""
    if key.state != KeyState.DELETED:
        raise InvalidRequest(f"key '{key.name}' must be deleted before it is purged")
    now = timezone.now()
    live = key.versions.filter(destroyed_at__isnull=True)
    destroyed = live.update(wrapped_material=b"", destroyed_at=now)
    key.state, key.purge_after = KeyState.PURGED, None
    key.save(update_fields=["state", "purge_after", "updated_at"])
    cancelled = gate.cancel_for_key(key, reason="key purged", keep=gate.executing_request_id(op.actor))
    op.success(key=key, details={"versions_destroyed": destroyed,
                                 **({"cancelled_requests": cancelled} if cancelled else {})})  # fmt: skip


M = TypeVar("M", bound=models.Model)


class NotClaimed(Abandoned):  # an outcome, not an error: never audited
    """Under the lock the row no longer qualifies, or another node holds it: leave it alone."""


def claim(queryset: models.QuerySet[M]) -> M:
    """Lock and return the first row of `queryset`, in the caller's open transaction.

    The filter is evaluated under the lock, so a row another scheduler changed meanwhile no
    longer matches. PostgreSQL: FOR UPDATE SKIP LOCKED, a row held elsewhere is skipped, not
    waited for. SQLite has no row locks; its IMMEDIATE transactions serialize writers, so the
    filter already sees the other writer's committed change. Raises NotClaimed for no row.
    """
    skip = connection.features.has_select_for_update_skip_locked
    row = queryset.select_for_update(skip_locked=skip).first()
    if row is None:
        raise NotClaimed
    return row


def keys_purge_due(*, actor: Actor, now: datetime | None = None) -> list[str]:
    """Purge every key whose recovery window has passed (the scheduler's pass).

    Safe on several nodes at once: each key is claimed under its row lock and re-checked
    (still deleted, window still passed), so no key is purged twice and a key restored and
    deleted again meanwhile keeps its new window. One failure does not stop the others.
    """
    due = Key.objects.filter(state=KeyState.DELETED, purge_after__lte=now or timezone.now())
    purged = []
    for candidate in list(due):
        try:
            with operation(actor, "purge", key_name=candidate.name) as op:
                op.key = candidate
                with transaction.atomic():
                    _purge_locked(op, claim(due.filter(pk=candidate.pk)))
            purged.append(candidate.name)
        except NotClaimed:
            continue
        except Exception:  # one failure must not stop the others; typed errors are audited
            log.exception("purge of key %s failed", candidate.name)
    if purged:
        forget_cache()
    return purged


# Version actions: the permission each needs. All are under the key's approvals: disabling
# a version restricts like raising the decryption floor, enabling undoes that, destroying
# (and cancelling a destruction) is deletion.
VERSION_ACTIONS = {
    "disable_version": "manage",
    "enable_version": "manage",
    "destroy_version": "delete",
    "restore_version": "delete",
}


def _version_change(actor: Actor, name: str, version: int, action: str) -> KeyVersion:
    permission = VERSION_ACTIONS[action]
    with operation(actor, action, key_name=name) as op:
        op.key, op.key_version = key_for(actor, name, permission), version
        changes = _check_version_change(op.key, _version_or_error(op.key, version), action)
        if changes:  # never an approval request for a no-op
            gate.gate(actor=actor, key=op.key, action=action, parameters={"version": version})
        with transaction.atomic():
            key = key_for(actor, name, permission, lock=True)
            op.key, op.key_version = key, version
            kv = _version_or_error(key, version)
            changes = _check_version_change(key, kv, action)
            for field, value in changes.items():
                setattr(kv, field, value)
            if changes:
                kv.save(update_fields=list(changes))
            details = {"destroy_after": kv.destroy_after.isoformat()} if action == "destroy_version" else None
            op.success(key=key, key_version=version, details={**(details or {}),
                                                              **({} if changes else {"unchanged": True})})  # fmt: skip
        return kv


def _version_or_error(key: Key, version: int) -> KeyVersion:
    rules.check_not_deleted(name=key.name, state=key.state)
    kv = version_of(key, version) if isinstance(version, int) and not isinstance(version, bool) else None
    if kv is None:
        raise InvalidRequest(f"key '{key.name}' has no version {version}")
    if kv.destroyed_at is not None:
        raise InvalidRequest(f"version {kv.version} was destroyed")
    return kv


def _check_version_change(key: Key, kv: KeyVersion, action: str) -> dict[str, Any]:
    """Refuse what may not be done; return the fields to change ({} when already so)."""
    now = timezone.now()
    if action == "disable_version":
        if kv.version == key.current_version:
            raise InvalidRequest("the current version cannot be disabled; rotate first")
        return {} if kv.disabled_at else {"disabled_at": now}
    if action == "enable_version":
        return {"disabled_at": None} if kv.disabled_at else {}
    if action == "destroy_version":
        if not key.allow_deletion:
            raise DeletionDisabled(
                f"key '{key.name}' has allow_deletion false: its versions cannot be destroyed either"
            )
        if kv.version >= key.min_decryption_version:
            raise InvalidRequest("only versions below min_decryption_version (retired) can be destroyed")
        if kv.destroy_after is not None:
            return {}
        return {"destroy_after": now + timedelta(days=settings.EGIDE_DELETION_WINDOW_DAYS)}
    if action == "restore_version":
        if kv.destroy_after is None:
            raise InvalidRequest(f"version {kv.version} is not scheduled for destruction")
        return {"destroy_after": None}
    raise ValueError(action)


def version_disable(*, actor: Actor, name: str, version: int) -> KeyVersion:
    """A compromised version: refuses decrypt/verify at once; the others keep working."""
    return _version_change(actor, name, version, "disable_version")


def version_enable(*, actor: Actor, name: str, version: int) -> KeyVersion:
    return _version_change(actor, name, version, "enable_version")


def version_destroy(*, actor: Actor, name: str, version: int) -> KeyVersion:
    """Schedule a retired version's destruction: its material is wiped for good when the
    recovery window (EGIDE_DELETION_WINDOW_DAYS) has passed, unless cancelled meanwhile.
    Obeys allow_deletion; needs `delete` and the key's approvals, as deleting the key does."""
    return _version_change(actor, name, version, "destroy_version")


def version_restore(*, actor: Actor, name: str, version: int) -> KeyVersion:
    """Cancel a version's scheduled destruction (within its window)."""
    return _version_change(actor, name, version, "restore_version")


def versions_destroy_due(*, actor: Actor, now: datetime | None = None) -> list[str]:
    """Wipe every version whose destruction window has passed (the scheduler's pass).

    Each version in its own transaction under its key's row lock, re-checked there (still
    scheduled, still retired, the key still allows deletion), so none is destroyed twice and
    a cancelled destruction stays cancelled. Returns "name vN" for each version destroyed.
    """
    now = now or timezone.now()
    due = KeyVersion.objects.filter(destroy_after__lte=now, destroyed_at__isnull=True)
    done = []
    for candidate in list(due.select_related("key")):
        try:
            with operation(actor, "destroy_version", key_name=candidate.key.name) as op:
                op.key, op.key_version = candidate.key, candidate.version
                with transaction.atomic():
                    key = claim(Key.objects.filter(pk=candidate.key_id))
                    kv = due.filter(pk=candidate.pk).first()
                    if kv is None or kv.version >= key.min_decryption_version or not key.allow_deletion:
                        raise NotClaimed
                    kv.wrapped_material, kv.destroyed_at = b"", now
                    kv.save(update_fields=["wrapped_material", "destroyed_at"])
                    op.success(key=key, key_version=kv.version)
            done.append(f"{candidate.key.name} v{candidate.version}")
        except NotClaimed:
            continue
        except Exception:  # one failure must not stop the others; typed errors are audited
            log.exception("destruction of %s v%s failed", candidate.key.name, candidate.version)
    if done:
        forget_cache()
    return done


_VERSIONS = PreparedValues("key_versions", int_bind("key_id"))  # every key page and API info: compiled once


def version_list(key: Key) -> list[KeyVersion]:
    """The key's versions in order, as `key.versions.order_by("version")` gives them."""
    rows = _VERSIONS.rows(
        "all",
        lambda key_id: KeyVersion.objects.filter(key_id=key_id).order_by("version").values(*columns(KeyVersion)),
        key_id=key.pk,
    )
    return [instance(KeyVersion, row) for row in rows]


def key_info(*, actor: Actor, name: str) -> Key:
    """A key with its versions, for display (metadata only; needs only `view`)."""
    with operation(actor, "info", key_name=name, read=True) as op:
        key = key_for(actor, name, "view")
        key.version_list = version_list(key)  # type: ignore[attr-defined]
        op.success(key=key)
        return key


def public_key_pem(*, actor: Actor, name: str, version: int | None = None) -> tuple[int, str]:
    number, pem, _status = public_key(actor=actor, name=name, version=version)
    return number, pem


def public_key(*, actor: Actor, name: str, version: int | None = None) -> tuple[int, str, str]:
    """(version, PEM, the version's status) of a version that still encrypts or verifies."""
    with operation(actor, "public_key", key_name=name) as op:
        key = key_for(actor, name, "view")
        op.key = key
        # Handing out the public key invites new ciphertexts and trusts signatures:
        # a disabled or deleted key does nothing at all.
        rules.check_key_usable(name=key.name, state=key.state)
        if not get_key_type(key.key_type).has_public_key:
            raise OperationNotAllowed(f"key type '{key.key_type}' has no public key")
        number = key.current_version if version is None else version
        kv = version_of(key, number) if isinstance(number, int) else None
        if kv is None:
            raise InvalidRequest(f"key '{key.name}' has no version {number}")
        status = kv.status_in(key)
        if status not in PUBLIC_KEY_STATUSES:
            # A disabled (compromised?), retired or destroyed version must not be trusted anew.
            raise VersionNotUsable(f"version {number} of key '{key.name}' is {status}: its public key is not served")
        op.success(key=key, key_version=number)
        return number, kv.public_key_pem, status


# The versions whose public key is served: those that still encrypt or verify.
PUBLIC_KEY_STATUSES = ("active", "decrypt-only")


def key_export(*, actor: Actor, name: str) -> dict[str, Any]:
    """Every live version's material, only if the key is exportable and the actor may export."""
    with operation(actor, "export", key_name=name) as op:
        key = key_for(actor, name, "export")
        op.key = key
        rules.check_key_usable(name=key.name, state=key.state)
        if not key.exportable:
            raise ExportDisabled(f"key '{key.name}' is not exportable")
        gate.gate(actor=actor, key=key, action="export", parameters={})
        out = []
        for kv in key.versions.filter(destroyed_at__isnull=True).order_by("version"):
            loaded = load_version(
                key_type=key.key_type,
                key_uid=key.uid.bytes,
                version=kv.version,
                wrapped=kv.wrapped_material,
                master_key_id=kv.master_key_id,
            )
            out.append({"version": kv.version, "material": loaded.export_material()})
        with transaction.atomic():
            op.success(key=key, details={"versions": [item["version"] for item in out]})
        return {"name": key.name, "type": key.key_type, "versions": out}
