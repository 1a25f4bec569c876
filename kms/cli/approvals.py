"""`egide kms approvals ...` and `egide kms grants ...` (approvals of sensitive actions, grants)."""

from __future__ import annotations

import argparse

from kms.cli.app import Context, UsageError
from kms.cli.output import Column, pretty_json, table
from kms.cli.parsing import add_command, add_format, add_group

APPROVAL_COLUMNS = (
    Column("ID", "id", 4),
    Column("KEY", "key", 20),
    Column("ACTION", "action", 10),
    Column("STATUS", "status", 10),
    Column("REQUESTER", "requester", 11),
    Column("REQUIRED", "required", 10),
    Column("APPROVALS", "approvals", 11),
    Column("EXPIRES", "expires_at"),
)
GRANT_COLUMNS = (
    Column("WHO", "who", 20, 3),
    Column("SCOPE", "scope", 8),
    Column("PERMISSIONS", "permissions"),
)
PERMISSIONS = (
    "view",
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "hmac",
    "decapsulate",
    "derive",
    "rotate",
    "manage",
    "delete",
    "export",
    "grant",
    "approve",
)


def register(commands: argparse._SubParsersAction) -> None:
    _register_approvals(commands)
    _register_grants(commands)


# --- approvals -------------------------------------------------------------------------------


def _register_approvals(commands: argparse._SubParsersAction) -> None:
    group = add_group(
        commands,
        "approvals",
        "review the approval requests of sensitive actions",
        """
  egide kms approvals list --status pending
  egide kms approvals show 7
  egide kms approvals approve 7
  egide kms approvals reject 7
  egide kms approvals cancel 7        # withdraw your own request
""",
    )
    p = add_command(
        group,
        "list",
        run_approvals_list,
        "list approval requests",
        "\n  egide kms approvals list --status pending --key backups\n  egide kms approvals list --awaiting-me\n",
    )
    p.add_argument("--status", help="pending, approved, rejected, cancelled, expired")
    p.add_argument("--key", metavar="NAME", help="only requests about this key")
    p.add_argument("--mine", action="store_true", help="only the requests you made")
    p.add_argument("--awaiting-me", action="store_true", help="only pending requests you may decide")
    add_format(p)
    for action, summary in (
        ("show", "show one approval request"),
        ("approve", "approve a request (the action runs when enough approvals are in)"),
        ("reject", "reject a request"),
        ("cancel", "cancel your own pending request"),
    ):
        p = add_command(group, action, run_approval, summary, f"\n  egide kms approvals {action} 7\n")
        p.add_argument("id", type=int, metavar="ID")
        p.set_defaults(action=action)


def run_approvals_list(args: argparse.Namespace, ctx: Context) -> int:
    filters = {
        "status": args.status,
        "key": args.key,
        "mine": "true" if args.mine else None,
        "awaiting_me": "true" if args.awaiting_me else None,
    }
    requests = list(ctx.client.list_approvals(**filters))
    ctx.say(pretty_json(requests) if args.format == "json" else table(requests, APPROVAL_COLUMNS))
    return 0


def run_approval(args: argparse.Namespace, ctx: Context) -> int:
    client = ctx.client
    if args.action == "show":
        ctx.say(pretty_json(client.approval(args.id)))
        return 0
    ctx.say(decision_sentence(args.action, getattr(client, args.action)(args.id)))
    return 0


DONE = {"approve": "approved", "reject": "rejected", "cancel": "cancelled"}


def decision_sentence(action: str, req: dict) -> str:
    """What a decision did, in one sentence: ``approved request 7 (delete on key k): ...``."""
    what = f"request {req.get('id')} ({req.get('action')} on key {req.get('key')})"
    status, count, required = req.get("status"), len(req.get("approvals") or []), req.get("required")
    if status in ("approved", "executed"):
        outcome = (req.get("result") or {}).get("message")
        tail = f": {outcome}" if outcome else ""
        return f"{DONE[action]} {what}: {count} of {required} approvals, so it has run{tail}"
    if status == "pending":
        left = max((required or 0) - count, 0)
        return f"{DONE[action]} {what}: {count} of {required} approvals; it waits for {left} more"
    return f"{DONE[action]} {what}: it is now {status}"


# --- grants -----------------------------------------------------------------------------------


def _register_grants(commands: argparse._SubParsersAction) -> None:
    group = add_group(
        commands,
        "grants",
        "show or change who may do what with a key",
        """
  egide kms grants list payments
  egide kms grants add payments --user bob --permissions encrypt,decrypt
  egide kms grants remove payments --group team-a --permissions sign
""",
    )
    p = add_command(
        group,
        "list",
        run_grants_list,
        "list a key's grants",
        "\n  egide kms grants list payments\n",
    )
    p.add_argument("name", metavar="NAME")
    add_format(p)
    for action, summary in (("add", "grant permissions"), ("remove", "withdraw permissions")):
        p = add_command(
            group,
            action,
            run_grant_change,
            f"{summary} on a key to a user or a group",
            f"\n  egide kms grants {action} payments --user bob --permissions encrypt,decrypt\n",
        )
        p.add_argument("name", metavar="NAME")
        who = p.add_mutually_exclusive_group(required=True)
        who.add_argument("--user", metavar="USERNAME")
        who.add_argument("--group", metavar="GROUP")
        p.add_argument(
            "--permissions",
            required=True,
            type=permission_list,
            metavar="P,P...",
            help=f"comma-separated: {', '.join(PERMISSIONS)}",
        )
        p.set_defaults(action=action)


def permission_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PERMISSIONS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"unknown permission {unknown[0]!r}" if unknown else "no permission given")
    return names


def run_grants_list(args: argparse.Namespace, ctx: Context) -> int:
    grants = ctx.client.list_grants(args.name)
    if args.format == "json":
        ctx.say(pretty_json(grants))
    else:
        ctx.say(table([_grant_row(grant) for grant in grants], GRANT_COLUMNS))
    return 0


def _grant_row(grant: dict) -> dict:
    who = f"user:{grant['user']}" if grant.get("user") else f"group:{grant.get('group')}"
    return {**grant, "who": who}


def run_grant_change(args: argparse.Namespace, ctx: Context) -> int:
    client = ctx.client
    change = client.add_grant if args.action == "add" else client.remove_grant
    if args.user is None and args.group is None:
        raise UsageError("give --user or --group")
    change(args.name, permissions=args.permissions, user=args.user, group=args.group)
    who = f"user {args.user}" if args.user else f"group {args.group}"
    if args.action == "add":
        ctx.say(f"granted {','.join(args.permissions)} on {args.name} to {who}")
    else:
        ctx.say(f"withdrew {','.join(args.permissions)} on {args.name} from {who}")
    return 0
