"""rsa2048 / rsa4096: RSA-OAEP (SHA-256, MGF1-SHA-256, no label) and RSA-PSS / PKCS#1 v1.5.

Encryption is raw OAEP so anyone with the public key can encrypt with standard
tools (``openssl pkeyutl -encrypt -pkeyopt rsa_padding_mode:oaep -pkeyopt
rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256``) and Egide decrypts. PSS uses a
salt as long as the digest and MGF1 with the signing hash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature as BadSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from kms.crypto.errors import (
    DECRYPT_FAILED,
    InvalidCiphertext,
    InvalidKeyMaterial,
    InvalidRequest,
)
from kms.crypto.loaded import LoadedKey, require_bytes
from kms.crypto.operations import DECRYPT, ENCRYPT, SIGN, VERIFY
from kms.crypto.pkcs8 import (
    load_private_key,
    load_public_key,
    material_problem,
    private_pem,
    public_key_pem,
    to_pkcs8_der,
)
from kms.crypto.signparams import HASHES, resolve_hash, resolve_padding, signing_algorithm

if TYPE_CHECKING:
    from kms.crypto.keytypes import KeyType

PUBLIC_EXPONENT = 65537
_OAEP_HASH = hashes.SHA256()
_OAEP = asym_padding.OAEP(mgf=asym_padding.MGF1(algorithm=_OAEP_HASH), algorithm=_OAEP_HASH, label=None)
_OAEP_OVERHEAD = 2 * _OAEP_HASH.digest_size + 2


def _sign_padding(name: str, algorithm: hashes.HashAlgorithm) -> asym_padding.AsymmetricPadding:
    if name == "pkcs1v15":
        return asym_padding.PKCS1v15()
    return asym_padding.PSS(mgf=asym_padding.MGF1(algorithm), salt_length=algorithm.digest_size)


# Built once: (padding name, hash name) -> padding object, shared by every key.
_SIGN_PADDINGS = {
    (pad, name): _sign_padding(pad, algorithm) for name, algorithm in HASHES.items() for pad in ("pss", "pkcs1v15")
}


def generate(bits: int) -> bytes:
    """Fresh RSA private key (e = 65537) as unencrypted PKCS#8 DER."""
    return to_pkcs8_der(rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=bits))


def max_plaintext(bits: int) -> int:
    """Largest plaintext OAEP-SHA256 encrypts under a ``bits`` modulus (190 / 446)."""
    return bits // 8 - _OAEP_OVERHEAD


class RsaKey(LoadedKey):
    """An RSA key version of a fixed modulus size (verify-only keys can also encrypt)."""

    __slots__ = ("_max_plaintext", "_private", "_public", "_public_pem", "_size")

    def __init__(self, key_type: KeyType, material: bytes, *, bits: int, trusted: bool = False) -> None:
        super().__init__(key_type)
        private = load_private_key(key_type, material, trusted=trusted)
        if not isinstance(private, rsa.RSAPrivateKey) or private.key_size != bits:
            raise InvalidKeyMaterial(material_problem(key_type, f"expected a {bits}-bit RSA key"))
        self._private: rsa.RSAPrivateKey | None = private
        self._set_public(private.public_key(), bits)

    @classmethod
    def verify_only(cls, key_type: KeyType, public_key: str | bytes, *, bits: int) -> RsaKey:
        """A key from a public key alone (PEM SubjectPublicKeyInfo or its DER): it can
        verify and encrypt; sign and decrypt are refused.
        """
        public = load_public_key(key_type, public_key)
        if not isinstance(public, rsa.RSAPublicKey) or public.key_size != bits:
            raise InvalidKeyMaterial(f"{key_type.name} public key must be a {bits}-bit RSA key")
        self = cls.__new__(cls)
        LoadedKey.__init__(self, key_type)
        self._private = None
        self._set_public(public, bits)
        return self

    def _set_public(self, public: rsa.RSAPublicKey, bits: int) -> None:
        self._public = public
        self._public_pem = public_key_pem(public)
        self._size = bits // 8
        self._max_plaintext = max_plaintext(bits)

    @property
    def has_private(self) -> bool:
        return self._private is not None

    def _private_key(self, operation: str) -> rsa.RSAPrivateKey:
        if self._private is None:
            self._no_private(operation)
        return self._private

    def encrypt(self, plaintext: bytes, *, context: bytes | None = None, aad_prefix: bytes = b"") -> bytes:
        """Raw OAEP ciphertext (modulus-sized). ``aad_prefix`` is ignored: OAEP here has no
        label, so that standard tools interoperate; ``context`` is refused.
        """
        self.key_type.require(ENCRYPT)
        _refuse_context(context)
        require_bytes(plaintext, "plaintext")
        if len(plaintext) > self._max_plaintext:
            raise InvalidRequest(
                f"plaintext is {len(plaintext)} bytes; {self.key_type.name} with OAEP-SHA256 "
                f"encrypts at most {self._max_plaintext} bytes; use a data key for larger data"
            )
        return self._public.encrypt(plaintext, _OAEP)

    def decrypt(self, blob: bytes, *, context: bytes | None = None, aad_prefix: bytes = b"") -> bytes:
        """The plaintext, or InvalidCiphertext with one generic message for any failure."""
        self.key_type.require(DECRYPT)
        private = self._private_key(DECRYPT)
        _refuse_context(context)
        if not isinstance(blob, bytes) or len(blob) != self._size:
            raise InvalidCiphertext(DECRYPT_FAILED)
        try:
            return private.decrypt(blob, _OAEP)
        except ValueError:
            raise InvalidCiphertext(DECRYPT_FAILED) from None

    def sign(
        self,
        data: bytes,
        *,
        hash_name: str | None = None,
        padding: str | None = None,
        prehashed: bool = False,
        context: bytes | None = None,
    ) -> bytes:
        """PSS (default) or PKCS#1 v1.5 signature over sha256 (default), sha384 or sha512."""
        self.key_type.require(SIGN)
        private = self._private_key(SIGN)
        _refuse_context(context)
        pad, algorithm = self._params(data, hash_name, padding, prehashed)
        return private.sign(data, pad, algorithm)

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
        """True if valid, False for any wrong or malformed signature, including one whose
        length is not exactly the modulus size (no leading zeros stripped or added).
        """
        self.key_type.require(VERIFY)
        _refuse_context(context)
        pad, algorithm = self._params(data, hash_name, padding, prehashed)
        require_bytes(signature, "signature")
        if len(signature) != self._size:
            return False
        try:
            self._public.verify(signature, data, pad, algorithm)
        except BadSignature:
            return False
        return True

    def _params(
        self, data: bytes, hash_name: str | None, padding: str | None, prehashed: bool
    ) -> tuple[asym_padding.AsymmetricPadding, hashes.HashAlgorithm | Prehashed]:
        require_bytes(data, "data")
        name = resolve_hash(self.key_type, hash_name)
        pad = _SIGN_PADDINGS[resolve_padding(self.key_type, padding), name]
        return pad, signing_algorithm(name, data, prehashed)

    def public_key_pem(self) -> str:
        """SubjectPublicKeyInfo PEM."""
        return self._public_pem

    def export_material(self) -> str:
        """Unencrypted PKCS#8 PEM of the private key."""
        return private_pem(self._private_key("export"))


def _refuse_context(context: bytes | None) -> None:
    if context is not None:
        raise InvalidRequest("context applies only to aes256 keys (and ML-DSA signatures)")
