"""x25519, ecdh-p256, ecdh-p384: key agreement; Egide derives the raw shared secret.

:meth:`EcdhKey.derive_shared_secret` takes the peer's public key (PEM
SubjectPublicKeyInfo, or its DER) and returns the raw shared secret, as AWS KMS
``DeriveSharedSecret`` does: the X25519 output (RFC 7748, 32 bytes) or the ECDH
x-coordinate (SP 800-56A's Z: 32 bytes on P-256, 48 on P-384). Callers run their own
KDF over it. A peer key that does not parse, is of another kind or curve, is not on
the curve, or is a low-order X25519 point (all-zero output) is :class:`InvalidPeerKey`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from cryptography.hazmat.primitives.asymmetric import ec, x25519

from kms.crypto.errors import InvalidKeyMaterial, InvalidPeerKey
from kms.crypto.loaded import LoadedKey
from kms.crypto.operations import DERIVE
from kms.crypto.pkcs8 import (
    load_private_key,
    load_public_key,
    material_problem,
    private_pem,
    public_key_pem,
    to_pkcs8_der,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

    from kms.crypto.keytypes import KeyType


def generate(curve: ec.EllipticCurve | None) -> bytes:
    """Fresh key agreement private key (X25519 for None) as unencrypted PKCS#8 DER."""
    if curve is None:
        return to_pkcs8_der(x25519.X25519PrivateKey.generate())
    return to_pkcs8_der(ec.generate_private_key(curve))


def shared_secret_length(curve: ec.EllipticCurve | None) -> int:
    """Bytes of the raw shared secret: 32 for X25519, the field size for a NIST curve."""
    return 32 if curve is None else (curve.key_size + 7) // 8


def _curve_label(curve: ec.EllipticCurve | None) -> str:
    return "X25519" if curve is None else curve.name


def _matches(public: PublicKeyTypes, curve: ec.EllipticCurve | None) -> bool:
    if curve is None:
        return isinstance(public, x25519.X25519PublicKey)
    return isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == curve.name


class EcdhKey(LoadedKey):
    """A key agreement key version on X25519 (``curve=None``) or a NIST curve."""

    __slots__ = ("_curve", "_private", "_public_pem")

    def __init__(
        self,
        key_type: KeyType,
        material: bytes,
        *,
        curve: ec.EllipticCurve | None,
        trusted: bool = False,  # uniform loader signature; nothing to skip
    ) -> None:
        super().__init__(key_type)
        private = load_private_key(key_type, material)
        expected = x25519.X25519PrivateKey if curve is None else ec.EllipticCurvePrivateKey
        if not isinstance(private, expected) or not _matches(private.public_key(), curve):
            label = _curve_label(curve)
            raise InvalidKeyMaterial(material_problem(key_type, f"expected an {label} key"))
        self._curve = curve
        self._private: x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey | None = cast(
            x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey,
            private,  # narrowed just above
        )
        self._public_pem = public_key_pem(private.public_key())

    @property
    def has_private(self) -> bool:
        return self._private is not None

    def derive_shared_secret(self, peer_public_key: str | bytes) -> bytes:
        """The raw shared secret with ``peer_public_key``; InvalidPeerKey if it is unusable."""
        self.key_type.require(DERIVE)
        private = self._private
        if private is None:
            self._no_private(DERIVE)
        label = _curve_label(self._curve)
        problem = f"the peer public key must be a PEM SubjectPublicKeyInfo of an {label} key"
        try:
            peer = load_public_key(self.key_type, peer_public_key)
        except InvalidKeyMaterial:
            raise InvalidPeerKey(problem) from None
        if not _matches(peer, self._curve):
            raise InvalidPeerKey(f"{problem} (it is another kind of key, or another curve)")
        try:
            if isinstance(private, x25519.X25519PrivateKey):
                assert isinstance(peer, x25519.X25519PublicKey)  # checked by _matches
                return private.exchange(peer)
            assert isinstance(peer, ec.EllipticCurvePublicKey)  # checked by _matches
            return private.exchange(ec.ECDH(), peer)
        except ValueError:  # X25519: a low-order point gives the all-zero secret
            raise InvalidPeerKey(f"{problem} (a low-order point)") from None

    def public_key_pem(self) -> str:
        """SubjectPublicKeyInfo PEM: what peers derive with."""
        return self._public_pem

    def export_material(self) -> str:
        """Unencrypted PKCS#8 PEM of the private key."""
        if self._private is None:
            self._no_private("export")
        return private_pem(self._private)
