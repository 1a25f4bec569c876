"""The registry of data-plane operations: one module per operation, one line here.

Adding an operation: write `kms/dataplane/ops/<name>.py` with a runner, a renderer and
its `OPERATION` declaration (kms.dataplane.core.Operation), and list the module below.
The URL (`POST /v1/kms/<name>/<key>`), both transports, the schema, the audit action and
the permission check follow from the declaration (docs/dataplane.md shows an example).
"""

from __future__ import annotations

from types import MappingProxyType

from kms.dataplane.core import Operation
from kms.dataplane.ops import (
    datakey,
    decapsulate,
    decrypt,
    derive_shared_secret,
    encrypt,
    hmac,
    rewrap,
    sign,
    verify,
)

_MODULES = (encrypt, decrypt, sign, verify, datakey, rewrap, hmac, decapsulate, derive_shared_secret)
OPERATIONS: MappingProxyType[str, Operation] = MappingProxyType({m.OPERATION.name: m.OPERATION for m in _MODULES})


def get(name: str) -> Operation:
    return OPERATIONS[name]
