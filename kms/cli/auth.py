"""`egide login` and `egide token list|revoke`."""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys

from kms.cli import config
from kms.cli.app import CliError, Context, UsageError
from kms.cli.output import Column, pretty_json, table
from kms.cli.parsing import add_command, add_format, add_group
from kms.client import Unauthenticated

TOKEN_COLUMNS = (
    Column("ID", "id", 4),
    Column("NAME", "name", 6),
    Column("PREFIX", "prefix", 14),
    Column("CREATED", "created_at"),
    Column("EXPIRES", "expires_at"),
    Column("LAST USED", "last_used_at"),
    Column("REVOKED", "revoked_at"),
)
_DURATION = re.compile(r"^([1-9][0-9]*)([smhdw]?)$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def register(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "login",
        run_login,
        "log in with a password and save an API token",
        """
  egide login                          # asks for the username and the password
  egide login --username alice --expires-in 30d
  printf '%s' "$PASSWORD" | egide login --username alice --password-stdin
  egide login --username payments-svc --scope-key payments --scope-op encrypt

Without a terminal, nothing is asked: give --username and --password-stdin.

The token is saved in a file only you can read (mode 0600) and used by the next
commands; EGIDE_TOKEN, when set, takes precedence over it.
""",
    )
    p.add_argument("--username", help="default: asked for")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin (scripts)")
    p.add_argument("--name", help="a label for the token (shown by `egide token list`)")
    p.add_argument(
        "--expires-in",
        metavar="DURATION",
        type=duration_seconds,
        help="token lifetime, e.g. 3600, 12h, 30d, 1w (default: the server's)",
    )
    p.add_argument("--scope-key", action="append", default=None, metavar="KEY",
                   help="limit the token to this key (repeat for several)")  # fmt: skip
    p.add_argument("--scope-op", action="append", default=None, metavar="PERMISSION",
                   help="limit the token to this operation, e.g. encrypt (repeatable)")  # fmt: skip
    _register_tokens(commands)


def _register_tokens(commands: argparse._SubParsersAction) -> None:
    tokens = add_group(
        commands,
        "token",
        "list or revoke your API tokens",
        """
  egide token list
  egide token revoke 12
""",
    )
    p = add_command(tokens, "list", run_token_list, "list your API tokens", "\n  egide token list\n")
    add_format(p)
    p = add_command(tokens, "revoke", run_token_revoke, "revoke an API token", "\n  egide token revoke 12\n")
    p.add_argument("id", type=int, metavar="ID", help="the token's ID (see `egide token list`)")


def duration_seconds(text: str) -> int:
    """'3600', '90s', '30m', '12h', '30d', '1w' -> seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: use e.g. 3600, 12h, 30d")
    return int(match.group(1)) * _SECONDS[match.group(2)]


def run_login(args: argparse.Namespace, ctx: Context) -> int:
    interactive = _stdin_is_terminal()
    if not args.password_stdin and not interactive:
        # Never prompt (and never read a password echoed from a pipe) without a terminal.
        raise UsageError("standard input is not a terminal: give --username and --password-stdin")
    username = args.username or (_ask("username: ") if interactive else "")
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("password: ")
    if not username or not password:
        raise UsageError("a username and a password are needed")
    try:
        scope = {"scope_keys": args.scope_key, "scope_operations": args.scope_op}
        result = ctx.client.login(username, password, expires_in=args.expires_in, name=args.name,
                                  **scope)  # fmt: skip
    except Unauthenticated as exc:  # a wrong password: no "run egide login" hint here
        raise CliError(exc.code, exc.message) from None
    path = config.save_token(result["token"])
    expiry = result.get("expires_at") or "never"
    ctx.say(f"logged in as {username}: token {result.get('prefix', '')}... saved in {path}")
    ctx.say(f"it expires: {expiry}")
    if os.environ.get("EGIDE_TOKEN"):
        ctx.note("note: EGIDE_TOKEN is set and takes precedence over the saved token")
    return 0


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (OSError, ValueError):
        return False


def _ask(prompt: str) -> str:
    try:
        return input(prompt).strip()
    except EOFError:
        return ""


def run_token_list(args: argparse.Namespace, ctx: Context) -> int:
    tokens = ctx.client.list_tokens()
    ctx.say(pretty_json(tokens) if args.format == "json" else table(tokens, TOKEN_COLUMNS))
    return 0


def run_token_revoke(args: argparse.Namespace, ctx: Context) -> int:
    ctx.client.revoke_token(args.id)
    ctx.say(f"revoked token {args.id}")
    return 0
