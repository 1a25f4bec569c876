"""aes256: AES-256-GCM with a fresh random 96-bit nonce and a 128-bit tag.

Blob layout: ``nonce (12) ‖ ciphertext ‖ tag (16)``. Associated data is
``aad_prefix ‖ context``: the server passes ``aes_aad_prefix(key_uid, version)``
so a ciphertext cannot be replayed under another key, version or context (an
empty context and no context are the same).
"""

from __future__ import annotations

import base64
import os
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kms.crypto.errors import DECRYPT_FAILED, InvalidCiphertext, InvalidKeyMaterial
from kms.crypto.loaded import LoadedKey, require_bytes
from kms.crypto.operations import DECRYPT, ENCRYPT

if TYPE_CHECKING:
    from kms.crypto.keytypes import KeyType

KEY_LENGTH = 32
NONCE_LENGTH = 12
TAG_LENGTH = 16


def generate() -> bytes:
    """Fresh raw 32-byte key from the OS CSPRNG."""
    return os.urandom(KEY_LENGTH)


def new_nonce() -> bytes:
    """Fresh random 96-bit nonce. Random nonces are safe up to 2**32 encryptions per key."""
    return os.urandom(NONCE_LENGTH)


class AesGcmKey(LoadedKey):
    """An aes256 key version: encrypt and decrypt only."""

    __slots__ = ("_aead", "_key")

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
        self._key = material
        self._aead = AESGCM(material)

    def encrypt(self, plaintext: bytes, *, context: bytes | None = None, aad_prefix: bytes = b"") -> bytes:
        """Return ``nonce ‖ ciphertext ‖ tag``, authenticated over ``aad_prefix ‖ context``."""
        self.key_type.require(ENCRYPT)
        require_bytes(plaintext, "plaintext")
        nonce = new_nonce()
        return nonce + self._aead.encrypt(nonce, plaintext, _aad(aad_prefix, context))

    def decrypt(self, blob: bytes, *, context: bytes | None = None, aad_prefix: bytes = b"") -> bytes:
        """Return the plaintext, or raise InvalidCiphertext with one generic message for any
        failure (short blob, wrong key, version or context, tampering).
        """
        self.key_type.require(DECRYPT)
        aad = _aad(aad_prefix, context)
        if not isinstance(blob, bytes) or len(blob) < NONCE_LENGTH + TAG_LENGTH:
            raise InvalidCiphertext(DECRYPT_FAILED)
        try:
            return self._aead.decrypt(blob[:NONCE_LENGTH], blob[NONCE_LENGTH:], aad)
        except InvalidTag:
            raise InvalidCiphertext(DECRYPT_FAILED) from None

    def export_material(self) -> str:
        """Standard base64 of the raw 32-byte key."""
        return base64.b64encode(self._key).decode("ascii")


def _aad(aad_prefix: bytes, context: bytes | None) -> bytes:
    require_bytes(aad_prefix, "aad_prefix")
    if context is None:
        return aad_prefix
    return aad_prefix + require_bytes(context, "context")
