"""Master-key wrapping of stored key material and system secrets.

Stored material is sealed with AES-256-GCM under a key derived from the master
key by HKDF-SHA256 (never under the master key itself), with associated data
binding the row to its key and version (:func:`material_aad`) or the secret to
its name (:func:`secret_aad`). Blob layout: ``nonce (12) ‖ ciphertext ‖ tag (16)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from typing import NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from kms.crypto.aad import material_aad, secret_aad
from kms.crypto.errors import MasterKeyError

__all__ = ["MasterKey", "material_aad", "secret_aad"]

MASTER_KEY_LENGTH = 32
WRAPPING_INFO = b"egide material wrapping v1"
_ID_LABEL = b"egide master key id\x00"
_NONCE_LENGTH = 12
_TAG_LENGTH = 16
_MAX_DERIVED_LENGTH = 255 * 32


class MasterKey:
    """A 256-bit master key: wraps and unwraps stored material, derives subkeys.

    ``id`` is a stable, public 16-hex-digit fingerprint safe to store beside each
    wrapped row and to print. The key never shows in ``repr`` and cannot be pickled.

    The object does not keep the master key itself: only the wrapping AEAD and the
    HKDF pseudorandom key (RFC 5869's PRK = HMAC-SHA256(zeros, master key), from which
    every subkey is expanded; the master key cannot be recovered from it).
    """

    __slots__ = ("_aead", "_prk", "id")

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != MASTER_KEY_LENGTH:
            raise MasterKeyError(f"master key must be exactly {MASTER_KEY_LENGTH} bytes")
        self.id = hashlib.sha256(_ID_LABEL + key).hexdigest()[:16]
        # HKDF-Extract with no salt (RFC 5869, section 2.2: a string of HashLen zeros);
        # the master key is already uniformly random (section 3.1).
        self._prk = hmac.digest(bytes(32), key, "sha256")
        self._aead = AESGCM(self._hkdf(WRAPPING_INFO, 32))

    @classmethod
    def from_base64(cls, text: str) -> MasterKey:
        """Load a master key from standard base64 (surrounding whitespace, such as a file's
        final newline, is ignored). MasterKeyError, never echoing the value, if it is not
        canonical base64 of exactly 32 bytes.
        """
        expected = f"standard base64 of {MASTER_KEY_LENGTH} random bytes (44 characters)"
        if not isinstance(text, str):
            raise MasterKeyError(f"master key must be text: {expected}")
        text = text.strip()
        try:
            key = base64.b64decode(text.encode("ascii"), validate=True)
        except (UnicodeEncodeError, binascii.Error, ValueError):
            raise MasterKeyError(f"master key is not valid base64; expected {expected}") from None
        if len(key) != MASTER_KEY_LENGTH:
            raise MasterKeyError(f"master key decodes to {len(key)} bytes; expected {expected}")
        if base64.b64encode(key).decode("ascii") != text:
            raise MasterKeyError(f"master key is not canonical base64; expected {expected}")
        return cls(key)

    @staticmethod
    def generate_base64() -> str:
        """A fresh master key from the OS CSPRNG, as standard base64."""
        return base64.b64encode(os.urandom(MASTER_KEY_LENGTH)).decode("ascii")

    def wrap(self, material: bytes, *, aad: bytes) -> bytes:
        """Seal ``material`` under the wrapping subkey, bound to ``aad`` (must be non-empty)."""
        if not isinstance(material, bytes) or not isinstance(aad, bytes):
            raise TypeError("wrap takes bytes material and bytes aad")
        if not aad:
            raise ValueError("aad must bind the material to its row; it cannot be empty")
        nonce = os.urandom(_NONCE_LENGTH)
        return nonce + self._aead.encrypt(nonce, material, aad)

    def unwrap(self, blob: bytes, *, aad: bytes) -> bytes:
        """Open a blob made by :meth:`wrap` with the same ``aad``; MasterKeyError otherwise
        (wrong master key, row altered, or row moved to another key/version/name).
        """
        if not isinstance(aad, bytes):
            raise TypeError("unwrap takes bytes aad")
        if not aad:
            raise ValueError("aad must bind the material to its row; it cannot be empty")
        if not isinstance(blob, bytes) or len(blob) < _NONCE_LENGTH + _TAG_LENGTH:
            self._fail()
        try:
            return self._aead.decrypt(blob[:_NONCE_LENGTH], blob[_NONCE_LENGTH:], aad)
        except InvalidTag:
            self._fail()

    def derive(self, info: bytes, length: int = 32) -> bytes:
        """A subkey for ``info`` (HKDF-SHA256): deterministic, independent for each ``info``.

        The wrapping subkey's ``info`` is reserved: asking for it raises ValueError, so
        no caller can obtain the key that seals stored material.
        """
        if not isinstance(info, bytes) or not info:
            raise ValueError("info must be non-empty bytes")
        if info == WRAPPING_INFO:
            raise ValueError("this info is reserved for material wrapping")
        if isinstance(length, bool) or not isinstance(length, int):
            raise ValueError("length must be an int")
        if not 16 <= length <= _MAX_DERIVED_LENGTH:
            raise ValueError(f"length must be between 16 and {_MAX_DERIVED_LENGTH}")
        return self._hkdf(info, length)

    def _hkdf(self, info: bytes, length: int) -> bytes:
        """HKDF-SHA256(master key, no salt, info): the Expand step over the kept PRK."""
        return HKDFExpand(algorithm=hashes.SHA256(), length=length, info=info).derive(self._prk)

    def _fail(self) -> NoReturn:
        raise MasterKeyError(
            f"stored key material failed authentication under master key {self.id}: "
            "wrong master key, or the stored row was altered or moved"
        )

    def __repr__(self) -> str:
        return f"<MasterKey id={self.id}>"

    def __reduce__(self) -> NoReturn:
        raise TypeError("MasterKey cannot be pickled or copied")

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        self.__reduce__()

    def __getstate__(self) -> NoReturn:
        self.__reduce__()
