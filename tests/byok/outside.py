"""The outside world: keys made with pyca (or openssl), wrapped as an importer would."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kms.crypto import keywrap
from kms.crypto.aad import aes_aad_prefix
from kms.crypto.tokens import format_token, parse_ciphertext, parse_signature

OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def pkcs8(private) -> bytes:
    return private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())  # fmt: skip


def spki_pem(public) -> str:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def wrapped_b64(material: bytes, wrapping_pem: str) -> str:
    return base64.b64encode(keywrap.wrap(material, wrapping_pem)).decode()


def aes_encrypt_outside(key: bytes, uid: bytes, version: int, plaintext: bytes, context: bytes = b"") -> str:
    """An Egide aes256 token made without Egide: AES-256-GCM, AAD = prefix ‖ context."""
    import os

    nonce = os.urandom(12)
    blob = nonce + AESGCM(key).encrypt(nonce, plaintext, aes_aad_prefix(uid, version) + context)
    return format_token(version, blob)


def aes_decrypt_outside(key: bytes, uid: bytes, token: str, context: bytes = b"") -> bytes:
    version, blob = parse_ciphertext(token)
    return AESGCM(key).decrypt(blob[:12], blob[12:], aes_aad_prefix(uid, version) + context)


def rsa_decrypt_outside(private: rsa.RSAPrivateKey, token: str) -> bytes:
    return private.decrypt(parse_ciphertext(token)[1], OAEP)


def rsa_encrypt_outside(public: rsa.RSAPublicKey, version: int, plaintext: bytes) -> str:
    return format_token(version, public.encrypt(plaintext, OAEP))


def ecdsa_sign_outside(private: ec.EllipticCurvePrivateKey, version: int, data: bytes) -> str:
    return format_token(version, private.sign(data, ec.ECDSA(hashes.SHA256())))


def ecdsa_verify_outside(public: ec.EllipticCurvePublicKey, token: str, data: bytes) -> None:
    public.verify(parse_signature(token)[1], data, ec.ECDSA(hashes.SHA256()))  # raises if invalid


def ed25519_sign_outside(private: ed25519.Ed25519PrivateKey, version: int, data: bytes) -> str:
    return format_token(version, private.sign(data))


def ed25519_verify_outside(public: ed25519.Ed25519PublicKey, token: str, data: bytes) -> None:
    public.verify(parse_signature(token)[1], data)
