"""The master key and the cache of unwrapped key material.

The master key comes from EGIDE_MASTER_KEY (or _FILE); in development
(EGIDE_DEV=1) it is generated on first run into a 0600 file with a loud
warning. Older master keys (EGIDE_MASTER_KEYS_OLD) stay able to unwrap while
`manage.py kms_rewrap_master` moves every row to the current one.

The cache holds loaded key objects per (key uid, version): a version's material
never changes, so a cached entry is never stale; whether a version may be
*used* (key state, version disabled or destroyed) is decided per request from
the database, never from here.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from kms.crypto import LoadedKey, MasterKey, get_key_type, material_aad
from kms.crypto.errors import MasterKeyError

log = logging.getLogger(__name__)


class Keyring:
    """The current master key, plus retired ones that may still unwrap."""

    def __init__(self, current: MasterKey, old: list[MasterKey] | None = None) -> None:
        self.current = current
        self._by_id = {key.id: key for key in [*(old or []), current]}

    def by_id(self, master_key_id: str) -> MasterKey:
        try:
            return self._by_id[master_key_id]
        except KeyError:
            raise MasterKeyError(
                f"material was wrapped by master key {master_key_id}, which is not configured "
                "(add it to EGIDE_MASTER_KEYS_OLD)"
            ) from None

    def wrap(self, material: bytes, *, aad: bytes) -> tuple[bytes, str]:
        return self.current.wrap(material, aad=aad), self.current.id

    def unwrap(self, blob: bytes, *, aad: bytes, master_key_id: str) -> bytes:
        return self.by_id(master_key_id).unwrap(blob, aad=aad)


def _dev_master_key() -> str:
    path = Path(settings.EGIDE_DEV_MASTER_KEY_FILE)
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = MasterKey.generate_base64()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    print(
        "\n" + "!" * 78 + "\n"
        f"!!  EGIDE DEVELOPMENT MASTER KEY generated in {path} (mode 0600).\n"
        "!!  Anyone who reads this file can unwrap every key. Never use it in production:\n"
        "!!  set EGIDE_MASTER_KEY or EGIDE_MASTER_KEY_FILE instead.\n" + "!" * 78 + "\n",
        file=sys.stderr,
    )
    return value


@lru_cache(maxsize=1)
def keyring() -> Keyring:
    current = settings.EGIDE_MASTER_KEY
    if not current:
        if not settings.DEV:
            raise MasterKeyError("no master key configured (EGIDE_MASTER_KEY)")
        current = _dev_master_key()
    try:
        old = [MasterKey.from_base64(text) for text in settings.EGIDE_MASTER_KEYS_OLD]
        return Keyring(MasterKey.from_base64(current), old)
    except MasterKeyError as exc:
        raise MasterKeyError(f"EGIDE_MASTER_KEY: {exc}") from None


class _LoadedKeyCache:
    """A bounded, thread-safe LRU of loaded key objects."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple, LoadedKey] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, cache_key: tuple) -> LoadedKey | None:
        with self._lock:
            item = self._items.get(cache_key)
            if item is not None:
                self._items.move_to_end(cache_key)
            return item

    def put(self, cache_key: tuple, item: LoadedKey) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[cache_key] = item
            self._items.move_to_end(cache_key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def forget(self, cache_keys: list[tuple]) -> None:
        with self._lock:
            for cache_key in cache_keys:
                self._items.pop(cache_key, None)


_cache = _LoadedKeyCache(getattr(settings, "EGIDE_KEY_CACHE_SIZE", 4096))


# A verify-only version (a public key imported alone) stores this marker and then the
# SubjectPublicKeyInfo DER as its "material", wrapped like any material: the marker is
# authenticated by the master key's unwrap, cannot begin any PKCS#8 DER (0x30) or be confused
# with raw material (verify-only keys are asymmetric types only), and tells the loader to use
# KeyType.load_public, so the data plane needs no separate path for such versions.
PUBLIC_ONLY_MARKER = b"egide:public-only:v1\x00"


def public_only_material(public_der: bytes) -> bytes:
    """What a verify-only version stores (wrapped) as its material."""
    return PUBLIC_ONLY_MARKER + public_der


def load_version(*, key_type: str, key_uid: bytes, version: int, wrapped: bytes, master_key_id: str) -> LoadedKey:
    """Unwrap and load one version's material, through the cache.

    `key_uid` is the key row's own uid (what the material is wrapped to and cached by),
    never the ciphertexts' AAD identity: a restored key beside its original shares that one.
    """
    cache_key = (key_uid, version)
    loaded = _cache.get(cache_key)
    if loaded is None:
        material = keyring().unwrap(bytes(wrapped), aad=material_aad(key_uid, version), master_key_id=master_key_id)
        kt = get_key_type(key_type)
        if material.startswith(PUBLIC_ONLY_MARKER):  # verify-only: a public key, no private material
            loaded = kt.load_public(material[len(PUBLIC_ONLY_MARKER) :])
        else:
            loaded = kt.load(material, trusted=True)  # our own, authenticated
        _cache.put(cache_key, loaded)
    return loaded


def forget_cache() -> None:
    _cache.clear()


def forget_versions(versions: list[tuple[bytes, int]]) -> None:
    """Drop the loaded material of these (key uid, version): destroyed, or their key purged."""
    _cache.forget(list(versions))
