"""CKM_RSA_AES_KEY_WRAP: how key material is brought into Egide without showing it.

The format of Vault/OpenBao Transit ``import`` and of AWS KMS
``RSA_AES_KEY_WRAP_SHA_256`` (PKCS#11 v2.40, section 2.1.21)::

    wrapped = RSA-OAEP(wrapping public key, SHA-256, MGF1-SHA-256, no label)(K)
              ‖ AES-KWP(K, material)            (RFC 5649, AES key wrap with padding)

where K is a fresh, ephemeral AES-256 key. The wrapping key is an RSA-4096 key held by
Egide like any key version (type :data:`WRAPPING_KEY_TYPE`); the importer wraps with
its public key (:func:`wrap`, which the CLI runs locally), Egide unwraps
(:func:`unwrap`). Any failure, of either layer, is one :class:`InvalidWrappedMaterial`
with one message, so the wrapping key is no oracle (Manger's attack needs to tell an
OAEP failure from a later one).
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes, keywrap
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa

from kms.crypto.errors import InvalidCiphertext, InvalidKeyMaterial, InvalidWrappedMaterial
from kms.crypto.loaded import LoadedKey
from kms.crypto.pkcs8 import load_public_key

WRAPPING_KEY_TYPE = "rsa4096"
WRAPPING_KEY_BITS = 4096
EPHEMERAL_KEY_LENGTH = 32
MAX_MATERIAL_LENGTH = 64 * 1024
_OAEP = asym_padding.OAEP(mgf=asym_padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
_HEAD = WRAPPING_KEY_BITS // 8
UNWRAP_FAILED = (
    "wrapped material could not be unwrapped: it must be CKM_RSA_AES_KEY_WRAP (RSA-OAEP-SHA256 "
    "of an AES-256 key, then AES-KWP of the material) made with this Egide's current wrapping key"
)


def kwp_wrap(kek: bytes, plaintext: bytes) -> bytes:
    """AES key wrap with padding (RFC 5649) of ``plaintext`` (1 byte or more) under ``kek``."""
    return keywrap.aes_key_wrap_with_padding(kek, plaintext)


def kwp_unwrap(kek: bytes, wrapped: bytes) -> bytes:
    """The plaintext of an RFC 5649 wrap; InvalidWrappedMaterial if it fails its check."""
    try:
        return keywrap.aes_key_unwrap_with_padding(kek, wrapped)
    except (keywrap.InvalidUnwrap, ValueError):
        raise InvalidWrappedMaterial(UNWRAP_FAILED) from None


def wrap(material: bytes, wrapping_public_key: str | bytes) -> bytes:
    """Wrap ``material`` for an Egide whose wrapping public key is ``wrapping_public_key``
    (PEM SubjectPublicKeyInfo or its DER). InvalidKeyMaterial if that is not RSA-4096.
    """
    if not isinstance(material, bytes) or not 1 <= len(material) <= MAX_MATERIAL_LENGTH:
        raise ValueError(f"material must be 1 to {MAX_MATERIAL_LENGTH} bytes")
    public = _wrapping_public_key(wrapping_public_key)
    ephemeral = os.urandom(EPHEMERAL_KEY_LENGTH)
    return public.encrypt(ephemeral, _OAEP) + kwp_wrap(ephemeral, material)


def unwrap(wrapped: bytes, wrapping_key: LoadedKey) -> bytes:
    """The material inside ``wrapped``, opened with Egide's wrapping key (an rsa4096
    LoadedKey holding its private key). InvalidWrappedMaterial, one message, on any failure.
    The caller then checks the material with :meth:`KeyType.import_material`.
    """
    if wrapping_key.key_type.name != WRAPPING_KEY_TYPE or not wrapping_key.has_private:
        raise ValueError(f"the wrapping key must be an {WRAPPING_KEY_TYPE} private key")
    # KWP output is a multiple of 8 bytes, at least 16.
    body_length = len(wrapped) - _HEAD if isinstance(wrapped, bytes) else -1
    if body_length < 16 or body_length % 8 or body_length > MAX_MATERIAL_LENGTH + 16:
        raise InvalidWrappedMaterial(UNWRAP_FAILED)
    try:
        ephemeral = wrapping_key.decrypt(wrapped[:_HEAD])
    except InvalidCiphertext:
        raise InvalidWrappedMaterial(UNWRAP_FAILED) from None
    if len(ephemeral) != EPHEMERAL_KEY_LENGTH:
        raise InvalidWrappedMaterial(UNWRAP_FAILED)
    return kwp_unwrap(ephemeral, wrapped[_HEAD:])


def _wrapping_public_key(public_key: str | bytes) -> rsa.RSAPublicKey:
    public = load_public_key("wrapping", public_key)
    if not isinstance(public, rsa.RSAPublicKey) or public.key_size != WRAPPING_KEY_BITS:
        raise InvalidKeyMaterial(f"the wrapping public key must be an RSA-{WRAPPING_KEY_BITS} key")
    return public
