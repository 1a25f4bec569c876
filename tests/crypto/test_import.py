"""Bring your own key: CKM_RSA_AES_KEY_WRAP, RFC 5649 vectors, material checks, openssl keys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kms.crypto import (
    InvalidKeyMaterial,
    InvalidWrappedMaterial,
    LoadedKey,
    aes_aad_prefix,
    get_key_type,
)
from kms.crypto.keywrap import kwp_unwrap, kwp_wrap, unwrap, wrap
from kms.crypto.pkcs8 import to_pkcs8_der

from .helpers import flip, needs_openssl, openssl
from .vectors import records

OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
UID = bytes(range(16))


@pytest.fixture(scope="module")
def wrapping_key(materials: dict[str, bytes]) -> LoadedKey:
    """Egide's RSA-4096 wrapping key (an rsa4096 key version like any other)."""
    return get_key_type("rsa4096").load(materials["rsa4096"])


def outside_wrap(material: bytes, public_pem: str) -> bytes:
    """CKM_RSA_AES_KEY_WRAP written from the spec with pyca alone (as an importer would)."""
    public = serialization.load_pem_public_key(public_pem.encode())
    ephemeral = os.urandom(32)
    return public.encrypt(ephemeral, OAEP) + keywrap.aes_key_wrap_with_padding(  # type: ignore[union-attr,call-arg]
        ephemeral, material
    )


# --- AES-KWP (RFC 5649) ---------------------------------------------------------------------


def test_kwp_matches_the_rfc_5649_examples() -> None:
    kek = bytes.fromhex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8")
    twenty = bytes.fromhex("c37b7e6492584340bed12207808941155068f738")
    assert kwp_wrap(kek, twenty).hex() == ("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a")
    assert kwp_wrap(kek, bytes.fromhex("466f7250617369")).hex() == ("afbeb0f07dfbf5419200f2ccb50bb24f")
    assert kwp_unwrap(kek, bytes.fromhex("afbeb0f07dfbf5419200f2ccb50bb24f")) == (bytes.fromhex("466f7250617369"))


KWP_AD = records("keywrap", "kwtestvectors", "KWP_AD_256.txt", start="COUNT")


def test_kwp_unwraps_the_nist_cavp_kwp_ad_256_vectors_and_refuses_the_failing_ones() -> None:
    failing = 0
    for record in KWP_AD:
        kek, wrapped = bytes.fromhex(record["K"]), bytes.fromhex(record["C"])
        if "FAIL" in record:
            failing += 1
            with pytest.raises(InvalidWrappedMaterial):
                kwp_unwrap(kek, wrapped)
        else:
            assert kwp_unwrap(kek, wrapped) == bytes.fromhex(record["P"])
            assert kwp_wrap(kek, bytes.fromhex(record["P"])) == wrapped
    assert failing > 10 and len(KWP_AD) - failing > 100


# --- CKM_RSA_AES_KEY_WRAP --------------------------------------------------------------------


def test_material_wrapped_outside_egide_unwraps_here(wrapping_key: LoadedKey) -> None:
    material = os.urandom(32)
    wrapped = outside_wrap(material, wrapping_key.public_key_pem() or "")
    assert len(wrapped) == 512 + 40
    assert unwrap(wrapped, wrapping_key) == material


def test_the_cli_wrap_follows_the_spec_so_pyca_alone_can_open_it(
    wrapping_key: LoadedKey, materials: dict[str, bytes]
) -> None:
    material = materials["ecdsa-p256"]
    wrapped = wrap(material, wrapping_key.public_key_pem() or "")
    # Opened with pyca primitives and the private key, without kms.crypto.keywrap.
    private = serialization.load_pem_private_key(wrapping_key.export_material().encode(), None)
    ephemeral = private.decrypt(wrapped[:512], OAEP)  # type: ignore[union-attr,call-arg]
    assert len(ephemeral) == 32
    assert keywrap.aes_key_unwrap_with_padding(ephemeral, wrapped[512:]) == material
    assert unwrap(wrapped, wrapping_key) == material


def test_every_flipped_byte_or_wrong_length_is_one_generic_error(
    wrapping_key: LoadedKey,
) -> None:
    wrapped = wrap(os.urandom(32), wrapping_key.public_key_pem() or "")
    messages = set()
    for position in (0, 100, 511, 512, 520, len(wrapped) - 1):
        with pytest.raises(InvalidWrappedMaterial) as caught:
            unwrap(flip(wrapped, position), wrapping_key)
        messages.add(caught.value.message)
    for bad in (b"", wrapped[:512], wrapped[:-8], wrapped + bytes(8), wrapped[:-1]):
        with pytest.raises(InvalidWrappedMaterial) as caught:
            unwrap(bad, wrapping_key)
        messages.add(caught.value.message)
    assert len(messages) == 1  # no oracle: the RSA and the KWP layers fail alike


def test_an_ephemeral_key_that_is_not_aes_256_is_refused(wrapping_key: LoadedKey) -> None:
    public = serialization.load_pem_public_key((wrapping_key.public_key_pem() or "").encode())
    short = os.urandom(16)
    wrapped = public.encrypt(short, OAEP) + keywrap.aes_key_wrap_with_padding(  # type: ignore[union-attr,call-arg]
        short, bytes(32)
    )
    with pytest.raises(InvalidWrappedMaterial):
        unwrap(wrapped, wrapping_key)


def test_wrapping_needs_an_rsa_4096_public_key(materials: dict[str, bytes]) -> None:
    rsa2048 = get_key_type("rsa2048").load(materials["rsa2048"])
    with pytest.raises(InvalidKeyMaterial, match="RSA-4096"):
        wrap(bytes(32), rsa2048.public_key_pem() or "")
    with pytest.raises(ValueError, match="rsa4096"):
        unwrap(bytes(552), rsa2048)


# --- checking imported material --------------------------------------------------------------


def test_imported_aes_material_must_be_32_raw_bytes_and_is_stored_as_is() -> None:
    aes = get_key_type("aes256")
    material = os.urandom(32)
    assert aes.import_material(material) == material
    for bad in (bytes(16), bytes(33), b""):
        with pytest.raises(InvalidKeyMaterial):
            aes.import_material(bad)


def test_an_imported_aes_key_decrypts_what_pyca_encrypted_with_the_documented_layout() -> None:
    material = os.urandom(32)
    key = get_key_type("aes256").load(get_key_type("aes256").import_material(material))
    nonce = os.urandom(12)
    aad = aes_aad_prefix(UID, 1) + b"ctx"
    blob = nonce + AESGCM(material).encrypt(nonce, b"outside", aad)
    assert key.decrypt(blob, context=b"ctx", aad_prefix=aes_aad_prefix(UID, 1)) == b"outside"
    mine = key.encrypt(b"inside", context=b"ctx", aad_prefix=aes_aad_prefix(UID, 1))
    assert AESGCM(material).decrypt(mine[:12], mine[12:], aad) == b"inside"


@pytest.mark.parametrize(
    ("name", "other"),
    [
        ("ecdsa-p256", "ecdsa-p384"),
        ("ecdsa-p384", "ed25519"),
        ("ed25519", "x25519"),
        ("ml-dsa-44", "ml-dsa-65"),
        ("ml-kem-768", "ml-kem-1024"),
        ("ecdh-p384", "ecdh-p256"),
        ("x25519", "ed25519"),
        ("hmac", "ecdsa-p256"),
    ],
)
def test_imported_material_of_another_type_curve_or_size_is_refused(name: str, other: str) -> None:
    key_type = get_key_type(name, served_only=False)
    other_type = get_key_type(other, served_only=False)
    with pytest.raises(InvalidKeyMaterial):
        key_type.import_material(other_type.generate())
    good = key_type.generate()
    assert key_type.import_material(good) == good  # generated material is already canonical


def test_imported_rsa_of_the_wrong_size_is_refused(materials: dict[str, bytes]) -> None:
    with pytest.raises(InvalidKeyMaterial, match="2048-bit"):
        get_key_type("rsa2048").import_material(materials["rsa4096"])


def test_an_inconsistent_rsa_private_key_is_refused_on_import(materials: dict[str, bytes]) -> None:
    private = serialization.load_der_private_key(materials["rsa2048"], None)
    numbers = private.private_numbers()  # type: ignore[union-attr]
    broken = rsa.RSAPrivateNumbers(
        p=numbers.p,
        q=numbers.q,
        d=numbers.d,
        dmp1=numbers.dmp1,
        dmq1=numbers.dmq1 ^ 2,  # a CRT value that does not fit: signatures would be wrong
        iqmp=numbers.iqmp,
        public_numbers=numbers.public_numbers,
    ).private_key(unsafe_skip_rsa_key_validation=True)
    with pytest.raises(InvalidKeyMaterial):
        get_key_type("rsa2048").import_material(to_pkcs8_der(broken))


def test_an_imported_private_key_must_match_the_given_public_key() -> None:
    ed = get_key_type("ed25519")
    private = ed25519.Ed25519PrivateKey.generate()
    own = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    material = to_pkcs8_der(private)
    assert ed.import_material(material, public_key=own) == material
    stranger = ed.load(ed.generate()).public_key_pem() or ""
    with pytest.raises(InvalidKeyMaterial, match="does not match"):
        ed.import_material(material, public_key=stranger)
    with pytest.raises(InvalidKeyMaterial):
        ed.import_material(material, public_key="-----BEGIN PUBLIC KEY-----\nAA==\n")


def test_imported_pkcs8_is_normalized_to_egides_own_encoding() -> None:
    """An EC key without its optional public key (as some tools write it) is stored as pyca
    writes it, so the version HMAC key derived from the stored bytes is tool-independent.
    """
    private = ec.generate_private_key(ec.SECP256R1())
    canonical = to_pkcs8_der(private)
    # PKCS#8 of an ECPrivateKey without the [1] publicKey field.
    scalar = private.private_numbers().private_value.to_bytes(32, "big")
    ec_private_key = bytes.fromhex("30250201010420") + scalar  # SEQUENCE { 1, OCTET STRING }
    algorithm = bytes.fromhex("301306072a8648ce3d020106082a8648ce3d030107")
    body = bytes.fromhex("020100") + algorithm + bytes([0x04, len(ec_private_key)]) + ec_private_key
    minimal = bytes([0x30, len(body)]) + body
    assert minimal != canonical
    assert get_key_type("ecdsa-p256").import_material(minimal) == canonical


# --- keys generated by the openssl command line -----------------------------------------------


def sign_options(name: str, hash_name: str | None) -> list[str]:
    """openssl pkeyutl options for Egide's default signature of the type."""
    if hash_name is None:  # ed25519: the message itself
        return ["-rawin"]
    options = ["-rawin", "-digest", hash_name]
    if name.startswith("rsa"):  # PSS, salt as long as the digest, MGF1 with the same hash
        options += ["-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", "rsa_pss_saltlen:digest"]
    return options


@needs_openssl
@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("rsa2048", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
        ("ecdsa-p256", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
        ("ecdsa-p384", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]),
        ("ed25519", ["-algorithm", "ED25519"]),
        ("x25519", ["-algorithm", "X25519"]),
        ("ecdh-p256", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
    ],
)
def test_a_key_made_by_openssl_genpkey_imports_through_the_wrap_and_works_both_ways(
    name: str, args: list[str], wrapping_key: LoadedKey, tmp_path: Path
) -> None:
    key_file = tmp_path / "key.der"
    made = openssl("genpkey", *args, "-outform", "DER", "-out", key_file)
    assert made.returncode == 0, made.stderr
    key_type = get_key_type(name, served_only=False)
    wrapped = wrap(key_file.read_bytes(), wrapping_key.public_key_pem() or "")
    key = key_type.load(key_type.import_material(unwrap(wrapped, wrapping_key)))
    public_file = tmp_path / "public.pem"
    public_file.write_text(key.public_key_pem() or "")
    exported = openssl("pkey", "-in", key_file, "-inform", "DER", "-pubout")
    assert exported.returncode == 0 and exported.stdout.decode() == key.public_key_pem()
    data = tmp_path / "data"
    data.write_bytes(b"imported and used")
    if key_type.supports("sign"):
        signature = tmp_path / "sig"
        options = sign_options(name, key_type.default_hash)
        signed = openssl("pkeyutl", "-sign", "-inkey", key_file, "-keyform", "DER", *options,
                         "-in", data, "-out", signature)  # fmt: skip
        assert signed.returncode == 0, signed.stderr
        assert key.verify(data.read_bytes(), signature.read_bytes())
        signature.write_bytes(key.sign(data.read_bytes()))
        checked = openssl("pkeyutl", "-verify", "-pubin", "-inkey", public_file, *options,
                          "-in", data, "-sigfile", signature)  # fmt: skip
        assert checked.returncode == 0, checked.stderr
    if key_type.supports("derive"):
        peer_file, peer_public = tmp_path / "peer.der", tmp_path / "peer.pem"
        assert openssl("genpkey", *args, "-outform", "DER", "-out", peer_file).returncode == 0
        assert openssl("pkey", "-in", peer_file, "-inform", "DER", "-pubout",
                       "-out", peer_public).returncode == 0  # fmt: skip
        derived = openssl("pkeyutl", "-derive", "-inkey", peer_file, "-keyform", "DER",
                          "-peerkey", public_file)  # fmt: skip
        assert derived.returncode == 0, derived.stderr
        assert key.derive_shared_secret(peer_public.read_text()) == derived.stdout
    if key_type.supports("encrypt"):
        ciphertext = tmp_path / "ct"
        oaep = ["rsa_padding_mode:oaep", "rsa_oaep_md:sha256", "rsa_mgf1_md:sha256"]
        encrypted = openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", public_file,
                            *(arg for o in oaep for arg in ("-pkeyopt", o)),
                            "-in", data, "-out", ciphertext)  # fmt: skip
        assert encrypted.returncode == 0, encrypted.stderr
        assert key.decrypt(ciphertext.read_bytes()) == data.read_bytes()
