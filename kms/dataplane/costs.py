"""What a request costs, so that throttles and batch limits count work, not requests.

A unit is about one AES-GCM item of 64 bytes (≈ 5 µs of CPU here); one request's own
overhead (HTTP, JSON, token, audit line) is REQUEST_UNITS. A request is charged
1 + (units of its items) // REQUEST_UNITS against the token's rate, and a batch may not
cost more than MAX_BATCH_UNITS: 1,000 AES items fit, 1,000 RSA-4096 signatures (≈ 2 s
of CPU) do not — 232 do. Each key type states its `work` per item (kms.crypto.keytypes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kms.crypto import get_key_type
from kms.exceptions import InvalidRequest

REQUEST_UNITS = 50
MAX_BATCH_UNITS = 100_000
BYTES_PER_UNIT = 16 * 1024  # bulk data: AES-GCM and hashing, ≈ 1 GB/s

_PRIVATE = {"sign", "decrypt", "rewrap", "decapsulate", "derive"}


def item_units(key_type: str, operation: str, item: Any) -> int:
    size = 0
    if isinstance(item, dict):
        data = item.get("plaintext") or item.get("data") or b""
        size = len(data) if isinstance(data, bytes | str) else 0
    private, public = get_key_type(key_type).work  # the key type's fact (kms.crypto.keytypes)
    return (private if operation in _PRIVATE else public) + size // BYTES_PER_UNIT


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
