"""ml-kem-768, ml-kem-1024: ML-KEM (FIPS 203) key encapsulation; Egide decapsulates.

Callers encapsulate locally with the published public key (PEM SubjectPublicKeyInfo)
and send the ciphertext; :meth:`MlKemKey.decapsulate` returns the 32-byte shared
secret. A ciphertext of the right length that was not made for this key yields a
pseudo-random secret rather than an error (FIPS 203's implicit rejection), so that
decapsulation is no oracle; a ciphertext of the wrong length is InvalidCiphertext.

Material is the unencrypted PKCS#8 DER that ``cryptography`` writes (the 64-byte
seed form).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from cryptography.hazmat.primitives.asymmetric import mlkem

from kms.crypto.errors import InvalidCiphertext, InvalidKeyMaterial
from kms.crypto.loaded import LoadedKey
from kms.crypto.operations import DECAPSULATE
from kms.crypto.pkcs8 import (
    load_private_key,
    material_problem,
    private_pem,
    public_key_pem,
    to_pkcs8_der,
)

if TYPE_CHECKING:
    from kms.crypto.keytypes import KeyType

SHARED_SECRET_LENGTH = 32

PrivateKey = mlkem.MLKEM768PrivateKey | mlkem.MLKEM1024PrivateKey
PublicKey = mlkem.MLKEM768PublicKey | mlkem.MLKEM1024PublicKey


@dataclass(frozen=True)
class ParameterSet:
    """One ML-KEM parameter set: its classes and sizes (FIPS 203, table 3)."""

    name: str
    private_class: type[PrivateKey]
    public_class: type[PublicKey]
    public_key_length: int
    ciphertext_length: int


ML_KEM_768 = ParameterSet("ML-KEM-768", mlkem.MLKEM768PrivateKey, mlkem.MLKEM768PublicKey, 1184, 1088)
ML_KEM_1024 = ParameterSet("ML-KEM-1024", mlkem.MLKEM1024PrivateKey, mlkem.MLKEM1024PublicKey, 1568, 1568)


def generate(params: ParameterSet) -> bytes:
    """Fresh ML-KEM private key (seed form) as unencrypted PKCS#8 DER."""
    return to_pkcs8_der(params.private_class.generate())


class MlKemKey(LoadedKey):
    """An ML-KEM key version: decapsulate; its public key is published."""

    __slots__ = ("_params", "_private", "_public_pem")

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
        self._params = params
        self._private: PrivateKey | None = cast(PrivateKey, private)  # narrowed just above
        self._public_pem = public_key_pem(private.public_key())

    @property
    def has_private(self) -> bool:
        return self._private is not None

    def decapsulate(self, ciphertext: bytes) -> bytes:
        """The 32-byte shared secret; InvalidCiphertext if the length is not the set's."""
        self.key_type.require(DECAPSULATE)
        if self._private is None:
            self._no_private(DECAPSULATE)
        if not isinstance(ciphertext, bytes) or len(ciphertext) != self._params.ciphertext_length:
            raise InvalidCiphertext(f"an {self._params.name} ciphertext is {self._params.ciphertext_length} bytes")
        return self._private.decapsulate(ciphertext)

    def public_key_pem(self) -> str:
        """SubjectPublicKeyInfo PEM: callers encapsulate to it."""
        return self._public_pem

    def export_material(self) -> str:
        """Unencrypted PKCS#8 PEM of the private key (seed form)."""
        if self._private is None:
            self._no_private("export")
        return private_pem(self._private)
