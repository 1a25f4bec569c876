"""JWK rendering of signing public keys (RFC 7517/7518; RFC 8037 for Ed25519).

A pure function from a public key to a JWK dict; the caller supplies ``kid`` (e.g.
``<key name>:v<version>`` or a thumbprint) and assembles ``{"keys": [...]}`` from the
versions it publishes. Only ``"use": "sig"`` keys are rendered: ed25519, ecdsa and rsa.
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kms.crypto.errors import InvalidKeyMaterial, InvalidRequest
from kms.crypto.pkcs8 import load_public_key

_EC_CURVES = {"secp256r1": ("P-256", "ES256", 32), "secp384r1": ("P-384", "ES384", 48)}
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}
RSA_ALGORITHMS = ("PS256", "PS384", "PS512", "RS256", "RS384", "RS512")


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515, section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(value: int, length: int | None = None) -> str:
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return b64url(value.to_bytes(size, "big"))


def public_jwk(public_key: str | bytes, *, kid: str, alg: str | None = None) -> dict[str, str]:
    """The JWK of a public key (PEM SubjectPublicKeyInfo or its DER), with ``kid``.

    ``alg``: ECDSA and Ed25519 keys have one (ES256, ES384, EdDSA) and it is set;
    an RSA key signs with PSS or PKCS#1 v1.5 and several hashes, so ``alg`` is set only
    if given (one of RSA_ALGORITHMS). InvalidKeyMaterial for another kind of key.
    """
    if not isinstance(kid, str) or not kid:
        raise InvalidRequest("kid must be a non-empty string")
    public = load_public_key("jwk", public_key)
    jwk: dict[str, str]
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        jwk = {"kty": "RSA", "n": _uint(numbers.n), "e": _uint(numbers.e)}
        if alg is not None:
            if alg not in RSA_ALGORITHMS:
                raise InvalidRequest(f"alg must be one of: {', '.join(RSA_ALGORITHMS)}")
            jwk["alg"] = alg
    elif isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name in _EC_CURVES:
        crv, default_alg, size = _EC_CURVES[public.curve.name]
        point = public.public_numbers()
        jwk = {
            "kty": "EC",
            "crv": crv,
            "x": _uint(point.x, size),
            "y": _uint(point.y, size),
            "alg": _only(alg, default_alg),
        }
    elif isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "alg": _only(alg, "EdDSA")}
    else:
        raise InvalidKeyMaterial("only RSA, ECDSA P-256/P-384 and Ed25519 keys render as JWK")
    return {**jwk, "use": "sig", "kid": kid}


def thumbprint(jwk: dict[str, str]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a JWK (base64url): a stable ``kid`` if wanted."""
    members = _THUMBPRINT_MEMBERS.get(jwk.get("kty", ""))
    if members is None:
        raise InvalidRequest("unsupported kty")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def _only(alg: str | None, expected: str) -> str:
    if alg is not None and alg != expected:
        raise InvalidRequest(f"this key signs only with {expected}")
    return expected
