"""The CLI for issue 16 against a live server: create ML-DSA/ML-KEM/hmac/X25519 keys, hmac and
verify --hmac, sign/verify with an ML-DSA context and a whole file, decapsulate, derive,
random and jwks; outputs checked with pyca and Python's hmac module."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.serialization import load_pem_public_key

pytestmark = pytest.mark.django_db(transaction=True)


def _ok(run) -> str:
    assert run.code == 0, (run.code, run.out, run.err)
    return run.out.strip()


def test_create_each_new_type_and_sign_with_ml_dsa(egide, tmp_path):
    assert "created pq (ml-dsa-65, version 1)" in _ok(egide("kms", "create", "pq", "--type", "ml-dsa-65"))
    signature = _ok(egide("kms", "sign", "pq", "release", "--context", "ctx"))
    assert _ok(egide("kms", "verify", "pq", "release", signature, "--context", "ctx")) == "valid"
    bad = egide("kms", "verify", "pq", "release", signature)  # without the context
    assert bad.code == 1 and bad.out.strip() == "invalid"
    pem = tmp_path / "pq.pem"
    _ok(egide("kms", "public-key", "pq", "--output", str(pem)))
    public = load_pem_public_key(pem.read_bytes())
    public.verify(base64.b64decode(signature.rpartition(":")[2]), b"release", b"ctx")
    # a file: ML-DSA has no digest form, the file is sent whole
    doc = tmp_path / "doc.bin"
    doc.write_bytes(b"\x00document\xff" * 1000)
    file_signature = _ok(egide("kms", "sign", "pq", "--input", str(doc)))
    public.verify(base64.b64decode(file_signature.rpartition(":")[2]), doc.read_bytes())
    assert _ok(egide("kms", "verify", "pq", "--input", str(doc), file_signature)) == "valid"


def test_hmac_and_verify_hmac(egide, tmp_path):
    _ok(egide("kms", "create", "mac", "--type", "hmac"))
    made = _ok(egide("kms", "hmac", "mac", "hello"))
    assert made.startswith("egide:v1:") and len(base64.b64decode(made.rpartition(":")[2])) == 32
    assert _ok(egide("kms", "verify", "--hmac", "mac", "hello", made)) == "valid"
    wrong = egide("kms", "verify", "--hmac", "mac", "hellO", made)
    assert wrong.code == 1 and wrong.out.strip() == "invalid"
    data = tmp_path / "d.bin"
    data.write_bytes(b"file data")
    made512 = _ok(egide("kms", "hmac", "mac", "--input", str(data), "--algorithm", "sha512"))
    assert len(base64.b64decode(made512.rpartition(":")[2])) == 64
    checked = egide("kms", "verify", "--hmac", "mac", "--input", str(data), made512, "--algorithm", "sha512")
    assert _ok(checked) == "valid"
    refused = egide("kms", "verify", "mac", "hello", made)  # a signature check on an hmac key
    assert refused.code == 4 and "invalid_request" in refused.err  # verify: 1 is "invalid" only


def test_decapsulate_a_ciphertext_encapsulated_by_pyca(egide, tmp_path):
    _ok(egide("kms", "create", "kem", "--type", "ml-kem-768"))
    pem = tmp_path / "kem.pem"
    _ok(egide("kms", "public-key", "kem", "--output", str(pem)))
    secret, ciphertext = load_pem_public_key(pem.read_bytes()).encapsulate()
    assert _ok(egide("kms", "decapsulate", "kem", base64.b64encode(ciphertext).decode())) == \
        base64.b64encode(secret).decode()  # fmt: skip
    ct = tmp_path / "ct.bin"
    ct.write_bytes(ciphertext)
    assert _ok(egide("kms", "decapsulate", "kem", "--input", str(ct), "--encoding", "hex")) == secret.hex()
    out = tmp_path / "secret.bin"
    _ok(egide("kms", "decapsulate", "kem", "--input", str(ct), "--output", str(out)))
    assert out.read_bytes() == secret and (out.stat().st_mode & 0o777) == 0o600
    short = egide("kms", "decapsulate", "kem", base64.b64encode(ciphertext[:-1]).decode())
    assert short.code == 1 and "invalid_ciphertext" in short.err


@pytest.mark.parametrize("key_type", ["x25519", "ecdh-p384"])
def test_derive_with_a_pyca_peer(egide, tmp_path, key_type):
    _ok(egide("kms", "create", "agree", "--type", key_type))
    mine = tmp_path / "mine.pem"
    _ok(egide("kms", "public-key", "agree", "--output", str(mine)))
    egide_public = load_pem_public_key(mine.read_bytes())
    if key_type == "x25519":
        peer = x25519.X25519PrivateKey.generate()
        expected = peer.exchange(egide_public)
    else:
        peer = ec.generate_private_key(ec.SECP384R1())
        expected = peer.exchange(ec.ECDH(), egide_public)
    peer_pem = tmp_path / "peer.pem"
    peer_pem.write_bytes(peer.public_key().public_bytes(serialization.Encoding.PEM,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo))  # fmt: skip
    assert base64.b64decode(_ok(egide("kms", "derive", "agree", "--peer", str(peer_pem)))) == expected
    wrong = tmp_path / "wrong.pem"
    wrong.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))  # fmt: skip
    refused = egide("kms", "derive", "agree", "--peer", str(wrong))
    assert refused.code == 1 and "invalid_request" in refused.err and "peer public key" in refused.err


def test_random_and_jwks(egide):
    assert len(base64.b64decode(_ok(egide("kms", "random", "48")))) == 48
    assert len(bytes.fromhex(_ok(egide("kms", "random", "16", "--encoding", "hex")))) == 16
    too_many = egide("kms", "random", "2000")
    assert too_many.code == 1 and "invalid_request" in too_many.err
    _ok(egide("kms", "create", "signer", "--type", "ecdsa-p256"))
    jwks = json.loads(_ok(egide("kms", "jwks", "signer")))
    assert [k["crv"] for k in jwks["keys"]] == ["P-256"] and jwks["keys"][0]["kid"].endswith(":1")
