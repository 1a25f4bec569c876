"""rsa2048 / rsa4096: raw OAEP-SHA256 encryption; PSS or PKCS#1 v1.5 signatures."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature as BadSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_private_key, load_pem_public_key

from kms.crypto import InvalidCiphertext, InvalidRequest, LoadedKey, aes_aad_prefix
from kms.crypto.errors import DECRYPT_FAILED

from .helpers import flip, needs_openssl, openssl, spread

RSA = ["rsa2048", "rsa4096"]
LIMITS = {"rsa2048": 190, "rsa4096": 446}
HASHES = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}
SIGN_PARAMS = [(name, h, p) for name in RSA for h in HASHES for p in ("pss", "pkcs1v15")]


def _public(key: LoadedKey) -> rsa.RSAPublicKey:
    public = load_pem_public_key(key.public_key_pem().encode())  # type: ignore[union-attr]
    assert isinstance(public, rsa.RSAPublicKey)
    return public


def _oaep() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def _plain_padding(name: str, hash_name: str) -> padding.AsymmetricPadding:
    if name == "pkcs1v15":
        return padding.PKCS1v15()
    algorithm = HASHES[hash_name]
    return padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size)


@pytest.mark.parametrize("name", RSA)
def test_rsa_round_trips_plaintext_up_to_the_oaep_limit(keys: dict[str, LoadedKey], name: str) -> None:
    for size in (0, 1, 32, LIMITS[name]):
        plaintext = bytes([size % 256]) * size
        blob = keys[name].encrypt(plaintext)
        assert len(blob) == int(name[3:]) // 8
        assert keys[name].decrypt(blob) == plaintext


@pytest.mark.parametrize("name", RSA)
def test_rsa_refuses_plaintext_over_the_oaep_limit_and_names_the_limit(keys: dict[str, LoadedKey], name: str) -> None:
    limit = LIMITS[name]
    with pytest.raises(InvalidRequest) as caught:
        keys[name].encrypt(b"\xaa" * (limit + 1))
    assert str(caught.value) == (
        f"plaintext is {limit + 1} bytes; {name} with OAEP-SHA256 encrypts at most {limit} "
        "bytes; use a data key for larger data"
    )


@pytest.mark.parametrize("name", RSA)
def test_anyone_with_the_public_key_pem_can_encrypt_for_egide(keys: dict[str, LoadedKey], name: str) -> None:
    blob = _public(keys[name]).encrypt(b"from outside", _oaep())
    assert keys[name].decrypt(blob) == b"from outside"


def test_egide_ciphertext_decrypts_with_plain_cryptography(
    materials: dict[str, bytes], keys: dict[str, LoadedKey]
) -> None:
    private = load_der_private_key(materials["rsa2048"], password=None)
    blob = keys["rsa2048"].encrypt(b"to outside")
    assert private.decrypt(blob, _oaep()) == b"to outside"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", RSA)
def test_a_flipped_byte_in_an_rsa_ciphertext_is_refused(keys: dict[str, LoadedKey], name: str) -> None:
    blob = keys[name].encrypt(b"hello")
    for position in spread(len(blob), 6):
        with pytest.raises(InvalidCiphertext) as caught:
            keys[name].decrypt(flip(blob, position))
        assert str(caught.value) == DECRYPT_FAILED


@pytest.mark.parametrize("name", RSA)
def test_an_rsa_ciphertext_of_the_wrong_length_is_refused(keys: dict[str, LoadedKey], name: str) -> None:
    blob = keys[name].encrypt(b"hello")
    for bad in (b"", blob[:-1], blob + b"\x00", b"\x00" * 256 if name == "rsa4096" else blob * 2):
        with pytest.raises(InvalidCiphertext) as caught:
            keys[name].decrypt(bad)
        assert str(caught.value) == DECRYPT_FAILED


def test_an_rsa_ciphertext_does_not_decrypt_under_another_rsa_key(
    keys: dict[str, LoadedKey], other_rsa2048: LoadedKey
) -> None:
    with pytest.raises(InvalidCiphertext) as caught:
        other_rsa2048.decrypt(keys["rsa2048"].encrypt(b"hello"))
    assert str(caught.value) == DECRYPT_FAILED


@pytest.mark.parametrize("name", RSA)
def test_a_context_given_to_an_rsa_key_is_an_invalid_request(keys: dict[str, LoadedKey], name: str) -> None:
    blob = keys[name].encrypt(b"hello")
    for call in (
        lambda: keys[name].encrypt(b"hello", context=b"ctx"),
        lambda: keys[name].decrypt(blob, context=b"ctx"),
        lambda: keys[name].encrypt(b"hello", context=b""),
    ):
        with pytest.raises(InvalidRequest, match="context applies only to aes256 keys"):
            call()


def test_the_aad_prefix_is_ignored_by_rsa(keys: dict[str, LoadedKey]) -> None:
    uid = bytes(16)
    blob = keys["rsa2048"].encrypt(b"hello", aad_prefix=aes_aad_prefix(uid, 1))
    assert keys["rsa2048"].decrypt(blob, aad_prefix=aes_aad_prefix(uid, 2)) == b"hello"


@pytest.mark.parametrize(("name", "hash_name", "pad"), SIGN_PARAMS)
def test_rsa_signatures_verify_with_plain_cryptography_given_only_the_public_pem(
    keys: dict[str, LoadedKey], name: str, hash_name: str, pad: str
) -> None:
    signature = keys[name].sign(b"document", hash_name=hash_name, padding=pad)
    assert len(signature) == int(name[3:]) // 8
    assert keys[name].verify(b"document", signature, hash_name=hash_name, padding=pad)
    _public(keys[name]).verify(signature, b"document", _plain_padding(pad, hash_name), HASHES[hash_name])


@pytest.mark.parametrize(("name", "hash_name", "pad"), SIGN_PARAMS)
def test_a_prehashed_rsa_signature_is_a_signature_of_the_data(
    keys: dict[str, LoadedKey], name: str, hash_name: str, pad: str
) -> None:
    digest = hashlib.new(hash_name, b"big file").digest()
    signature = keys[name].sign(digest, hash_name=hash_name, padding=pad, prehashed=True)
    _public(keys[name]).verify(signature, b"big file", _plain_padding(pad, hash_name), HASHES[hash_name])
    assert keys[name].verify(b"big file", signature, hash_name=hash_name, padding=pad)
    assert keys[name].verify(digest, signature, hash_name=hash_name, padding=pad, prehashed=True)


def test_rsa_signs_with_pss_and_sha256_by_default(keys: dict[str, LoadedKey]) -> None:
    signature = keys["rsa2048"].sign(b"document")
    _public(keys["rsa2048"]).verify(signature, b"document", _plain_padding("pss", "sha256"), hashes.SHA256())
    assert keys["rsa2048"].verify(b"document", signature, hash_name="sha256", padding="pss")


def test_pkcs1v15_signatures_are_deterministic_and_pss_signatures_are_not(
    keys: dict[str, LoadedKey],
) -> None:
    key = keys["rsa2048"]
    assert key.sign(b"d", padding="pkcs1v15") == key.sign(b"d", padding="pkcs1v15")
    assert key.sign(b"d", padding="pss") != key.sign(b"d", padding="pss")


@pytest.mark.parametrize("name", RSA)
def test_a_flipped_byte_in_an_rsa_signature_fails_verification(keys: dict[str, LoadedKey], name: str) -> None:
    for pad in ("pss", "pkcs1v15"):
        signature = keys[name].sign(b"document", padding=pad)
        for position in spread(len(signature), 8):
            assert not keys[name].verify(b"document", flip(signature, position), padding=pad)


def test_a_signature_fails_verification_with_other_data_hash_or_padding(
    keys: dict[str, LoadedKey],
) -> None:
    key = keys["rsa2048"]
    signature = key.sign(b"document", hash_name="sha384", padding="pss")
    assert key.verify(b"document", signature, hash_name="sha384", padding="pss")
    assert not key.verify(b"documenT", signature, hash_name="sha384", padding="pss")
    assert not key.verify(b"document", signature, hash_name="sha256", padding="pss")
    assert not key.verify(b"document", signature, hash_name="sha384", padding="pkcs1v15")


@pytest.mark.parametrize("signature", [b"", b"\x00", b"\xff" * 256, b"\x00" * 300])
def test_a_malformed_rsa_signature_fails_verification_without_raising(
    keys: dict[str, LoadedKey], signature: bytes
) -> None:
    assert keys["rsa2048"].verify(b"document", signature) is False


@pytest.mark.parametrize("hash_name", ["md5", "sha1", "SHA256", "sha-256", "sha3_256", "", 1])
def test_an_rsa_hash_outside_sha2_256_384_512_is_refused_naming_the_allowed_ones(
    keys: dict[str, LoadedKey], hash_name: object
) -> None:
    for call in (
        lambda: keys["rsa2048"].sign(b"d", hash_name=hash_name),  # type: ignore[arg-type]
        lambda: keys["rsa2048"].verify(b"d", b"s", hash_name=hash_name),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidRequest, match="allowed: sha256, sha384, sha512"):
            call()


@pytest.mark.parametrize("pad", ["oaep", "PSS", "none", "pkcs1"])
def test_an_unknown_rsa_padding_is_refused_naming_the_allowed_ones(keys: dict[str, LoadedKey], pad: str) -> None:
    with pytest.raises(InvalidRequest, match="allowed: pss, pkcs1v15"):
        keys["rsa2048"].sign(b"d", padding=pad)


@pytest.mark.parametrize(("hash_name", "size"), [("sha256", 32), ("sha384", 48), ("sha512", 64)])
def test_a_prehashed_digest_of_the_wrong_length_is_refused(
    keys: dict[str, LoadedKey], hash_name: str, size: int
) -> None:
    for wrong in (size - 1, size + 1, 0):
        with pytest.raises(InvalidRequest, match=f"{size}-byte {hash_name} digest"):
            keys["rsa2048"].sign(b"\x00" * wrong, hash_name=hash_name, prehashed=True)
        with pytest.raises(InvalidRequest, match=f"{size}-byte {hash_name} digest"):
            keys["rsa2048"].verify(b"\x00" * wrong, b"s", hash_name=hash_name, prehashed=True)


def test_prehashed_must_be_a_boolean(keys: dict[str, LoadedKey]) -> None:
    with pytest.raises(InvalidRequest, match="prehashed"):
        keys["rsa2048"].sign(b"\x00" * 32, prehashed="false")  # type: ignore[arg-type]


@needs_openssl
def test_openssl_pkeyutl_oaep_sha256_encrypts_for_egide(keys: dict[str, LoadedKey], tmp_path: Path) -> None:
    public = tmp_path / "public.pem"
    public.write_text(keys["rsa2048"].public_key_pem())  # type: ignore[arg-type]
    done = openssl(
        "pkeyutl", "-encrypt", "-pubin", "-inkey", public,
        "-pkeyopt", "rsa_padding_mode:oaep",
        "-pkeyopt", "rsa_oaep_md:sha256",
        "-pkeyopt", "rsa_mgf1_md:sha256",
        stdin=b"made by openssl",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert keys["rsa2048"].decrypt(done.stdout) == b"made by openssl"


@needs_openssl
@pytest.mark.parametrize("pad", ["pss", "pkcs1v15"])
def test_openssl_dgst_verifies_an_egide_rsa_signature(keys: dict[str, LoadedKey], tmp_path: Path, pad: str) -> None:
    public, data, signature = tmp_path / "public.pem", tmp_path / "data", tmp_path / "sig"
    public.write_text(keys["rsa2048"].public_key_pem())  # type: ignore[arg-type]
    data.write_bytes(b"signed document")
    signature.write_bytes(keys["rsa2048"].sign(b"signed document", padding=pad))
    options = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]
    done = openssl(
        "dgst", "-sha256", *(options if pad == "pss" else []),
        "-verify", public, "-signature", signature, data,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert b"Verified OK" in done.stdout


def test_plain_cryptography_rejects_a_tampered_egide_signature(
    keys: dict[str, LoadedKey],
) -> None:
    signature = flip(keys["rsa2048"].sign(b"document"), 10)
    with pytest.raises(BadSignature):
        _public(keys["rsa2048"]).verify(signature, b"document", _plain_padding("pss", "sha256"), hashes.SHA256())
