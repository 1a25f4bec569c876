"""Egide's crypto core: key types, tokens, and master-key wrapping.

Pure: imports ``cryptography`` and the standard library, never Django, a
database or settings.
"""

from kms.crypto.aad import aes_aad_prefix, material_aad, secret_aad
from kms.crypto.errors import (
    CryptoError,
    InvalidCiphertext,
    InvalidKeyMaterial,
    InvalidKeyType,
    InvalidRequest,
    InvalidSignature,
    MasterKeyError,
    OperationNotAllowed,
)
from kms.crypto.keytypes import KEY_TYPES, KeyType, get_key_type, register
from kms.crypto.loaded import LoadedKey
from kms.crypto.operations import DECRYPT, ENCRYPT, SIGN, VERIFY
from kms.crypto.tokens import format_token, parse_ciphertext, parse_signature
from kms.crypto.wrapping import MasterKey

__all__ = [
    "DECRYPT",
    "ENCRYPT",
    "KEY_TYPES",
    "SIGN",
    "VERIFY",
    "CryptoError",
    "InvalidCiphertext",
    "InvalidKeyMaterial",
    "InvalidKeyType",
    "InvalidRequest",
    "InvalidSignature",
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
