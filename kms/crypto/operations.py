"""Names of the key operations (the columns of the operations matrix).

``HMAC`` computes a MAC with a key version's HMAC key (the ``hmac`` type's own
material; see :mod:`kms.crypto.mac` for the HMAC key every other version carries).
``DECAPSULATE`` recovers an ML-KEM shared secret; ``DERIVE`` agrees a raw shared
secret with a peer's public key (X25519, ECDH).
"""

from __future__ import annotations

ENCRYPT = "encrypt"
DECRYPT = "decrypt"
SIGN = "sign"
VERIFY = "verify"
HMAC = "hmac"
DECAPSULATE = "decapsulate"
DERIVE = "derive"

ALL_OPERATIONS: frozenset[str] = frozenset({ENCRYPT, DECRYPT, SIGN, VERIFY, HMAC, DECAPSULATE, DERIVE})
