"""`egide status` (the server, its version, who I am, when my token expires) and `egide whoami`."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from typing import Any

from kms.cli import config
from kms.cli.app import EXIT_ERROR, Context
from kms.cli.output import pretty_json, utc_words, utc_z
from kms.cli.parsing import add_command, add_format
from kms.client import EgideError


def register(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands, "status", run_status, "the server, its version, who you are and when your token expires",
        """
  egide status
  egide status --format json

Exit status 0 when the server answers and the token is valid, 1 otherwise (each line says why).
""",
    )  # fmt: skip
    add_format(p)
    p = add_command(commands, "whoami", run_whoami, "who the saved token (or EGIDE_TOKEN) acts as",
                    "\n  egide whoami\n  egide whoami --format json\n")  # fmt: skip
    add_format(p)


def run_whoami(args: argparse.Namespace, ctx: Context) -> int:
    me = ctx.client.whoami()
    if args.format == "json":
        ctx.say(pretty_json(me))
    else:
        ctx.say(_who(me))
    return 0


def run_status(args: argparse.Namespace, ctx: Context) -> int:
    found: dict[str, Any] = {"server": config.server_addr(), "token_source": _token_source()}
    ok = True
    try:
        info = ctx.client.server_info()
        found["server_version"] = info.get("server_version")
        found["api_version"] = info.get("version")
    except EgideError as exc:
        found["server_error"] = exc.message
        ok = False
    if ok:
        try:
            found["user"] = ctx.client.whoami()
        except EgideError as exc:
            found["user_error"] = exc.message
            ok = False
    if args.format == "json":
        ctx.say(pretty_json(found))
    else:
        for label, text in _status_lines(found):
            ctx.say(f"{label + ':':<8}{text}")
    return 0 if ok else EXIT_ERROR


def _status_lines(found: dict[str, Any]) -> list[tuple[str, str]]:
    if "server_error" in found:
        return [("server", f"{found['server']}: not reachable: {found['server_error']}")]
    lines = [("server", f"{found['server']} (Egide {found['server_version']}, API v{found['api_version']})")]
    if "user_error" in found:
        return [*lines, ("user", f"not logged in: {found['user_error']} (run `egide login`)")]
    me = found["user"]
    lines.append(("user", _who(me)))
    token = me.get("token")
    if token is not None:
        expiry = _expiry(token.get("expires_at"))
        lines.append(("token", f"{token.get('prefix')}… ({found['token_source']}); {expiry}"))
    return lines


def _who(me: dict[str, Any]) -> str:
    roles = ", ".join(me.get("roles") or []) or "no role"
    flag = " — superuser (break-glass: acts alone, flagged in the audit)" if me.get("superuser") else ""
    return f"{me.get('username')} ({roles}){flag}"


def _expiry(expires_at: str | None, now: datetime | None = None) -> str:
    """'expires 2025-03-01 00:00:00 UTC (in 29 days)', or 'never expires'."""
    if not expires_at:
        return "never expires"
    moment = datetime.fromisoformat(str(utc_z(expires_at)).replace("Z", "+00:00"))
    left = moment - (now or datetime.now(UTC))
    if left.total_seconds() <= 0:
        return f"expired {utc_words(expires_at)}"
    days, hours = left.days, left.seconds // 3600
    span = f"in {days} day{'s' * (days != 1)}" if days else f"in {hours} hour{'s' * (hours != 1)}"
    return f"expires {utc_words(expires_at)} ({span})"


def _token_source() -> str:
    return "from EGIDE_TOKEN" if os.environ.get("EGIDE_TOKEN") else f"saved in {config.token_file()}"
