"""hmac: HMAC-SHA-256/384/512 keys, and the HMAC key that every key version carries.

The ``hmac`` type's material is 32 raw bytes from the OS CSPRNG (256 bits, as Transit's
``hmac`` keys); the hash is chosen per call (sha256 by default). Verification compares
in constant time (:func:`hmac.compare_digest`) and answers False for a tag of the wrong
length rather than raising.

Every version of every type also carries an HMAC key, as in Vault/OpenBao Transit (the
Transit surface computes ``hmac`` with any key and exports it as ``hmac-key``). It is
designed once, here, as a *derivation*, not a second random secret::

    version HMAC key = HKDF-SHA256(ikm=the version's stored material, salt=none,
                                   info=b"egide:version-hmac:v1\\x00" ‖ type name), 32 bytes

and, for the ``hmac`` type, the material itself (so that an imported Transit ``hmac``
key, or one generated elsewhere, computes the same MACs as it did there).

Why derived rather than random and stored beside the material:

- nothing new to store, wrap, rewrap, back up, restore, import or destroy: the HMAC
  key lives and dies with its version's material (destroying a version destroys its
  HMAC key; a backup restores both; every version that exists today already has one,
  with no migration);
- HKDF-SHA256 is a PRF keyed by the material (RFC 5869; NIST SP 800-56C), so the HMAC
  key reveals nothing about the material: exporting it (Transit's ``hmac-key``) does
  not export the key, and its MACs are independent of the material's own use (the
  info label separates it from every other use of the same bytes);
- stored material is canonical (generated here, or normalized on import by
  :meth:`KeyType.import_material`) and never re-encoded, so the derivation is stable.

What it costs: an HMAC key cannot be chosen independently of the material (Transit
cannot import one for an aes or rsa key either: it generates it), and a verify-only
version (a public key alone) has none.
"""

from __future__ import annotations

import base64
import hashlib
import hmac as std_hmac
import os
from typing import TYPE_CHECKING, NoReturn

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kms.crypto.errors import InvalidKeyMaterial, InvalidRequest
from kms.crypto.loaded import LoadedKey, require_bytes
from kms.crypto.operations import HMAC, VERIFY

if TYPE_CHECKING:
    from kms.crypto.keytypes import KeyType

KEY_LENGTH = 32
HMAC_HASH_NAMES: tuple[str, ...] = ("sha256", "sha384", "sha512")
"""The hashes an HMAC takes, the first being the default."""
VERSION_HMAC_INFO = b"egide:version-hmac:v1\x00"
_DIGEST_SIZES = {name: hashlib.new(name).digest_size for name in HMAC_HASH_NAMES}


def generate() -> bytes:
    """Fresh raw 32-byte HMAC key from the OS CSPRNG."""
    return os.urandom(KEY_LENGTH)


def version_hmac_key(key_type_name: str, material: bytes) -> bytes:
    """The 32-byte HMAC key of a key version of ``key_type_name`` with ``material`` (see the
    module docstring). Deterministic: the same material always gives the same key.
    """
    if not isinstance(material, bytes) or not material:
        raise ValueError("material must be non-empty bytes")
    info = VERSION_HMAC_INFO + key_type_name.encode("ascii")
    return HKDF(algorithm=hashes.SHA256(), length=KEY_LENGTH, salt=None, info=info).derive(material)


def resolve_hmac_hash(hash_name: str | None) -> str:
    """The hash to use: sha256 for None; InvalidRequest if not one of HMAC_HASH_NAMES."""
    if hash_name is None:
        return HMAC_HASH_NAMES[0]
    if not isinstance(hash_name, str) or hash_name not in HMAC_HASH_NAMES:
        raise InvalidRequest(f"hmac algorithm must be one of: {', '.join(HMAC_HASH_NAMES)}")
    return hash_name


class HmacSha2:
    """An HMAC key: compute and verify HMAC-SHA-256/384/512. Never shows its bytes."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or not key:
            raise ValueError("an HMAC key must be non-empty bytes")
        self._key = key

    def compute(self, data: bytes, *, hash_name: str | None = None) -> bytes:
        """The HMAC of ``data`` (32, 48 or 64 bytes)."""
        require_bytes(data, "data")
        return std_hmac.digest(self._key, data, resolve_hmac_hash(hash_name))

    def verify(self, data: bytes, tag: bytes, *, hash_name: str | None = None) -> bool:
        """True if ``tag`` is the HMAC of ``data``; False otherwise (wrong length included).

        The comparison takes the same time wherever the first differing byte is.
        """
        name = resolve_hmac_hash(hash_name)
        require_bytes(data, "data")
        require_bytes(tag, "hmac")
        if len(tag) != _DIGEST_SIZES[name]:
            return False
        return std_hmac.compare_digest(std_hmac.digest(self._key, data, name), tag)

    def export(self) -> str:
        """Standard base64 of the key. An explicit act: only to export."""
        return base64.b64encode(self._key).decode("ascii")

    def __repr__(self) -> str:
        return "<HmacSha2>"

    def __reduce__(self) -> NoReturn:
        raise TypeError("an HMAC key cannot be pickled or copied")


class HmacKey(LoadedKey):
    """An ``hmac`` key version: ``hmac``, and ``verify`` of an HMAC given as the signature.

    ``verify(data, signature=tag, hash_name=...)`` is :meth:`verify_hmac`, so the one
    verify path of the API serves HMACs too; padding, prehashed and context are refused.
    """

    __slots__ = ("_material",)

    def __init__(
        self,
        key_type: KeyType,
        material: bytes,
        *,
        trusted: bool = False,  # uniform loader signature; nothing to skip
    ) -> None:
        super().__init__(key_type)
        if not isinstance(material, bytes) or len(material) != KEY_LENGTH:
            raise InvalidKeyMaterial(f"{key_type.name} material must be {KEY_LENGTH} raw bytes")
        self._material = material

    def hmac(self, data: bytes, *, hash_name: str | None = None) -> bytes:
        """HMAC-SHA-2 of ``data`` with the key's material (sha256 by default)."""
        self.key_type.require(HMAC)
        return super().hmac(data, hash_name=hash_name)

    def verify(
        self,
        data: bytes,
        signature: bytes,
        *,
        hash_name: str | None = None,
        padding: str | None = None,
        prehashed: bool = False,
        context: bytes | None = None,
    ) -> bool:
        """True if ``signature`` is the HMAC of ``data`` (constant-time), else False."""
        self.key_type.require(VERIFY)
        if padding is not None or prehashed is not False or context is not None:
            raise InvalidRequest("an hmac takes no padding, prehashed or context")
        return self.verify_hmac(data, signature, hash_name=hash_name)

    def export_material(self) -> str:
        """Standard base64 of the raw 32-byte key."""
        return base64.b64encode(self._material).decode("ascii")
