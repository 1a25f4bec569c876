"""The JWKS of a signing key: the public keys of its working versions as a JWK set (RFC 7517).

Beside `keys.public_key` (one version's PEM) and under the same rules: the `view`
permission, a usable key (a disabled or deleted key publishes nothing), and only versions
that still verify (active or decrypt-only: never a disabled, retired or destroyed one). Types
whose public key has a JWK form (`KeyType.jwk`: ed25519, ecdsa-p256/p384, rsa2048/4096);
others answer operation_not_allowed.

`kid` is `<key uid>:<version>` (e.g. `0b6f…-…:3`): stable for the key's whole life
(a key's uid never changes and is never reused), and it says which `egide:v<N>:` version
made a signature.
"""

from __future__ import annotations

from typing import Any

from kms import rules
from kms.crypto import OperationNotAllowed, get_key_type
from kms.crypto.jwk import public_jwk
from kms.services.actor import Actor
from kms.services.keys import PUBLIC_KEY_STATUSES
from kms.services.lookup import key_for
from kms.services.operation import operation


def kid_of(key_uid: Any, version: int) -> str:
    return f"{key_uid}:{version}"


def key_jwks(*, actor: Actor, name: str) -> dict[str, Any]:
    """`{"keys": [JWK, ...]}`, newest version first."""
    with operation(actor, "jwks", key_name=name) as op:
        key = key_for(actor, name, "view")
        op.key = key
        rules.check_key_usable(name=key.name, state=key.state)
        if not get_key_type(key.key_type).jwk:
            raise OperationNotAllowed(
                f"key type '{key.key_type}' has no JWK form (ed25519, ecdsa and rsa signing keys have one)"
            )
        keys, versions = [], []
        for kv in key.versions.filter(destroyed_at__isnull=True).order_by("-version"):
            if kv.status_in(key) in PUBLIC_KEY_STATUSES and kv.public_key_pem:
                keys.append(public_jwk(kv.public_key_pem, kid=kid_of(key.uid, kv.version)))
                versions.append(kv.version)
        op.success(key=key, key_version=key.current_version, details={"versions": versions})
        return {"keys": keys}
