import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from kms.crypto import InvalidSignature, parse_signature
from kms.exceptions import VersionNotUsable
from kms.services import crypto_ops as ops
from kms.services import keys
from tests.conftest import as_actor

pytestmark = pytest.mark.django_db
SIGNING_TYPES = ["rsa2048", "rsa4096", "ecdsa-p256", "ecdsa-p384", "ed25519"]


@pytest.mark.parametrize("key_type", SIGNING_TYPES)
def test_a_user_signs_and_verifies_with_every_signing_type(bob, create_key, key_type):
    create_key("signer", key_type)
    sig = ops.sign(actor=as_actor(bob), name="signer", data=b"data to sign")
    assert sig.signature.startswith("egide:v1:")
    assert ops.verify(actor=as_actor(bob), name="signer", data=b"data to sign", signature=sig.signature)
    assert not ops.verify(actor=as_actor(bob), name="signer", data=b"other data", signature=sig.signature)


def test_an_ecdsa_signature_verifies_with_only_the_public_key(bob, system, create_key):
    create_key("p256", "ecdsa-p256")
    sig = ops.sign(actor=as_actor(bob), name="p256", data=b"msg").signature
    _, pem = keys.public_key_pem(actor=system, name="p256")
    public = serialization.load_pem_public_key(pem.encode())
    public.verify(parse_signature(sig)[1], b"msg", ec.ECDSA(hashes.SHA256()))


def test_a_prehashed_rsa_signature_matches_signing_the_data(bob, system, create_key):
    create_key("rsa", "rsa2048")
    digest = hashlib.sha256(b"document").digest()
    sig = ops.sign(actor=as_actor(bob), name="rsa", data=digest, prehashed=True).signature
    _, pem = keys.public_key_pem(actor=system, name="rsa")
    public = serialization.load_pem_public_key(pem.encode())
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    public.verify(parse_signature(sig)[1], b"document", pss, hashes.SHA256())


def test_a_signature_after_rotation_still_verifies_until_the_version_is_retired(bob, system, create_key):
    create_key("signer", "ed25519")
    old = ops.sign(actor=as_actor(bob), name="signer", data=b"d").signature
    keys.key_rotate(actor=system, name="signer")
    assert ops.verify(actor=as_actor(bob), name="signer", data=b"d", signature=old)
    keys.key_update(actor=system, name="signer", changes={"min_decryption_version": 2})
    with pytest.raises(VersionNotUsable):
        ops.verify(actor=as_actor(bob), name="signer", data=b"d", signature=old)


def test_a_flipped_signature_byte_does_not_verify(bob, create_key):
    create_key("signer", "ecdsa-p384")
    sig = ops.sign(actor=as_actor(bob), name="signer", data=b"d").signature
    version, raw = parse_signature(sig)
    for i in range(0, len(raw), 7):
        bad = bytearray(raw)
        bad[i] ^= 0x80
        token = f"egide:v{version}:" + base64.b64encode(bytes(bad)).decode()
        assert not ops.verify(actor=as_actor(bob), name="signer", data=b"d", signature=token)


def test_a_malformed_signature_is_invalid_signature(bob, create_key):
    create_key("signer", "ed25519")
    with pytest.raises(InvalidSignature):
        ops.verify(actor=as_actor(bob), name="signer", data=b"d", signature="not-a-signature")
