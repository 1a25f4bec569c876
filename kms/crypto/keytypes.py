"""The registry of key types: one entry per type, in the spec's order.

An entry states a type's name, the operations it may perform, how to generate
fresh material and how to load it, and the hashes and paddings its signatures
accept (first = default). Adding a type is adding one entry to the table at the
end of this module; registering a name twice is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType

from cryptography.hazmat.primitives.asymmetric import ec

from kms.crypto import aes, ecdsa, ed25519, rsa
from kms.crypto.aad import aes_aad_prefix
from kms.crypto.errors import InvalidKeyType, OperationNotAllowed
from kms.crypto.loaded import LoadedKey
from kms.crypto.operations import ALL_OPERATIONS, DECRYPT, ENCRYPT, SIGN, VERIFY

__all__ = [
    "DECRYPT",
    "ENCRYPT",
    "KEY_TYPES",
    "SIGN",
    "VERIFY",
    "KeyType",
    "LoadedKey",
    "aes_aad_prefix",
    "get_key_type",
    "register",
]


@dataclass(frozen=True)
class KeyType:
    """One registered key type. Immutable; compared and hashed by its public fields.

    ``operations`` is authoritative: every LoadedKey operation checks it first, so a
    type that omits an operation refuses it even if its family implements it.
    ``hash_names`` and ``paddings`` list what sign/verify accept, the first being the
    default; an empty tuple means the parameter must be omitted (None).
    """

    name: str
    operations: frozenset[str]
    asymmetric: bool
    generator: Callable[[], bytes] = field(kw_only=True, repr=False, compare=False)
    # Called as loader(key_type, material, trusted=...): usually a LoadedKey subclass.
    loader: Callable[..., LoadedKey] = field(kw_only=True, repr=False, compare=False)
    hash_names: tuple[str, ...] = field(default=(), kw_only=True)
    paddings: tuple[str, ...] = field(default=(), kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.operations, frozenset) or not self.operations <= ALL_OPERATIONS:
            raise ValueError(f"operations must be a frozenset of {sorted(ALL_OPERATIONS)}")

    def generate(self) -> bytes:
        """Fresh secret material in its stored form: raw 32 bytes for aes256, unencrypted
        PKCS#8 DER for the asymmetric types.
        """
        return self.generator()

    def load(self, material: bytes, *, trusted: bool = False) -> LoadedKey:
        """A usable key object for ``material``; InvalidKeyMaterial if it does not hold a key
        of this type and size.

        ``trusted=True`` skips the costly RSA key consistency check (~60 ms for rsa2048,
        ~0.4 s for rsa4096). Pass it only for material this system generated and that
        has just been authenticated by :meth:`MasterKey.unwrap`; never for imported keys.
        """
        return self.loader(self, material, trusted=trusted)

    def supports(self, operation: str) -> bool:
        """Whether this type may perform ``operation``."""
        return operation in self.operations

    def require(self, operation: str) -> None:
        """OperationNotAllowed unless this type may perform ``operation``."""
        if operation not in self.operations:
            raise OperationNotAllowed(f"key type '{self.name}' cannot {operation}")


_REGISTRY: dict[str, KeyType] = {}
KEY_TYPES: Mapping[str, KeyType] = MappingProxyType(_REGISTRY)


def register(key_type: KeyType) -> None:
    """Add ``key_type`` to the registry; ValueError if its name is taken."""
    if key_type.name in _REGISTRY:
        raise ValueError(f"key type '{key_type.name}' is already registered")
    _REGISTRY[key_type.name] = key_type


def get_key_type(name: str) -> KeyType:
    """The registered type called ``name``; InvalidKeyType (listing valid names) otherwise."""
    key_type = _REGISTRY.get(name) if isinstance(name, str) else None
    if key_type is None:
        raise InvalidKeyType(f"unknown key type; valid types are: {', '.join(_REGISTRY)}")
    return key_type


_CRYPT = frozenset({ENCRYPT, DECRYPT})
_SIGN = frozenset({SIGN, VERIFY})
_RSA_HASHES = ("sha256", "sha384", "sha512")
_RSA_PADDINGS = ("pss", "pkcs1v15")
_P256, _P384 = ec.SECP256R1(), ec.SECP384R1()

# The table, in the spec's order.
for _entry in (
    KeyType("aes256", _CRYPT, False, generator=aes.generate, loader=aes.AesGcmKey),
    KeyType(
        "rsa2048",
        _CRYPT | _SIGN,
        True,
        generator=partial(rsa.generate, 2048),
        loader=partial(rsa.RsaKey, bits=2048),
        hash_names=_RSA_HASHES,
        paddings=_RSA_PADDINGS,
    ),
    KeyType(
        "rsa4096",
        _CRYPT | _SIGN,
        True,
        generator=partial(rsa.generate, 4096),
        loader=partial(rsa.RsaKey, bits=4096),
        hash_names=_RSA_HASHES,
        paddings=_RSA_PADDINGS,
    ),
    KeyType(
        "ecdsa-p256",
        _SIGN,
        True,
        generator=partial(ecdsa.generate, _P256),
        loader=partial(ecdsa.EcdsaKey, curve=_P256),
        hash_names=("sha256",),
    ),
    KeyType(
        "ecdsa-p384",
        _SIGN,
        True,
        generator=partial(ecdsa.generate, _P384),
        loader=partial(ecdsa.EcdsaKey, curve=_P384),
        hash_names=("sha384",),
    ),
    KeyType("ed25519", _SIGN, True, generator=ed25519.generate, loader=ed25519.Ed25519Key),
):
    register(_entry)
