"""The spec's walk-through (spec/kms-engine.md), command by command, against a live server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from kms.models import AuditEvent

SPEC_TABLE = """\
NAME                TYPE      VERSION  STATUS
my-encryption-key   aes256    1        active
my-signing-key      rsa4096   2        active
my-ed25519-key      ed25519   1        active
"""
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def create_spec_keys(egide):
    for name, key_type in (
        ("my-encryption-key", "aes256"),
        ("my-signing-key", "rsa4096"),
        ("my-ed25519-key", "ed25519"),
    ):
        result = egide("kms", "create", name, "--type", key_type)
        assert result.code == 0, result.err
        assert result.out == f"created {name} ({key_type}, version 1)\n"


def test_the_spec_walkthrough(egide, tmp_path):
    create_spec_keys(egide)
    assert egide("kms", "rotate", "my-signing-key").out == ("rotated my-signing-key: version 2 is now current\n")
    listed = egide("kms", "list")
    assert (listed.code, listed.err) == (0, "")
    assert sorted(listed.out.splitlines()[1:]) == sorted(SPEC_TABLE.splitlines()[1:])
    assert listed.out.splitlines()[0] == SPEC_TABLE.splitlines()[0]

    # Rotate; old ciphertexts still decrypt.
    v1 = egide("kms", "encrypt", "my-encryption-key", "sensitive data").out.strip()
    assert v1.startswith("egide:v1:")
    assert egide("kms", "rotate", "my-encryption-key").code == 0
    v2 = egide("kms", "encrypt", "my-encryption-key", "sensitive data")
    assert v2.code == 0 and re.fullmatch(r"egide:v2:[A-Za-z0-9+/=]+\n", v2.out)
    for token in (v1, v2.out.strip()):
        decrypted = egide("kms", "decrypt", "my-encryption-key", token)
        assert (decrypted.code, decrypted.out) == (0, "sensitive data")

    # Files.
    (tmp_path / "file.txt").write_bytes(b"file contents\n" * 1000)
    enc = egide(
        "kms",
        "encrypt",
        "my-encryption-key",
        "--input",
        str(tmp_path / "file.txt"),
        "--output",
        str(tmp_path / "file.enc"),
    )
    assert (enc.code, enc.out, enc.err) == (0, "", "")
    dec = egide(
        "kms",
        "decrypt",
        "my-encryption-key",
        "--input",
        str(tmp_path / "file.enc"),
        "--output",
        str(tmp_path / "file.out"),
    )
    assert dec.code == 0, dec.err
    assert (tmp_path / "file.out").read_bytes() == (tmp_path / "file.txt").read_bytes()

    # Sign and verify, strings and files, RSA and Ed25519.
    for key in ("my-signing-key", "my-ed25519-key"):
        signature = egide("kms", "sign", key, "data to sign")
        assert signature.code == 0 and signature.out.startswith("egide:v")
        sig = signature.out.strip()
        assert egide("kms", "verify", key, "data to sign", sig).out == "valid\n"
        bad = egide("kms", "verify", key, "data to sign!", sig)
        assert (bad.code, bad.out) == (1, "invalid\n")
        doc = tmp_path / "document.pdf"
        doc.write_bytes(b"%PDF-1.7 data to sign")
        file_sig = egide("kms", "sign", key, "--input", str(doc)).out.strip()
        assert egide("kms", "verify", key, "--input", str(doc), file_sig).out == "valid\n"
        # A file's signature is the data's signature: the string verifies too.
        assert egide("kms", "verify", key, "%PDF-1.7 data to sign", file_sig).out == "valid\n"
        doc.write_bytes(b"%PDF-1.7 data to sign, changed")
        assert egide("kms", "verify", key, "--input", str(doc), file_sig).code == 1

    # Info, as the spec prints it.
    info = egide("kms", "info", "my-encryption-key")
    assert info.code == 0
    data = json.loads(info.out)
    assert list(data)[:6] == ["name", "type", "current_version", "versions", "created_at", "updated_at"]
    assert (data["status"], data["purge_after"]) == ("active", None)  # issue 18: the key's state
    assert (data["name"], data["type"], data["current_version"]) == (
        "my-encryption-key",
        "aes256",
        2,
    )
    assert [(v["version"], v["status"]) for v in data["versions"]] == [
        (1, "decrypt-only"),
        (2, "active"),
    ]
    assert all(list(v) == ["version", "created_at", "status"] for v in data["versions"])
    assert all(TIMESTAMP.match(t) for t in (data["created_at"], data["updated_at"]))
    lines = info.out.splitlines()
    assert lines[0] == "{" and lines[1] == '  "name": "my-encryption-key",'
    assert re.fullmatch(r'    \{ "version": 1, "created_at": "[^"]+Z", "status": "decrypt-only" \},', lines[5])
    full = json.loads(egide("kms", "info", "my-encryption-key", "--all").out)
    assert full["status"] == "active" and "encrypt_count" in full["versions"][0]

    # The server recorded these calls as coming from the CLI.
    events = AuditEvent.objects.filter(key_name="my-encryption-key")
    assert {"create", "rotate", "encrypt", "decrypt", "datakey"} <= set(events.values_list("action", flat=True))
    assert set(events.values_list("source", flat=True)) == {"cli"}


def test_the_real_egide_script_runs(live_server, root_token, cli_env, strict_state):
    env = {**os.environ, "EGIDE_ADDR": live_server.url, "EGIDE_TOKEN": root_token}

    def egide(*argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        script = Path(sys.executable).with_name("egide")
        return subprocess.run(  # noqa: S603 - our own script, fixed arguments
            [script, *argv], env=env, input=stdin, capture_output=True, timeout=60, check=False
        )

    create = egide("kms", "create", "k1", "--type", "aes256")
    assert create.returncode == 0, create.stderr
    encrypted = egide("kms", "encrypt", "k1", "--input", "-", "--output", "-", stdin=b"a pipe")
    assert encrypted.returncode == 0, encrypted.stderr
    decrypted = egide("kms", "decrypt", "k1", "--input", "-", "--output", "-", stdin=encrypted.stdout)
    assert (decrypted.returncode, decrypted.stdout, decrypted.stderr) == (0, b"a pipe", b"")
    listed = egide("kms", "list")
    assert listed.stdout.decode().splitlines()[1].split() == ["k1", "aes256", "1", "active"]
    missing = egide("kms", "info", "nope")
    assert (missing.returncode, missing.stderr) == (
        1,
        b"error: key_not_found: key 'nope' not found\n",
    )
