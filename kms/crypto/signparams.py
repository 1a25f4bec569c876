"""Resolution of sign/verify parameters against a key type's allowed values.

The allowed hashes and paddings live on the :class:`KeyType` entry (the first of
each is the default), so the registry is the one place that states them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from kms.crypto.errors import InvalidRequest

if TYPE_CHECKING:
    from kms.crypto.keytypes import KeyType

HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}
_PREHASHED = {name: Prehashed(algorithm) for name, algorithm in HASHES.items()}


def resolve_hash(key_type: KeyType, hash_name: str | None) -> str:
    """The hash to use: the type's default for None; InvalidRequest if not allowed."""
    allowed = key_type.hash_names
    if not allowed:
        if hash_name is not None:
            raise InvalidRequest(f"{key_type.name} keys take no hash parameter")
        return ""
    if hash_name is None:
        return allowed[0]
    if not isinstance(hash_name, str) or hash_name not in allowed:
        raise InvalidRequest(f"hash not allowed for {key_type.name} keys; allowed: {', '.join(allowed)}")
    return hash_name


def resolve_padding(key_type: KeyType, padding: str | None) -> str:
    """The padding to use: the type's default for None; InvalidRequest if not allowed."""
    allowed = key_type.paddings
    if not allowed:
        if padding is not None:
            raise InvalidRequest(f"padding applies only to RSA keys, not {key_type.name}")
        return ""
    if padding is None:
        return allowed[0]
    if not isinstance(padding, str) or padding not in allowed:
        raise InvalidRequest(f"padding not allowed for {key_type.name} keys; allowed: {', '.join(allowed)}")
    return padding


def signing_algorithm(hash_name: str, data: bytes, prehashed: bool) -> hashes.HashAlgorithm | Prehashed:
    """The hash object for ``data``: Prehashed if ``data`` is already the digest.

    A prehashed ``data`` must be exactly the digest size, else InvalidRequest.
    """
    if not isinstance(prehashed, bool):
        raise InvalidRequest("prehashed must be true or false")
    if not prehashed:
        return HASHES[hash_name]
    algorithm = _PREHASHED[hash_name]
    if len(data) != algorithm.digest_size:
        raise InvalidRequest(
            f"prehashed data must be the {algorithm.digest_size}-byte {hash_name} digest; got {len(data)} bytes"
        )
    return algorithm
