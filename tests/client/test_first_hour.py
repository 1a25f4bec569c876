"""Issue 18, the Python client a newcomer meets: `import egide`, typed (py.typed, mypy on an
example program), documented methods, from_env like the CLI, decrypt takes what encrypt
returned, files in the CLI's streaming format (each side decrypts the other's)."""

from __future__ import annotations

import inspect
import io
import subprocess
import sys
from pathlib import Path

import pytest

import egide
import kms.client
from kms.cli.main import main as cli_main
from kms.client import EgideClient, InvalidCiphertext

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_name_is_egide_and_the_same_objects_as_kms_client():
    assert egide.EgideClient is kms.client.EgideClient
    assert set(egide.__all__) == set(kms.client.__all__)
    assert all(getattr(egide, name) is getattr(kms.client, name) for name in egide.__all__)


def test_the_packages_ship_py_typed_and_pyproject_installs_egide():
    assert (ROOT / "egide" / "py.typed").exists() and (ROOT / "kms" / "py.typed").exists()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"egide"]' in pyproject and 'egide = ["py.typed"]' in pyproject


def test_every_public_method_has_a_docstring():
    public = inspect.getmembers(EgideClient, inspect.isfunction)
    missing = [name for name, function in public if not name.startswith("_") and not function.__doc__]
    assert missing == []
    assert EgideClient.from_env.__doc__


def test_mypy_checks_the_example_program(tmp_path):
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n")  # not the project's: no Django plugin for a client program
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "mypy", "--config-file", str(config), "--strict", "--follow-imports=silent",
         "--cache-dir", str(tmp_path / "cache"), "examples/client_example.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


def test_mypy_catches_a_wrong_use_of_the_client(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from egide import EgideClient\n\nEgideClient.from_env().encrypt('k', 'text, not bytes')\n")
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n")
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "mypy", "--config-file", str(config), "--follow-imports=silent",
         "--cache-dir", str(tmp_path / "cache"), str(bad)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False, env={"MYPYPATH": str(ROOT)},
    )  # fmt: skip
    assert result.returncode == 1 and 'incompatible type "str"; expected "bytes"' in result.stdout


def test_from_env_reads_the_address_and_the_token_like_the_cli(monkeypatch, tmp_path):
    monkeypatch.setenv("EGIDE_CONFIG_DIR", str(tmp_path))
    monkeypatch.delenv("EGIDE_TOKEN", raising=False)
    monkeypatch.delenv("EGIDE_ADDR", raising=False)
    (tmp_path / "token").write_text("egd_saved\n")
    client = EgideClient.from_env()
    assert (client.addr, client.token) == ("http://127.0.0.1:8200", "egd_saved")
    monkeypatch.setenv("EGIDE_TOKEN", "egd_env")
    monkeypatch.setenv("EGIDE_ADDR", "https://kms.example.com:8200/")
    client = EgideClient.from_env()
    assert (client.addr, client.token) == ("https://kms.example.com:8200", "egd_env")


def test_from_env_talks_to_the_server(client, monkeypatch, live_server):
    monkeypatch.setenv("EGIDE_ADDR", live_server.url)
    monkeypatch.setenv("EGIDE_TOKEN", client.token)
    with EgideClient.from_env() as from_env:
        assert from_env.whoami()["username"] == "root"
        assert from_env.server_info()["server_version"]


def test_decrypt_accepts_what_encrypt_returned(client):
    client.create_key("k", "aes256")
    sealed = client.encrypt("k", b"secret", context=b"ctx")
    assert client.decrypt("k", sealed, context=b"ctx") == b"secret"
    assert client.decrypt("k", sealed.ciphertext, context=b"ctx") == b"secret"


def test_files_in_the_clis_format_both_ways(client, tmp_path, monkeypatch, live_server):
    client.create_key("files", "aes256")
    source = tmp_path / "plain.bin"
    source.write_bytes(b"x" * 3_000_000)
    assert client.encrypt_file("files", source, tmp_path / "by-client.enc", context=b"c") == 3_000_000
    monkeypatch.setenv("EGIDE_ADDR", live_server.url)
    monkeypatch.setenv("EGIDE_TOKEN", client.token)
    args = ["kms", "decrypt", "files", "--context", "c", "--input", str(tmp_path / "by-client.enc")]
    assert cli_main([*args, "--output", str(tmp_path / "by-cli.txt")]) == 0
    assert (tmp_path / "by-cli.txt").read_bytes() == source.read_bytes()

    assert cli_main(["kms", "encrypt", "files", "--input", str(source), "--output", str(tmp_path / "cli.enc")]) == 0
    out = io.BytesIO()
    assert client.decrypt_file("files", tmp_path / "cli.enc", out) == 3_000_000
    assert out.getvalue() == source.read_bytes()
    with pytest.raises(InvalidCiphertext):  # the context is part of the file key
        client.decrypt_file("files", tmp_path / "by-client.enc", io.BytesIO())
    assert not (tmp_path / "never").exists()
