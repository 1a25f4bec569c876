"""ML-DSA (FIPS 204) and ML-KEM (FIPS 203): NIST KATs, interop with pyca, strict lengths."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import mldsa, mlkem

from kms.crypto import (
    DECAPSULATE,
    SIGN,
    VERIFY,
    InvalidCiphertext,
    InvalidKeyMaterial,
    InvalidRequest,
    OperationNotAllowed,
    get_key_type,
)
from kms.crypto.pkcs8 import to_pkcs8_der

from .helpers import flip
from .vectors import records

MLDSA = {
    "ml-dsa-44": (mldsa.MLDSA44PrivateKey, "kat_MLDSA_44_det_pure.rsp", 2420, 1312),
    "ml-dsa-65": (mldsa.MLDSA65PrivateKey, "kat_MLDSA_65_det_pure.rsp", 3309, 1952),
    "ml-dsa-87": (mldsa.MLDSA87PrivateKey, "kat_MLDSA_87_det_pure.rsp", 4627, 2592),
}
MLKEM = {
    "ml-kem-768": (mlkem.MLKEM768PrivateKey, "kat_MLKEM_768.rsp", 1088),
    "ml-kem-1024": (mlkem.MLKEM1024PrivateKey, "kat_MLKEM_1024.rsp", 1568),
}
KAT_COUNT = 10  # records per file checked (the files hold 100 and 1,000)


def kt(name: str):  # noqa: ANN201 - a KeyType
    return get_key_type(name, served_only=False)


# --- ML-DSA --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MLDSA)
def test_ml_dsa_nist_kat_keys_and_signatures(name: str) -> None:
    """The NIST det_pure KATs: the seed gives the public key, and the known signature over
    (message, context) verifies here; another context or message does not.
    """
    private_class, filename, sig_length, pk_length = MLDSA[name]
    for record in records("asymmetric", "MLDSA", filename, start="count")[:KAT_COUNT]:
        private = private_class.from_seed_bytes(bytes.fromhex(record["xi"]))
        key = kt(name).load(to_pkcs8_der(private))
        public = serialization.load_pem_public_key(key.public_key_pem().encode())
        assert public.public_bytes_raw().hex() == record["pk"]  # type: ignore[union-attr]
        assert len(bytes.fromhex(record["pk"])) == pk_length
        message, context = bytes.fromhex(record["msg"]), bytes.fromhex(record["ctx"])
        signature = bytes.fromhex(record["sm"])[:sig_length]
        assert bytes.fromhex(record["sm"])[sig_length:] == message
        assert key.verify(message, signature, context=context)
        assert not key.verify(message, signature, context=context + b"x")
        assert not key.verify(message + b"x", signature, context=context)
        verify_only = kt(name).load_public(key.public_key_pem())
        assert verify_only.verify(message, signature, context=context)


@pytest.mark.parametrize("name", MLDSA)
def test_ml_dsa_signatures_made_here_verify_with_pyca_alone(name: str) -> None:
    key = kt(name).load(kt(name).generate())
    public = serialization.load_pem_public_key(key.public_key_pem().encode())
    for context in (None, b"", b"egide", bytes(255)):
        signature = key.sign(b"document", context=context)
        assert len(signature) == MLDSA[name][2] == kt(name).max_signature_length
        public.verify(signature, b"document", context)  # type: ignore[union-attr,call-arg]
        assert key.verify(b"document", signature, context=context)
    # No context and the empty context are the same (FIPS 204).
    assert key.verify(b"document", key.sign(b"document"), context=b"")


@pytest.mark.parametrize("name", MLDSA)
def test_ml_dsa_signatures_made_by_pyca_verify_here(name: str) -> None:
    private = MLDSA[name][0].generate()
    key = kt(name).load_public(
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    signature = private.sign(b"from outside", b"ctx")
    assert key.verify(b"from outside", signature, context=b"ctx")
    assert not key.verify(b"from outside", signature)
    assert not key.has_private
    with pytest.raises(OperationNotAllowed, match="verify-only"):
        key.sign(b"x")


def test_ml_dsa_refuses_long_contexts_hashes_paddings_and_prehashing() -> None:
    key = kt("ml-dsa-44").load(kt("ml-dsa-44").generate())
    with pytest.raises(InvalidRequest, match="at most 255 bytes"):
        key.sign(b"data", context=bytes(256))
    with pytest.raises(InvalidRequest, match="at most 255 bytes"):
        key.verify(b"data", bytes(2420), context=bytes(256))
    for extra in ({"hash_name": "sha256"}, {"padding": "pss"}, {"prehashed": True}):
        with pytest.raises(InvalidRequest):
            key.sign(b"data", **extra)  # type: ignore[arg-type]
    assert kt("ml-dsa-44").sign_context_max == 255


def test_ml_dsa_verify_refuses_any_other_length_or_a_flipped_byte_without_raising() -> None:
    key = kt("ml-dsa-65").load(kt("ml-dsa-65").generate())
    signature = key.sign(b"data")
    assert key.verify(b"data", signature)
    for bad in (
        signature[:-1],
        signature + b"\x00",
        b"",
        bytes(9000),
        flip(signature, 0),
        flip(signature, len(signature) // 2),
        flip(signature, len(signature) - 1),
    ):
        assert key.verify(b"data", bad) is False


def test_ml_dsa_material_is_the_pkcs8_seed_form_and_other_keys_are_refused() -> None:
    material = kt("ml-dsa-65").generate()
    assert len(material) == 54  # PKCS#8 wrapping a 32-byte seed
    with pytest.raises(InvalidKeyMaterial):
        kt("ml-dsa-44").load(material)
    with pytest.raises(InvalidKeyMaterial):
        kt("ml-dsa-65").load(kt("ml-kem-768").generate())
    assert SIGN in kt("ml-dsa-65").operations and kt("ml-dsa-65").public_operations == {VERIFY}


# --- ML-KEM --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MLKEM)
def test_ml_kem_nist_kat_decapsulation_including_implicit_rejection(name: str) -> None:
    private_class, filename, ct_length = MLKEM[name]
    for record in records("asymmetric", "MLKEM", filename, start="count")[:KAT_COUNT]:
        seed = bytes.fromhex(record["d"] + record["z"])
        key = kt(name).load(to_pkcs8_der(private_class.from_seed_bytes(seed)))
        public = serialization.load_pem_public_key(key.public_key_pem().encode())
        assert public.public_bytes_raw().hex() == record["pk"]  # type: ignore[union-attr]
        assert key.decapsulate(bytes.fromhex(record["ct"])).hex() == record["ss"]
        # A ciphertext not made for this key: the implicit-rejection secret, not an error.
        assert key.decapsulate(bytes.fromhex(record["ct_n"])).hex() == record["ss_n"]
        assert len(bytes.fromhex(record["ct"])) == ct_length


@pytest.mark.parametrize("name", MLKEM)
def test_a_ciphertext_encapsulated_by_pyca_decapsulates_here_to_the_same_secret(
    name: str,
) -> None:
    key = kt(name).load(kt(name).generate())
    public = serialization.load_pem_public_key(key.public_key_pem().encode())
    for _ in range(3):
        secret, ciphertext = public.encapsulate()  # type: ignore[union-attr]
        assert key.decapsulate(ciphertext) == secret
        assert len(secret) == kt(name).shared_secret_length == 32
        assert len(ciphertext) == kt(name).ciphertext_length
        assert key.decapsulate(flip(ciphertext, 5)) != secret


@pytest.mark.parametrize("name", MLKEM)
def test_a_ciphertext_of_the_wrong_length_is_refused(name: str) -> None:
    key = kt(name).load(kt(name).generate())
    length = MLKEM[name][2]
    for bad in (b"", bytes(length - 1), bytes(length + 1), "x" * length):
        with pytest.raises(InvalidCiphertext, match=f"is {length} bytes"):
            key.decapsulate(bad)  # type: ignore[arg-type]


def test_ml_kem_keys_only_decapsulate() -> None:
    key_type = kt("ml-kem-768")
    key = key_type.load(key_type.generate())
    assert key_type.operations == {DECAPSULATE} and key_type.public_operations == frozenset()
    with pytest.raises(OperationNotAllowed):
        key.sign(b"x")
    with pytest.raises(OperationNotAllowed):
        key.encrypt(b"x")
    assert not key_type.importable_public
    with pytest.raises(OperationNotAllowed, match="public key alone can do nothing"):
        key_type.load_public(key.public_key_pem())
