"""ed25519: pure Ed25519 (RFC 8032), deterministic signatures over the whole message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature as BadSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from kms.crypto.errors import InvalidKeyMaterial, InvalidRequest
from kms.crypto.loaded import LoadedKey, require_bytes
from kms.crypto.operations import SIGN, VERIFY
from kms.crypto.pkcs8 import (
    load_private_key,
    material_problem,
    private_pem,
    public_pem,
    to_pkcs8_der,
)
from kms.crypto.signparams import resolve_hash, resolve_padding

if TYPE_CHECKING:
    from kms.crypto.keytypes import KeyType


def generate() -> bytes:
    """Fresh Ed25519 private key as unencrypted PKCS#8 DER."""
    return to_pkcs8_der(ed25519.Ed25519PrivateKey.generate())


class Ed25519Key(LoadedKey):
    """An Ed25519 key version: takes no hash, no padding, and no prehashed data."""

    __slots__ = ("_private", "_public", "_public_pem")

    def __init__(
        self,
        key_type: KeyType,
        material: bytes,
        *,
        trusted: bool = False,  # uniform loader signature; nothing to skip
    ) -> None:
        super().__init__(key_type)
        private = load_private_key(key_type, material)
        if not isinstance(private, ed25519.Ed25519PrivateKey):
            raise InvalidKeyMaterial(material_problem(key_type))
        self._private = private
        self._public = private.public_key()
        self._public_pem = public_pem(private)

    def sign(
        self,
        data: bytes,
        *,
        hash_name: str | None = None,
        padding: str | None = None,
        prehashed: bool = False,
    ) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        self.key_type.require(SIGN)
        self._check(data, hash_name, padding, prehashed)
        return self._private.sign(data)

    def verify(
        self,
        data: bytes,
        signature: bytes,
        *,
        hash_name: str | None = None,
        padding: str | None = None,
        prehashed: bool = False,
    ) -> bool:
        """True if valid, False for any wrong or malformed signature."""
        self.key_type.require(VERIFY)
        self._check(data, hash_name, padding, prehashed)
        require_bytes(signature, "signature")
        try:
            self._public.verify(signature, data)
        except BadSignature:
            return False
        return True

    def _check(
        self, data: bytes, hash_name: str | None, padding: str | None, prehashed: bool
    ) -> None:
        require_bytes(data, "data")
        resolve_hash(self.key_type, hash_name)
        resolve_padding(self.key_type, padding)
        if prehashed is not False:
            raise InvalidRequest("ed25519 has no prehashed form; send the data")

    def public_key_pem(self) -> str:
        """SubjectPublicKeyInfo PEM."""
        return self._public_pem

    def export_material(self) -> str:
        """Unencrypted PKCS#8 PEM of the private key."""
        return private_pem(self._private)
