"""`egide user add|list|show|deactivate` and `egide role add|remove` (for those who manage users).

Nothing here prompts: a new user's one-time password is made by the server and printed once.
"""

from __future__ import annotations

import argparse
from typing import Any

from kms.cli.app import Context
from kms.cli.output import Column, pretty_json, table
from kms.cli.parsing import add_command, add_format, add_group

ROLES = ("kms-admin", "kms-user", "kms-approver", "kms-auditor")
USER_COLUMNS = (
    Column("USER", "username", 16),
    Column("ROLES", "roles", 24),
    Column("GROUPS", "groups", 12),
    Column("ACTIVE", "active", 6),
    Column("LAST LOGIN", "last_login"),
)


def register(commands: argparse._SubParsersAction) -> None:
    users = add_group(commands, "user", "manage users (who manages users only)", """
  egide user add carol --role kms-approver --email carol@example.com
  egide user list
  egide user show carol
  egide user deactivate carol
""")  # fmt: skip
    p = add_command(
        users,
        "add",
        run_add,
        "add a user; prints a one-time password, once",
        "\n  egide user add carol --role kms-approver\n"
        "  egide user add payments-svc      # no role: per-key grants only\n",
    )
    p.add_argument("username", metavar="NAME")
    p.add_argument("--role", action="append", default=[], metavar="ROLE",
                   help=f"a role ({', '.join(ROLES)}) or a group; repeat for several")  # fmt: skip
    p.add_argument("--email", default=None, metavar="E")
    add_format(p)
    p = add_command(users, "list", run_list, "list users", "\n  egide user list\n")
    add_format(p)
    p = add_command(users, "show", run_show, "a user's roles, groups, tokens and recent activity",
                    "\n  egide user show carol\n")  # fmt: skip
    p.add_argument("username", metavar="NAME")
    p = add_command(users, "deactivate", run_deactivate,
                    "deactivate a user: no more logins, every token revoked at once",
                    "\n  egide user deactivate carol\n")  # fmt: skip
    p.add_argument("username", metavar="NAME")
    roles = add_group(commands, "role", "put users in roles or groups, or take them out", """
  egide role add carol kms-approver
  egide role remove carol kms-approver
""")  # fmt: skip
    commands_ = (("add", run_role_add, "put a user in a role or group"),
                 ("remove", run_role_remove, "take a user out of a role"))  # fmt: skip
    for name, handler, summary in commands_:
        example = f"\n  egide role {name} carol kms-approver\n"
        p = add_command(roles, name, handler, summary, example)
        p.add_argument("username", metavar="NAME")
        p.add_argument("role", metavar="ROLE", help=f"{', '.join(ROLES)}, or a group")


def _row(user: dict[str, Any]) -> dict[str, Any]:
    return {**user, "roles": ",".join(user["roles"]) or "-",
            "groups": ",".join(user["groups"]) or "-",
            "active": "yes" if user["active"] else "no"}  # fmt: skip


def run_add(args: argparse.Namespace, ctx: Context) -> int:
    result = ctx.client.create_user(args.username, roles=args.role, email=args.email)
    if args.format == "json":
        ctx.say(pretty_json(result))
        return 0
    user = result["user"]
    ctx.say(f"user {user['username']} added; roles: {', '.join(user['roles']) or 'none'}")
    ctx.say(f"one-time password: {result['one_time_password']}")
    ctx.note("give it to them over a safe channel: it is not shown again; "
             "they change it on their Password page")  # fmt: skip
    return 0


def run_list(args: argparse.Namespace, ctx: Context) -> int:
    found = ctx.client.list_users()
    ctx.say(pretty_json(found) if args.format == "json" else table(map(_row, found), USER_COLUMNS))
    return 0


def run_show(args: argparse.Namespace, ctx: Context) -> int:
    ctx.say(pretty_json(ctx.client.user(args.username)))
    return 0


def run_deactivate(args: argparse.Namespace, ctx: Context) -> int:
    result = ctx.client.deactivate_user(args.username)
    ctx.say(f"user {args.username} deactivated; {result['tokens_revoked']} token(s) revoked")
    return 0


def run_role_add(args: argparse.Namespace, ctx: Context) -> int:
    user = ctx.client.add_role(args.username, args.role)
    ctx.say(f"{user['username']}: roles {', '.join(user['roles']) or 'none'}; "
            f"groups {', '.join(user['groups']) or 'none'}")  # fmt: skip
    return 0


def run_role_remove(args: argparse.Namespace, ctx: Context) -> int:
    user = ctx.client.remove_role(args.username, args.role)
    ctx.say(f"{user['username']}: roles {', '.join(user['roles']) or 'none'}; "
            f"groups {', '.join(user['groups']) or 'none'}")  # fmt: skip
    return 0
