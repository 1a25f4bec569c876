"""Backup and restore of one key: a sealed, versioned bundle (kms.crypto.backup).

A backup holds every version (material, or the public key of a verify-only version; nothing
for a destroyed one), the key's policy and rotation settings, never its grants. It is sealed
to this Egide's master key (restore here) or, with `to`, to another Egide's wrapping public
key (kms.services.wrapping_key of that Egide): that moves material out, so it follows
export's rule (one approval by someone other than the requester, then the requester's next
backup call with the same `to` succeeds once).

A restored key keeps the identity its ciphertexts' associated data are bound to
(`Key.aad_uid`), whatever name it takes, even beside its original. Callable from Python
with plain arguments (the Transit dialect maps `backup` and `restore` onto these).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from kms import access, rules
from kms.crypto import get_key_type, material_aad
from kms.crypto.backup import (
    TO_MASTER,
    BundleVersion,
    KeyBundle,
    make_bundle,
    open_bundle,
    peek_bundle,
    rsa_recipient,
)
from kms.crypto.errors import CryptoError, InvalidBackup, MasterKeyError
from kms.durations import format_duration, parse_duration
from kms.exceptions import ERRORS, ExportDisabled, InvalidRequest, KeyExists
from kms.keyring import PUBLIC_ONLY_MARKER, keyring, public_only_material
from kms.models import Key, KeyState, KeyVersion
from kms.services import gate
from kms.services import keys as key_services
from kms.services.actor import Actor
from kms.services.lookup import key_for
from kms.services.operation import operation
from kms.services.wrapping_key import wrapping_key_for_recipient
from kms.transit import namespaces

# The key settings a bundle carries (besides its versions).
POLICY = ("description", "exportable", "allow_deletion", "approvals_required", "rotation_period",
          "max_signatures_per_version", "backup_allowed", "allow_generated_rotation")  # fmt: skip
FLOORS = ("current_version", "min_encryption_version", "min_decryption_version")
PROVENANCE = ("origin", "imported_at", "imported_by_name", "verify_only")
COUNTERS = ("encrypt_count", "decrypt_count", "sign_count", "verify_count")
DATES = ("created_at", "disabled_at", "destroyed_at", "destroy_after")


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _settings(key: Key) -> dict[str, Any]:
    out: dict[str, Any] = {field: getattr(key, field) for field in POLICY + FLOORS}
    out["rotation_period"] = format_duration(key.rotation_period) if key.rotation_period else None
    out.update(origin=key.origin, imported_at=_ts(key.imported_at), imported_by_name=key.imported_by_name,
               verify_only=key.verify_only, name=key.name)  # fmt: skip
    return out


def _version(key: Key, kv: KeyVersion) -> BundleVersion:
    info: dict[str, Any] = {field: _ts(getattr(kv, field)) for field in DATES}
    info.update({field: getattr(kv, field) for field in COUNTERS})
    if kv.destroyed_at is not None:
        return BundleVersion(kv.version, None, None, info)
    material = keyring().unwrap(bytes(kv.wrapped_material), aad=material_aad(key.uid.bytes, kv.version),
                                master_key_id=kv.master_key_id)  # fmt: skip
    if material.startswith(PUBLIC_ONLY_MARKER):
        return BundleVersion(kv.version, None, kv.public_key_pem, info)
    return BundleVersion(kv.version, material, None, info)


def _destination(to: str | None) -> tuple[Any, str]:
    """What to seal to, and how the audit and the approval name it."""
    if to is None:
        return keyring().current, TO_MASTER
    if not isinstance(to, str):
        raise InvalidRequest("to must be another Egide's wrapping public key (PEM)")
    try:
        return to, rsa_recipient(to)
    except (CryptoError, ValueError):
        raise InvalidRequest("to must be another Egide's wrapping public key (PEM SubjectPublicKeyInfo, "
                             "RSA of 3072 bits or more)") from None  # fmt: skip


def key_backup(*, actor: Actor, name: str, to: str | None = None) -> str:
    """The key's backup bundle (text). Needs `backup` on a key whose backup_allowed is on;
    with `to`, an approval by someone else first (ApprovalRequired until then)."""
    with operation(actor, "backup", key_name=name) as op:
        key = key_for(actor, name, "backup")
        op.key = key
        rules.check_not_deleted(name=key.name, state=key.state)
        if not key.backup_allowed:
            raise ExportDisabled(f"key '{key.name}' does not allow backups (backup_allowed is off)")
        destination, recipient = _destination(to)
        if to is not None:  # material leaves for another Egide: export's rule
            gate.gate(actor=actor, key=key, action="backup", parameters={"to": recipient}, at_least=1)
        versions = tuple(_version(key, kv) for kv in key.versions.order_by("version"))
        bundle = KeyBundle(key.aad_identity.bytes, key.key_type, _settings(key), versions)
        try:
            text = make_bundle(bundle, to=destination)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
        with transaction.atomic():
            op.success(key=key, details={"to": recipient, "versions": [v.version for v in versions]})
        return text


def _open(text: str) -> KeyBundle:
    info = peek_bundle(text)
    if info.to == TO_MASTER:
        try:
            master = keyring().by_id(info.recipient)
        except MasterKeyError:
            raise InvalidBackup(f"this backup was made for another Egide (master key {info.recipient[:32]}) "
                                "and cannot be restored here") from None  # fmt: skip
        return open_bundle(text, master_key=master)
    wrapping = wrapping_key_for_recipient(info.recipient)
    if wrapping is None:
        raise InvalidBackup("this backup was sealed to another Egide's wrapping key, not this one's")
    return open_bundle(text, wrapping_key=wrapping)


def backup_restore(*, actor: Actor, name: str, backup: str) -> Key:
    """A new key named `name` from a backup bundle: all its versions, its settings, and the
    identity its ciphertexts are bound to. Needs the global `add` permission, as creating a
    key does. InvalidBackup (4xx) for a modified, foreign or malformed bundle."""
    with operation(actor, "backup_restore", key_name=name) as op:
        rules.check_name(name)
        if not actor.is_system:
            access.require_global(actor.user, "add")
        if not isinstance(backup, str):
            raise InvalidRequest("backup must be the text of an Egide backup")
        bundle = _open(backup)
        get_key_type(bundle.key_type)  # a type this Egide serves
        values, floors, provenance = _restored_settings(bundle)
        space = namespaces.current()
        live = Key.objects.exclude(state=KeyState.PURGED).filter(namespace=space.namespace)
        if live.filter(name__iexact=name).exists():
            raise KeyExists(f"a key named '{name}' already exists (restore under another name)")
        try:
            with transaction.atomic():
                key = Key.objects.create(
                    name=name, namespace=space.namespace, key_type=bundle.key_type, created_by=actor.user,
                    aad_uid=uuid.UUID(bytes=bundle.uid), last_rotated_at=timezone.now(),
                    **values, **floors, **provenance,
                )  # fmt: skip
                for version in bundle.versions:
                    _restore_version(key, version)
                key.next_rotation_at = key_services._next_rotation(key, timezone.now())  # noqa: SLF001
                key.save(update_fields=["next_rotation_at"])
                if actor.user is not None:
                    for permission in access.CREATOR_PERMISSIONS:
                        assign_perm(access.codename(permission), actor.user, key)
                op.success(key=key, key_version=key.current_version, details={
                    "from": peek_bundle(backup).to, "original_uid": str(uuid.UUID(bytes=bundle.uid)),
                    "original_name": str(bundle.settings.get("name", ""))[:128],
                    "versions": [v.version for v in bundle.versions]})  # fmt: skip
        except IntegrityError:
            raise KeyExists(f"a key named '{name}' already exists") from None
        return key


def _restored_settings(bundle: KeyBundle) -> tuple[dict[str, Any], dict[str, int], dict[str, Any]]:
    settings = dict(bundle.settings)
    try:
        values = {field: settings[field] for field in POLICY}
        if values["rotation_period"] is not None:
            values["rotation_period"] = parse_duration(values["rotation_period"])
        values = key_services._settings_values(bundle.key_type, values)  # noqa: SLF001 - the one validator
        floors = {field: settings[field] for field in FLOORS}
        provenance = {field: settings[field] for field in PROVENANCE}
        provenance["imported_at"] = _dt(provenance["imported_at"])
    except (KeyError, TypeError, ValueError, *ERRORS):
        raise InvalidBackup("this backup's settings are not valid for this Egide") from None
    live = [v.version for v in bundle.versions if v.material is not None or v.public_key is not None]
    if (not all(isinstance(v, int) and not isinstance(v, bool) for v in floors.values())
            or floors["current_version"] not in live
            or not 1 <= floors["min_decryption_version"] <= floors["current_version"]
            or not 0 <= floors["min_encryption_version"] <= floors["current_version"]
            or provenance["origin"] not in ("generated", "imported")
            or not isinstance(provenance["verify_only"], bool)):  # fmt: skip
        raise InvalidBackup("this backup's versions and settings do not agree")
    return values, floors, provenance


def _dt(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _restore_version(key: Key, version: BundleVersion) -> None:
    info = dict(version.info)
    dates = {field: _dt(info.get(field)) for field in ("disabled_at", "destroy_after")}
    counts = {field: int(info.get(field) or 0) for field in COUNTERS}
    kt = get_key_type(key.key_type)
    if version.material is None and version.public_key is None:  # destroyed before the backup
        KeyVersion.objects.create(key=key, version=version.version, wrapped_material=b"", master_key_id="",
                                  destroyed_at=_dt(info.get("destroyed_at")) or timezone.now(), **counts)  # fmt: skip
        return
    if version.material is None:
        new = key_services._imported_public(key.key_type, version.public_key)  # noqa: SLF001
        material, pem = new.material, new.public_key_pem
        if not key.verify_only:
            raise InvalidBackup("this backup mixes verify-only and private versions")
    else:
        if key.verify_only:
            raise InvalidBackup("this backup mixes verify-only and private versions")
        material = version.material
        pem = kt.load(material, trusted=True).public_key_pem() or ""  # open_bundle checked it in full
    wrapped, master_id = keyring().wrap(material, aad=material_aad(key.uid.bytes, version.version))
    KeyVersion.objects.create(key=key, version=version.version, wrapped_material=wrapped, master_key_id=master_id,
                              public_key_pem=pem, **dates, **counts)  # fmt: skip


__all__ = ["backup_restore", "key_backup", "public_only_material"]
