"""Verify-only keys (a public key alone) and strict signature verification.

The malformed ECDSA encodings are built by hand: the ``cryptography_vectors`` NIST files
hold valid and wrong signatures, not these malformations.
"""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from kms.crypto import (
    ENCRYPT,
    VERIFY,
    InvalidKeyMaterial,
    LoadedKey,
    OperationNotAllowed,
    get_key_type,
)
from kms.crypto.ecdsa import ORDERS, strict_der_signature

from .vectors import records

SPKI = (serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def verify_only(name: str, keys: dict[str, LoadedKey]) -> LoadedKey:
    return get_key_type(name).load_public(keys[name].public_key_pem() or "")


# --- what a verify-only key can do -----------------------------------------------------------


@pytest.mark.parametrize("name", ["ecdsa-p256", "ecdsa-p384", "ed25519", "rsa2048"])
def test_a_verify_only_key_verifies_what_the_full_key_signed_and_refuses_to_sign(
    keys: dict[str, LoadedKey], name: str
) -> None:
    public = verify_only(name, keys)
    signature = keys[name].sign(b"data")
    assert public.verify(b"data", signature) and not public.verify(b"other", signature)
    assert not public.has_private and "verify-only" in repr(public)
    assert public.public_key_pem() == keys[name].public_key_pem()
    with pytest.raises(OperationNotAllowed, match="holds only a public key"):
        public.sign(b"data")
    with pytest.raises(OperationNotAllowed, match="holds only a public key"):
        public.hmac(b"data")
    with pytest.raises(OperationNotAllowed):
        public.export_material()


def test_a_verify_only_rsa_key_also_encrypts_for_the_full_key(keys: dict[str, LoadedKey]) -> None:
    public = verify_only("rsa2048", keys)
    assert get_key_type("rsa2048").public_operations == {ENCRYPT, VERIFY}
    assert keys["rsa2048"].decrypt(public.encrypt(b"secret")) == b"secret"
    with pytest.raises(OperationNotAllowed, match="holds only a public key"):
        public.decrypt(bytes(256))


def test_types_without_a_public_key_cannot_be_imported_as_one() -> None:
    with pytest.raises(OperationNotAllowed):
        get_key_type("aes256").load_public("-----BEGIN PUBLIC KEY-----")


@pytest.mark.parametrize(
    ("name", "other"),
    [("ecdsa-p256", "ecdsa-p384"), ("ecdsa-p384", "ed25519"), ("ed25519", "ecdsa-p256"),
     ("rsa2048", "rsa4096"), ("rsa4096", "ecdsa-p256")],
)  # fmt: skip
def test_a_public_key_of_another_type_curve_or_size_is_refused(
    keys: dict[str, LoadedKey], name: str, other: str
) -> None:
    with pytest.raises(InvalidKeyMaterial):
        get_key_type(name).load_public(keys[other].public_key_pem() or "")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "garbage",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        b"",
        None,
    ],
)
def test_a_malformed_public_key_is_invalid_key_material(bad: object) -> None:
    with pytest.raises(InvalidKeyMaterial, match="PEM SubjectPublicKeyInfo"):
        get_key_type("ecdsa-p256").load_public(bad)  # type: ignore[arg-type]


def test_a_pkcs1_rsa_public_key_is_refused(keys: dict[str, LoadedKey]) -> None:
    public = serialization.load_pem_public_key((keys["rsa2048"].public_key_pem() or "").encode())
    pkcs1 = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    assert pkcs1.startswith(b"-----BEGIN RSA PUBLIC KEY-----")
    with pytest.raises(InvalidKeyMaterial):
        get_key_type("rsa2048").load_public(pkcs1.decode())


# --- ECDSA: NIST SigVer and hand-built malformations -----------------------------------------

SIGVER = [
    r
    for r in records("asymmetric", "ECDSA", "FIPS_186-3", "SigVer.rsp", start="Msg")
    if r["section"] in ("P-256,SHA-256", "P-384,SHA-384")
]


def test_nist_sigver_p256_sha256_and_p384_sha384_through_verify_only_keys() -> None:
    assert len(SIGVER) == 30
    for record in SIGVER:
        name, curve = (
            ("ecdsa-p256", ec.SECP256R1()) if record["section"].startswith("P-256") else ("ecdsa-p384", ec.SECP384R1())
        )
        point = ec.EllipticCurvePublicNumbers(int(record["Qx"], 16), int(record["Qy"], 16), curve).public_key()
        key = get_key_type(name).load_public(point.public_bytes(*SPKI).decode())
        signature = encode_dss_signature(int(record["R"], 16), int(record["S"], 16))
        expected = record["Result"].startswith("P")
        assert key.verify(bytes.fromhex(record["Msg"]), signature) is expected, record


def _integer(value: bytes) -> bytes:
    return bytes([0x02, len(value)]) + value


def _sequence(body: bytes) -> bytes:
    return bytes([0x30, len(body)]) + body


def _minimal(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return b"\x00" + raw if raw[0] & 0x80 else raw


def malformations(signature: bytes, order: int) -> dict[str, bytes]:
    r, s = decode_dss_signature(signature)
    body = _integer(_minimal(r)) + _integer(_minimal(s))
    r_raw = r.to_bytes((r.bit_length() + 7) // 8, "big")
    return {
        "trailing zero byte": signature + b"\x00",
        "trailing garbage": signature + b"\x01\x02",
        "long-form sequence length": bytes([0x30, 0x81, len(body)]) + body,
        "long-form integer length": _sequence(
            bytes([0x02, 0x81, len(_minimal(r))]) + _minimal(r) + _integer(_minimal(s))
        ),
        "non-minimal sequence length": bytes([0x30, 0x82, 0x00, len(body)]) + body,
        "extra leading zero on r": _sequence(_integer(b"\x00" + _minimal(r)) + _integer(_minimal(s))),
        "extra leading zero on s": _sequence(_integer(_minimal(r)) + _integer(b"\x00" + _minimal(s))),
        "negative r (missing zero)": _sequence(
            _integer(r_raw if r_raw[0] & 0x80 else bytes([r_raw[0] | 0x80]) + r_raw[1:]) + _integer(_minimal(s))
        ),
        "r = 0": encode_dss_signature(0, s),
        "s = 0": encode_dss_signature(r, 0),
        "r = n": encode_dss_signature(order, s),
        "s = n": encode_dss_signature(r, order),
        "r + n": encode_dss_signature(r + order, s),
        "s + n": encode_dss_signature(r, s + order),
        "sequence length one short": bytes([0x30, len(body) - 1]) + body,
        "sequence length one long": bytes([0x30, len(body) + 1]) + body,
        "truncated": signature[:-1],
        "empty integer": _sequence(b"\x02\x00" + _integer(_minimal(s))),
        "set instead of sequence": bytes([0x31]) + signature[1:],
        "bit string instead of integer": _sequence(b"\x03" + _integer(_minimal(r))[1:] + _integer(_minimal(s))),
        "three integers": _sequence(body + _integer(b"\x01")),
        "empty": b"",
        "raw r||s (IEEE P1363)": r.to_bytes(48, "big") + s.to_bytes(48, "big"),
        "9,000 bytes": bytes(9000),
    }


@pytest.mark.parametrize("name", ["ecdsa-p256", "ecdsa-p384"])
def test_every_malformed_ecdsa_signature_is_false_never_an_exception(keys: dict[str, LoadedKey], name: str) -> None:
    order = ORDERS["secp256r1" if name == "ecdsa-p256" else "secp384r1"]
    for full in (keys[name], verify_only(name, keys)):
        signature = keys[name].sign(b"data")
        assert full.verify(b"data", signature)
        assert strict_der_signature(signature, order) == decode_dss_signature(signature)
        for label, bad in malformations(signature, order).items():
            assert bad != signature, label
            assert full.verify(b"data", bad) is False, label
            assert strict_der_signature(bad, order) is None, label


def test_a_high_s_ecdsa_signature_is_valid_ecdsa_and_accepted(keys: dict[str, LoadedKey]) -> None:
    """ECDSA (FIPS 186-5) accepts (r, n - s); only encodings and ranges are strict here."""
    order = ORDERS["secp256r1"]
    r, s = decode_dss_signature(keys["ecdsa-p256"].sign(b"data"))
    assert keys["ecdsa-p256"].verify(b"data", encode_dss_signature(r, order - s))


def test_signature_lengths_stated_on_the_registry_bound_real_signatures(
    keys: dict[str, LoadedKey],
) -> None:
    for name in ("ecdsa-p256", "ecdsa-p384", "ed25519", "rsa2048", "rsa4096"):
        limit = get_key_type(name).max_signature_length
        assert limit is not None
        lengths = {len(keys[name].sign(bytes([i]))) for i in range(8)}
        assert max(lengths) <= limit, name
    assert get_key_type("ecdsa-p256").max_signature_length == 72
    assert get_key_type("ecdsa-p384").max_signature_length == 104


# --- Ed25519 and RSA lengths --------------------------------------------------------------


L = 2**252 + 27742317777372353535851937790883648493


def test_ed25519_rfc_8032_test_1_verifies_through_a_verify_only_key() -> None:
    public = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    signature = bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    pem = ed25519.Ed25519PublicKey.from_public_bytes(public).public_bytes(*SPKI).decode()
    key = get_key_type("ed25519").load_public(pem)
    assert key.verify(b"", signature)
    assert not key.verify(b"\x00", signature)


def test_ed25519_wrong_lengths_and_a_non_canonical_s_are_false(
    keys: dict[str, LoadedKey],
) -> None:
    signature = keys["ed25519"].sign(b"data")
    s = int.from_bytes(signature[32:], "little")
    non_canonical = signature[:32] + (s + L).to_bytes(32, "little")  # same point, S >= L
    for bad in (signature[:-1], signature + b"\x00", b"", bytes(64), non_canonical):
        assert keys["ed25519"].verify(b"data", bad) is False


@pytest.mark.parametrize("name", ["rsa2048", "rsa4096"])
def test_rsa_signatures_must_be_exactly_the_modulus_size(keys: dict[str, LoadedKey], name: str) -> None:
    size = int(name[3:]) // 8
    for padding in ("pss", "pkcs1v15"):
        signature = keys[name].sign(b"data", padding=padding)
        assert len(signature) == size
        for bad in (b"\x00" + signature, signature + b"\x00", signature[1:], b"", bytes(9000)):
            assert keys[name].verify(b"data", bad, padding=padding) is False


def test_a_prehashed_verify_through_a_verify_only_key(keys: dict[str, LoadedKey]) -> None:
    public = verify_only("ecdsa-p384", keys)
    digest = hashlib.sha384(b"file").digest()
    signature = keys["ecdsa-p384"].sign(digest, prehashed=True)
    assert public.verify(digest, signature, prehashed=True)
    pyca = serialization.load_pem_public_key((public.public_key_pem() or "").encode())
    pyca.verify(signature, b"file", ec.ECDSA(hashes.SHA384()))  # type: ignore[union-attr,call-arg]
