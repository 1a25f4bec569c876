"""ed25519: pure Ed25519 (RFC 8032), deterministic signatures over the whole message.

Keys are read, written and exported with cryptography (OpenSSL); signing and verifying run
in libsodium (PyNaCl, also pyca's): the same deterministic signatures byte for byte, in
about half the instructions (sign 457,000 -> 255,000, verify 1,447,000 -> 668,000 a call;
docs/benchmarks.md, round six). libsodium's verify is also the stricter one: beside S < L
(both), it refuses a signature whose R, or a public key that, has small order, and a
non-canonical public key, where OpenSSL would accept a signature that anyone can forge
for such a key (tests/crypto/test_ed25519.py shows one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric import ed25519
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError

from kms.crypto.errors import InvalidKeyMaterial, InvalidRequest
from kms.crypto.loaded import LoadedKey, refuse_context, require_bytes
from kms.crypto.operations import SIGN, VERIFY
from kms.crypto.pkcs8 import (
    load_private_key,
    load_public_key,
    material_problem,
    private_pem,
    public_key_pem,
    to_pkcs8_der,
)
from kms.crypto.signparams import resolve_hash, resolve_padding

if TYPE_CHECKING:
    from kms.crypto.keytypes import KeyType


SIGNATURE_LENGTH = 64


def generate() -> bytes:
    """Fresh Ed25519 private key as unencrypted PKCS#8 DER."""
    return to_pkcs8_der(ed25519.Ed25519PrivateKey.generate())


class Ed25519Key(LoadedKey):
    """An Ed25519 key version: takes no hash, no padding, and no prehashed data."""

    __slots__ = ("_private", "_public", "_public_pem", "_public_raw", "_sodium_secret")

    def __init__(
        self,
        key_type: KeyType,
        material: bytes,
        *,
        trusted: bool = False,  # uniform loader signature; nothing to skip
    ) -> None:
        super().__init__(key_type)
        private = load_private_key(key_type, material)
        if not isinstance(private, ed25519.Ed25519PrivateKey):
            raise InvalidKeyMaterial(material_problem(key_type))
        self._private: ed25519.Ed25519PrivateKey | None = private
        self._public = private.public_key()
        self._public_pem = public_key_pem(self._public)
        self._public_raw = self._public.public_bytes_raw()
        # libsodium's form of the same key: seed || public key (64 bytes).
        public_raw, self._sodium_secret = crypto_sign_seed_keypair(private.private_bytes_raw())
        if public_raw != self._public_raw:  # one key, two libraries: they must agree
            raise InvalidKeyMaterial(material_problem(key_type))

    @classmethod
    def verify_only(cls, key_type: KeyType, public_key: str | bytes) -> Ed25519Key:
        """A verify-only key from a public key (PEM SubjectPublicKeyInfo or its DER)."""
        public = load_public_key(key_type, public_key)
        if not isinstance(public, ed25519.Ed25519PublicKey):
            raise InvalidKeyMaterial(f"{key_type.name} public key must be an Ed25519 key")
        self = cls.__new__(cls)
        LoadedKey.__init__(self, key_type)
        self._private = None
        self._public = public
        self._public_pem = public_key_pem(public)
        self._public_raw = public.public_bytes_raw()
        self._sodium_secret = b""
        return self

    @property
    def has_private(self) -> bool:
        return self._private is not None

    def sign(
        self,
        data: bytes,
        *,
        hash_name: str | None = None,
        padding: str | None = None,
        prehashed: bool = False,
        context: bytes | None = None,
    ) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        self.key_type.require(SIGN)
        if self._private is None:
            self._no_private(SIGN)
        self._check(data, hash_name, padding, prehashed, context)
        return crypto_sign(data, self._sodium_secret)[:SIGNATURE_LENGTH]  # signature || data

    def verify(
        self,
        data: bytes,
        signature: bytes,
        *,
        hash_name: str | None = None,
        padding: str | None = None,
        prehashed: bool = False,
        context: bytes | None = None,
    ) -> bool:
        """True if valid, False for any wrong or malformed signature: not exactly 64 bytes,
        a non-canonical S (S >= L, as RFC 8032 requires), or a small-order R or public key.
        """
        self.key_type.require(VERIFY)
        self._check(data, hash_name, padding, prehashed, context)
        require_bytes(signature, "signature")
        if len(signature) != SIGNATURE_LENGTH:
            return False
        try:
            crypto_sign_open(signature + data, self._public_raw)
        except BadSignatureError:
            return False
        return True

    def _check(
        self,
        data: bytes,
        hash_name: str | None,
        padding: str | None,
        prehashed: bool,
        context: bytes | None,
    ) -> None:
        require_bytes(data, "data")
        refuse_context(self.key_type, context)
        resolve_hash(self.key_type, hash_name)
        resolve_padding(self.key_type, padding)
        if prehashed is not False:
            raise InvalidRequest("ed25519 has no prehashed form; send the data")

    def public_key_pem(self) -> str:
        """SubjectPublicKeyInfo PEM."""
        return self._public_pem

    def export_material(self) -> str:
        """Unencrypted PKCS#8 PEM of the private key."""
        if self._private is None:
            self._no_private("export")
        return private_pem(self._private)
