"""What the CLI says without a server, without a token, and on bad arguments."""

from __future__ import annotations

import argparse
import socket

import pytest

from kms.cli.main import build_parser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """Every command of the tree, e.g. ("kms", "encrypt")."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from command_paths(sub, (*prefix, name))


ALL_COMMANDS = list(command_paths(build_parser()))


def test_the_tree_has_every_command_of_the_issue():
    expected = {
        "create", "list", "info", "rotate", "encrypt", "decrypt", "sign", "verify", "disable",
        "enable", "delete", "restore", "public-key", "datakey", "rewrap", "export", "approvals",
        "grants",
    }  # fmt: skip
    assert expected <= {path[1] for path in ALL_COMMANDS if path[0] == "kms" and len(path) > 1}
    assert {("login",), ("token", "list"), ("token", "revoke")} <= set(ALL_COMMANDS)


@pytest.mark.parametrize("path", [(), *ALL_COMMANDS], ids=lambda p: " ".join(p) or "egide")
def test_every_command_has_help_with_examples(run_cli, path):
    result = run_cli(*path, "--help")
    assert result.code == 0
    assert "examples:" in result.out and "exit status:" in result.out


def test_without_a_server_it_says_where_it_looked_and_how_to_fix_it(run_cli, cli_env):
    addr = f"http://127.0.0.1:{free_port()}"
    cli_env.setenv("EGIDE_ADDR", addr)
    cli_env.setenv("EGIDE_TOKEN", "egd_whatever")
    result = run_cli("kms", "list")
    assert result.code == 1 and result.out == ""
    assert result.err == (
        f"error: connection_failed: cannot reach the Egide server at {addr} "
        "(connection refused); start it with `make run` or set EGIDE_ADDR\n"
    )


def test_without_a_token_it_says_how_to_log_in(run_cli, cli_env):
    cli_env.setenv("EGIDE_ADDR", f"http://127.0.0.1:{free_port()}")
    result = run_cli("kms", "encrypt", "k", "data")
    assert (result.code, result.out) == (1, "")
    assert result.err == ("error: not_logged_in: no API token: run `egide login` or set EGIDE_TOKEN\n")


def test_the_saved_token_is_used_when_no_env_token(run_cli, cli_env, tmp_path):
    from kms.cli import config

    path = config.save_token("egd_saved")
    assert path.stat().st_mode & 0o777 == 0o600
    assert config.saved_token() == "egd_saved"
    cli_env.setenv("EGIDE_TOKEN", "egd_env")
    assert config.saved_token() == "egd_env"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["kms", "create", "k"], "the following arguments are required: --type"),
        (["kms", "encrypt", "k"], "give either PLAINTEXT or --input FILE"),
        (["kms", "encrypt", "k", "text", "--input", "f"], "give either PLAINTEXT or --input FILE"),
        (["kms", "verify", "k", "only-one"], "expected DATA SIGNATURE"),
        (["kms", "verify", "k", "a", "b", "--input", "f"], "expected SIGNATURE with --input"),
        (["kms", "sign", "k", "x", "--algorithm", "md5"], "invalid choice: 'md5'"),
        (["kms", "grants", "add", "k", "--permissions", "encrypt"], "one of the arguments"),
        (
            ["kms", "grants", "add", "k", "--user", "u", "--permissions", "fly"],
            "unknown permission",
        ),
        (["kms", "update", "k"], "nothing to change"),
        (["kms", "nonsense"], "invalid choice: 'nonsense'"),
        (["login", "--expires-in", "soon"], "invalid duration"),
    ],
)
def test_usage_errors_exit_2_with_one_error_line(run_cli, cli_env, argv, message):
    result = run_cli(*argv)
    assert result.code == 2 and result.out == ""
    last = result.err.splitlines()[-1]
    assert last.startswith("error: usage: ") and message in last
    assert result.err.startswith("usage: egide")


def test_a_command_group_alone_shows_its_help(run_cli):
    result = run_cli("kms")
    assert result.code == 2 and "encrypt" in result.err


def test_an_encrypted_file_is_not_written_to_a_terminal(run_cli, cli_env, monkeypatch):
    from kms.cli.app import Context

    monkeypatch.setattr(Context, "stdout_is_terminal", lambda self: True)
    result = run_cli("kms", "encrypt", "k", "--input", "somefile")
    assert result.code == 2
    assert result.err.splitlines()[-1] == (
        "error: usage: refusing to write an encrypted file to a terminal: use --output FILE"
    )
