"""Backup bundles: round trips to a master key and to another Egide, tampering, foreign."""

from __future__ import annotations

import base64
import json
import os

import pytest

from kms.crypto import InvalidBackup, LoadedKey, MasterKey, aes_aad_prefix, get_key_type
from kms.crypto.backup import (
    BundleVersion,
    KeyBundle,
    make_bundle,
    open_bundle,
    peek_bundle,
    rsa_recipient,
)

UID = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
SETTINGS = {"exportable": False, "rotation_period": "90d", "min_decryption_version": 1}


@pytest.fixture(scope="module")
def master() -> MasterKey:
    return MasterKey(os.urandom(32))


@pytest.fixture(scope="module")
def other_egide(materials: dict[str, bytes]) -> LoadedKey:
    """Another Egide's RSA-4096 wrapping key (private half: it restores)."""
    return get_key_type("rsa4096").load(materials["rsa4096"])


def aes_bundle() -> KeyBundle:
    return KeyBundle(
        uid=UID,
        key_type="aes256",
        settings=SETTINGS,
        versions=(
            BundleVersion(1, os.urandom(32), info={"status": "decrypt-only"}),
            BundleVersion(2, None, info={"destroyed": True}),
            BundleVersion(3, os.urandom(32), info={"status": "active", "encrypt_count": 7}),
        ),
    )


def test_a_bundle_to_the_master_key_restores_every_version_and_the_uid(master: MasterKey) -> None:
    bundle = aes_bundle()
    text = make_bundle(bundle, to=master)
    assert text.startswith("egide-backup.v1.")
    restored = open_bundle(text, master_key=master)
    assert restored == bundle
    assert peek_bundle(text).to == "master" and peek_bundle(text).recipient == master.id


def test_a_restored_key_decrypts_the_first_ones_ciphertexts(master: MasterKey) -> None:
    bundle = aes_bundle()
    original = get_key_type("aes256").load(bundle.versions[2].material or b"")
    blob = original.encrypt(b"old data", aad_prefix=aes_aad_prefix(UID, 3))
    restored = open_bundle(make_bundle(bundle, to=master), master_key=master)
    again = get_key_type("aes256").load(restored.versions[2].material or b"")
    assert again.decrypt(blob, aad_prefix=aes_aad_prefix(restored.uid, 3)) == b"old data"


def test_a_bundle_to_another_egides_wrapping_key_opens_only_there(
    other_egide: LoadedKey, materials: dict[str, bytes], master: MasterKey
) -> None:
    bundle = KeyBundle(UID, "ecdsa-p256", SETTINGS, (BundleVersion(1, materials["ecdsa-p256"], info={}),))
    text = make_bundle(bundle, to=other_egide.public_key_pem() or "")
    info = peek_bundle(text)
    assert info.to == "rsa" and info.recipient == rsa_recipient(other_egide.public_key_pem() or "")
    assert open_bundle(text, wrapping_key=other_egide) == bundle
    with pytest.raises(InvalidBackup, match="sealed to a wrapping key"):
        open_bundle(text, master_key=master)


def test_a_bundle_for_another_master_key_is_refused_as_foreign(master: MasterKey) -> None:
    text = make_bundle(aes_bundle(), to=master)
    with pytest.raises(InvalidBackup, match="made for another Egide"):
        open_bundle(text, master_key=MasterKey(os.urandom(32)))


def test_a_bundle_sealed_to_a_different_rsa_key_is_refused(other_egide: LoadedKey, materials: dict[str, bytes]) -> None:
    rsa2048 = get_key_type("rsa2048").load(materials["rsa2048"])
    text = make_bundle(aes_bundle(), to=other_egide.public_key_pem() or "")
    with pytest.raises(InvalidBackup, match="another Egide"):
        open_bundle(text, wrapping_key=rsa2048)
    with pytest.raises(ValueError, match="3072"):
        make_bundle(aes_bundle(), to=rsa2048.public_key_pem() or "")


def test_every_flipped_character_is_refused(master: MasterKey) -> None:
    text = make_bundle(KeyBundle(UID, "hmac", {}, (BundleVersion(1, os.urandom(32)),)), to=master)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for position, char in enumerate(text):
        swapped = alphabet[(alphabet.index(char) + 1) % 64] if char in alphabet else "A"
        tampered = text[:position] + swapped + text[position + 1 :]
        with pytest.raises(InvalidBackup):
            open_bundle(tampered, master_key=master)
    for tampered in (text[:-1], text + "A", text + ".x", text.replace(".", "..", 1), ""):
        with pytest.raises(InvalidBackup):
            open_bundle(tampered, master_key=master)


def test_a_header_spliced_from_another_bundle_is_refused(master: MasterKey) -> None:
    first, second = make_bundle(aes_bundle(), to=master), make_bundle(aes_bundle(), to=master)
    head_a, body_a = first.rsplit(".", 1)
    head_b, _ = second.rsplit(".", 1)
    with pytest.raises(InvalidBackup, match="modified"):
        open_bundle(f"{head_b}.{body_a}", master_key=master)
    assert open_bundle(f"{head_a}.{body_a}", master_key=master)


def test_a_rewritten_header_is_refused_even_if_well_formed(master: MasterKey) -> None:
    text = make_bundle(aes_bundle(), to=master)
    _, version, header, body = text.split(".")
    fields = json.loads(base64.urlsafe_b64decode(header + "=="))
    fields["key_type"] = "hmac"
    forged = base64.urlsafe_b64encode(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).rstrip(b"=")
    with pytest.raises(InvalidBackup, match="modified"):
        open_bundle(f"egide-backup.{version}.{forged.decode()}.{body}", master_key=master)


def test_other_texts_and_future_versions_are_named_as_such(master: MasterKey) -> None:
    with pytest.raises(InvalidBackup, match="not an Egide backup"):
        open_bundle("vault:v1:abc", master_key=master)
    with pytest.raises(InvalidBackup, match="unsupported backup format version 2"):
        open_bundle("egide-backup.v2.e30.AAAA", master_key=master)
    with pytest.raises(InvalidBackup):
        open_bundle(None, master_key=master)  # type: ignore[arg-type]


def test_the_material_never_shows_in_a_repr_and_the_bundle_text_does_not_hold_it(
    master: MasterKey,
) -> None:
    bundle = aes_bundle()
    material = bundle.versions[0].material or b""
    assert material.hex() not in repr(bundle) and repr(material) not in repr(bundle)
    text = make_bundle(bundle, to=master)
    for form in (base64.b64encode(material).decode(), base64.urlsafe_b64encode(material).decode()):
        assert form.rstrip("=") not in text


def test_verify_only_versions_travel_as_public_keys(master: MasterKey, keys: dict[str, LoadedKey]) -> None:
    pem = keys["ed25519"].public_key_pem()
    bundle = KeyBundle(UID, "ed25519", {"origin": "imported"}, (BundleVersion(1, None, pem),))
    restored = open_bundle(make_bundle(bundle, to=master), master_key=master)
    assert restored.versions[0].public_key == pem and restored.versions[0].material is None


def test_a_bundle_checks_what_it_is_given() -> None:
    with pytest.raises(ValueError, match="uid"):
        KeyBundle(b"short", "aes256", {}, (BundleVersion(1, bytes(32)),))
    with pytest.raises(ValueError, match="increasing"):
        KeyBundle(UID, "aes256", {}, (BundleVersion(2, bytes(32)), BundleVersion(1, bytes(32))))
    with pytest.raises(ValueError, match="increasing"):
        KeyBundle(UID, "aes256", {}, ())
    with pytest.raises(Exception, match="unknown key type"):
        KeyBundle(UID, "des", {}, (BundleVersion(1, bytes(32)),))


def test_material_that_is_not_a_key_of_the_type_is_refused_on_open(master: MasterKey) -> None:
    bundle = KeyBundle(UID, "aes256", {}, (BundleVersion(1, bytes(31)),))
    with pytest.raises(InvalidBackup, match="not a valid key"):
        open_bundle(make_bundle(bundle, to=master), master_key=master)
