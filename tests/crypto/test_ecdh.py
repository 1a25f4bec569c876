"""x25519, ecdh-p256, ecdh-p384: RFC 7748 and NIST vectors, interop, refused peer keys."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from kms.crypto import DERIVE, InvalidKeyMaterial, InvalidPeerKey, get_key_type
from kms.crypto.pkcs8 import to_pkcs8_der

from .vectors import records

CURVES: dict[str, ec.EllipticCurve | None] = {
    "x25519": None,
    "ecdh-p256": ec.SECP256R1(),
    "ecdh-p384": ec.SECP384R1(),
}
SPKI = (serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def kt(name: str):  # noqa: ANN201 - a KeyType
    return get_key_type(name, served_only=False)


def pem(public: object) -> str:
    return public.public_bytes(*SPKI).decode()  # type: ignore[attr-defined]


def peer(curve: ec.EllipticCurve | None) -> x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey:
    return x25519.X25519PrivateKey.generate() if curve is None else ec.generate_private_key(curve)


@pytest.mark.parametrize("record", records("asymmetric", "X25519", "rfc7748.txt", start="COUNT"), ids=str)
def test_x25519_matches_rfc_7748(record: dict[str, str]) -> None:
    private = x25519.X25519PrivateKey.from_private_bytes(bytes.fromhex(record["INPUT_SCALAR"]))
    key = kt("x25519").load(to_pkcs8_der(private))
    peer_key = x25519.X25519PublicKey.from_public_bytes(bytes.fromhex(record["INPUT_U"]))
    assert key.derive_shared_secret(pem(peer_key)).hex() == record["OUTPUT_U"]


def test_x25519_matches_the_rfc_7748_diffie_hellman_example() -> None:
    """RFC 7748, section 6.1: Alice and Bob agree on K."""
    alice = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    bob_public = bytes.fromhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
    key = kt("x25519").load(to_pkcs8_der(x25519.X25519PrivateKey.from_private_bytes(alice)))
    peer_pem = pem(x25519.X25519PublicKey.from_public_bytes(bob_public))
    assert key.derive_shared_secret(peer_pem).hex() == shared
    assert key.derive_shared_secret(serialization.load_pem_public_key(peer_pem.encode())
                                    .public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
                                    ).hex() == shared  # fmt: skip


def test_ecdh_p256_matches_nist_cavs_zz_values() -> None:
    """NIST KAS ECC CDH primitive test vector (SP 800-56A, P-256, COUNT = 0)."""
    d = 0x7D7DC5F71EB29DDAF80D6214632EEAE03D9058AF1FB6D22ED80BADB62BC1A534
    peer_x = 0x700C48F77F56584C5CC632CA65640DB91B6BACCE3A4DF6B42CE7CC838833D287
    peer_y = 0xDB71E509E3FD9B060DDB20BA5C51DCC5948D46FBF640DFE0441782CAB85FA4AC
    z = "46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b"
    curve = ec.SECP256R1()
    key = kt("ecdh-p256").load(to_pkcs8_der(ec.derive_private_key(d, curve)))
    peer_key = ec.EllipticCurvePublicNumbers(peer_x, peer_y, curve).public_key()
    assert key.derive_shared_secret(pem(peer_key)).hex() == z


@pytest.mark.parametrize("name", CURVES)
def test_both_sides_agree_with_a_pyca_peer(name: str) -> None:
    curve = CURVES[name]
    key = kt(name).load(kt(name).generate())
    other = peer(curve)
    mine = key.derive_shared_secret(pem(other.public_key()))
    ours_public = serialization.load_pem_public_key(key.public_key_pem().encode())
    if curve is None:
        theirs = other.exchange(ours_public)  # type: ignore[arg-type,call-arg]
    else:
        theirs = other.exchange(ec.ECDH(), ours_public)  # type: ignore[arg-type,call-arg]
    assert mine == theirs and len(mine) == kt(name).shared_secret_length


@pytest.mark.parametrize("name", CURVES)
def test_a_peer_key_of_another_kind_or_curve_is_a_typed_error(name: str) -> None:
    key = kt(name).load(kt(name).generate())
    for other_name, other_curve in CURVES.items():
        if other_name == name:
            continue
        with pytest.raises(InvalidPeerKey, match="another kind of key, or another curve"):
            key.derive_shared_secret(pem(peer(other_curve).public_key()))
    ed = kt("ed25519" if name != "x25519" else "ecdsa-p256")
    with pytest.raises(InvalidPeerKey):
        key.derive_shared_secret(ed.load(ed.generate()).public_key_pem() or "")


@pytest.mark.parametrize("name", CURVES)
@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not a key",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n",
        b"\x30\x03\x02\x01\x00",
        None,
        42,
    ],
)
def test_a_malformed_peer_key_is_a_typed_error(name: str, bad: object) -> None:
    key = kt(name).load(kt(name).generate())
    with pytest.raises(InvalidPeerKey, match="PEM SubjectPublicKeyInfo"):
        key.derive_shared_secret(bad)  # type: ignore[arg-type]


def test_a_p256_point_off_the_curve_is_refused() -> None:
    good = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = good.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    off_curve = der[:-1] + bytes([der[-1] ^ 1])  # y changed: no longer on the curve
    key = kt("ecdh-p256").load(kt("ecdh-p256").generate())
    with pytest.raises(InvalidPeerKey):
        key.derive_shared_secret(off_curve)


def test_a_low_order_x25519_point_is_refused() -> None:
    key = kt("x25519").load(kt("x25519").generate())
    for point in (bytes(32), b"\x01" + bytes(31)):
        with pytest.raises(InvalidPeerKey, match="low-order"):
            key.derive_shared_secret(pem(x25519.X25519PublicKey.from_public_bytes(point)))


def test_key_agreement_keys_only_derive_and_check_their_material() -> None:
    for name in CURVES:
        assert kt(name).operations == {DERIVE}
        assert not kt(name).importable_public
    with pytest.raises(InvalidKeyMaterial):
        kt("ecdh-p256").load(kt("ecdh-p384").generate())
    with pytest.raises(InvalidKeyMaterial):
        kt("x25519").load(kt("ed25519").generate())
    # An ECDSA key's material is an EC key on the same curve: the type is in the entry, and
    # material is checked for its curve; ecdh-p256 accepts P-256 PKCS#8 whatever its origin.
    assert kt("ecdh-p256").load(kt("ecdsa-p256").generate()).key_type.name == "ecdh-p256"
