"""`egide kms` key administration: create, list, info, update, rotate, lifecycle, versions."""

from __future__ import annotations

import argparse
from typing import Any

from kms.cli.app import Context, UsageError
from kms.cli.files import write_output
from kms.cli.output import KEY_COLUMNS, key_info_spec, key_info_table, pretty_json, table
from kms.cli.parsing import add_command, add_format, b64text
from kms.crypto import KEY_TYPES

KEY_TYPES_HELP = ", ".join(KEY_TYPES)  # the registry's served types (kms.crypto.keytypes)
TYPES_TABLE = "\n".join(f"  {name:<12} {kt.summary}" for name, kt in KEY_TYPES.items())


def register(commands: argparse._SubParsersAction) -> None:
    _register_create(commands)
    _register_list(commands)
    _register_info(commands)
    _register_update(commands)
    _register_lifecycle(commands)
    _register_version(commands)
    _register_public_key(commands)
    _register_export(commands)


# --- create ------------------------------------------------------------------------------


def _register_create(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "create",
        run_create,
        "create a key",
        """
  egide kms create my-encryption-key --type aes256
  egide kms create my-signing-key --type rsa4096 --rotation-period 365d
  egide kms create pq --type ml-dsa-65                  # post-quantum signatures
  egide kms create my-mac-key --type hmac
  egide kms create backups --type aes256 --exportable --no-deletion --description "nightly"

types:
"""
        + TYPES_TABLE
        + "\n",
    )
    p.add_argument("name", metavar="NAME", help="1-128 letters, digits, '.', '_' or '-'")
    p.add_argument("--type", required=True, metavar="TYPE", help=KEY_TYPES_HELP)
    p.add_argument("--description", help="free text shown with the key")
    p.add_argument(
        "--exportable",
        action="store_true",
        default=None,
        help="allow the material to be exported later (default: never)",
    )
    p.add_argument(
        "--backup-allowed",
        action="store_true",
        default=None,
        help="allow backups of this key (egide kms backup; default: never)",
    )
    p.add_argument(
        "--no-deletion",
        dest="allow_deletion",
        action="store_false",
        default=None,
        help="refuse deletion of this key (deletion_disabled)",
    )
    _add_rotation_options(p)
    p.add_argument(
        "--approvals",
        type=int,
        metavar="N",
        dest="approvals_required",
        help="approvals needed for sensitive actions on this key (default 0)",
    )


def _add_rotation_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rotation-period",
        metavar="PERIOD",
        help="rotate automatically every PERIOD, e.g. 90d, 12h, 1w",
    )
    p.add_argument(
        "--max-signatures",
        type=int,
        metavar="N",
        dest="max_signatures_per_version",
        help="signing keys: rotate after N signatures by one version",
    )


def run_create(args: argparse.Namespace, ctx: Context) -> int:
    info = ctx.client.create_key(
        args.name,
        args.type,
        exportable=args.exportable,
        backup_allowed=args.backup_allowed,
        allow_deletion=args.allow_deletion,
        description=args.description,
        rotation_period=args.rotation_period,
        max_signatures_per_version=args.max_signatures_per_version,
        approvals_required=args.approvals_required,
    )
    ctx.say(f"created {info['name']} ({info['type']}, version {info['current_version']})")
    return 0


# --- list and info -------------------------------------------------------------------------


def _register_list(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "list",
        run_list,
        "list the keys you may see",
        """
  egide kms list
  egide kms list --type aes256 --status active
  egide kms list --prefix payments- --format json
""",
    )
    p.add_argument("--type", metavar="TYPE", help=f"only keys of this type ({KEY_TYPES_HELP})")
    p.add_argument("--status", help="only keys in this state: active, disabled, deleted")
    p.add_argument("--prefix", metavar="TEXT", help="only names starting with TEXT")
    add_format(p)


def run_list(args: argparse.Namespace, ctx: Context) -> int:
    keys = ctx.client.list_keys(type=args.type, status=args.status, name_prefix=args.prefix)
    if args.format == "json":
        ctx.say(pretty_json(list(keys)))
    else:
        ctx.say(table(keys, KEY_COLUMNS))
    return 0


def _register_info(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "info",
        run_info,
        "show a key and its versions",
        """
  egide kms info my-encryption-key                   # JSON: the spec's fields and the key's state
  egide kms info my-encryption-key --format table    # for people (times in UTC)
  egide kms info my-encryption-key --all             # JSON: every setting and use count

The JSON has the spec's fields (name, type, current_version, versions, created_at,
updated_at), then "status" (active, disabled or deleted) and "purge_after" (when a
deleted key is purged for good; null otherwise).
""",
    )
    p.add_argument("name", metavar="NAME", help="the key")
    add_format(p, default="json")
    p.add_argument("--all", action="store_true", help="JSON with every field of the API (settings, use counts)")


def run_info(args: argparse.Namespace, ctx: Context) -> int:
    info = ctx.client.key_info(args.name)
    if args.all:
        if args.format == "table":
            raise UsageError("--all is JSON: leave out --format table")
        ctx.say(pretty_json(info))
    else:
        ctx.say(key_info_table(info) if args.format == "table" else key_info_spec(info))
    return 0


# --- update --------------------------------------------------------------------------------


def _register_update(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "update",
        run_update,
        "change a key's settings",
        """
  egide kms update my-encryption-key --description "payments, prod"
  egide kms update my-encryption-key --min-decryption-version 2
  egide kms update my-signing-key --rotation-period 365d
  egide kms update my-encryption-key --no-rotation
  egide kms update my-encryption-key --backup-allowed     # needs a second person's approval
""",
    )
    p.add_argument("name", metavar="NAME", help="the key")
    p.add_argument("--description")
    p.add_argument("--min-encryption-version", type=int, metavar="N")
    p.add_argument("--min-decryption-version", type=int, metavar="N")
    _add_switch(p, "exportable", "allow export of the material")
    _add_switch(p, "allow-deletion", "allow deletion of the key")
    _add_switch(p, "backup-allowed", "allow backups of the key (one-way: once on, it stays on)")
    _add_switch(p, "allow-generated-rotation", "imported keys: allow rotation with generated material")
    p.add_argument("--approvals", type=int, metavar="N", dest="approvals_required")
    _add_rotation_options(p)
    p.add_argument("--no-rotation", action="store_true", help="stop automatic rotation (no period)")


def _add_switch(p: argparse.ArgumentParser, name: str, help_text: str) -> None:
    dest = name.replace("-", "_")
    group = p.add_mutually_exclusive_group()
    group.add_argument(f"--{name}", dest=dest, action="store_true", default=None, help=help_text)
    group.add_argument(f"--no-{name}", dest=dest, action="store_false", help="the opposite")


UPDATE_FIELDS = (
    "description",
    "min_encryption_version",
    "min_decryption_version",
    "exportable",
    "allow_deletion",
    "backup_allowed",
    "allow_generated_rotation",
    "approvals_required",
    "rotation_period",
    "max_signatures_per_version",
)


def run_update(args: argparse.Namespace, ctx: Context) -> int:
    changes: dict[str, Any] = {
        field: getattr(args, field) for field in UPDATE_FIELDS if getattr(args, field) is not None
    }
    if args.no_rotation:
        if args.rotation_period is not None:
            raise UsageError("--no-rotation and --rotation-period contradict each other")
        changes["rotation_period"] = None
    if not changes:
        raise UsageError("nothing to change: give at least one option (see --help)")
    info = ctx.client.update_key(args.name, **changes)
    ctx.say(f"updated {info['name']}: {', '.join(sorted(changes))}")
    return 0


# --- lifecycle -----------------------------------------------------------------------------

LIFECYCLE = {
    "rotate": ("add a new version and make it current", "egide kms rotate my-encryption-key"),
    "disable": ("disable a key: it refuses every operation", "egide kms disable old-key"),
    "enable": ("enable a disabled key", "egide kms enable old-key"),
    "delete": (
        "delete a key (soft: restore it during the recovery window, 30 days by default)",
        "egide kms delete old-key",
    ),
    "restore": ("bring back a deleted key before it is purged", "egide kms restore old-key"),
}


def _register_lifecycle(commands: argparse._SubParsersAction) -> None:
    for action, (summary, example) in LIFECYCLE.items():
        p = add_command(commands, action, run_lifecycle, summary, f"\n  {example}\n")
        p.add_argument("name", metavar="NAME", help="the key")
        p.set_defaults(action=action)
        if action == "restore":  # issue 15: also a new key from a backup (egide kms backup)
            p.add_argument("--backup", metavar="FILE", help="restore a backup as a new key NAME instead")


def run_lifecycle(args: argparse.Namespace, ctx: Context) -> int:
    client, name = ctx.client, args.name
    if getattr(args, "backup", None):
        from kms.cli.byok import run_restore_backup

        return run_restore_backup(args, ctx)
    if args.action == "rotate":
        result = client.rotate(name)
        ctx.say(f"rotated {name}: version {result['new_version']} is now current")
    elif args.action == "delete":
        client.delete(name)
        ctx.say(f"deleted {name} (undo with `egide kms restore {name}` before it is purged)")
    else:
        getattr(client, args.action)(name)
        ctx.say(f"{args.action}d {name}")
    return 0


# --- versions ------------------------------------------------------------------------------


def _register_version(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "version",
        run_version,
        "disable, enable, destroy (or restore) one version of a key",
        """
  egide kms version disable my-encryption-key 1   # compromised: refuse it at once
  egide kms version enable my-encryption-key 1
  egide kms version destroy my-encryption-key 1   # wiped for good after the recovery window
  egide kms version restore my-encryption-key 1   # cancel that destruction within the window
""",
    )
    p.add_argument("action", choices=["disable", "enable", "destroy", "restore"])
    p.add_argument("name", metavar="NAME", help="the key")
    p.add_argument("version", type=int, metavar="VERSION")


def run_version(args: argparse.Namespace, ctx: Context) -> int:
    result = getattr(ctx.client, f"{args.action}_version")(args.name, args.version)
    ctx.say(f"{args.name} version {result['version']}: {result['status']}")
    return 0


# --- public key and export -------------------------------------------------------------------


def _register_public_key(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "public-key",
        run_public_key,
        "print the public key (PEM) of an RSA/EC key",
        """
  egide kms public-key my-signing-key
  egide kms public-key my-signing-key --version 1 --output signing-v1.pem
""",
    )
    p.add_argument("name", metavar="NAME", help="the key")
    p.add_argument("--version", type=int, metavar="N", help="default: the current version")
    p.add_argument("--output", default="-", metavar="FILE", help="default: stdout")


def run_public_key(args: argparse.Namespace, ctx: Context) -> int:
    pem = ctx.client.public_key(args.name, args.version)["public_key"]
    write_output(ctx, args.output, pem.encode("ascii"))
    return 0


def _register_export(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "export",
        run_export,
        "export a key's material (exportable keys only)",
        """
  egide kms export backups --output backups-key.json

The output holds the SECRET key material (base64) of every version: keep it safe.
""",
    )
    p.add_argument("name", metavar="NAME", help="the key")
    p.add_argument("--output", default="-", metavar="FILE", help="default: stdout (0600 file)")


def run_export(args: argparse.Namespace, ctx: Context) -> int:
    data = ctx.client.export(args.name)
    for item in data.get("versions", []):
        item["material"] = b64text(item["material"])
    write_output(ctx, args.output, (pretty_json(data) + "\n").encode("utf-8"))
    return 0
