"""ecdsa-p256 (SHA-256) and ecdsa-p384 (SHA-384): ECDSA with DER-encoded signatures.

Each curve is paired with one hash, stated on its KeyType entry; another hash or
any padding is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature as BadSignature
from cryptography.hazmat.primitives.asymmetric import ec

from kms.crypto.errors import InvalidKeyMaterial
from kms.crypto.loaded import LoadedKey, require_bytes
from kms.crypto.operations import SIGN, VERIFY
from kms.crypto.pkcs8 import (
    load_private_key,
    material_problem,
    private_pem,
    public_pem,
    to_pkcs8_der,
)
from kms.crypto.signparams import resolve_hash, resolve_padding, signing_algorithm

if TYPE_CHECKING:
    from kms.crypto.keytypes import KeyType


def generate(curve: ec.EllipticCurve) -> bytes:
    """Fresh private key on ``curve`` as unencrypted PKCS#8 DER."""
    return to_pkcs8_der(ec.generate_private_key(curve))


class EcdsaKey(LoadedKey):
    """An ECDSA key version on a fixed curve, signing with the curve's own hash."""

    __slots__ = ("_private", "_public", "_public_pem")

    def __init__(
        self,
        key_type: KeyType,
        material: bytes,
        *,
        curve: ec.EllipticCurve,
        trusted: bool = False,  # uniform loader signature; EC checks are cheap
    ) -> None:
        super().__init__(key_type)
        private = load_private_key(key_type, material)
        if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != curve.name:
            raise InvalidKeyMaterial(material_problem(key_type, f"expected a {curve.name} key"))
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
        """DER-encoded ECDSA signature (randomized: two signatures of the same data differ)."""
        self.key_type.require(SIGN)
        return self._private.sign(data, self._algorithm(data, hash_name, padding, prehashed))

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
        algorithm = self._algorithm(data, hash_name, padding, prehashed)
        require_bytes(signature, "signature")
        try:
            self._public.verify(signature, data, algorithm)
        except BadSignature:
            return False
        return True

    def _algorithm(
        self, data: bytes, hash_name: str | None, padding: str | None, prehashed: bool
    ) -> ec.ECDSA:
        require_bytes(data, "data")
        resolve_padding(self.key_type, padding)
        name = resolve_hash(self.key_type, hash_name)
        return ec.ECDSA(signing_algorithm(name, data, prehashed))

    def public_key_pem(self) -> str:
        """SubjectPublicKeyInfo PEM."""
        return self._public_pem

    def export_material(self) -> str:
        """Unencrypted PKCS#8 PEM of the private key."""
        return private_pem(self._private)
