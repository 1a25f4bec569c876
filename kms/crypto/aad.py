"""Associated-data layouts: what a ciphertext or a wrapped row is bound to.

Every layout is a fixed label, then fixed-length fields, so that the one
variable-length field (the caller's context, or a secret's name) comes last and
cannot be confused with another field. These bytes are part of the stored data
format: changing them makes existing ciphertexts and rows unreadable.
"""

from __future__ import annotations

UID_LENGTH = 16
MAX_VERSION = 2**31 - 1

AES_GCM_LABEL = b"egide:aes256-gcm:v1\x00"
MATERIAL_LABEL = b"egide:material:v1\x00"
SECRET_LABEL = b"egide:secret:v1\x00"


def _uid_and_version(key_uid: bytes, version: int) -> bytes:
    """Return ``key_uid ‖ version (4 bytes, big-endian)``; ValueError if either is malformed."""
    if not isinstance(key_uid, bytes) or len(key_uid) != UID_LENGTH:
        raise ValueError(f"key_uid must be exactly {UID_LENGTH} bytes (a UUID's bytes)")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError("version must be an int")
    if not 1 <= version <= MAX_VERSION:
        raise ValueError(f"version must be between 1 and {MAX_VERSION}")
    return key_uid + version.to_bytes(4, "big")


def aes_aad_prefix(key_uid: bytes, version: int) -> bytes:
    r"""Associated-data prefix binding an aes256 ciphertext to its key and version.

    ``b"egide:aes256-gcm:v1\x00" ‖ key_uid (16 bytes) ‖ version (4 bytes)``; the
    caller's context, if any, follows it.
    """
    return AES_GCM_LABEL + _uid_and_version(key_uid, version)


def material_aad(key_uid: bytes, version: int) -> bytes:
    r"""Associated data binding a wrapped key-material row to its key and version.

    ``b"egide:material:v1\x00" ‖ key_uid (16 bytes) ‖ version (4 bytes)``: a row
    copied onto another key or version fails to unwrap.
    """
    return MATERIAL_LABEL + _uid_and_version(key_uid, version)


def secret_aad(name: str) -> bytes:
    r"""Associated data binding a wrapped system secret to its name.

    ``b"egide:secret:v1\x00" ‖ name (UTF-8)``, e.g. for the audit chain key.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("secret name must be a non-empty string")
    return SECRET_LABEL + name.encode("utf-8")
