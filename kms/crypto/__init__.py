"""Egide's crypto core: key types, tokens, and master-key wrapping.

Pure: imports ``cryptography`` and the standard library, never Django, a
database or settings.
"""

from kms.crypto.aad import aes_aad_prefix, material_aad, secret_aad
from kms.crypto.errors import (
    CryptoError,
    InvalidBackup,
    InvalidCiphertext,
    InvalidKeyMaterial,
    InvalidKeyType,
    InvalidPeerKey,
    InvalidRequest,
    InvalidSignature,
    InvalidWrappedMaterial,
    MasterKeyError,
    OperationNotAllowed,
)
from kms.crypto.keytypes import ALL_KEY_TYPES, KEY_TYPES, KeyType, get_key_type, register
from kms.crypto.loaded import LoadedKey
from kms.crypto.operations import DECAPSULATE, DECRYPT, DERIVE, ENCRYPT, HMAC, SIGN, VERIFY
from kms.crypto.tokens import format_token, parse_ciphertext, parse_signature
from kms.crypto.wrapping import MasterKey

__all__ = [
    "ALL_KEY_TYPES",
    "DECAPSULATE",
    "DECRYPT",
    "DERIVE",
    "ENCRYPT",
    "HMAC",
    "KEY_TYPES",
    "SIGN",
    "VERIFY",
    "CryptoError",
    "InvalidBackup",
    "InvalidCiphertext",
    "InvalidKeyMaterial",
    "InvalidKeyType",
    "InvalidPeerKey",
    "InvalidRequest",
    "InvalidSignature",
    "InvalidWrappedMaterial",
    "KeyType",
    "LoadedKey",
    "MasterKey",
    "MasterKeyError",
    "OperationNotAllowed",
    "aes_aad_prefix",
    "format_token",
    "get_key_type",
    "material_aad",
    "parse_ciphertext",
    "parse_signature",
    "register",
    "secret_aad",
]
