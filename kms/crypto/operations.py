"""Names of the four key operations (the spec's operations matrix columns)."""

from __future__ import annotations

ENCRYPT = "encrypt"
DECRYPT = "decrypt"
SIGN = "sign"
VERIFY = "verify"

ALL_OPERATIONS: frozenset[str] = frozenset({ENCRYPT, DECRYPT, SIGN, VERIFY})
