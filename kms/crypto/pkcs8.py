"""PKCS#8 and SubjectPublicKeyInfo serialization shared by the asymmetric families."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from kms.crypto.errors import InvalidKeyMaterial

if TYPE_CHECKING:
    from kms.crypto.keytypes import KeyType


def to_pkcs8_der(private_key: PrivateKeyTypes) -> bytes:
    """Unencrypted PKCS#8 DER: the stored form of asymmetric key material."""
    return private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key(key_type: KeyType, material: bytes, *, trusted: bool = False) -> PrivateKeyTypes:
    """Parse unencrypted DER material; InvalidKeyMaterial if it is not a private key.

    The caller checks the key's kind and size. ``trusted`` skips OpenSSL's RSA
    consistency check (primality of p and q...), which costs ~60 ms for rsa2048 and
    ~0.4 s for rsa4096. Neither the material nor the parser's message is passed on.
    """
    if not isinstance(material, bytes):
        raise InvalidKeyMaterial(material_problem(key_type))
    try:
        return serialization.load_der_private_key(material, password=None, unsafe_skip_rsa_key_validation=trusted)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidKeyMaterial(material_problem(key_type)) from None


def material_problem(key_type: KeyType, detail: str = "") -> str:
    """The user-safe message for material that does not fit ``key_type``."""
    message = f"{key_type.name} material is not a valid unencrypted PKCS#8 DER key of that type"
    return f"{message} ({detail})" if detail else message


def canonical_der(key_type: KeyType, material: bytes) -> bytes:
    """``material`` re-encoded as this module encodes generated keys (unencrypted PKCS#8 DER).

    Call it only on material already validated (it skips the RSA consistency check).
    Normalizing imported material means stored material has one encoding per key, so
    what is derived from its bytes (the version HMAC key) never depends on the tool
    that produced it.
    """
    return to_pkcs8_der(load_private_key(key_type, material, trusted=True))


PEM_PUBLIC_HEADER = "-----BEGIN PUBLIC KEY-----"


def load_public_key(key_type: KeyType | str, public_key: str | bytes) -> PublicKeyTypes:
    """Parse a SubjectPublicKeyInfo: PEM text (``BEGIN PUBLIC KEY``), or its DER bytes.

    InvalidKeyMaterial otherwise (PKCS#1 ``BEGIN RSA PUBLIC KEY``, a certificate, a
    private key, trailing garbage...). The caller checks the key's kind and size;
    ``key_type`` (or a name for it) only words the message.
    """
    name = key_type if isinstance(key_type, str) else key_type.name
    problem = f"{name} public key must be a PEM SubjectPublicKeyInfo of that type"
    try:
        if isinstance(public_key, str):
            text = public_key.strip()
            if not text.startswith(PEM_PUBLIC_HEADER) or not text.isascii():
                raise InvalidKeyMaterial(problem)
            return serialization.load_pem_public_key(text.encode("ascii"))
        if isinstance(public_key, bytes):
            return serialization.load_der_public_key(public_key)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidKeyMaterial(problem) from None
    raise InvalidKeyMaterial(problem)


def public_der(public_key: PublicKeyTypes) -> bytes:
    """SubjectPublicKeyInfo DER of ``public_key``."""
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_key_pem(public_key: PublicKeyTypes) -> str:
    """SubjectPublicKeyInfo PEM of ``public_key``."""
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(
        "ascii"
    )


def public_pem(private_key: PrivateKeyTypes) -> str:
    """SubjectPublicKeyInfo PEM of ``private_key``'s public half."""
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def private_pem(private_key: PrivateKeyTypes) -> str:
    """Unencrypted PKCS#8 PEM of ``private_key``. Only for an explicit export."""
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
