"""Reading JSON as the standard library reads it, at orjson's cost.

orjson reads every text the two agree on about three times faster. Where they differ,
`json.loads` reads it: what only it takes (NaN and Infinity, a lone surrogate's escape), and
any text with a run of 19 digits or more, because orjson reads an integer past 64 bits as a
float where `json.loads` keeps it whole (tests/test_jsontext.py found it). A caller's answers
are what they were before orjson. Used where a text was always read with `json.loads` (spool
lines, Transit bodies); the native data plane is strict on purpose
(kms.dataplane.parse.json_body).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Every integer of 18 digits or fewer fits in 64 bits. A digit becomes 1, anything else 0:
# bytes.translate and bytes.find look for the run in C, a few instructions a byte (a regular
# expression's search cost 70,000 instructions on a 400-byte spool line).
_DIGITS = bytes(1 if 0x30 <= byte <= 0x39 else 0 for byte in range(256))
_LONG_RUN = b"\x01" * 19


def loads(raw: bytes) -> Any:
    """`json.loads(raw)`'s value; ValueError (or RecursionError) where it would raise one."""
    if raw.translate(_DIGITS).find(_LONG_RUN) < 0:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw)


def loads_written_by_orjson(raw: bytes) -> Any:
    """`loads` for a text orjson itself wrote (a spool line): orjson reads back every number it
    writes exactly, so no digit run needs looking for; the stdlib still reads what orjson
    refuses (a line another writer left, say)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)
