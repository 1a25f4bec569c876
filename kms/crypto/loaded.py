"""LoadedKey: one key version's usable key object.

A LoadedKey holds prebuilt ``cryptography`` objects so that repeated operations
do no parsing; servers cache one per key version. It never shows its bytes in
``repr``, refuses to be pickled or copied, and gives out secret material only
through the explicit :meth:`LoadedKey.export_material` (and the version's HMAC key
only through :meth:`LoadedKey.export_hmac_key`).

A key loaded from a public key alone (:meth:`KeyType.load_public`) is *verify-only*:
``has_private`` is False and only the type's ``public_operations`` work; the others
raise :class:`OperationNotAllowed` saying that the version holds no private key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from kms.crypto.errors import InvalidRequest, OperationNotAllowed
from kms.crypto.operations import DECAPSULATE, DECRYPT, DERIVE, ENCRYPT, HMAC, SIGN, VERIFY

if TYPE_CHECKING:
    from kms.crypto.keytypes import KeyType
    from kms.crypto.mac import HmacSha2


class LoadedKey:
    """Base class; each key family overrides the operations its types can perform.

    Every operation first checks the key type's operations matrix, so an
    operation the type does not list raises :class:`OperationNotAllowed` even if
    the family implements it.
    """

    __slots__ = ("_version_hmac", "key_type")

    def __init__(self, key_type: KeyType) -> None:
        self.key_type = key_type
        # Set by KeyType.load from the version's material; None for verify-only keys.
        self._version_hmac: HmacSha2 | None = None

    @property
    def has_private(self) -> bool:
        """False for a verify-only key loaded from a public key alone."""
        return True

    def encrypt(self, plaintext: bytes, *, context: bytes | None = None, aad_prefix: bytes = b"") -> bytes:
        """Encrypt ``plaintext``; return the raw blob (not the token)."""
        self._refuse(ENCRYPT)

    def decrypt(self, blob: bytes, *, context: bytes | None = None, aad_prefix: bytes = b"") -> bytes:
        """Decrypt a raw blob; InvalidCiphertext (one generic message) on any failure."""
        self._refuse(DECRYPT)

    def sign(
        self,
        data: bytes,
        *,
        hash_name: str | None = None,
        padding: str | None = None,
        prehashed: bool = False,
        context: bytes | None = None,
    ) -> bytes:
        """Sign ``data`` (or, with ``prehashed``, its digest); return the raw signature.

        ``context`` is ML-DSA's context string (at most 255 bytes); other types refuse it.
        """
        self._refuse(SIGN)

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
        """True if ``signature`` is valid for ``data``; False if not (including any malformed
        signature); InvalidRequest on bad parameters.
        """
        self._refuse(VERIFY)

    def hmac(self, data: bytes, *, hash_name: str | None = None) -> bytes:
        """HMAC of ``data`` with this version's HMAC key (sha256 by default, sha384, sha512).

        Every version that holds material has an HMAC key (the ``hmac`` type's is its
        material; the others' is derived from it, see :mod:`kms.crypto.mac`), so this
        works for every type; a verify-only key refuses it.
        """
        return self._hmac_key().compute(data, hash_name=hash_name)

    def verify_hmac(self, data: bytes, tag: bytes, *, hash_name: str | None = None) -> bool:
        """True if ``tag`` is the HMAC of ``data`` under this version (constant-time)."""
        return self._hmac_key().verify(data, tag, hash_name=hash_name)

    def export_hmac_key(self) -> str:
        """Standard base64 of this version's HMAC key (Transit's ``hmac-key`` export)."""
        return self._hmac_key().export()

    def decapsulate(self, ciphertext: bytes) -> bytes:
        """The ML-KEM shared secret of ``ciphertext`` (encapsulated to the public key)."""
        self._refuse(DECAPSULATE)

    def derive_shared_secret(self, peer_public_key: str | bytes) -> bytes:
        """The raw shared secret with a peer's public key (PEM SubjectPublicKeyInfo, or its
        DER); InvalidPeerKey if the peer key is not a valid key of this key's curve.
        """
        self._refuse(DERIVE)

    def public_key_pem(self) -> str | None:
        """SubjectPublicKeyInfo PEM of the public key; None for symmetric keys."""
        return None

    def export_material(self) -> str:
        """Secret key material as text. An explicit act: call it only to export."""
        raise NotImplementedError

    def _hmac_key(self) -> HmacSha2:
        if self._version_hmac is None:
            self._no_private(HMAC)
        return self._version_hmac

    def _refuse(self, operation: str) -> NoReturn:
        self.key_type.require(operation)
        raise OperationNotAllowed(f"key type '{self.key_type.name}' cannot {operation}")

    def _no_private(self, operation: str) -> NoReturn:
        raise OperationNotAllowed(
            f"this {self.key_type.name} key version holds only a public key (verify-only); it cannot {operation}"
        )

    def __repr__(self) -> str:
        kind = "" if self.has_private else " verify-only"
        return f"<LoadedKey {self.key_type.name}{kind}>"

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


def refuse_context(key_type: KeyType, context: bytes | None) -> None:
    """InvalidRequest if a context was given to a type whose operation takes none."""
    if context is not None:
        raise InvalidRequest(f"{key_type.name} keys take no context")
