"""Which key space a request works in: Egide's native one (""), or a Transit mount's.

The Transit codec sets the space for the duration of one request (`within`); the key
services read it (kms.services.lookup.key_for, kms.services.keys.key_create, the audit's
key name), so every service works unchanged on a mount's keys. Outside a Transit request
it is always the native space.

A key of another mount is named `<mount path>/<name>` wherever Egide shows a name outside
its mount: the audit log, a token's scope, approval requests (`qualified`). A native name
can never contain `/` (kms.rules.NAME_PATTERN), so the two never collide.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Space:
    namespace: str = ""  # "" = native
    path: str = "transit"  # the mount path, for names shown outside the mount

    @property
    def native(self) -> bool:
        return not self.namespace

    def qualified(self, name: str) -> str:
        return name if self.native or not name else f"{self.path}/{name}"


NATIVE = Space()
_CURRENT: ContextVar[Space] = ContextVar("egide_key_space", default=NATIVE)


def current() -> Space:
    return _CURRENT.get()


@contextmanager
def within(space: Space) -> Iterator[Space]:
    token = _CURRENT.set(space)
    try:
        yield space
    finally:
        _CURRENT.reset(token)
