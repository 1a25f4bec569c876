"""`egide kms import|wrapping-key|backup|restore --backup` against a live server (issue 15).

Keys are made outside Egide with openssl (and pyca), wrapped by the CLI on this machine;
what Egide produces with them is checked by the outside world, and the other way round.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from kms.models import Key
from tests.byok import outside

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is not installed")
def test_an_openssl_ed25519_key_is_imported_and_its_signatures_match_openssl(egide, tmp_path):
    pem = tmp_path / "signer.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(pem)], check=True)  # noqa: S603, S607
    run = egide("kms", "import", "signer", "--type", "ed25519", "--key-file", str(pem))
    assert run.code == 0, run.err
    assert "imported signer (ed25519, imported, version 1)" in run.out
    private = serialization.load_pem_private_key(pem.read_bytes(), password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    run = egide("kms", "sign", "signer", "a contract")
    assert run.code == 0, run.err
    outside.ed25519_verify_outside(private.public_key(), run.out.strip(), b"a contract")
    theirs = outside.ed25519_sign_outside(private, 1, b"a contract")
    assert egide("kms", "verify", "signer", "a contract", theirs).code == 0
    info = json.loads(egide("kms", "info", "signer", "--all").out)
    assert info["origin"] == "imported" and info["imported_by"] == "root"
    assert "Origin:" in egide("kms", "info", "signer", "--format", "table").out


def test_an_aes_key_file_and_a_public_key_alone(egide, tmp_path):
    key = os.urandom(32)
    (tmp_path / "k.b64").write_text(base64.b64encode(key).decode() + "\n")
    assert egide("kms", "import", "byo", "--type", "aes256", "--key-file", str(tmp_path / "k.b64")).code == 0
    token = egide("kms", "encrypt", "byo", "hello").out.strip()
    uid = Key.objects.get(name="byo").aad_identity.bytes
    assert outside.aes_decrypt_outside(key, uid, token) == b"hello"

    ec_key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "partner.pub").write_text(outside.spki_pem(ec_key.public_key()))
    run = egide("kms", "import", "partner", "--type", "ecdsa-p256", "--public-key", str(tmp_path / "partner.pub"))
    assert run.code == 0 and "verify-only" in run.out
    assert egide("kms", "verify", "partner", "doc", outside.ecdsa_sign_outside(ec_key, 1, b"doc")).code == 0
    refused = egide("kms", "sign", "partner", "doc")
    assert refused.code != 0 and "operation_not_allowed" in refused.err


def test_backup_and_restore_under_another_name(egide, tmp_path):
    assert egide("kms", "create", "payments", "--type", "aes256").code == 0
    token = egide("kms", "encrypt", "payments", "pii").out.strip()
    refused = egide("kms", "backup", "payments")
    assert refused.code != 0 and "export_disabled" in refused.err
    Key.objects.filter(name="payments").update(backup_allowed=True)  # switched on (approval flow: API tests)
    bundle = tmp_path / "payments.backup"
    run = egide("kms", "backup", "payments", "--output", str(bundle))
    assert run.code == 0, run.err
    assert oct(bundle.stat().st_mode & 0o777) == "0o600"
    run = egide("kms", "restore", "copy", "--backup", str(bundle))
    assert run.code == 0, run.err
    assert egide("kms", "decrypt", "copy", token).out.strip() == "pii"


def test_the_wrapping_key_is_printed(egide, tmp_path):
    run = egide("kms", "wrapping-key")
    assert run.code == 0 and run.out.startswith("-----BEGIN PUBLIC KEY-----")


def test_backups_are_allowed_at_creation_or_switched_on_later(egide):
    """The CLI sets backup_allowed at creation, or later with `update` (as root: break-glass
    acts alone; for anyone else the switch waits for a second person, tests/api)."""
    assert egide("kms", "create", "nightly", "--type", "aes256", "--backup-allowed").code == 0
    assert Key.objects.get(name="nightly").backup_allowed is True
    assert egide("kms", "create", "later", "--type", "aes256").code == 0
    assert Key.objects.get(name="later").backup_allowed is False
    run = egide("kms", "update", "later", "--backup-allowed", "--allow-generated-rotation")
    assert run.code == 0, run.err
    key = Key.objects.get(name="later")
    assert (key.backup_allowed, key.allow_generated_rotation) == (True, True)
