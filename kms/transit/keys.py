"""Transit's key paths over Egide's key services (kms.services.keys), in the request's key space.

Every function runs inside `namespaces.within(space)` (the codec sets it), so the services
find, create and audit the mount's keys; their rules hold unchanged (grants, approvals,
separation of duties, allow_deletion, exportable being one-way, rotation periods).
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from kms import access
from kms.crypto import KEY_TYPES, get_key_type
from kms.durations import parse_duration
from kms.exceptions import InvalidRequest, KeyExists
from kms.keyring import load_version
from kms.models import Key, KeyState
from kms.services import backups, imports
from kms.services import keys as key_services
from kms.services.actor import Actor
from kms.services.wrapping_key import wrapping_key_public
from kms.transit.namespaces import Space

DEFAULT_TYPE = "aes256-gcm96"
# Transit names of the served types (kms.crypto.keytypes KeyType.transit_name).
TRANSIT_TYPES = {kt.transit_name: name for name, kt in KEY_TYPES.items() if kt.transit_name}
EGIDE_TO_TRANSIT = {name: transit for transit, name in TRANSIT_TYPES.items()}
CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384"}


def egide_type(transit_type: Any) -> str:
    transit_type = transit_type or DEFAULT_TYPE
    if not isinstance(transit_type, str) or transit_type not in TRANSIT_TYPES:
        supported = ", ".join(TRANSIT_TYPES)
        raise InvalidRequest(f"unknown key type {str(transit_type)[:40]!r}; Egide supports: {supported}")
    return TRANSIT_TYPES[transit_type]


def duration(value: Any, field: str) -> timedelta | None:
    """Transit's durations: seconds (number or digits) or Go-style text ('1h', '24h', '90d'); 0 = none."""
    if value is None or value == "" or value == 0 or value == "0":
        return None
    if isinstance(value, int) and not isinstance(value, bool) or isinstance(value, str) and value.isdigit():
        return timedelta(seconds=int(value))
    try:
        return parse_duration(value)
    except InvalidRequest:
        raise InvalidRequest(f"{field} must be a duration such as 1h, 24h, 90d or a number of seconds") from None


def refuse_unsupported(body: dict[str, Any]) -> None:
    """Options Egide does not offer: their default is fine, another value is refused."""
    for name in ("derived", "convergent_encryption"):
        if body.get(name) not in (None, False, "false"):
            raise InvalidRequest(f"{name} is not supported by Egide: keys are not derived per context")


def _bool(value: Any, field: str) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise InvalidRequest(f"{field} must be true or false")


def _options(body: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    exportable = _bool(body.get("exportable"), "exportable")
    if exportable is not None:
        options["exportable"] = exportable
    period = duration(body.get("auto_rotate_period"), "auto_rotate_period")
    if period is not None:
        options["rotation_period"] = period
    if _bool(body.get("allow_plaintext_backup"), "allow_plaintext_backup"):  # Egide's backup_allowed
        options["backup_allowed"] = True
    return options


def create(actor: Actor, name: str, body: dict[str, Any]) -> tuple[Key, list[str]]:
    """keys/<name>: a new key (Egide's default allow_deletion); an existing one is answered as is."""
    refuse_unsupported(body)
    key_type = egide_type(body.get("type"))
    options = _options(body)
    try:
        key_services.key_create(actor=actor, name=name, key_type=key_type, **options)
    except KeyExists:
        return info(actor, name), [f"key {name} already existed"]
    return info(actor, name), []


def info(actor: Actor, name: str) -> Key:
    return key_services.key_info(actor=actor, name=name)


def read(key: Key) -> dict[str, Any]:
    """The key in Transit's `keys/<name>` shape."""
    kt = get_key_type(key.key_type)
    versions: dict[str, Any] = {}
    for kv in getattr(key, "version_list", None) or key_services.version_list(key):
        if kv.destroyed_at is not None:
            continue
        if kt.asymmetric:
            versions[str(kv.version)] = {"creation_time": kv.created_at.isoformat(), "name": _public_name(key, kv),
                                         "public_key": _public_text(kt.transit_name, kv.public_key_pem)}  # fmt: skip
        else:
            versions[str(kv.version)] = int(kv.created_at.timestamp())
    period = int(key.rotation_period.total_seconds()) if key.rotation_period else 0
    return {
        "name": key.name, "type": EGIDE_TO_TRANSIT.get(key.key_type, key.key_type), "keys": versions,
        "latest_version": key.current_version, "min_available_version": 0,
        "min_decryption_version": key.min_decryption_version, "min_encryption_version": key.min_encryption_version,
        "deletion_allowed": key.allow_deletion, "derived": False, "exportable": key.exportable,
        "allow_plaintext_backup": key.backup_allowed, "auto_rotate_period": period,
        "imported_key": key.origin == "imported",
        "supports_encryption": kt.supports("encrypt"),
        "supports_decryption": kt.supports("decrypt") and not key.verify_only,
        "supports_derivation": False, "supports_signing": kt.supports("sign") and not key.verify_only,
        "egide": {"state": key.state, "uid": str(key.uid), "approvals_required": key.approvals_required},
    }  # fmt: skip


def _public_name(key: Key, kv: Any) -> str:
    if key.key_type.startswith("ecdsa"):
        return "P-" + key.key_type.removeprefix("ecdsa-p")
    return EGIDE_TO_TRANSIT.get(key.key_type, key.key_type)


def _public_text(transit_type: str | None, pem: str) -> str:
    """Transit shows an ed25519 public key as base64 of its 32 bytes, the others as PEM."""
    if transit_type == "ed25519" and pem:
        public = serialization.load_pem_public_key(pem.encode())
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode("ascii")
    return pem


def listing(actor: Actor, space: Space) -> list[str]:
    keys = Key.objects.exclude(state__in=(KeyState.PURGED, KeyState.DELETED)).filter(namespace=space.namespace)
    if not (actor.is_system or getattr(actor.user, "is_superuser", False)):
        keys = keys & access.visible_keys(actor.user)
    return sorted(keys.values_list("name", flat=True))


def config(actor: Actor, name: str, body: dict[str, Any]) -> Key:
    """keys/<name>/config: the settings Transit has, mapped onto Egide's (allow_plaintext_backup is
    backup_allowed: one-way, and turning it on is gated as natively)."""
    changes: dict[str, Any] = {}
    for field in ("min_decryption_version", "min_encryption_version"):
        if body.get(field) is not None:
            changes[field] = _whole(body[field], field)
    if body.get("deletion_allowed") is not None:
        changes["allow_deletion"] = _bool(body["deletion_allowed"], "deletion_allowed")
    if body.get("exportable") is not None:
        changes["exportable"] = _bool(body["exportable"], "exportable")
    if body.get("allow_plaintext_backup") is not None:
        changes["backup_allowed"] = _bool(body["allow_plaintext_backup"], "allow_plaintext_backup")
    if body.get("auto_rotate_period") is not None:
        changes["rotation_period"] = duration(body["auto_rotate_period"], "auto_rotate_period")
    key = info(actor, name)
    changes = {k: v for k, v in changes.items() if getattr(key, k) != v}  # Transit: unchanged is fine
    if changes:
        key_services.key_update(actor=actor, name=name, changes=changes)
    return info(actor, name)


def _whole(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise InvalidRequest(f"{field} must be a whole number")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidRequest(f"{field} must be a whole number") from None


def trim(actor: Actor, name: str, body: dict[str, Any]) -> Key:
    """keys/<name>/trim: versions below min_available_version are scheduled for destruction
    (Egide's recovery window applies, as to every destruction)."""
    floor = _whole(body.get("min_available_version"), "min_available_version")
    key = info(actor, name)
    limit = min(key.min_decryption_version, key.min_encryption_version or key.current_version)
    if not 1 <= floor <= limit:
        raise InvalidRequest(f"min_available_version must be from 1 to {limit} (min_decryption_version and "
                             "min_encryption_version bound it)")  # fmt: skip
    for kv in key.version_list:
        if kv.version < floor and kv.destroyed_at is None and kv.destroy_after is None:
            key_services.version_destroy(actor=actor, name=name, version=kv.version)
    return info(actor, name)


# --- export and import -------------------------------------------------------------------------

EXPORT_KINDS = ("encryption-key", "signing-key", "hmac-key", "public-key")


def export(actor: Actor, name: str, kind: str, version: str | None) -> dict[str, Any]:
    """export/<kind>/<name>[/<version>] in Transit's formats, under Egide's export rule."""
    if kind not in EXPORT_KINDS:
        raise InvalidRequest(f"invalid export type {kind[:40]!r}; valid: {', '.join(EXPORT_KINDS)}")
    key = info(actor, name)
    kt = get_key_type(key.key_type)
    need = {"encryption-key": "encrypt", "signing-key": "sign"}.get(kind)
    if need is not None and not kt.supports(need):
        raise InvalidRequest(f"{kind} export is not supported by a {EGIDE_TO_TRANSIT.get(key.key_type)} key")
    wanted: int | None = None
    if version not in (None, "", "latest"):
        wanted = _whole(version, "version")
    elif version == "latest":
        wanted = key.current_version
    if kind == "public-key":
        if not kt.asymmetric:
            raise InvalidRequest("public-key export needs an asymmetric key")
        chosen = [kv for kv in key.version_list if kv.destroyed_at is None and wanted in (None, kv.version)]
        return _exported(key, {str(kv.version): _public_text(kt.transit_name, kv.public_key_pem) for kv in chosen})
    exported = key_services.key_export(actor=actor, name=name)  # exportable, `export`, approvals, audit
    out: dict[str, str] = {}
    for item in exported["versions"]:
        if wanted is not None and item["version"] != wanted:
            continue
        kv = next(kv for kv in key.version_list if kv.version == item["version"])
        loaded = load_version(key_type=key.key_type, key_uid=key.uid.bytes, version=kv.version,
                              wrapped=kv.wrapped_material, master_key_id=kv.master_key_id)  # fmt: skip
        out[str(item["version"])] = loaded.export_hmac_key() if kind == "hmac-key" else _material(item["material"])
    if wanted is not None and not out:
        raise InvalidRequest(f"key '{name}' has no version {wanted} to export")
    return _exported(key, out)


def _exported(key: Key, keys: dict[str, str]) -> dict[str, Any]:
    return {"name": key.name, "type": EGIDE_TO_TRANSIT.get(key.key_type, key.key_type), "keys": keys}


def _material(text: str) -> str:
    """Egide's export (base64 raw, or PKCS#8 PEM) as Transit writes it: AES raw base64; RSA as
    PKCS#1 PEM, ECDSA as SEC 1 PEM, Ed25519 as base64 of seed ‖ public key."""
    if not text.startswith("-----BEGIN"):
        return text
    private = serialization.load_pem_private_key(text.encode(), password=None)
    if isinstance(private, rsa.RSAPrivateKey):
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
    elif isinstance(private, ec.EllipticCurvePrivateKey):
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
    elif isinstance(private, ed25519.Ed25519PrivateKey):
        seed = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                     serialization.NoEncryption())  # fmt: skip
        public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(seed + public).decode("ascii")
    else:
        return text
    return private.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode("ascii")


def wrapping_key(actor: Actor) -> str:
    """The RSA-4096 public key `transit import` wraps material for: Egide's one import wrapping
    key (kms.services.wrapping_key, made once, held like any key, audited)."""
    return wrapping_key_public(actor=actor)


def _wrapped(body: dict[str, Any]) -> bytes | None:
    """Transit's `ciphertext` (base64 CKM_RSA_AES_KEY_WRAP), or None when a public key is given."""
    if (body.get("hash_function") or "SHA256").upper() not in ("SHA256", "SHA-256"):
        raise InvalidRequest("hash_function: Egide's wrapping uses SHA256 only")
    ciphertext = body.get("ciphertext")
    if ciphertext in (None, "") and body.get("public_key"):
        return None
    if ciphertext in (None, ""):
        raise InvalidRequest("ciphertext (base64 of the wrapped material) or public_key (PEM) is required")
    if body.get("public_key"):
        raise InvalidRequest("give ciphertext or public_key, not both")
    try:
        return base64.b64decode(str(ciphertext), validate=True)
    except ValueError:
        raise InvalidRequest("ciphertext must be base64") from None


def _public_key(body: dict[str, Any]) -> str | None:
    public = body.get("public_key")
    if public in (None, ""):
        return None
    if not isinstance(public, str):
        raise InvalidRequest("public_key must be a PEM public key")
    return public


def import_key(actor: Actor, name: str, body: dict[str, Any]) -> Key:
    """keys/<name>/import: CKM_RSA_AES_KEY_WRAP material (as `bao transit import` sends it), or
    `public_key` alone (a verify-only key), through Egide's one import rule (kms.services.imports)."""
    refuse_unsupported(body)
    key_type = egide_type(body.get("type"))
    wrapped, public = _wrapped(body), _public_key(body)
    options = _options(body)
    rotation = _bool(body.get("allow_rotation"), "allow_rotation")
    if rotation:  # Transit's allow_rotation: the key may also rotate with generated material
        options["allow_generated_rotation"] = True
    imports.key_import(actor=actor, name=name, key_type=key_type, wrapped_material=wrapped, public_key=public,
                       **options)  # fmt: skip
    return info(actor, name)


def import_version(actor: Actor, name: str, body: dict[str, Any]) -> Key:
    """keys/<name>/import_version: a new current version of an imported key (wrapped material,
    or a public key for a verify-only key). Transit's `version` (filling in an existing
    version's private half) is not offered."""
    if body.get("version") not in (None, "", 0, "0"):
        raise InvalidRequest("version is not supported by Egide: import_version adds a new latest version")
    wrapped, public = _wrapped(body), _public_key(body)
    imports.key_import_version(actor=actor, name=name, wrapped_material=wrapped, public_key=public)
    return info(actor, name)


# --- backup and restore --------------------------------------------------------------------------


def backup(actor: Actor, name: str) -> str:
    """backup/<name>: Egide's backup bundle of the key, sealed to this Egide's master key."""
    return backups.key_backup(actor=actor, name=name)


def backup_name(text: Any) -> str:
    """The name a bundle's key had (Transit's `restore` without a name restores under it)."""
    if not isinstance(text, str):
        raise InvalidRequest("backup must be the text of an Egide backup")
    name = backups._open(text).settings.get("name")  # noqa: SLF001 - opened (and authenticated) here to read it
    if not isinstance(name, str) or not name:
        raise InvalidRequest("this backup names no key: give the name to restore under (restore/<name>)")
    return name


def restore(actor: Actor, name: str, text: Any) -> Key:
    return backups.backup_restore(actor=actor, name=name, backup=text)
