"""ecdsa-p256 (SHA-256) and ecdsa-p384 (SHA-384), DER signatures."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from kms.crypto import InvalidRequest, LoadedKey

from .helpers import flip, needs_openssl, openssl

CURVES = {"ecdsa-p256": ("sha256", hashes.SHA256()), "ecdsa-p384": ("sha384", hashes.SHA384())}


def _public(key: LoadedKey) -> ec.EllipticCurvePublicKey:
    public = load_pem_public_key(key.public_key_pem().encode())  # type: ignore[union-attr]
    assert isinstance(public, ec.EllipticCurvePublicKey)
    return public


@pytest.mark.parametrize("name", CURVES)
def test_ecdsa_signatures_are_der_and_verify_with_plain_cryptography(keys: dict[str, LoadedKey], name: str) -> None:
    hash_name, algorithm = CURVES[name]
    for given in (None, hash_name):
        signature = keys[name].sign(b"document", hash_name=given)
        decode_dss_signature(signature)  # raises unless DER SEQUENCE { r, s }
        _public(keys[name]).verify(signature, b"document", ec.ECDSA(algorithm))
        assert keys[name].verify(b"document", signature, hash_name=given)


@pytest.mark.parametrize("name", CURVES)
def test_a_prehashed_ecdsa_signature_is_a_signature_of_the_data(keys: dict[str, LoadedKey], name: str) -> None:
    hash_name, algorithm = CURVES[name]
    digest = hashlib.new(hash_name, b"big file").digest()
    signature = keys[name].sign(digest, prehashed=True)
    _public(keys[name]).verify(signature, b"big file", ec.ECDSA(algorithm))
    assert keys[name].verify(b"big file", signature)
    assert keys[name].verify(digest, signature, prehashed=True)


@pytest.mark.parametrize("name", CURVES)
def test_a_flipped_byte_anywhere_in_an_ecdsa_signature_fails_verification(
    keys: dict[str, LoadedKey], name: str
) -> None:
    signature = keys[name].sign(b"document")
    for position in range(len(signature)):
        assert keys[name].verify(b"document", flip(signature, position)) is False


@pytest.mark.parametrize("name", CURVES)
def test_an_ecdsa_signature_fails_for_other_data_or_another_key(
    keys: dict[str, LoadedKey], other_keys: dict[str, LoadedKey], name: str
) -> None:
    signature = keys[name].sign(b"document")
    assert not keys[name].verify(b"Document", signature)
    assert not other_keys[name].verify(b"document", signature)


@pytest.mark.parametrize("signature", [b"", b"\x30", b"\x30\x00", b"\x00" * 64, b"\xff" * 200])
def test_a_malformed_ecdsa_signature_fails_verification_without_raising(
    keys: dict[str, LoadedKey], signature: bytes
) -> None:
    assert keys["ecdsa-p256"].verify(b"document", signature) is False


@pytest.mark.parametrize(
    ("name", "hash_name"),
    [
        ("ecdsa-p256", "sha384"),
        ("ecdsa-p256", "sha512"),
        ("ecdsa-p384", "sha256"),
        ("ecdsa-p384", "sha512"),
        ("ecdsa-p256", "md5"),
    ],
)
def test_ecdsa_refuses_any_hash_but_its_curves_own(keys: dict[str, LoadedKey], name: str, hash_name: str) -> None:
    allowed = CURVES[name][0]
    with pytest.raises(InvalidRequest, match=f"allowed: {allowed}$"):
        keys[name].sign(b"d", hash_name=hash_name)
    with pytest.raises(InvalidRequest, match=f"allowed: {allowed}$"):
        keys[name].verify(b"d", b"s", hash_name=hash_name)


@pytest.mark.parametrize("name", CURVES)
def test_ecdsa_refuses_a_padding(keys: dict[str, LoadedKey], name: str) -> None:
    for pad in ("pss", "pkcs1v15", ""):
        with pytest.raises(InvalidRequest, match="padding applies only to RSA keys"):
            keys[name].sign(b"d", padding=pad)


@pytest.mark.parametrize(("name", "size"), [("ecdsa-p256", 32), ("ecdsa-p384", 48)])
def test_a_prehashed_ecdsa_digest_of_the_wrong_length_is_refused(
    keys: dict[str, LoadedKey], name: str, size: int
) -> None:
    for wrong in (0, size - 1, size + 1, 64):
        with pytest.raises(InvalidRequest, match=f"{size}-byte"):
            keys[name].sign(b"\x00" * wrong, prehashed=True)


@needs_openssl
@pytest.mark.parametrize("name", CURVES)
def test_openssl_dgst_verifies_an_egide_ecdsa_signature(keys: dict[str, LoadedKey], tmp_path: Path, name: str) -> None:
    public, data, signature = tmp_path / "public.pem", tmp_path / "data", tmp_path / "sig"
    public.write_text(keys[name].public_key_pem())  # type: ignore[arg-type]
    data.write_bytes(b"signed document")
    signature.write_bytes(keys[name].sign(b"signed document"))
    done = openssl("dgst", f"-{CURVES[name][0]}", "-verify", public, "-signature", signature, data)
    assert done.returncode == 0, done.stderr
