"""Issue 18, the command line a newcomer meets: key state in `info`, one --format vocabulary,
--help/--version/status/whoami, verify's exit statuses, errors without temporary names,
a killed decrypt leaving no plaintext, http:// refused beyond loopback, clear messages."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kms.cli.files import segment_size
from kms.cli.main import build_parser
from kms.cli.parsing import FORMATS
from kms.client import EgideClient, InsecureAddress
from kms.crypto.filestream import DEFAULT_SEGMENT_SIZE
from kms.services.actor import Actor
from kms.services.tokens import token_create
from tests.conftest import make_user


def _all_parsers(parser: argparse.ArgumentParser, path: str = "egide"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _all_parsers(sub, f"{path} {name}")


def test_every_format_option_takes_the_same_words():
    found = {}
    for path, parser in _all_parsers(build_parser()):
        for action in parser._actions:
            if "--format" in action.option_strings:
                found[path] = tuple(action.choices)
    assert "egide kms info" in found and "egide kms list" in found and "egide status" in found
    assert {path: choices for path, choices in found.items() if choices != FORMATS} == {}


def test_help_lists_every_kms_command_the_readme_promises(run_cli):
    result = run_cli("--help")
    assert result.code == 0
    listed = {line.split()[0] for line in result.out.split("kms commands")[1].splitlines()[1:] if line.strip()}
    promised = {"create", "list", "rotate", "encrypt", "decrypt", "sign", "verify", "info", "disable", "enable",
                "delete", "restore", "datakey", "rewrap", "public-key", "export", "grants", "approvals"}  # fmt: skip
    assert promised <= listed
    for command in ("login", "token", "status", "whoami"):
        assert f"    {command} " in result.out


def test_version_is_printed(run_cli):
    result = run_cli("--version")
    assert result.code == 0 and result.out.startswith("egide ") and result.out.strip() != "egide unknown"


def test_info_keeps_the_specs_json_and_adds_the_keys_state(egide):
    assert egide("kms", "create", "k", "--type", "aes256").code == 0
    info = json.loads(egide("kms", "info", "k").out)
    assert list(info)[:6] == ["name", "type", "current_version", "versions", "created_at", "updated_at"]
    assert (info["status"], info["purge_after"]) == ("active", None)
    table = egide("kms", "info", "k", "--format", "table").out
    assert "State:" in table and "active" in table and "UTC" in table and "Next rotation" not in table

    assert egide("kms", "disable", "k").code == 0
    assert json.loads(egide("kms", "info", "k").out)["status"] == "disabled"
    assert egide("kms", "enable", "k").code == 0
    assert egide("kms", "delete", "k").code == 0
    deleted = json.loads(egide("kms", "info", "k").out)
    assert deleted["status"] == "deleted" and deleted["purge_after"].endswith("Z")
    state = [line for line in egide("kms", "info", "k", "--format", "table").out.splitlines() if "State" in line]
    assert "deleted (purged after " in state[0] and " UTC" in state[0]
    assert egide("kms", "info", "k", "--all").code == 0


def test_status_and_whoami_say_who_and_which_server(egide, live_server):
    me = egide("whoami")
    assert me.code == 0 and me.out.startswith("root (") and "superuser" in me.out
    assert json.loads(egide("whoami", "--format", "json").out)["username"] == "root"
    status = egide("status")
    assert status.code == 0, status.err
    assert f"server: {live_server.url} (Egide " in status.out and "API v1" in status.out
    assert "user:   root" in status.out and "token:" in status.out and "expires" in status.out
    data = json.loads(egide("status", "--format", "json").out)
    assert data["user"]["token"]["prefix"] and data["server_version"]


def test_status_without_a_token_says_so(live_server, cli_env, run_cli, root):
    cli_env.setenv("EGIDE_ADDR", live_server.url)
    status = run_cli("status")
    assert status.code == 1 and "not logged in" in status.out and "(Egide " in status.out


def test_verify_exits_1_only_for_an_invalid_signature(egide, tmp_path):
    assert egide("kms", "create", "s", "--type", "ed25519").code == 0
    signature = egide("kms", "sign", "s", "data").out.strip()
    assert egide("kms", "verify", "s", "data", signature).code == 0
    invalid = egide("kms", "verify", "s", "other data", signature)
    assert (invalid.code, invalid.out) == (1, "invalid\n")
    assert egide("kms", "verify", "nope", "data", signature).code == 4  # no such key
    assert egide("kms", "verify", "s", "--input", str(tmp_path / "missing"), signature).code == 4
    assert egide("kms", "verify", "s", "data").code == 2  # usage


def test_a_missing_output_directory_is_said_in_words(egide, tmp_path):
    assert egide("kms", "create", "k", "--type", "aes256").code == 0
    source = tmp_path / "in.txt"
    source.write_bytes(b"hello")
    target = tmp_path / "no-such-dir" / "out.enc"
    result = egide("kms", "encrypt", "k", "--input", str(source), "--output", str(target))
    assert result.code == 1
    assert result.err == f"error: io_error: cannot write {target}: the directory {target.parent} does not exist\n"
    text = egide("kms", "encrypt", "k", "hello", "--output", str(target))
    assert "does not exist" in text.err and ".part" not in text.err


def test_errors_never_name_a_temporary_file(egide, tmp_path):
    assert egide("kms", "create", "k", "--type", "aes256").code == 0
    source = tmp_path / "in.txt"
    source.write_bytes(b"hello")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = egide("kms", "encrypt", "k", "--input", str(source), "--output", str(locked / "out.enc"))
    finally:
        locked.chmod(0o700)
    if os.geteuid() == 0:  # root writes anyway: then the file is simply there
        assert result.code == 0
    else:
        assert result.code == 1 and str(locked / "out.enc") in result.err
    assert ".part" not in result.err and "tmp" not in result.err.replace(str(tmp_path), "")
    assert [p.name for p in locked.iterdir()] in ([], ["out.enc"])


def test_a_bad_segment_size_is_a_clear_error(cli_env):
    cli_env.setenv("EGIDE_FILE_SEGMENT_SIZE", "²")
    from kms.cli.app import CliError

    with pytest.raises(CliError) as refused:
        segment_size()
    assert refused.value.exit_code == 2
    assert refused.value.message.startswith("EGIDE_FILE_SEGMENT_SIZE must be a byte count from ")
    cli_env.delenv("EGIDE_FILE_SEGMENT_SIZE")
    assert segment_size() == DEFAULT_SEGMENT_SIZE


def test_a_bad_segment_size_through_the_command(egide, cli_env, tmp_path):
    assert egide("kms", "create", "k", "--type", "aes256").code == 0
    (tmp_path / "in").write_bytes(b"x")
    cli_env.setenv("EGIDE_FILE_SEGMENT_SIZE", "²")
    result = egide("kms", "encrypt", "k", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"))
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.splitlines()[-1].startswith("error: usage: EGIDE_FILE_SEGMENT_SIZE must be a byte count")


def test_plain_http_is_refused_beyond_this_machine(cli_env, run_cli):
    for addr in ("http://10.1.2.3:8200", "http://kms.example.com", "http://[2001:db8::1]:8200"):
        with pytest.raises(InsecureAddress):
            EgideClient(addr, "egd_x")
    for addr in ("http://127.0.0.1:1", "http://127.0.0.9:1", "http://localhost:1", "http://[::1]:1",
                 "https://kms.example.com"):  # fmt: skip
        EgideClient(addr, "egd_x").close()
    EgideClient("http://10.1.2.3:8200", "egd_x", allow_http=True).close()

    cli_env.setenv("EGIDE_ADDR", "http://10.1.2.3:8200")
    cli_env.setenv("EGIDE_TOKEN", "egd_x")
    refused = run_cli("kms", "list")
    assert refused.code == 1 and refused.err.startswith("error: insecure_address: refusing plain http to 10.1.2.3")
    cli_env.setenv("EGIDE_ADDR", "http://unknown-host.invalid:8200")
    cli_env.setenv("EGIDE_ALLOW_HTTP", "1")
    allowed = run_cli("kms", "list")  # allowed: it tries, and fails to resolve the name
    assert allowed.err.startswith("error: connection_failed: ")


def test_approving_prints_a_sentence(egide, live_server, django_user_model, cli_env):
    alice = make_user(django_user_model, "alice", "kms-admin", "kms-user")
    carol = make_user(django_user_model, "carol", "kms-approver")
    tokens = {u.username: token_create(actor=Actor.system(), user=u, name="t")[1] for u in (alice, carol)}
    cli_env.setenv("EGIDE_TOKEN", tokens["alice"])
    assert egide("kms", "create", "payments", "--type", "aes256", "--approvals", "1").code == 0
    pending = egide("kms", "delete", "payments")
    assert pending.code == 3
    request_id = pending.out.split("approvals approve ")[1].split()[0]
    cli_env.setenv("EGIDE_TOKEN", tokens["carol"])
    approved = egide("kms", "approvals", "approve", request_id)
    assert approved.code == 0, approved.err
    sentence = f"approved request {request_id} (delete on key payments): 1 of 1 approvals, so it has run"
    assert approved.out.startswith(sentence)
    assert not approved.out.lstrip().startswith("{")


# --- a killed decrypt leaves no plaintext -----------------------------------------------------------


def _script() -> Path:
    return Path(sys.executable).with_name("egide")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_a_killed_decrypt_leaves_no_plaintext(live_server, root_token, cli_env, strict_state, tmp_path, signum):
    env = {**os.environ, "EGIDE_ADDR": live_server.url, "EGIDE_TOKEN": root_token,
           "EGIDE_FILE_SEGMENT_SIZE": "4096"}  # fmt: skip
    subprocess.run([_script(), "kms", "create", "k", "--type", "aes256"], env=env, check=True, capture_output=True)  # noqa: S603
    plain = tmp_path / "plain"
    plain.write_bytes(os.urandom(64 * 1024))
    enc = tmp_path / "plain.enc"
    subprocess.run([_script(), "kms", "encrypt", "k", "--input", str(plain), "--output", str(enc)],  # noqa: S603
                   env=env, check=True, capture_output=True)  # fmt: skip
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    data = enc.read_bytes()
    proc = subprocess.Popen(  # noqa: S603
        [_script(), "kms", "decrypt", "k", "--input", "-", "--output", str(out_dir / "plain")],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    proc.stdin.write(data[: len(data) // 2])  # half the file: it decrypts and writes, then waits for more
    proc.stdin.flush()
    time.sleep(3)
    assert proc.poll() is None, proc.stderr.read()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert sorted(p.name for p in out_dir.iterdir()) == []  # neither the file nor a hidden .part
    if signum != signal.SIGKILL:
        assert proc.returncode == 128 + signum, err
        assert b"terminated" in err and b"Traceback" not in err
