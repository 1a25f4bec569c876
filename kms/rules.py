"""The rules of an operation, as plain functions over plain values.

No ORM and no request here: the control-plane services (kms/services) and
the lean data-plane path both call these, so each rule lives once.
"""

from __future__ import annotations

import re
from datetime import datetime

from kms.crypto.errors import InvalidCiphertext, InvalidSignature
from kms.exceptions import InvalidRequest, KeyDisabled, VersionNotUsable

# \Z, not $: "$" also matches before a final newline, letting "name\n" through.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
NAME_RULE = "1-128 characters: letters, digits, '.', '_' or '-', starting with a letter or digit"
NIST_GCM_RANDOM_NONCE_LIMIT = 2**32  # SP 800-38D 8.3: invocations per key with random IVs


MAX_WHOLE_NUMBER = 2**31 - 1


def parse_whole_number(value: object, name: str, *, textual: bool, minimum: int = 1) -> int:
    """The one parser of versions, counts and other whole numbers, for every surface.

    From JSON (`textual=False`): an int, never a bool, float or string. From a query string
    or a form (`textual=True`): ASCII digits only — `str.isdigit()` also takes "²" and
    fullwidth "１", which must not mean 2 or 1 — at most 10 of them.
    """
    if textual:
        if not isinstance(value, str) or not (value.isascii() and value.isdigit() and len(value) <= 10):
            raise InvalidRequest(f"{name}: must be a whole number")
        value = int(value)
    elif isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{name}: must be a whole number")
    if not minimum <= value <= MAX_WHOLE_NUMBER:
        raise InvalidRequest(f"{name}: must be a whole number from {minimum} to {MAX_WHOLE_NUMBER}")
    return value


def check_name(name: object) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InvalidRequest(f"invalid key name: {NAME_RULE}")
    return name


def printable_name(name: object) -> str:
    """The name as safe to echo in a message (never control characters or a huge blob)."""
    return name if isinstance(name, str) and NAME_PATTERN.match(name) else "<invalid name>"


def check_key_usable(*, name: str, state: str) -> None:
    """A key that is disabled or deleted does nothing at all."""
    if state == "active":
        return
    if state == "deleted":
        raise KeyDisabled(f"key '{name}' is deleted; restore it before use")
    raise KeyDisabled(f"key '{name}' is {state}")


def check_not_deleted(*, name: str, state: str) -> None:
    if state in ("deleted", "purged"):
        raise KeyDisabled(f"key '{name}' is deleted; restore it first")


def version_status(
    *,
    version: int,
    current_version: int,
    min_decryption_version: int,
    disabled: bool,
    destroyed: bool,
) -> str:
    if destroyed:
        return "destroyed"
    if disabled:
        return "disabled"
    if version == current_version:
        return "active"
    if version < min_decryption_version:
        return "retired"
    return "decrypt-only"


def encryption_version(*, requested: int | None, current_version: int, min_encryption_version: int) -> int:
    """Which version encrypts (or signs): the current one unless an allowed older one is asked."""
    if requested is None:
        return current_version
    if requested < 1 or requested > current_version:
        raise InvalidRequest(f"key_version must be between 1 and {current_version}")
    floor = min_encryption_version or current_version
    if requested < floor:
        raise VersionNotUsable(f"version {requested} may not encrypt or sign (min_encryption_version is {floor})")
    return requested


def check_version_for_use(*, name: str, version: int, status: str | None, purpose: str) -> None:
    """May this version serve `purpose` (encrypt, decrypt, sign, verify)?

    `status` None means the key has no such version: the token was not made here.
    """
    if status is None:
        if purpose == "verify":
            raise InvalidSignature(f"key '{name}' has no version {version}")
        if purpose == "decrypt":
            raise InvalidCiphertext(f"key '{name}' has no version {version}")
        raise InvalidRequest(f"key '{name}' has no version {version}")
    if status in ("active", "decrypt-only"):
        return
    reason = {
        "retired": "is retired (below min_decryption_version)",
        "disabled": "is disabled",
        "destroyed": "was destroyed",
    }[status]
    raise VersionNotUsable(f"version {version} of key '{name}' {reason}")


USAGE_MARGIN = 2**24  # uses not yet counted (spooled, other workers) when a limit is decided
AES_HARD_LIMIT = NIST_GCM_RANDOM_NONCE_LIMIT - USAGE_MARGIN


def check_usage_limit(*, used: int, limit: int) -> None:
    """Refuse to pass a key type's usage limit (kms.crypto.keytypes `encrypt_limit`), keeping
    a margin for uses not yet counted, even if no scheduler rotated the version in time."""
    if used >= limit - USAGE_MARGIN:
        raise VersionNotUsable("this version has reached its safe encryption limit; rotate the key")


def is_rotation_due(*, now: datetime, next_rotation_at: datetime | None, state: str) -> bool:
    return state == "active" and next_rotation_at is not None and next_rotation_at <= now
