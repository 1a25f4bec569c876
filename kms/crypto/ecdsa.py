"""ecdsa-p256 (SHA-256) and ecdsa-p384 (SHA-384): ECDSA with DER-encoded signatures.

Each curve is paired with one hash, stated on its KeyType entry; another hash or
any padding is refused.

Verification is strict and does not rely on the backend for it: a signature is the
one DER encoding of ``SEQUENCE { INTEGER r, INTEGER s }`` with 0 < r, s < n
(:func:`strict_der_signature`). Trailing bytes, long-form or non-minimal lengths,
leading zero bytes, negative integers, r or s equal to 0 or at least n are all
``verify() -> False``, never an exception.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature as BadSignature
from cryptography.hazmat.primitives.asymmetric import ec

from kms.crypto.errors import InvalidKeyMaterial
from kms.crypto.loaded import LoadedKey, refuse_context, require_bytes
from kms.crypto.operations import SIGN, VERIFY
from kms.crypto.pkcs8 import (
    load_private_key,
    load_public_key,
    material_problem,
    private_pem,
    public_key_pem,
    to_pkcs8_der,
)
from kms.crypto.signparams import resolve_hash, resolve_padding, signing_algorithm

if TYPE_CHECKING:
    from kms.crypto.keytypes import KeyType

# The group orders (SEC 2 / FIPS 186-5, section 6.1.2).
ORDERS: dict[str, int] = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
}


def generate(curve: ec.EllipticCurve) -> bytes:
    """Fresh private key on ``curve`` as unencrypted PKCS#8 DER."""
    return to_pkcs8_der(ec.generate_private_key(curve))


def max_signature_length(curve: ec.EllipticCurve) -> int:
    """Longest DER signature on ``curve`` (72 bytes for P-256, 104 for P-384)."""
    integer = (curve.key_size + 7) // 8 + 1  # a leading zero when the top bit is set
    return 2 + 2 * (2 + integer)


def strict_der_signature(signature: bytes, order: int) -> tuple[int, int] | None:
    """(r, s) if ``signature`` is the canonical DER ``SEQUENCE { r, s }`` with 0 < r, s < n;
    None for anything else. Lengths are short-form only: no signature on these curves
    reaches 128 bytes, so a long form is always non-minimal.
    """
    if not 8 <= len(signature) < 0x82 or signature[:2] != bytes((0x30, len(signature) - 2)):
        return None
    r, position = _der_integer(signature, 2)
    if r is None:
        return None
    s, position = _der_integer(signature, position)
    if s is None or position != len(signature):
        return None
    if not (0 < r < order and 0 < s < order):
        return None
    return r, s


def _der_integer(blob: bytes, position: int) -> tuple[int | None, int]:
    """The minimal, positive DER INTEGER at ``position`` and the position after it."""
    if position + 2 > len(blob) or blob[position] != 0x02:
        return None, position
    length = blob[position + 1]
    start, end = position + 2, position + 2 + length
    if length == 0 or length >= 0x80 or end > len(blob):
        return None, position
    body = blob[start:end]
    if body[0] & 0x80:  # negative
        return None, position
    if length > 1 and body[0] == 0 and not body[1] & 0x80:  # a needless leading zero
        return None, position
    return int.from_bytes(body, "big"), end


class EcdsaKey(LoadedKey):
    """An ECDSA key version on a fixed curve, signing with the curve's own hash."""

    __slots__ = ("_order", "_private", "_public", "_public_pem")

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
        self._private: ec.EllipticCurvePrivateKey | None = private
        self._set_public(private.public_key())

    @classmethod
    def verify_only(cls, key_type: KeyType, public_key: str | bytes, *, curve: ec.EllipticCurve) -> EcdsaKey:
        """A verify-only key from a public key (PEM SubjectPublicKeyInfo or its DER)."""
        public = load_public_key(key_type, public_key)
        if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != curve.name:
            raise InvalidKeyMaterial(f"{key_type.name} public key must be a {curve.name} key")
        self = cls.__new__(cls)
        LoadedKey.__init__(self, key_type)
        self._private = None
        self._set_public(public)
        return self

    def _set_public(self, public: ec.EllipticCurvePublicKey) -> None:
        self._public = public
        self._public_pem = public_key_pem(public)
        self._order = ORDERS[public.curve.name]

    @property
    def has_private(self) -> bool:
        return self._private is not None

    def sign(
        self,
        data: bytes,
        *,
        hash_name: str | None = None,
        padding: str | None = None,
        prehashed: bool = False,
        context: bytes | None = None,
    ) -> bytes:
        """DER-encoded ECDSA signature (randomized: two signatures of the same data differ)."""
        self.key_type.require(SIGN)
        if self._private is None:
            self._no_private(SIGN)
        refuse_context(self.key_type, context)
        return self._private.sign(data, self._algorithm(data, hash_name, padding, prehashed))

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
        """True if valid, False for any wrong, malformed or non-canonical signature."""
        self.key_type.require(VERIFY)
        refuse_context(self.key_type, context)
        algorithm = self._algorithm(data, hash_name, padding, prehashed)
        require_bytes(signature, "signature")
        if strict_der_signature(signature, self._order) is None:
            return False
        try:
            self._public.verify(signature, data, algorithm)
        except BadSignature:
            return False
        return True

    def _algorithm(self, data: bytes, hash_name: str | None, padding: str | None, prehashed: bool) -> ec.ECDSA:
        require_bytes(data, "data")
        resolve_padding(self.key_type, padding)
        name = resolve_hash(self.key_type, hash_name)
        return ec.ECDSA(signing_algorithm(name, data, prehashed))

    def public_key_pem(self) -> str:
        """SubjectPublicKeyInfo PEM."""
        return self._public_pem

    def export_material(self) -> str:
        """Unencrypted PKCS#8 PEM of the private key."""
        if self._private is None:
            self._no_private("export")
        return private_pem(self._private)
