"""Egide's import wrapping key: the RSA-4096 key that material is wrapped to on its way in.

Held like any key: a Key row (type kms.crypto.keywrap.WRAPPING_KEY_TYPE) whose versions are
wrapped under the master key, in a key space no API name, Transit mount or page can reach
(`WRAPPING_SPACE`), made on first use. Rotating it adds a version: imports then need the new
public key (the current version alone unwraps imports, so a public key handed out before a
rotation stops working, as in AWS's import tokens); older versions stay to open backups that
another Egide sealed to them (kms.services.backups).

The Transit dialect's `wrapping_key` (kms.transit) uses the same key.
"""

from __future__ import annotations

from django.db import transaction

from kms import access
from kms.crypto import LoadedKey, keywrap
from kms.crypto.backup import rsa_recipient
from kms.exceptions import KeyExists, KeyNotFound
from kms.keyring import load_version
from kms.models import Key, KeyVersion
from kms.services import keys as key_services
from kms.services.actor import Actor
from kms.services.operation import operation
from kms.transit import namespaces
from kms.transit.namespaces import Space

# The same space and name as kms.transit.keys, so both surfaces share one wrapping key.
WRAPPING_SPACE = Space("egide:wrapping", "sys")
WRAPPING_KEY_NAME = "transit-import-wrapping-key"


def _key() -> Key:
    """The wrapping key's row with its versions, made on first use."""
    system = Actor.system()
    with namespaces.within(WRAPPING_SPACE):
        try:
            return key_services.key_info(actor=system, name=WRAPPING_KEY_NAME)
        except KeyNotFound:
            try:
                key_services.key_create(actor=system, name=WRAPPING_KEY_NAME, key_type=keywrap.WRAPPING_KEY_TYPE,
                                        allow_deletion=False, description="Egide's import wrapping key")  # fmt: skip
            except KeyExists:
                pass  # made meanwhile by another request
            return key_services.key_info(actor=system, name=WRAPPING_KEY_NAME)


def _load(key: Key, kv: KeyVersion) -> LoadedKey:
    return load_version(key_type=key.key_type, key_uid=key.uid.bytes, version=kv.version,
                        wrapped=kv.wrapped_material, master_key_id=kv.master_key_id)  # fmt: skip


def wrapping_key_loaded() -> LoadedKey:
    """The current wrapping key, private half included (for kms.crypto.keywrap.unwrap)."""
    key = _key()
    current = next(kv for kv in key.version_list if kv.version == key.current_version)
    return _load(key, current)


def wrapping_key_for_recipient(recipient: str) -> LoadedKey | None:
    """The version (current or older) whose public key has this backup recipient id, if any."""
    key = _key()
    for kv in reversed(key.version_list):
        if kv.destroyed_at is None and kv.public_key_pem and rsa_recipient(kv.public_key_pem) == recipient:
            return _load(key, kv)
    return None


def wrapping_key_public(*, actor: Actor) -> str:
    """The current wrapping public key (PEM SubjectPublicKeyInfo): anyone signed in may have it."""
    with operation(actor, "wrapping_key") as op:
        key = _key()
        pem = next(kv.public_key_pem for kv in key.version_list if kv.version == key.current_version)
        with transaction.atomic():
            op.success(details={"version": key.current_version})
        return pem


def wrapping_key_rotate(*, actor: Actor) -> int:
    """A new wrapping key version (key administrators: global `manage`); returns its number.
    Wrapped material made for the previous public key is refused from now on."""
    with operation(actor, "wrapping_key_rotate") as op:
        if not actor.is_system:
            access.require_global(actor.user, "manage")
        _key()
        with namespaces.within(WRAPPING_SPACE):
            kv = key_services.key_rotate(actor=Actor.system(), name=WRAPPING_KEY_NAME, reason="wrapping key rotation")
        with transaction.atomic():
            op.success(details={"version": kv.version})
        return kv.version
