"""The registry of key types: one entry per type, in the spec's order.

An entry states every fact about a type that code outside the crypto core needs:
its name, what it can do, how to generate fresh material, load it, import it and
load a public key alone, the hashes and paddings its operations accept (first =
default), its usage limit, and its sizes. Code elsewhere asks the entry
(``get_key_type(name).accepts_context``), never compares a type's name
(``key_type == "aes256"``). Adding a type is adding one entry to the table at the
end of this module; registering a name twice is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType

from cryptography.hazmat.primitives.asymmetric import ec

from kms.crypto import aes, ecdh, ecdsa, ed25519, mac, mldsa, mlkem, rsa
from kms.crypto.aad import aes_aad_prefix
from kms.crypto.errors import InvalidKeyMaterial, InvalidKeyType, OperationNotAllowed
from kms.crypto.loaded import LoadedKey
from kms.crypto.operations import (
    ALL_OPERATIONS,
    DECAPSULATE,
    DECRYPT,
    DERIVE,
    ENCRYPT,
    HMAC,
    SIGN,
    VERIFY,
)
from kms.crypto.pkcs8 import canonical_der, load_public_key, public_der

__all__ = [
    "ALL_KEY_TYPES",
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

RAW = "raw"
PKCS8 = "pkcs8"

NIST_GCM_RANDOM_NONCE_LIMIT = 2**32
"""SP 800-38D, section 8.3: at most 2**32 AES-GCM encryptions per key with random
96-bit nonces (keeps the chance of a repeated nonce under 2**-32)."""


@dataclass(frozen=True)
class KeyType:
    """One registered key type. Immutable; compared and hashed by its public fields.

    ``operations`` is authoritative for a key holding its private material: every
    LoadedKey operation checks it first, so a type that omits an operation refuses it
    even if its family implements it. ``public_operations`` is what a verify-only key
    (a public key alone, :meth:`load_public`) may do; empty if the type cannot be
    imported that way. Every version that holds material can also ``hmac`` with its
    version HMAC key (:mod:`kms.crypto.mac`), whatever ``operations`` says.

    ``hash_names`` and ``paddings`` list what the type's own operations accept (sign
    and verify; hmac for the ``hmac`` type), the first being the default; an empty tuple
    means the parameter must be omitted (None).

    Facts for callers:

    - ``summary``: what the type is for, one sentence for pages and CLI help;
    - ``material_format``: ``"raw"`` (``material_length`` bytes) or ``"pkcs8"``
      (unencrypted PKCS#8 DER), the stored and the imported form;
    - ``encrypt_limit``: the most encryptions one version may make (AES-GCM with random
      nonces: 2**32), None if unlimited; rotate before it;
    - ``accepts_context``: encrypt/decrypt take a ``context`` bound into the associated
      data (and :meth:`aad_prefix` is not empty);
    - ``prehash``: sign/verify accept the digest instead of the data;
    - ``sign_context_max``: the longest signing context (ML-DSA: 255), None if none;
    - ``max_plaintext``: the longest plaintext encrypt takes (RSA-OAEP), None if unbounded;
    - ``max_signature_length``: the longest valid signature in bytes (bounds request
      sizes: ML-DSA-87 signatures are 4,627 bytes);
    - ``ciphertext_length``: a decapsulation ciphertext's exact length (ML-KEM);
    - ``shared_secret_length``: what decapsulate / derive return;
    - ``jwk``: the public key can be rendered as a JWK (:mod:`kms.crypto.jwk`);
    - ``transit_name``: the Vault/OpenBao Transit name of the same algorithm, if any;
    - ``work``: what one item costs, as (private-key operation, public-key operation), in
      units of one 64-byte AES-GCM item (≈ 5 µs here; measured with the crypto core on
      this 2-core machine): throttles and batch limits count work with it
      (kms/dataplane/costs.py);
    - ``served``: offered by the services and the API. A type registered with
      ``served=False`` exists in the crypto core (generated, loaded, tested) but is
      not listed in :data:`KEY_TYPES` nor found by :func:`get_key_type` until its
      operations are wired; :data:`ALL_KEY_TYPES` lists every type.
    """

    name: str
    operations: frozenset[str]
    asymmetric: bool
    generator: Callable[[], bytes] = field(kw_only=True, repr=False, compare=False)
    # Called as loader(key_type, material, trusted=...): usually a LoadedKey subclass.
    loader: Callable[..., LoadedKey] = field(kw_only=True, repr=False, compare=False)
    # Called as public_loader(key_type, public_key): a LoadedKey holding no private key.
    public_loader: Callable[..., LoadedKey] | None = field(default=None, kw_only=True, repr=False, compare=False)
    hash_names: tuple[str, ...] = field(default=(), kw_only=True)
    paddings: tuple[str, ...] = field(default=(), kw_only=True)
    public_operations: frozenset[str] = field(default=frozenset(), kw_only=True)
    summary: str = field(default="", kw_only=True, compare=False)
    material_format: str = field(default=PKCS8, kw_only=True)
    material_length: int | None = field(default=None, kw_only=True)
    encrypt_limit: int | None = field(default=None, kw_only=True)
    accepts_context: bool = field(default=False, kw_only=True)
    prehash: bool = field(default=False, kw_only=True)
    sign_context_max: int | None = field(default=None, kw_only=True)
    max_plaintext: int | None = field(default=None, kw_only=True)
    max_signature_length: int | None = field(default=None, kw_only=True)
    ciphertext_length: int | None = field(default=None, kw_only=True)
    shared_secret_length: int | None = field(default=None, kw_only=True)
    jwk: bool = field(default=False, kw_only=True)
    transit_name: str | None = field(default=None, kw_only=True)
    work: tuple[int, int] = field(default=(1, 1), kw_only=True, compare=False)
    served: bool = field(default=True, kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.operations, frozenset) or not self.operations <= ALL_OPERATIONS:
            raise ValueError(f"operations must be a frozenset of {sorted(ALL_OPERATIONS)}")
        if not self.public_operations <= self.operations:
            raise ValueError("public_operations must be a subset of operations")
        if self.material_format not in (RAW, PKCS8):
            raise ValueError("material_format must be 'raw' or 'pkcs8'")
        if (self.material_format == RAW) != (self.material_length is not None):
            raise ValueError("material_length is stated for raw material, and only for it")
        if self.public_operations and self.public_loader is None:
            raise ValueError("a type with public_operations needs a public_loader")

    # --- facts derived from the fields ----------------------------------------------

    @property
    def has_public_key(self) -> bool:
        """Whether versions have a public key (``GET .../public``; asymmetric types)."""
        return self.asymmetric

    @property
    def default_hash(self) -> str | None:
        """The hash used when a call names none; None if the type takes no hash."""
        return self.hash_names[0] if self.hash_names else None

    @property
    def default_padding(self) -> str | None:
        """The padding used when a call names none; None if the type takes no padding."""
        return self.paddings[0] if self.paddings else None

    @property
    def importable_public(self) -> bool:
        """Whether a public key alone can be imported (a verify-only key)."""
        return bool(self.public_operations)

    @property
    def hmac_hash_names(self) -> tuple[str, ...]:
        """The hashes a version's HMAC takes (every type), the first being the default."""
        return mac.HMAC_HASH_NAMES

    # --- behaviour ------------------------------------------------------------------

    def generate(self) -> bytes:
        """Fresh secret material in its stored form: raw bytes for ``"raw"`` types,
        unencrypted PKCS#8 DER for the others.
        """
        return self.generator()

    def load(self, material: bytes, *, trusted: bool = False) -> LoadedKey:
        """A usable key object for ``material``; InvalidKeyMaterial if it does not hold a key
        of this type and size.

        ``trusted=True`` skips the costly RSA key consistency check (~60 ms for rsa2048,
        ~0.4 s for rsa4096). Pass it only for material this system generated and that
        has just been authenticated by :meth:`MasterKey.unwrap`; never for imported keys.
        """
        loaded = self.loader(self, material, trusted=trusted)
        loaded._version_hmac = mac.HmacSha2(self.version_hmac_key(material))  # noqa: SLF001
        return loaded

    def load_public(self, public_key: str | bytes) -> LoadedKey:
        """A verify-only key from a public key alone (PEM SubjectPublicKeyInfo, or its DER
        bytes): it performs ``public_operations`` only. OperationNotAllowed if the type has
        none; InvalidKeyMaterial if the key is not one of this type, curve and size.
        """
        if self.public_loader is None or not self.public_operations:
            raise OperationNotAllowed(f"a {self.name} public key alone can do nothing here; import its private key")
        return self.public_loader(self, public_key)

    def import_material(self, material: bytes, *, public_key: str | bytes | None = None) -> bytes:
        """Check imported material fully and return it in its stored (canonical) form.

        ``"raw"`` types take exactly ``material_length`` bytes; the others unencrypted
        PKCS#8 DER of this type, curve and size (RSA keys pass the full consistency
        check), re-encoded as Egide encodes generated keys. If ``public_key`` (PEM or DER
        SubjectPublicKeyInfo) is given, the private key must be its pair.
        InvalidKeyMaterial otherwise, never echoing the material.
        """
        loaded = self.load(material, trusted=False)
        stored = material if self.material_format == RAW else canonical_der(self, material)
        if public_key is not None:
            if not self.has_public_key:
                raise InvalidKeyMaterial(f"{self.name} keys have no public key")
            given = public_der(load_public_key(self, public_key))
            own = public_der(load_public_key(self, loaded.public_key_pem() or ""))
            if given != own:
                raise InvalidKeyMaterial(f"the {self.name} private key does not match the given public key")
        return stored

    def version_hmac_key(self, material: bytes) -> bytes:
        """The HMAC key of a version with ``material`` (:mod:`kms.crypto.mac`): the material
        itself for the ``hmac`` type, an HKDF derivation of it for every other type.
        """
        if HMAC in self.operations:
            return material
        return mac.version_hmac_key(self.name, material)

    def aad_prefix(self, key_uid: bytes, version: int) -> bytes:
        """The associated-data prefix of an encryption with this type (``aes_aad_prefix``
        for types that bind a context; empty for the others, e.g. RSA-OAEP).
        """
        return aes_aad_prefix(key_uid, version) if self.accepts_context else b""

    def supports(self, operation: str) -> bool:
        """Whether this type may perform ``operation``."""
        return operation in self.operations

    def require(self, operation: str) -> None:
        """OperationNotAllowed unless this type may perform ``operation``."""
        if operation not in self.operations:
            raise OperationNotAllowed(f"key type '{self.name}' cannot {operation}")


_REGISTRY: dict[str, KeyType] = {}
_SERVED: dict[str, KeyType] = {}
ALL_KEY_TYPES: Mapping[str, KeyType] = MappingProxyType(_REGISTRY)
"""Every registered type, served or not, in registration order."""
KEY_TYPES: Mapping[str, KeyType] = MappingProxyType(_SERVED)
"""The types the services and the API offer (``served``), in registration order."""


def register(key_type: KeyType) -> None:
    """Add ``key_type`` to the registry; ValueError if its name is taken."""
    if key_type.name in _REGISTRY:
        raise ValueError(f"key type '{key_type.name}' is already registered")
    _REGISTRY[key_type.name] = key_type
    if key_type.served:
        _SERVED[key_type.name] = key_type


def get_key_type(name: str, *, served_only: bool = True) -> KeyType:
    """The registered type called ``name``; InvalidKeyType (listing valid names) otherwise.

    By default only served types are found; ``served_only=False`` finds every type.
    """
    table = _SERVED if served_only else _REGISTRY
    key_type = table.get(name) if isinstance(name, str) else None
    if key_type is None:
        raise InvalidKeyType(f"unknown key type; valid types are: {', '.join(table)}")
    return key_type


_CRYPT = frozenset({ENCRYPT, DECRYPT})
_SIGN = frozenset({SIGN, VERIFY})
_VERIFY = frozenset({VERIFY})
_RSA_HASHES = ("sha256", "sha384", "sha512")
_RSA_PADDINGS = ("pss", "pkcs1v15")
_P256, _P384 = ec.SECP256R1(), ec.SECP384R1()


def _rsa(bits: int) -> KeyType:
    return KeyType(
        f"rsa{bits}",
        _CRYPT | _SIGN,
        True,
        generator=partial(rsa.generate, bits),
        loader=partial(rsa.RsaKey, bits=bits),
        public_loader=partial(rsa.RsaKey.verify_only, bits=bits),
        public_operations=frozenset({ENCRYPT, VERIFY}),
        hash_names=_RSA_HASHES,
        paddings=_RSA_PADDINGS,
        summary=f"RSA-{bits}: encrypt small secrets (RSA-OAEP) and sign (RSA-PSS or PKCS#1 v1.5)",
        prehash=True,
        max_plaintext=rsa.max_plaintext(bits),
        max_signature_length=bits // 8,
        jwk=True,
        transit_name=f"rsa-{bits}",
        work=(80, 7) if bits == 2048 else (430, 22),
    )


def _ecdsa(curve: ec.EllipticCurve, bits: int, hash_name: str) -> KeyType:
    return KeyType(
        f"ecdsa-p{bits}",
        _SIGN,
        True,
        generator=partial(ecdsa.generate, curve),
        loader=partial(ecdsa.EcdsaKey, curve=curve),
        public_loader=partial(ecdsa.EcdsaKey.verify_only, curve=curve),
        public_operations=_VERIFY,
        hash_names=(hash_name,),
        summary=f"ECDSA on P-{bits} with {hash_name.upper()}: compact signatures",
        prehash=True,
        max_signature_length=ecdsa.max_signature_length(curve),
        jwk=True,
        transit_name=f"ecdsa-p{bits}",
        work=(5, 22) if bits == 256 else (65, 140),
    )


def _mldsa(params: mldsa.ParameterSet, level: int) -> KeyType:
    return KeyType(
        params.name.lower(),
        _SIGN,
        True,
        generator=partial(mldsa.generate, params),
        loader=partial(mldsa.MlDsaKey, params=params),
        public_loader=partial(mldsa.MlDsaKey.verify_only, params=params),
        public_operations=_VERIFY,
        summary=f"{params.name} (FIPS 204, security category {level}): post-quantum signatures",
        sign_context_max=mldsa.MAX_CONTEXT_LENGTH,
        max_signature_length=params.signature_length,
        work={2: (170, 33), 3: (280, 50)}.get(level, (330, 77)),
    )


def _mlkem(params: mlkem.ParameterSet, level: int) -> KeyType:
    return KeyType(
        params.name.lower(),
        frozenset({DECAPSULATE}),
        True,
        generator=partial(mlkem.generate, params),
        loader=partial(mlkem.MlKemKey, params=params),
        summary=(
            f"{params.name} (FIPS 203, security category {level}): post-quantum key "
            "encapsulation; callers encapsulate to the public key, Egide decapsulates"
        ),
        ciphertext_length=params.ciphertext_length,
        shared_secret_length=mlkem.SHARED_SECRET_LENGTH,
        work=(12, 12),
    )


def _ecdh(name: str, curve: ec.EllipticCurve | None, label: str) -> KeyType:
    return KeyType(
        name,
        frozenset({DERIVE}),
        True,
        generator=partial(ecdh.generate, curve),
        loader=partial(ecdh.EcdhKey, curve=curve),
        summary=f"{label} key agreement: derive a raw shared secret with a peer's public key",
        shared_secret_length=ecdh.shared_secret_length(curve),
        work=(140, 140) if curve is _P384 else (20, 20),
    )


# The table, in the spec's order.
for _entry in (
    KeyType(
        "aes256",
        _CRYPT,
        False,
        generator=aes.generate,
        loader=aes.AesGcmKey,
        summary="AES-256-GCM: encrypt data and data keys, bound to an optional context",
        material_format=RAW,
        material_length=aes.KEY_LENGTH,
        encrypt_limit=NIST_GCM_RANDOM_NONCE_LIMIT,
        accepts_context=True,
        transit_name="aes256-gcm96",
    ),
    _rsa(2048),
    _rsa(4096),
    _ecdsa(_P256, 256, "sha256"),
    _ecdsa(_P384, 384, "sha384"),
    KeyType(
        "ed25519",
        _SIGN,
        True,
        generator=ed25519.generate,
        loader=ed25519.Ed25519Key,
        public_loader=ed25519.Ed25519Key.verify_only,
        public_operations=_VERIFY,
        summary="Ed25519: fast deterministic signatures over the whole message",
        max_signature_length=ed25519.SIGNATURE_LENGTH,
        jwk=True,
        transit_name="ed25519",
        work=(9, 32),
    ),
    KeyType(
        "hmac",
        frozenset({HMAC, VERIFY}),
        False,
        generator=mac.generate,
        loader=mac.HmacKey,
        hash_names=mac.HMAC_HASH_NAMES,
        summary="HMAC-SHA-256/384/512: authenticate data with a shared secret",
        material_format=RAW,
        material_length=mac.KEY_LENGTH,
        transit_name="hmac",
    ),
    _mldsa(mldsa.ML_DSA_44, 2),
    _mldsa(mldsa.ML_DSA_65, 3),
    _mldsa(mldsa.ML_DSA_87, 5),
    _mlkem(mlkem.ML_KEM_768, 3),
    _mlkem(mlkem.ML_KEM_1024, 5),
    _ecdh("x25519", None, "X25519"),
    _ecdh("ecdh-p256", _P256, "ECDH P-256"),
    _ecdh("ecdh-p384", _P384, "ECDH P-384"),
):
    register(_entry)
