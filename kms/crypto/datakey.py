"""Data keys: a fresh AES-256 key returned in plaintext and wrapped under a named key.

:class:`DataKey` is the one result type for them (server, data plane, client): its
plaintext never shows in ``repr`` (a log line or a traceback), and it cannot be
pickled, so it is not written to a cache or a queue by accident.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import NoReturn

DATA_KEY_LENGTH = 32


def new_data_key() -> bytes:
    """Fresh 256-bit data key from the OS CSPRNG."""
    return os.urandom(DATA_KEY_LENGTH)


@dataclass(frozen=True)
class DataKey:
    """A data key: ``plaintext`` (None when not asked for) and the same key wrapped
    (``ciphertext``, a token ``egide:v<version>:...``) under ``key_version``.
    """

    plaintext: bytes | None = field(repr=False)
    ciphertext: str
    key_version: int

    def __repr__(self) -> str:
        shown = None if self.plaintext is None else "<hidden>"
        return f"DataKey(plaintext={shown}, ciphertext={self.ciphertext!r}, key_version={self.key_version})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a DataKey cannot be pickled or copied: its plaintext stays in memory")
