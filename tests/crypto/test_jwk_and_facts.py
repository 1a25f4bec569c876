"""JWK rendering, the registry's facts, and key-material hygiene."""

from __future__ import annotations

import base64
import copy
import pickle

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from kms.crypto import (
    ALL_KEY_TYPES,
    KEY_TYPES,
    InvalidKeyMaterial,
    InvalidKeyType,
    InvalidRequest,
    LoadedKey,
    MasterKey,
    get_key_type,
)
from kms.crypto.datakey import DataKey, new_data_key
from kms.crypto.jwk import public_jwk, thumbprint
from kms.crypto.keytypes import NIST_GCM_RANDOM_NONCE_LIMIT


def unb64url(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


# --- JWK -------------------------------------------------------------------------------------


def test_an_rsa_jwk_carries_n_and_e(keys: dict[str, LoadedKey]) -> None:
    pem = keys["rsa2048"].public_key_pem() or ""
    jwk = public_jwk(pem, kid="signer:v1")
    public = serialization.load_pem_public_key(pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    numbers = public.public_numbers()
    assert (jwk["kty"], jwk["use"], jwk["kid"]) == ("RSA", "sig", "signer:v1")
    assert (unb64url(jwk["n"]), unb64url(jwk["e"])) == (numbers.n, numbers.e)
    assert jwk["e"] == "AQAB" and "alg" not in jwk
    assert public_jwk(pem, kid="k", alg="PS256")["alg"] == "PS256"
    with pytest.raises(InvalidRequest):
        public_jwk(pem, kid="k", alg="ES256")


@pytest.mark.parametrize(("name", "crv", "alg", "size"), [
    ("ecdsa-p256", "P-256", "ES256", 32), ("ecdsa-p384", "P-384", "ES384", 48)])  # fmt: skip
def test_an_ec_jwk_has_fixed_length_coordinates(
    keys: dict[str, LoadedKey], name: str, crv: str, alg: str, size: int
) -> None:
    pem = keys[name].public_key_pem() or ""
    jwk = public_jwk(pem, kid="k")
    public = serialization.load_pem_public_key(pem.encode())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("EC", crv, alg)
    for coordinate, value in (("x", public.public_numbers().x), ("y", public.public_numbers().y)):
        raw = base64.urlsafe_b64decode(jwk[coordinate] + "=" * (-len(jwk[coordinate]) % 4))
        assert len(raw) == size and int.from_bytes(raw, "big") == value
    rebuilt = ec.EllipticCurvePublicNumbers(unb64url(jwk["x"]), unb64url(jwk["y"]), public.curve).public_key()
    assert rebuilt == public


def test_an_ed25519_jwk_follows_rfc_8037() -> None:
    """RFC 8037, appendix A.2: the public key and its JWK 'x'; A.3: its thumbprint."""
    raw = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    pem = ed25519.Ed25519PublicKey.from_public_bytes(raw).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk = public_jwk(pem.decode(), kid="k")
    assert jwk["x"] == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("OKP", "Ed25519", "EdDSA")
    assert thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_only_signing_keys_render_as_jwk(keys: dict[str, LoadedKey]) -> None:
    x25519_type = get_key_type("x25519", served_only=False)
    x25519_key = x25519_type.load(x25519_type.generate())
    with pytest.raises(InvalidKeyMaterial, match="only RSA"):
        public_jwk(x25519_key.public_key_pem() or "", kid="k")
    with pytest.raises(InvalidRequest):
        public_jwk(keys["ed25519"].public_key_pem() or "", kid="")
    assert {n for n, kt in ALL_KEY_TYPES.items() if kt.jwk} == {
        "rsa2048", "rsa4096", "ecdsa-p256", "ecdsa-p384", "ed25519"}  # fmt: skip


# --- the registry's facts --------------------------------------------------------------------


def test_every_registered_type_is_served_now_that_its_operations_are_wired() -> None:
    assert list(KEY_TYPES) == list(ALL_KEY_TYPES)
    assert list(ALL_KEY_TYPES)[6:] == ["hmac", "ml-dsa-44", "ml-dsa-65", "ml-dsa-87",
                                       "ml-kem-768", "ml-kem-1024", "x25519", "ecdh-p256",
                                       "ecdh-p384"]  # fmt: skip
    assert get_key_type("ml-dsa-65").name == "ml-dsa-65"
    with pytest.raises(InvalidKeyType):
        get_key_type("ml-dsa-66")


def test_only_aes256_has_a_nonce_limit_and_a_context() -> None:
    limited = {n: kt.encrypt_limit for n, kt in ALL_KEY_TYPES.items() if kt.encrypt_limit}
    assert limited == {"aes256": NIST_GCM_RANDOM_NONCE_LIMIT} and limited["aes256"] == 2**32
    assert [n for n, kt in ALL_KEY_TYPES.items() if kt.accepts_context] == ["aes256"]
    uid = bytes(16)
    assert get_key_type("aes256").aad_prefix(uid, 1).startswith(b"egide:aes256-gcm:v1\x00")
    assert get_key_type("rsa2048").aad_prefix(uid, 1) == b""


def test_hash_padding_and_prehash_facts() -> None:
    facts = {n: (kt.default_hash, kt.default_padding, kt.prehash) for n, kt in KEY_TYPES.items()}
    assert facts == {
        "aes256": (None, None, False),
        "rsa2048": ("sha256", "pss", True),
        "rsa4096": ("sha256", "pss", True),
        "ecdsa-p256": ("sha256", None, True),
        "ecdsa-p384": ("sha384", None, True),
        "ed25519": (None, None, False),
        "hmac": ("sha256", None, False),
        **{
            n: (None, None, False)
            for n in (
                "ml-dsa-44",
                "ml-dsa-65",
                "ml-dsa-87",
                "ml-kem-768",
                "ml-kem-1024",
                "x25519",
                "ecdh-p256",
                "ecdh-p384",
            )
        },
    }
    assert get_key_type("rsa2048").paddings == ("pss", "pkcs1v15")
    assert get_key_type("rsa4096").hash_names == ("sha256", "sha384", "sha512")
    assert get_key_type("aes256").hmac_hash_names == ("sha256", "sha384", "sha512")


def test_sizes_and_public_key_facts(keys: dict[str, LoadedKey]) -> None:
    assert get_key_type("rsa2048").max_plaintext == 190
    assert get_key_type("rsa4096").max_plaintext == 446
    for name, key_type in ALL_KEY_TYPES.items():
        assert key_type.has_public_key == key_type.asymmetric, name
        assert (key_type.material_format == "raw") == (name in ("aes256", "hmac")), name
    for name, key in keys.items():
        assert (key.public_key_pem() is not None) == get_key_type(name).has_public_key
    transit = {n: kt.transit_name for n, kt in ALL_KEY_TYPES.items() if kt.transit_name}
    assert transit["aes256"] == "aes256-gcm96" and transit["rsa4096"] == "rsa-4096"


def test_every_type_has_a_summary_and_generates_loadable_material() -> None:
    for name, key_type in ALL_KEY_TYPES.items():
        if name.startswith("rsa"):
            continue
        assert key_type.summary, name
        key_type.load(key_type.generate())


# --- hygiene ---------------------------------------------------------------------------------


def test_a_data_key_never_shows_its_plaintext() -> None:
    plaintext = new_data_key()
    data_key = DataKey(plaintext, "egide:v1:AAAA", 1)
    for shown in (repr(data_key), str(data_key), f"{data_key!r}"):
        assert plaintext.hex() not in shown and repr(plaintext) not in shown
        assert "<hidden>" in shown
    assert "None" in repr(DataKey(None, "egide:v1:AAAA", 1))
    with pytest.raises(TypeError):
        pickle.dumps(data_key)


def test_the_master_key_object_keeps_no_raw_master_key() -> None:
    raw = bytes(range(32))
    master = MasterKey(raw)
    held = [getattr(master, slot) for slot in MasterKey.__slots__ if hasattr(master, slot)]
    assert not any(value == raw for value in held if isinstance(value, bytes))
    assert not hasattr(master, "_key")
    assert raw.hex() not in repr(master)


@pytest.mark.parametrize("name", [n for n in ALL_KEY_TYPES if n not in KEY_TYPES])  # the served types: test_keytypes.py
def test_new_types_keep_the_loaded_key_contract(name: str) -> None:
    key_type = ALL_KEY_TYPES[name]
    material = key_type.generate()
    key = key_type.load(material)
    assert repr(key) == f"<LoadedKey {name}>" and material.hex() not in repr(key)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(key)
    with pytest.raises(TypeError):
        copy.copy(key)
