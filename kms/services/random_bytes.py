"""Random bytes from the server's CSPRNG (`os.urandom`): `POST /v1/kms/random`, for any
authenticated user. Not bound to a key; audited (how many bytes, never the bytes).
"""

from __future__ import annotations

import base64
import os

from kms.exceptions import InvalidRequest, Unauthenticated
from kms.services.actor import Actor
from kms.services.operation import operation

MAX_RANDOM_BYTES = 1024
FORMATS = ("base64", "hex")


def random_bytes(*, actor: Actor, count: object, output: object = "base64") -> str:
    """`count` bytes (1 to 1024), as standard base64 (default) or lowercase hex."""
    with operation(actor, "random") as op:
        user = actor.user
        if not actor.is_system and not (user is not None and user.is_authenticated and user.is_active):
            raise Unauthenticated("authentication credentials were not provided")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_RANDOM_BYTES:
            raise InvalidRequest(f"bytes must be a whole number from 1 to {MAX_RANDOM_BYTES}")
        if output not in FORMATS:
            raise InvalidRequest(f"format must be one of: {', '.join(FORMATS)}")
        raw = os.urandom(count)
        op.success(details={"bytes": count, "format": output})
        return raw.hex() if output == "hex" else base64.b64encode(raw).decode("ascii")
