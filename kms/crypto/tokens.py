"""Ciphertext and signature tokens: ``egide:v<version>:<standard base64>``.

Parsing is strict and total. A token is accepted only if formatting its result
gives back exactly the same text; anything else, of any Python type, raises the
typed error (:class:`InvalidCiphertext` or :class:`InvalidSignature`) and
nothing else. Error messages say what is malformed but never echo the input.
"""

from __future__ import annotations

import base64
import binascii

from kms.crypto.aad import MAX_VERSION
from kms.crypto.errors import CryptoError, InvalidCiphertext, InvalidSignature

PREFIX = "egide:v"
MAX_TOKEN_LENGTH = 1024 * 1024
_MAX_VERSION_DIGITS = len(str(MAX_VERSION))


def format_token(version: int, blob: bytes) -> str:
    """Return ``egide:v<version>:<base64(blob)>``; ValueError on a bad version or empty blob."""
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError("version must be an int")
    if not 1 <= version <= MAX_VERSION:
        raise ValueError(f"version must be between 1 and {MAX_VERSION}")
    if not isinstance(blob, bytes) or not blob:
        raise ValueError("blob must be non-empty bytes")
    return f"{PREFIX}{version}:{base64.b64encode(blob).decode('ascii')}"


def parse_ciphertext(token: object) -> tuple[int, bytes]:
    """Split a ciphertext token into (version, blob); InvalidCiphertext if malformed."""
    return _parse(token, InvalidCiphertext, "ciphertext")


def parse_signature(token: object) -> tuple[int, bytes]:
    """Split a signature token into (version, blob); InvalidSignature if malformed."""
    return _parse(token, InvalidSignature, "signature")


def _parse(token: object, error: type[CryptoError], what: str) -> tuple[int, bytes]:
    if not isinstance(token, str):
        raise error(f"{what} must be a string")
    if len(token) > MAX_TOKEN_LENGTH:
        raise error(f"{what} is longer than {MAX_TOKEN_LENGTH} characters")
    if not token.startswith(PREFIX):
        raise error(f"{what} must start with '{PREFIX}<version>:'")
    version_text, colon, body = token[len(PREFIX) :].partition(":")
    if not colon:
        raise error(f"{what} has no ':' after the version")
    version = _parse_version(version_text)
    if version is None:
        raise error(f"{what} version must be a whole number from 1 to {MAX_VERSION}")
    blob = _parse_base64(body)
    if blob is None:
        raise error(f"{what} body must be non-empty standard base64 with padding")
    return version, blob


def _parse_version(text: str) -> int | None:
    """ASCII digits only, no sign, no leading zero, within 1..MAX_VERSION."""
    if not text or len(text) > _MAX_VERSION_DIGITS:
        return None
    if not (text.isascii() and text.isdigit()) or text[0] == "0":
        return None
    version = int(text)
    return version if version <= MAX_VERSION else None


def _parse_base64(text: str) -> bytes | None:
    """Canonical standard base64: alphabet checked, padding required, re-encodes identically."""
    if not text or not text.isascii():
        return None
    try:
        blob = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not blob or base64.b64encode(blob).decode("ascii") != text:
        return None
    return blob
