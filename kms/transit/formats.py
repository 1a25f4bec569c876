"""Transit's formats, exactly as Vault/OpenBao write them (pure: cryptography and the stdlib).

- ciphertexts, signatures and HMACs are `vault:v<N>:<standard base64>` (a JWS-marshaled
  ECDSA signature: base64url without padding, as Transit writes it);
- aes256-gcm96: `nonce (12) ‖ ciphertext ‖ tag (16)`, the associated data being the
  request's `associated_data` and nothing else (no Egide key-bound prefix);
- rsa-N encryption: RSA-OAEP with SHA-256 and MGF1-SHA-256, no label;
- sign: the input hashed with `hash_algorithm` (unless `prehashed`), then ECDSA (ASN.1 DER
  or JWS r‖s), RSA-PSS with Transit's `salt_length` (auto: the longest salt when signing,
  any when verifying; hash: the digest length; or a number) or PKCS#1 v1.5; Ed25519 over
  the input itself.

The key objects come from kms.crypto (LoadedKey); signing with Transit's parameters needs
the family's cryptography key object, read here through `_keys` (RSA and ECDSA only).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac as std_hmac
from typing import Any

from cryptography.exceptions import InvalidSignature as BadSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

from kms.crypto import LoadedKey
from kms.crypto.aad import MAX_VERSION
from kms.exceptions import InvalidCiphertext, InvalidRequest, InvalidSignature, OperationNotAllowed

PREFIX = "vault:v"
EGIDE_PREFIX = "egide:v"
# Transit's hash names → hashlib / cryptography names (sha1 and none are not offered).
HASHES: dict[str, str] = {
    "sha2-224": "sha224", "sha2-256": "sha256", "sha2-384": "sha384", "sha2-512": "sha512",
    "sha3-224": "sha3_224", "sha3-256": "sha3_256", "sha3-384": "sha3_384", "sha3-512": "sha3_512",
}  # fmt: skip
_CRYPTO_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha224": hashes.SHA224, "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512,
    "sha3_224": hashes.SHA3_224, "sha3_256": hashes.SHA3_256, "sha3_384": hashes.SHA3_384,
    "sha3_512": hashes.SHA3_512,
}  # fmt: skip
NOT_OFFERED_HASHES = ("sha1", "none")


def hash_name(value: Any, field: str = "hash_algorithm", default: str = "sha2-256") -> str:
    """The hashlib name of a Transit hash name (default sha2-256)."""
    if value is None or value == "":
        value = default
    if not isinstance(value, str):
        raise InvalidRequest(f"{field} must be a string")
    if value in NOT_OFFERED_HASHES:
        raise InvalidRequest(f"{field} {value} is not supported by Egide; use sha2-256, sha2-384 or sha2-512")
    if value not in HASHES:
        raise InvalidRequest(f"unsupported {field} {value[:40]!r}; valid: {', '.join(HASHES)}")
    return HASHES[value]


def token(version: int, blob: bytes, *, urlsafe: bool = False) -> str:
    if urlsafe:
        return f"{PREFIX}{version}:{base64.urlsafe_b64encode(blob).decode('ascii').rstrip('=')}"
    return f"{PREFIX}{version}:{base64.b64encode(blob).decode('ascii')}"


def parse_token(value: Any, what: str, *, urlsafe: bool = False) -> tuple[int, bytes]:
    """(version, blob) of `vault:v<N>:<base64>`; the error of `what` (ciphertext, signature, hmac)."""
    error = InvalidSignature if what in ("signature", "hmac") else InvalidCiphertext
    if not isinstance(value, str) or not value.startswith(PREFIX):
        raise error(f"invalid {what}: no prefix" if isinstance(value, str) else f"{what} must be a string")
    version_text, colon, body = value[len(PREFIX) :].partition(":")
    if not colon or not version_text.isascii() or not version_text.isdigit() or version_text.startswith("0"):
        raise error(f"invalid {what}: could not parse version")
    version = int(version_text) if len(version_text) <= 10 else MAX_VERSION + 1
    if not 1 <= version <= MAX_VERSION:
        raise error(f"invalid {what}: could not parse version")
    try:
        if urlsafe:
            blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        else:
            blob = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise error(f"invalid {what}: not base64") from None
    if not blob:
        raise error(f"invalid {what}: empty")
    return version, blob


def b64(value: Any, field: str, *, allow_empty: bool = True) -> bytes:
    """Standard base64 as Transit takes it (an empty string is empty input)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidRequest(f"{field} must be a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"failed to base64-decode {field}") from None
    if not raw and not allow_empty:
        raise InvalidRequest(f"missing {field}")
    return raw


# --- encryption -----------------------------------------------------------------------------


def encrypt(loaded: LoadedKey, plaintext: bytes, associated_data: bytes | None) -> bytes:
    """The raw Transit blob: AES-GCM over `associated_data` only, or RSA-OAEP-SHA256."""
    if loaded.key_type.accepts_context:
        return loaded.encrypt(plaintext, context=associated_data or None, aad_prefix=b"")
    if associated_data:
        raise InvalidRequest(f"associated_data is not supported with {loaded.key_type.transit_name} keys")
    return loaded.encrypt(plaintext)


def decrypt(loaded: LoadedKey, blob: bytes, associated_data: bytes | None) -> bytes:
    if loaded.key_type.accepts_context:
        return loaded.decrypt(blob, context=associated_data or None, aad_prefix=b"")
    if associated_data:
        raise InvalidRequest(f"associated_data is not supported with {loaded.key_type.transit_name} keys")
    return loaded.decrypt(blob)


# --- signatures -----------------------------------------------------------------------------


def _keys(loaded: LoadedKey) -> tuple[Any, Any]:
    """(private or None, public) cryptography objects of an RSA or ECDSA key version."""
    return getattr(loaded, "_private", None), getattr(loaded, "_public", None)


def _digest(data: bytes, algorithm: str, prehashed: bool) -> bytes:
    if prehashed:
        size = hashlib.new(algorithm).digest_size
        if len(data) != size:
            raise InvalidRequest(f"prehashed input must be the {size}-byte digest; got {len(data)} bytes")
        return data
    return hashlib.new(algorithm, data).digest()


def salt_length(value: Any) -> int | str:
    """Transit's salt_length: 'auto' (default), 'hash', or a whole number ≥ -1 (-1 = hash, 0 = auto)."""
    if value is None or value == "" or value == "auto":
        return "auto"
    if value == "hash":
        return "hash"
    try:
        number = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or number < -1:
        raise InvalidRequest("salt_length must be 'auto', 'hash' or a whole number >= -1")
    return {-1: "hash", 0: "auto"}.get(number, number)


def _pss(salt: int | str, algorithm: hashes.HashAlgorithm, signing: bool) -> asym_padding.PSS:
    if salt == "hash":
        length: Any = asym_padding.PSS.DIGEST_LENGTH
    elif salt == "auto":
        length = asym_padding.PSS.MAX_LENGTH if signing else asym_padding.PSS.AUTO
    else:
        length = salt
    return asym_padding.PSS(mgf=asym_padding.MGF1(algorithm), salt_length=length)


def _whole_input(type_name: str, p: dict[str, Any]) -> None:
    """Ed25519 signs the input itself: hash and padding options are ignored, as Transit does."""
    if p["prehashed"]:
        raise InvalidRequest(f"prehashed is not supported with {type_name} keys (Ed25519ph is not offered)")


def sign(loaded: LoadedKey, data: bytes, p: dict[str, Any]) -> tuple[bytes, bool]:
    """(raw signature, urlsafe encoding) for Transit's parameters `p` (already validated)."""
    family = loaded.key_type
    private, public = _keys(loaded)
    if not isinstance(public, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):  # ed25519 (ML-DSA): the input
        _whole_input(family.transit_name or family.name, p)
        return loaded.sign(data), False
    if private is None:
        raise OperationNotAllowed(f"this {family.transit_name} key version holds only a public key; it cannot sign")
    digest = _digest(data, p["hash"], p["prehashed"])
    algorithm = _CRYPTO_HASHES[p["hash"]]()
    if isinstance(private, ec.EllipticCurvePrivateKey):
        der = private.sign(digest, ec.ECDSA(Prehashed(algorithm)))
        if p["marshaling"] == "jws":
            r, s = decode_dss_signature(der)
            size = (private.curve.key_size + 7) // 8
            return r.to_bytes(size, "big") + s.to_bytes(size, "big"), True
        return der, False
    if isinstance(private, rsa.RSAPrivateKey):
        if p["signature_algorithm"] == "pkcs1v15":
            return private.sign(digest, asym_padding.PKCS1v15(), Prehashed(algorithm)), False
        return private.sign(digest, _pss(p["salt"], algorithm, True), Prehashed(algorithm)), False
    raise OperationNotAllowed(f"key type '{family.name}' cannot sign through Transit")


def verify(loaded: LoadedKey, data: bytes, signature: bytes, p: dict[str, Any]) -> bool:
    family = loaded.key_type
    _private, public = _keys(loaded)
    if not isinstance(public, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
        _whole_input(family.transit_name or family.name, p)
        return loaded.verify(data, signature)
    digest = _digest(data, p["hash"], p["prehashed"])
    algorithm = _CRYPTO_HASHES[p["hash"]]()
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            if p["marshaling"] == "jws":
                size = (public.curve.key_size + 7) // 8
                if len(signature) != 2 * size:
                    return False
                signature = encode_dss_signature(int.from_bytes(signature[:size], "big"),
                                                 int.from_bytes(signature[size:], "big"))  # fmt: skip
            public.verify(signature, digest, ec.ECDSA(Prehashed(algorithm)))
            return True
        if isinstance(public, rsa.RSAPublicKey):
            if len(signature) != public.key_size // 8:
                return False
            pad = (asym_padding.PKCS1v15() if p["signature_algorithm"] == "pkcs1v15"
                   else _pss(p["salt"], algorithm, False))  # fmt: skip
            public.verify(signature, digest, pad, Prehashed(algorithm))
            return True
    except (BadSignature, ValueError):
        return False
    raise OperationNotAllowed(f"key type '{family.name}' cannot verify through Transit")


# --- HMAC -----------------------------------------------------------------------------------


def mac(loaded: LoadedKey, data: bytes, algorithm: str) -> bytes:
    """The version HMAC (kms.crypto.mac) with any of Transit's hashes."""
    if algorithm in ("sha256", "sha384", "sha512"):
        return loaded.hmac(data, hash_name=algorithm)
    key = base64.b64decode(loaded.export_hmac_key())  # the version's own HMAC key, in memory only
    return std_hmac.digest(key, data, algorithm)


def mac_equal(a: bytes, b: bytes) -> bool:
    return std_hmac.compare_digest(a, b)
