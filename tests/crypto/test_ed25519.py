"""ed25519: RFC 8032 known answers, interoperability, and parameter refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from kms.crypto import InvalidRequest, LoadedKey, get_key_type

from .helpers import flip, needs_openssl, openssl
from .vectors import ROOT

# RFC 8032, section 7.1, TEST 1-3: (secret key (seed), public key, message, signature).
RFC_8032 = {
    "test 1": (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    "test 2": (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    "test 3": (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
}


def _pkcs8_from_seed(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _public(key: LoadedKey) -> Ed25519PublicKey:
    public = serialization.load_pem_public_key(key.public_key_pem().encode())  # type: ignore[union-attr]
    assert isinstance(public, Ed25519PublicKey)
    return public


@pytest.mark.parametrize("vector", RFC_8032)
def test_rfc_8032_vectors_give_the_published_public_key_and_signature(vector: str) -> None:
    seed, public, message, signature = (bytes.fromhex(field) for field in RFC_8032[vector])
    key = get_key_type("ed25519").load(_pkcs8_from_seed(seed))
    raw_public = _public(key).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert raw_public == public
    assert key.sign(message) == signature
    assert key.verify(message, signature)


def test_ed25519_signatures_verify_with_plain_cryptography(keys: dict[str, LoadedKey]) -> None:
    signature = keys["ed25519"].sign(b"document")
    assert len(signature) == 64
    _public(keys["ed25519"]).verify(signature, b"document")


def test_a_flipped_byte_anywhere_in_an_ed25519_signature_fails_verification(
    keys: dict[str, LoadedKey],
) -> None:
    signature = keys["ed25519"].sign(b"document")
    for position in range(len(signature)):
        assert keys["ed25519"].verify(b"document", flip(signature, position)) is False


def test_an_ed25519_signature_fails_for_other_data_or_another_key(
    keys: dict[str, LoadedKey], other_keys: dict[str, LoadedKey]
) -> None:
    signature = keys["ed25519"].sign(b"document")
    assert not keys["ed25519"].verify(b"documenT", signature)
    assert not other_keys["ed25519"].verify(b"document", signature)


@pytest.mark.parametrize("signature", [b"", b"\x00" * 63, b"\x00" * 65, b"\xff" * 64])
def test_a_malformed_ed25519_signature_fails_verification_without_raising(
    keys: dict[str, LoadedKey], signature: bytes
) -> None:
    assert keys["ed25519"].verify(b"document", signature) is False


def test_ed25519_has_no_prehashed_form(keys: dict[str, LoadedKey]) -> None:
    message = "ed25519 has no prehashed form; send the data"
    with pytest.raises(InvalidRequest, match=message):
        keys["ed25519"].sign(b"\x00" * 64, prehashed=True)
    with pytest.raises(InvalidRequest, match=message):
        keys["ed25519"].verify(b"\x00" * 64, b"\x00" * 64, prehashed=True)


@pytest.mark.parametrize("hash_name", ["sha256", "sha512", ""])
def test_ed25519_refuses_a_hash_parameter(keys: dict[str, LoadedKey], hash_name: str) -> None:
    with pytest.raises(InvalidRequest, match="ed25519 keys take no hash parameter"):
        keys["ed25519"].sign(b"d", hash_name=hash_name)


@pytest.mark.parametrize("pad", ["pss", "pkcs1v15"])
def test_ed25519_refuses_a_padding(keys: dict[str, LoadedKey], pad: str) -> None:
    with pytest.raises(InvalidRequest, match="padding applies only to RSA keys"):
        keys["ed25519"].verify(b"d", b"\x00" * 64, padding=pad)


def test_ed25519_refuses_data_that_is_not_bytes(keys: dict[str, LoadedKey]) -> None:
    with pytest.raises(InvalidRequest, match="data must be bytes"):
        keys["ed25519"].sign("text")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="signature must be bytes"):
        keys["ed25519"].verify(b"d", "text")  # type: ignore[arg-type]


@needs_openssl
def test_openssl_pkeyutl_verifies_an_egide_ed25519_signature(keys: dict[str, LoadedKey], tmp_path: Path) -> None:
    public, data, signature = tmp_path / "public.pem", tmp_path / "data", tmp_path / "sig"
    public.write_text(keys["ed25519"].public_key_pem())  # type: ignore[arg-type]
    data.write_bytes(b"signed document")
    signature.write_bytes(keys["ed25519"].sign(b"signed document"))
    done = openssl(
        "pkeyutl", "-verify", "-pubin", "-inkey", public, "-rawin",
        "-in", data, "-sigfile", signature,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


# --- libsodium signs and verifies; OpenSSL (pyca) is the yardstick ---------------------------

SIGN_INPUT = ROOT / "asymmetric" / "Ed25519" / "sign.input"  # the ed25519 paper's 1,024 vectors


def _sign_input() -> list[tuple[bytes, bytes, bytes, bytes]]:
    """(seed, public key, message, signature) of every line of sign.input."""
    vectors = []
    for line in SIGN_INPUT.read_text().splitlines():
        secret, public, message, signed, _ = (bytes.fromhex(field) for field in line.split(":"))
        vectors.append((secret[:32], public, message, signed[:64]))
    return vectors


def test_the_ed25519_papers_1024_vectors_sign_and_verify_as_published() -> None:
    key_type = get_key_type("ed25519")
    for seed, public, message, signature in _sign_input():
        key = key_type.load(_pkcs8_from_seed(seed))
        assert _public(key).public_bytes_raw() == public
        assert key.sign(message) == signature
        assert key.verify(message, signature)
        assert not key.verify(message + b"\x00", signature)
        verify_only = key_type.load_public(key.public_key_pem())  # type: ignore[arg-type]
        assert verify_only.verify(message, signature)


@settings(max_examples=200, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=300),
       position=st.integers(min_value=0, max_value=63), mask=st.integers(min_value=1, max_value=255))  # fmt: skip
def test_egide_signs_byte_for_byte_as_openssl_and_both_agree_on_every_altered_signature(
    seed: bytes, message: bytes, position: int, mask: int
) -> None:
    key = get_key_type("ed25519").load(_pkcs8_from_seed(seed))
    reference = Ed25519PrivateKey.from_private_bytes(seed)
    signature = key.sign(message)
    assert signature == reference.sign(message)
    altered = flip(signature, position, mask)
    try:
        reference.public_key().verify(altered, message)
        openssl_says = True
    except InvalidSignature:
        openssl_says = False
    assert key.verify(message, altered) is openssl_says
    assert key.verify(message, signature)


SMALL_ORDER_PUBLIC_KEY = b"\x01" + b"\x00" * 31  # the neutral point: every (R = sB, s) "verifies"
BASE_POINT = bytes.fromhex("58" + "66" * 31)


def test_a_signature_anyone_can_forge_for_a_small_order_public_key_is_refused() -> None:
    """OpenSSL accepts (R = B, s = 1) for the neutral point as public key, for any message;
    Egide verifies with libsodium, which refuses small-order keys and R."""
    forged = BASE_POINT + (1).to_bytes(32, "little")
    weak = Ed25519PublicKey.from_public_bytes(SMALL_ORDER_PUBLIC_KEY)
    weak.verify(forged, b"pay mallory")  # the hole being closed: OpenSSL raises nothing
    pem = weak.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    key = get_key_type("ed25519").load_public(pem.decode())
    assert key.verify(b"pay mallory", forged) is False
