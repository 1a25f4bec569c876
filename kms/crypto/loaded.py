"""LoadedKey: one key version's usable key object.

A LoadedKey holds prebuilt ``cryptography`` objects so that repeated operations
do no parsing; servers cache one per key version. It never shows its bytes in
``repr``, refuses to be pickled or copied, and gives out secret material only
through the explicit :meth:`LoadedKey.export_material`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from kms.crypto.errors import InvalidRequest, OperationNotAllowed
from kms.crypto.operations import DECRYPT, ENCRYPT, SIGN, VERIFY

if TYPE_CHECKING:
    from kms.crypto.keytypes import KeyType


class LoadedKey:
    """Base class; each key family overrides the operations its types can perform.

    Every operation first checks the key type's operations matrix, so an
    operation the type does not list raises :class:`OperationNotAllowed` even if
    the family implements it.
    """

    __slots__ = ("key_type",)

    def __init__(self, key_type: KeyType) -> None:
        self.key_type = key_type

    def encrypt(
        self, plaintext: bytes, *, context: bytes | None = None, aad_prefix: bytes = b""
    ) -> bytes:
        """Encrypt ``plaintext``; return the raw blob (not the token)."""
        self._refuse(ENCRYPT)

    def decrypt(
        self, blob: bytes, *, context: bytes | None = None, aad_prefix: bytes = b""
    ) -> bytes:
        """Decrypt a raw blob; InvalidCiphertext (one generic message) on any failure."""
        self._refuse(DECRYPT)

    def sign(
        self,
        data: bytes,
        *,
        hash_name: str | None = None,
        padding: str | None = None,
        prehashed: bool = False,
    ) -> bytes:
        """Sign ``data`` (or, with ``prehashed``, its digest); return the raw signature."""
        self._refuse(SIGN)

    def verify(
        self,
        data: bytes,
        signature: bytes,
        *,
        hash_name: str | None = None,
        padding: str | None = None,
        prehashed: bool = False,
    ) -> bool:
        """True if ``signature`` is valid for ``data``; False if not; InvalidRequest on bad
        parameters.
        """
        self._refuse(VERIFY)

    def public_key_pem(self) -> str | None:
        """SubjectPublicKeyInfo PEM of the public key; None for symmetric keys."""
        return None

    def export_material(self) -> str:
        """Secret key material as text. An explicit act: call it only to export."""
        raise NotImplementedError

    def _refuse(self, operation: str) -> NoReturn:
        self.key_type.require(operation)
        raise OperationNotAllowed(f"key type '{self.key_type.name}' cannot {operation}")

    def __repr__(self) -> str:
        return f"<LoadedKey {self.key_type.name}>"

    def __reduce__(self) -> NoReturn:
        raise TypeError("LoadedKey cannot be pickled or copied: key material stays in memory")

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        self.__reduce__()

    def __getstate__(self) -> NoReturn:
        self.__reduce__()


def require_bytes(value: object, what: str) -> bytes:
    """Return ``value`` if it is bytes; InvalidRequest otherwise."""
    if not isinstance(value, bytes):
        raise InvalidRequest(f"{what} must be bytes")
    return value
