"""The key-type registry, the operations matrix, and the LoadedKey contract."""

from __future__ import annotations

import base64
import copy
import pickle
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from kms.crypto import (
    DECAPSULATE,
    DECRYPT,
    DERIVE,
    ENCRYPT,
    HMAC,
    KEY_TYPES,
    SIGN,
    VERIFY,
    InvalidKeyMaterial,
    InvalidKeyType,
    InvalidRequest,
    KeyType,
    LoadedKey,
    OperationNotAllowed,
    get_key_type,
    register,
)
from kms.crypto.rsa import RsaKey

REPO_ROOT = Path(__file__).resolve().parents[2]

# The spec's "Key Operations Matrix", row by row.
SPEC_MATRIX = {
    "aes256": {ENCRYPT, DECRYPT},
    "rsa2048": {ENCRYPT, DECRYPT, SIGN, VERIFY},
    "rsa4096": {ENCRYPT, DECRYPT, SIGN, VERIFY},
    "ecdsa-p256": {SIGN, VERIFY},
    "ecdsa-p384": {SIGN, VERIFY},
    "ed25519": {SIGN, VERIFY},
}

# Issue 16's types, served since their operations are wired (kms/dataplane/ops).
NEW_MATRIX = {
    "hmac": {HMAC, VERIFY},
    "ml-dsa-44": {SIGN, VERIFY},
    "ml-dsa-65": {SIGN, VERIFY},
    "ml-dsa-87": {SIGN, VERIFY},
    "ml-kem-768": {DECAPSULATE},
    "ml-kem-1024": {DECAPSULATE},
    "x25519": {DERIVE},
    "ecdh-p256": {DERIVE},
    "ecdh-p384": {DERIVE},
}

CALLS: dict[str, Callable[[LoadedKey], object]] = {
    ENCRYPT: lambda key: key.encrypt(b"data"),
    DECRYPT: lambda key: key.decrypt(b"\x00" * 512),
    SIGN: lambda key: key.sign(b"data"),
    VERIFY: lambda key: key.verify(b"data", b"\x00" * 64),
}
PAIRS = [(name, op) for name in SPEC_MATRIX for op in CALLS]


def test_the_registry_lists_the_spec_key_types_in_the_spec_order() -> None:
    assert list(KEY_TYPES) == list(SPEC_MATRIX) + list(NEW_MATRIX)


def test_each_key_type_performs_exactly_the_operations_of_the_spec_matrix() -> None:
    assert {name: set(kt.operations) for name, kt in KEY_TYPES.items()} == {**SPEC_MATRIX, **NEW_MATRIX}


def test_only_aes256_and_hmac_are_symmetric() -> None:
    assert [name for name, kt in KEY_TYPES.items() if not kt.asymmetric] == ["aes256", "hmac"]


@pytest.mark.parametrize(("name", "operation"), PAIRS)
def test_every_pairing_outside_the_matrix_raises_operation_not_allowed(
    keys: dict[str, LoadedKey], name: str, operation: str
) -> None:
    key_type = get_key_type(name)
    if operation in SPEC_MATRIX[name]:
        assert key_type.supports(operation)
        key_type.require(operation)
        return
    assert not key_type.supports(operation)
    with pytest.raises(OperationNotAllowed, match=f"key type '{name}' cannot {operation}"):
        key_type.require(operation)
    with pytest.raises(OperationNotAllowed, match=f"key type '{name}' cannot {operation}"):
        CALLS[operation](keys[name])


def test_the_operations_matrix_of_the_entry_wins_over_what_the_family_implements(
    materials: dict[str, bytes],
) -> None:
    sign_only = KeyType(
        "rsa2048-sign-only",
        frozenset({SIGN, VERIFY}),
        True,
        generator=lambda: b"",
        loader=partial(RsaKey, bits=2048),
        hash_names=("sha256",),
        paddings=("pss",),
    )
    key = sign_only.load(materials["rsa2048"])
    assert key.verify(b"data", key.sign(b"data"))
    with pytest.raises(OperationNotAllowed):
        key.encrypt(b"data")


def test_an_unknown_key_type_is_refused_with_the_list_of_valid_names() -> None:
    with pytest.raises(InvalidKeyType) as caught:
        get_key_type("aes128")
    assert caught.value.code == "invalid_key_type"
    for name in SPEC_MATRIX:
        assert name in str(caught.value)


@pytest.mark.parametrize("name", [None, 1, b"aes256", "AES256", " aes256", ""])
def test_anything_but_an_exact_registered_name_is_an_invalid_key_type(name: object) -> None:
    with pytest.raises(InvalidKeyType):
        get_key_type(name)  # type: ignore[arg-type]


def test_registering_a_taken_name_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register(get_key_type("aes256"))


def test_the_registry_view_is_read_only() -> None:
    with pytest.raises(TypeError):
        KEY_TYPES["evil"] = get_key_type("aes256")  # type: ignore[index]


def test_a_key_type_refuses_an_unknown_operation_name() -> None:
    with pytest.raises(ValueError, match="operations"):
        KeyType("x", frozenset({"wrap"}), False, generator=bytes, loader=RsaKey)


@pytest.mark.parametrize("name", list(SPEC_MATRIX))
def test_a_loaded_key_never_shows_its_bytes_in_repr(
    keys: dict[str, LoadedKey], materials: dict[str, bytes], name: str
) -> None:
    key = keys[name]
    assert repr(key) == f"<LoadedKey {name}>"
    assert str(key) == f"<LoadedKey {name}>"
    assert base64.b64encode(materials[name])[:16].decode() not in repr(key)


@pytest.mark.parametrize("name", list(SPEC_MATRIX))
def test_a_loaded_key_refuses_to_be_pickled_or_copied(keys: dict[str, LoadedKey], name: str) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(keys[name], protocol=protocol)
    with pytest.raises(TypeError):
        copy.copy(keys[name])
    with pytest.raises(TypeError):
        copy.deepcopy(keys[name])


def test_aes256_generates_32_fresh_random_bytes() -> None:
    key_type = get_key_type("aes256")
    first, second = key_type.generate(), key_type.generate()
    assert len(first) == len(second) == 32
    assert first != second


@pytest.mark.parametrize("name", [n for n in SPEC_MATRIX if n != "aes256"])
def test_asymmetric_material_is_unencrypted_pkcs8_der(materials: dict[str, bytes], name: str) -> None:
    private_key = serialization.load_der_private_key(materials[name], password=None)
    reserialized = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert reserialized == materials[name]


def test_generated_rsa_keys_have_the_named_size_and_exponent_65537(
    materials: dict[str, bytes],
) -> None:
    for bits in (2048, 4096):
        private_key = serialization.load_der_private_key(materials[f"rsa{bits}"], None)
        assert private_key.key_size == bits  # type: ignore[union-attr]
        assert private_key.public_key().public_numbers().e == 65537  # type: ignore[union-attr]


def test_aes256_exports_the_standard_base64_of_its_raw_key(
    keys: dict[str, LoadedKey], materials: dict[str, bytes]
) -> None:
    assert base64.b64decode(keys["aes256"].export_material()) == materials["aes256"]
    assert keys["aes256"].public_key_pem() is None


@pytest.mark.parametrize("name", [n for n in SPEC_MATRIX if n != "aes256"])
def test_asymmetric_keys_export_pkcs8_pem_matching_their_public_key(
    keys: dict[str, LoadedKey], materials: dict[str, bytes], name: str
) -> None:
    exported = keys[name].export_material()
    assert exported.startswith("-----BEGIN PRIVATE KEY-----\n")
    private_key = serialization.load_pem_private_key(exported.encode(), password=None)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert keys[name].public_key_pem() == public_pem.decode()
    assert keys[name].public_key_pem().startswith("-----BEGIN PUBLIC KEY-----\n")  # type: ignore[union-attr]


WRONG_MATERIAL = [
    ("aes256", lambda m: m["aes256"][:31]),
    ("aes256", lambda m: m["aes256"] + b"\x00"),
    ("aes256", lambda m: m["ed25519"]),
    ("rsa2048", lambda m: m["rsa4096"]),
    ("rsa4096", lambda m: m["rsa2048"]),
    ("rsa2048", lambda m: m["ecdsa-p256"]),
    ("ecdsa-p256", lambda m: m["ecdsa-p384"]),
    ("ecdsa-p384", lambda m: m["ecdsa-p256"]),
    ("ecdsa-p256", lambda m: m["ed25519"]),
    ("ed25519", lambda m: m["ecdsa-p256"]),
    ("ed25519", lambda m: m["aes256"]),
    ("rsa2048", lambda m: m["rsa2048"][:-1]),
    ("ed25519", lambda m: "not bytes"),
]


@pytest.mark.parametrize(
    ("name", "material"),
    WRONG_MATERIAL,
    ids=[f"{n}-{i}" for i, (n, _) in enumerate(WRONG_MATERIAL)],
)
def test_material_of_another_type_or_size_is_refused_without_showing_it(
    materials: dict[str, bytes], name: str, material: Callable[[dict[str, bytes]], bytes]
) -> None:
    wrong = material(materials)
    with pytest.raises(InvalidKeyMaterial) as caught:
        get_key_type(name).load(wrong)
    assert isinstance(caught.value, InvalidRequest)
    assert caught.value.code == "invalid_request"
    assert caught.value.__cause__ is None
    assert name in str(caught.value)
    if isinstance(wrong, bytes):
        assert wrong.hex()[:16] not in str(caught.value)


def test_the_crypto_core_imports_no_django() -> None:
    code = "import sys, kms.crypto;print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO_ROOT)  # noqa: S603
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("name", list(SPEC_MATRIX))
def test_trusted_material_loads_into_a_working_key(
    keys: dict[str, LoadedKey], materials: dict[str, bytes], name: str
) -> None:
    key = get_key_type(name).load(materials[name], trusted=True)
    assert key.export_material() == keys[name].export_material()
    if key.key_type.supports(SIGN):
        assert keys[name].verify(b"data", key.sign(b"data"))
    else:
        assert keys[name].decrypt(key.encrypt(b"data")) == b"data"


@pytest.mark.parametrize(("name", "other"), [("rsa2048", "rsa4096"), ("rsa4096", "ecdsa-p256")])
def test_trusted_loading_still_refuses_material_of_another_type_or_size(
    materials: dict[str, bytes], name: str, other: str
) -> None:
    with pytest.raises(InvalidKeyMaterial):
        get_key_type(name).load(materials[other], trusted=True)
