"""ml-dsa-44, ml-dsa-65, ml-dsa-87: pure ML-DSA (FIPS 204) signatures.

Signing is over the whole message with an optional context string of at most 255
bytes (FIPS 204, section 5.2); the backend (OpenSSL, through ``cryptography``) signs
in the default *hedged* mode, so two signatures of the same data differ. Not offered:
HashML-DSA (the prehashed variant, FIPS 204 section 5.4) and external-mu signing, so
``prehashed``, ``hash_name`` and ``padding`` are refused.

Material is the unencrypted PKCS#8 DER that ``cryptography`` writes: the 32-byte seed
form (RFC 9881's ``seed`` choice). Keys holding only the expanded private key (no
seed) cannot be loaded by the backend and are refused on import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from cryptography.exceptions import InvalidSignature as BadSignature
from cryptography.hazmat.primitives.asymmetric import mldsa

from kms.crypto.errors import InvalidKeyMaterial, InvalidRequest
from kms.crypto.loaded import LoadedKey, require_bytes
from kms.crypto.operations import SIGN, VERIFY
from kms.crypto.pkcs8 import (
    load_private_key,
    load_public_key,
    material_problem,
    private_pem,
    public_key_pem,
    to_pkcs8_der,
)

if TYPE_CHECKING:
    from kms.crypto.keytypes import KeyType

MAX_CONTEXT_LENGTH = 255

PrivateKey = mldsa.MLDSA44PrivateKey | mldsa.MLDSA65PrivateKey | mldsa.MLDSA87PrivateKey
PublicKey = mldsa.MLDSA44PublicKey | mldsa.MLDSA65PublicKey | mldsa.MLDSA87PublicKey


@dataclass(frozen=True)
class ParameterSet:
    """One ML-DSA parameter set: its classes and sizes (FIPS 204, table 2)."""

    name: str
    private_class: type[PrivateKey]
    public_class: type[PublicKey]
    public_key_length: int
    signature_length: int


ML_DSA_44 = ParameterSet("ML-DSA-44", mldsa.MLDSA44PrivateKey, mldsa.MLDSA44PublicKey, 1312, 2420)
ML_DSA_65 = ParameterSet("ML-DSA-65", mldsa.MLDSA65PrivateKey, mldsa.MLDSA65PublicKey, 1952, 3309)
ML_DSA_87 = ParameterSet("ML-DSA-87", mldsa.MLDSA87PrivateKey, mldsa.MLDSA87PublicKey, 2592, 4627)


def generate(params: ParameterSet) -> bytes:
    """Fresh ML-DSA private key (seed form) as unencrypted PKCS#8 DER."""
    return to_pkcs8_der(params.private_class.generate())


class MlDsaKey(LoadedKey):
    """An ML-DSA key version of one parameter set."""

    __slots__ = ("_params", "_private", "_public", "_public_pem")

    def __init__(
        self,
        key_type: KeyType,
        material: bytes,
        *,
        params: ParameterSet,
        trusted: bool = False,  # uniform loader signature; nothing to skip
    ) -> None:
        super().__init__(key_type)
        private = load_private_key(key_type, material)
        if not isinstance(private, params.private_class):
            raise InvalidKeyMaterial(material_problem(key_type, f"expected an {params.name} key"))
        self._private: PrivateKey | None = cast(PrivateKey, private)  # narrowed just above
        self._set_public(cast(PublicKey, private.public_key()), params)

    @classmethod
    def verify_only(cls, key_type: KeyType, public_key: str | bytes, *, params: ParameterSet) -> MlDsaKey:
        """A verify-only key from a public key (PEM SubjectPublicKeyInfo or its DER)."""
        public = load_public_key(key_type, public_key)
        if not isinstance(public, params.public_class):
            raise InvalidKeyMaterial(f"{key_type.name} public key must be an {params.name} key")
        self = cls.__new__(cls)
        LoadedKey.__init__(self, key_type)
        self._private = None
        self._set_public(cast(PublicKey, public), params)
        return self

    def _set_public(self, public: PublicKey, params: ParameterSet) -> None:
        self._params = params
        self._public = public
        self._public_pem = public_key_pem(public)

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
        """The pure ML-DSA signature of ``data`` under ``context`` (none: the empty string)."""
        self.key_type.require(SIGN)
        if self._private is None:
            self._no_private(SIGN)
        self._check(data, hash_name, padding, prehashed, context)
        return self._private.sign(data, context)

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
        """True if valid for ``data`` and ``context``; False for any wrong signature or one
        whose length is not the parameter set's.
        """
        self.key_type.require(VERIFY)
        self._check(data, hash_name, padding, prehashed, context)
        require_bytes(signature, "signature")
        if len(signature) != self._params.signature_length:
            return False
        try:
            self._public.verify(signature, data, context)
        except BadSignature:
            return False
        return True

    def _check(
        self,
        data: bytes,
        hash_name: str | None,
        padding: str | None,
        prehashed: bool,
        context: bytes | None,
    ) -> None:
        require_bytes(data, "data")
        name = self.key_type.name
        if hash_name is not None or padding is not None:
            raise InvalidRequest(f"{name} keys take no hash or padding (pure ML-DSA)")
        if prehashed is not False:
            raise InvalidRequest(f"{name} signs the data itself; HashML-DSA is not offered")
        if context is not None:
            require_bytes(context, "context")
            if len(context) > MAX_CONTEXT_LENGTH:
                raise InvalidRequest(f"an ML-DSA context is at most {MAX_CONTEXT_LENGTH} bytes; got {len(context)}")

    def public_key_pem(self) -> str:
        """SubjectPublicKeyInfo PEM (RFC 9881), as OpenSSL 3.5+ and pyca load it."""
        return self._public_pem

    def export_material(self) -> str:
        """Unencrypted PKCS#8 PEM of the private key (seed form)."""
        if self._private is None:
            self._no_private("export")
        return private_pem(self._private)
