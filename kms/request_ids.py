"""Request ids: the one rule for the id a client offers (`X-Request-Id`) and the id Egide makes.

Every answer carries one and every audit event records it. Three transports read it (the
data plane's WSGI lane, its pipeline for other transports, Django's middleware for the
rest), so the rule lives here, once.
"""

from __future__ import annotations

import os
import re

_OFFERED = re.compile(r"[A-Za-z0-9._-]{8,64}").fullmatch


def new() -> str:
    """A random version-4 UUID as 32 hex digits: `uuid.uuid4().hex`'s value, without building a
    UUID object (a fifth of its cost; it runs on every data-plane request)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    return raw.hex()


def of(offered: str) -> str:
    """The client's id if it is one we keep (8-64 of letters, digits, `.`, `_`, `-`), else a new one."""
    return offered if _OFFERED(offered) else new()
