"""`egide kms` for the newer key types: hmac, decapsulate (ML-KEM), derive (X25519/ECDH),
random bytes, and the JWKS of a signing key. (Verifying an HMAC: `egide kms verify --hmac`.)"""

from __future__ import annotations

import argparse
import base64
import binascii

from kms.cli.app import CliError, Context, UsageError
from kms.cli.files import open_input, write_output
from kms.cli.output import pretty_json
from kms.cli.parsing import add_command, b64text, text_bytes

MAX_ITEM_BYTES = 1024 * 1024  # one JSON item, decoded (docs/api.md)
MAX_PEM_BYTES = 4096


def register(commands: argparse._SubParsersAction) -> None:
    _register_hmac(commands)
    _register_decapsulate(commands)
    _register_derive(commands)
    _register_random(commands)
    _register_jwks(commands)


def read_limited(path: str, limit: int, what: str) -> bytes:
    """The whole of a small input (``-``: stdin); CliError beyond ``limit`` bytes."""
    with open_input(path) as src:
        data = src.read(limit + 1)
    if len(data) > limit:
        raise CliError("payload_too_large", f"{what} is larger than {limit} bytes")
    return data


def _one_of(value: str | None, path: str | None, what: str) -> None:
    if (value is None) == (path is None):
        raise UsageError(f"give either {what} or --input FILE (one of them)")


def _secret_out(ctx: Context, args: argparse.Namespace, secret: bytes) -> None:
    if args.output != "-":
        write_output(ctx, args.output, secret)  # raw bytes, in a 0600 file
        return
    ctx.say(secret.hex() if args.encoding == "hex" else b64text(secret))


def _add_secret_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--encoding", choices=["base64", "hex"], default="base64", help="how stdout shows the secret")
    p.add_argument("--output", metavar="FILE", default="-", help="write the raw secret to FILE (mode 0600)")


# --- hmac --------------------------------------------------------------------------------------


def _register_hmac(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "hmac",
        run_hmac,
        "HMAC a string or a small file with an hmac key",
        """
  egide kms create my-mac-key --type hmac
  egide kms hmac my-mac-key "data"                      # prints egide:v<N>:...
  egide kms hmac my-mac-key --input file.bin --algorithm sha512
  egide kms verify --hmac my-mac-key "data" "egide:v1:..."

The key never leaves the server; a file is sent whole (at most 1 MiB).
""",
    )
    p.add_argument("name", metavar="NAME", help="the key (type hmac)")
    p.add_argument("data", nargs="?", metavar="DATA", help="the text")
    p.add_argument("--input", metavar="FILE", help="HMAC the contents of FILE ('-': stdin)")
    p.add_argument("--algorithm", choices=["sha256", "sha384", "sha512"], help="hash (default sha256)")
    p.add_argument("--key-version", type=int, metavar="N", help="HMAC with version N")


def run_hmac(args: argparse.Namespace, ctx: Context) -> int:
    _one_of(args.data, args.input, "DATA")
    data = text_bytes(args.data) if args.input is None else read_limited(args.input, MAX_ITEM_BYTES, "the input")
    ctx.say(ctx.client.hmac(args.name, data, algorithm=args.algorithm, key_version=args.key_version).hmac)
    return 0


# --- decapsulate -----------------------------------------------------------------------------------


def _register_decapsulate(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "decapsulate",
        run_decapsulate,
        "recover the shared secret of an ML-KEM ciphertext",
        """
  egide kms create my-kem-key --type ml-kem-768
  egide kms public-key my-kem-key --output kem.pem       # senders encapsulate to it
  egide kms decapsulate my-kem-key "BASE64 CIPHERTEXT"   # prints the secret, base64
  egide kms decapsulate my-kem-key --input ct.bin --output secret.bin
  egide kms decapsulate my-kem-key --input ct.bin --key-version 1 --encoding hex
""",
    )
    p.add_argument("name", metavar="NAME", help="the key (ml-kem-768 or ml-kem-1024)")
    p.add_argument("ciphertext", nargs="?", metavar="CIPHERTEXT", help="the ciphertext, base64")
    p.add_argument("--input", metavar="FILE", help="the raw ciphertext bytes in FILE ('-': stdin)")
    p.add_argument("--key-version", type=int, metavar="N", help="the version it was encapsulated to")
    _add_secret_output(p)


def run_decapsulate(args: argparse.Namespace, ctx: Context) -> int:
    _one_of(args.ciphertext, args.input, "CIPHERTEXT")
    if args.input is None:
        try:
            ciphertext = base64.b64decode(args.ciphertext, validate=True)
        except (binascii.Error, ValueError):
            raise UsageError("CIPHERTEXT must be standard base64 (or give --input FILE with the raw bytes)") from None
    else:
        ciphertext = read_limited(args.input, MAX_ITEM_BYTES, "the ciphertext")
    result = ctx.client.decapsulate(args.name, ciphertext, key_version=args.key_version)
    _secret_out(ctx, args, result.shared_secret)
    return 0


# --- derive -----------------------------------------------------------------------------------------


def _register_derive(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "derive",
        run_derive,
        "agree a raw shared secret with a peer's public key (X25519, ECDH)",
        """
  egide kms create my-agreement-key --type x25519
  egide kms public-key my-agreement-key --output mine.pem   # give it to the peer
  egide kms derive my-agreement-key --peer peer.pem          # prints the secret, base64
  egide kms derive my-agreement-key --peer peer.pem --output secret.bin

The raw secret (as AWS KMS DeriveSharedSecret): run your own KDF (e.g. HKDF) over it.
""",
    )
    p.add_argument("name", metavar="NAME", help="the key (x25519, ecdh-p256 or ecdh-p384)")
    p.add_argument("--peer", required=True, metavar="FILE", help="the peer's public key, PEM ('-': stdin)")
    p.add_argument("--key-version", type=int, metavar="N", help="derive with version N")
    _add_secret_output(p)


def run_derive(args: argparse.Namespace, ctx: Context) -> int:
    raw = read_limited(args.peer, MAX_PEM_BYTES, "the peer's public key")
    try:
        pem = raw.decode("ascii")
    except UnicodeDecodeError:
        raise UsageError("--peer must be a PEM file (-----BEGIN PUBLIC KEY-----)") from None
    result = ctx.client.derive_shared_secret(args.name, pem, key_version=args.key_version)
    _secret_out(ctx, args, result.shared_secret)
    return 0


# --- random and jwks -------------------------------------------------------------------------------


def _register_random(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "random",
        run_random,
        "random bytes from the server's CSPRNG",
        """
  egide kms random 32                 # base64
  egide kms random 16 --encoding hex
""",
    )
    p.add_argument("count", type=int, metavar="BYTES", help="how many (1 to 1024)")
    p.add_argument("--encoding", choices=["base64", "hex"], default="base64")


def run_random(args: argparse.Namespace, ctx: Context) -> int:
    raw = ctx.client.random(args.count, format=args.encoding)
    ctx.say(raw.hex() if args.encoding == "hex" else b64text(raw))
    return 0


def _register_jwks(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "jwks",
        run_jwks,
        "print a signing key's public keys as a JWK set",
        """
  egide kms jwks my-signing-key                  # {"keys": [...]}, kid = <key uid>:<version>
  egide kms jwks my-signing-key > jwks.json
""",
    )
    p.add_argument("name", metavar="NAME", help="the key (ed25519, ecdsa-p256/p384, rsa2048/4096)")


def run_jwks(args: argparse.Namespace, ctx: Context) -> int:
    ctx.say(pretty_json(ctx.client.jwks(args.name)))
    return 0
