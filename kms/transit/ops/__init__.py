"""The Transit data-plane operations: declared as kms.dataplane.core.Operation, like the native
ones (kms/dataplane/ops), and run by the one pipeline (kms.dataplane.pipeline.execute) with
source `transit`: authorization, per-key grants, token scope, usage limits, counters, audit and
throttles are the pipeline's. Only the formats differ (kms.transit.formats); the audit action
is the native operation's name.

The codec (kms.transit.codec) parses Transit's request into the items and options these
runners take: every item is a dict of decoded values, `options["single"]` says whether the
request was a batch (`batch_input`).
"""

from __future__ import annotations

from types import MappingProxyType

from kms.dataplane.core import Operation
from kms.transit.ops import crypt, signing

_OPERATIONS = (crypt.ENCRYPT, crypt.DECRYPT, crypt.REWRAP, crypt.DATAKEY, signing.SIGN, signing.VERIFY,
               signing.HMAC)  # fmt: skip
OPERATIONS: MappingProxyType[str, Operation] = MappingProxyType({op.name: op for op in _OPERATIONS})
