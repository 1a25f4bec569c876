"""`egide kms import`, `wrapping-key`, `backup` and `restore --backup` (issue 15).

The key file is read and wrapped here, on this machine, with the server's wrapping public
key (CKM_RSA_AES_KEY_WRAP, kms.crypto.keywrap): the material never travels in the clear.
"""

from __future__ import annotations

import argparse
import base64
import binascii

from kms.cli.app import CliError, Context, UsageError
from kms.cli.files import open_input, write_output
from kms.cli.parsing import add_command
from kms.crypto import KEY_TYPES

MAX_FILE = 64 * 1024


def register(commands: argparse._SubParsersAction) -> None:
    _register_wrapping_key(commands)
    _register_import(commands)
    _register_backup(commands)


def _read(path: str) -> bytes:
    with open_input(path) as src:
        data = src.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise CliError("invalid_request", f"{path} is larger than a key file ({MAX_FILE} bytes)")
    return data


def key_material(data: bytes, key_type: str | None) -> bytes:
    """What the API wants from a key file: 32 raw bytes for a raw type (the file's bytes, or
    their base64 or hex text), PKCS#8 DER for the others (from PEM of any private-key form,
    or DER as is). The server checks it in full once unwrapped."""
    kt = KEY_TYPES.get(key_type or "")
    if data.lstrip().startswith(b"-----BEGIN"):
        from cryptography.hazmat.primitives import serialization

        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise CliError("invalid_request", f"not an unencrypted PEM private key: {exc}") from None
        return private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())  # fmt: skip
    length = getattr(kt, "material_length", None)
    if length and len(data) != length:
        text = data.strip()
        for decode in (base64.b64decode, bytes.fromhex):
            try:
                decoded = decode(text.decode("ascii"))
            except (ValueError, binascii.Error, UnicodeDecodeError):
                continue
            if len(decoded) == length:
                return decoded
    return data


def _register_wrapping_key(commands: argparse._SubParsersAction) -> None:
    p = add_command(commands, "wrapping-key", run_wrapping_key, "print the server's import wrapping public key (PEM)",
                    """
  egide kms wrapping-key --output egide-wrapping.pem
  egide kms wrapping-key --rotate          # key administrators: a new wrapping key version
""")  # fmt: skip
    p.add_argument("--output", default="-", metavar="FILE", help="default: stdout")
    p.add_argument("--rotate", action="store_true", help="make a new wrapping key version first")


def run_wrapping_key(args: argparse.Namespace, ctx: Context) -> int:
    if args.rotate:
        version = ctx.client.rotate_wrapping_key()
        ctx.say(f"wrapping key rotated: version {version}; material wrapped for the old key is refused now")
    write_output(ctx, args.output, ctx.client.wrapping_key().encode("ascii"))
    return 0


def _register_import(commands: argparse._SubParsersAction) -> None:
    p = add_command(commands, "import", run_import, "import a key made elsewhere (wrapped here before it is sent)",
                    """
  egide kms import payments --type aes256 --key-file payments.key          # 32 bytes, or base64/hex of them
  openssl genpkey -algorithm ed25519 -out signer.pem
  egide kms import signer --type ed25519 --key-file signer.pem --backup-allowed
  egide kms import partner --type ecdsa-p256 --public-key partner.pub.pem   # verify-only
  egide kms import signer --new-version --key-file signer-2.pem             # rotate an imported key

The key file is wrapped on this machine with the server's wrapping key (RSA-OAEP-SHA256
and AES-KWP): the material never travels in the clear. An imported key rotates by
importing a new version (--new-version) unless --allow-generated-rotation is set.
""")  # fmt: skip
    p.add_argument("name", metavar="NAME", help="the key to create (or, with --new-version, to add a version to)")
    p.add_argument("--type", metavar="TYPE", help="the key type (not with --new-version)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--key-file", metavar="FILE", help="the private key (PEM/DER) or raw key bytes; - for stdin")
    source.add_argument("--public-key", metavar="FILE", help="a PEM public key alone: a verify-only key")
    p.add_argument("--new-version", action="store_true", help="add a version to an imported key")
    p.add_argument("--description")
    p.add_argument("--exportable", action="store_true", default=None)
    p.add_argument("--no-deletion", dest="allow_deletion", action="store_false", default=None)
    p.add_argument("--backup-allowed", action="store_true", default=None, help="allow backups (one-way)")
    p.add_argument("--allow-generated-rotation", action="store_true", default=None,
                   help="let Egide rotate it with generated material too")  # fmt: skip
    p.add_argument("--rotation-period", metavar="PERIOD")
    p.add_argument("--approvals", type=int, metavar="N", dest="approvals_required")


def run_import(args: argparse.Namespace, ctx: Context) -> int:
    public = _read(args.public_key).decode("ascii", "replace") if args.public_key else None
    if args.new_version:
        if args.type:
            raise UsageError("--new-version keeps the key's type: leave out --type")
        material = None if public else key_material(_read(args.key_file), _type_of(ctx, args.name))
        version = ctx.client.import_version(args.name, material=material, public_key=public)
        ctx.say(f"imported version {version} of {args.name}: it is now current")
        return 0
    if not args.type:
        raise UsageError("--type is required to import a new key")
    material = None if public else key_material(_read(args.key_file), args.type)
    options = {name: getattr(args, name) for name in (
        "description", "exportable", "allow_deletion", "backup_allowed", "allow_generated_rotation",
        "rotation_period", "approvals_required") if getattr(args, name) is not None}  # fmt: skip
    info = ctx.client.import_key(args.name, args.type, material=material, public_key=public, **options)
    kind = "verify-only" if info.get("verify_only") else "imported"
    ctx.say(f"imported {info['name']} ({info['type']}, {kind}, version {info['current_version']})")
    return 0


def _type_of(ctx: Context, name: str) -> str:
    return ctx.client.key_info(name)["type"]


def _register_backup(commands: argparse._SubParsersAction) -> None:
    p = add_command(commands, "backup", run_backup, "back up a key (all versions, its settings; not its grants)",
                    """
  egide kms backup payments --output payments.backup                 # restore here later
  egide kms backup payments --to other-egide.pem --output moving.backup   # needs an approval first
  egide kms restore payments-copy --backup payments.backup

A backup sealed to this Egide (no --to) opens only here; with --to (another Egide's
`egide kms wrapping-key`) it opens only there, and needs someone else's approval first.
""")  # fmt: skip
    p.add_argument("name", metavar="NAME", help="the key")
    p.add_argument("--to", metavar="PEMFILE", help="another Egide's wrapping public key")
    p.add_argument("--output", default="-", metavar="FILE", help="default: stdout (a file is created 0600)")


def run_backup(args: argparse.Namespace, ctx: Context) -> int:
    to = _read(args.to).decode("ascii", "replace") if args.to else None
    write_output(ctx, args.output, ctx.client.backup(args.name, to=to).encode("ascii"))
    return 0


def run_restore_backup(args: argparse.Namespace, ctx: Context) -> int:
    """`egide kms restore NAME --backup FILE`: a new key NAME from a backup."""
    text = _read_bundle(args.backup)
    info = ctx.client.restore_backup(args.name, text)
    ctx.say(f"restored {info['name']} from a backup ({info['type']}, version {info['current_version']})")
    return 0


def _read_bundle(path: str) -> str:
    with open_input(path) as src:
        data = src.read(8 * 1024 * 1024)
    return data.decode("ascii", "replace").strip()
