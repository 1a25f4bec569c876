"""hmac keys and the HMAC key every version carries: RFC 4231, constant-time verify, design."""

from __future__ import annotations

import base64
import hmac as std_hmac

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kms.crypto import ALL_KEY_TYPES, HMAC, InvalidKeyMaterial, InvalidRequest, get_key_type
from kms.crypto.mac import HmacSha2, version_hmac_key

from .vectors import records

HMAC_TYPE = get_key_type("hmac", served_only=False)
RFC4231 = [
    (name, record)
    for name in ("sha256", "sha384", "sha512")
    for record in records("HMAC", f"rfc-4231-{name}.txt", start="Len")
]


def test_the_rfc_4231_file_has_the_cases_we_expect() -> None:
    assert len(RFC4231) == 18  # 6 cases (the truncation case is not in the file) x 3 hashes


@pytest.mark.parametrize(("hash_name", "record"), RFC4231)
def test_hmac_matches_rfc_4231(hash_name: str, record: dict[str, str]) -> None:
    key, message = bytes.fromhex(record["Key"]), bytes.fromhex(record["Msg"])
    expected = bytes.fromhex(record["MD"])
    mac = HmacSha2(key)
    assert mac.compute(message, hash_name=hash_name) == expected
    assert mac.verify(message, expected, hash_name=hash_name)
    assert not mac.verify(message + b"x", expected, hash_name=hash_name)


def test_an_hmac_key_is_32_random_bytes_and_its_material_is_the_key() -> None:
    material = HMAC_TYPE.generate()
    assert len(material) == 32 and material != HMAC_TYPE.generate()
    key = HMAC_TYPE.load(material)
    for name in ("sha256", "sha384", "sha512"):
        assert key.hmac(b"data", hash_name=name) == std_hmac.digest(material, b"data", name)
    assert key.hmac(b"data") == std_hmac.digest(material, b"data", "sha256")  # the default
    assert key.export_material() == base64.b64encode(material).decode()
    assert key.export_hmac_key() == key.export_material()


@pytest.mark.parametrize("material", [b"", bytes(31), bytes(33), "x" * 32])
def test_hmac_material_must_be_32_raw_bytes(material: object) -> None:
    with pytest.raises(InvalidKeyMaterial, match="32 raw bytes"):
        HMAC_TYPE.load(material)  # type: ignore[arg-type]


def test_verify_takes_the_hmac_as_the_signature_and_refuses_wrong_ones_without_raising() -> None:
    key = HMAC_TYPE.load(HMAC_TYPE.generate())
    tag = key.hmac(b"data", hash_name="sha384")
    assert key.verify(b"data", tag, hash_name="sha384")
    assert key.verify_hmac(b"data", tag, hash_name="sha384")
    assert not key.verify(b"data", tag)  # a sha384 tag is not a sha256 one
    assert not key.verify(b"data", tag[:-1], hash_name="sha384")
    assert not key.verify(b"data", tag + b"\x00", hash_name="sha384")
    assert not key.verify(b"data", b"", hash_name="sha384")
    assert not key.verify(b"data", bytes(9000), hash_name="sha384")
    flipped = bytes([tag[0] ^ 1]) + tag[1:]
    assert not key.verify(b"data", flipped, hash_name="sha384")


def test_verify_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = std_hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("kms.crypto.mac.std_hmac.compare_digest", spy)
    key = HMAC_TYPE.load(HMAC_TYPE.generate())
    tag = key.hmac(b"data")
    assert key.verify(b"data", tag) and not key.verify(b"data", bytes(32))
    assert len(calls) == 2


@pytest.mark.parametrize("bad", ["md5", "sha1", "SHA256", "sha3_256", 256])
def test_an_hmac_hash_outside_sha2_256_384_512_is_refused(bad: object) -> None:
    key = HMAC_TYPE.load(HMAC_TYPE.generate())
    with pytest.raises(InvalidRequest, match="sha256, sha384, sha512"):
        key.hmac(b"data", hash_name=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest):
        key.verify(b"data", bytes(32), hash_name=bad)  # type: ignore[arg-type]


def test_hmac_verify_refuses_signing_parameters() -> None:
    key = HMAC_TYPE.load(HMAC_TYPE.generate())
    for extra in ({"padding": "pss"}, {"prehashed": True}, {"context": b"c"}):
        with pytest.raises(InvalidRequest):
            key.verify(b"data", bytes(32), **extra)  # type: ignore[arg-type]


def test_hmac_keys_can_only_hmac_and_verify() -> None:
    key = HMAC_TYPE.load(HMAC_TYPE.generate())
    assert HMAC_TYPE.operations == {HMAC, "verify"}
    assert not HMAC_TYPE.asymmetric and not HMAC_TYPE.has_public_key
    assert key.public_key_pem() is None


# --- the HMAC key of every version ---------------------------------------------------------


def test_every_type_version_has_an_hmac_key_derived_by_hkdf_from_its_material() -> None:
    for name, key_type in ALL_KEY_TYPES.items():
        if name.startswith("rsa"):
            continue  # covered below with a session key (generation is slow)
        material = key_type.generate()
        key = key_type.load(material)
        expected = (
            material
            if name == "hmac"
            else HKDF(
                hashes.SHA256(),
                32,
                salt=None,
                info=b"egide:version-hmac:v1\x00" + name.encode(),
            ).derive(material)
        )
        assert key.export_hmac_key() == base64.b64encode(expected).decode(), name
        assert key.hmac(b"data") == std_hmac.digest(expected, b"data", "sha256"), name
        assert key.verify_hmac(b"data", key.hmac(b"data")), name
        # Deterministic: loading the same material again gives the same HMAC key.
        assert key_type.load(material).hmac(b"data") == key.hmac(b"data"), name


def test_the_version_hmac_key_is_independent_of_the_material_and_of_the_type() -> None:
    material = bytes(range(32))
    aes_key = version_hmac_key("aes256", material)
    assert aes_key != material
    assert aes_key != version_hmac_key("hmac", material)
    assert get_key_type("aes256").load(material).hmac(b"x") != (HMAC_TYPE.load(material).hmac(b"x"))


def test_an_rsa_version_has_an_hmac_key_too(materials: dict[str, bytes]) -> None:
    key = get_key_type("rsa2048").load(materials["rsa2048"])
    expected = version_hmac_key("rsa2048", materials["rsa2048"])
    assert key.hmac(b"data", hash_name="sha512") == std_hmac.digest(expected, b"data", "sha512")


def test_the_hmac_key_never_shows_in_a_repr() -> None:
    material = HMAC_TYPE.generate()
    key = HMAC_TYPE.load(material)
    assert material.hex() not in repr(key) and repr(key) == "<LoadedKey hmac>"
    assert repr(HmacSha2(material)) == "<HmacSha2>"
