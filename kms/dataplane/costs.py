"""What a request costs, so that throttles and batch limits count work, not requests.

A unit is about one AES-GCM item of 64 bytes (≈ 5 µs of CPU here); one request's own
overhead (HTTP, JSON, token, audit line) is REQUEST_UNITS. A request is charged
1 + (units of its items) // REQUEST_UNITS against the token's rate, and a batch may not
cost more than MAX_BATCH_UNITS: 1,000 AES items fit, 1,000 RSA-4096 signatures (≈ 2 s
of CPU) do not — 250 do. Measured per item with bench/crypto_limit.py (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kms.crypto import get_key_type
from kms.exceptions import InvalidRequest

REQUEST_UNITS = 50
MAX_BATCH_UNITS = 100_000
BYTES_PER_UNIT = 16 * 1024  # bulk data: AES-GCM and hashing, ≈ 1 GB/s

# Private-key operations dominate; each entry: (sign or decrypt, verify or encrypt).
_ASYMMETRIC_UNITS: dict[str, tuple[int, int]] = {
    "rsa2048": (100, 5), "rsa4096": (400, 15),
    "ecdsa-p256": (5, 15), "ecdsa-p384": (60, 60), "ed25519": (10, 25),
}  # fmt: skip
_PRIVATE = {"sign", "decrypt", "rewrap"}


def item_units(key_type: str, operation: str, item: Any) -> int:
    size = 0
    if isinstance(item, dict):
        data = item.get("plaintext") or item.get("data") or b""
        size = len(data) if isinstance(data, bytes | str) else 0
    bulk = size // BYTES_PER_UNIT
    if not get_key_type(key_type).asymmetric:
        return 1 + bulk
    private, public = _ASYMMETRIC_UNITS.get(key_type, (100, 10))
    return (private if operation in _PRIVATE else public) + bulk


def of_request(key_type: str, operation: str, items: Sequence[Any]) -> int:
    """The request's charge in requests; InvalidRequest if its batch costs over the limit."""
    units = sum(item_units(key_type, operation, item) for item in items)
    if units > MAX_BATCH_UNITS and len(items) > 1:
        each = max(1, units // len(items))
        raise InvalidRequest(
            f"batch: {len(items)} {operation} items with a {key_type} key are more work than one request "
            f"may carry; send at most {max(1, MAX_BATCH_UNITS // each)} per request"
        )
    return 1 + units // REQUEST_UNITS
