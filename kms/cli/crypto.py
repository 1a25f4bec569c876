"""`egide kms` data plane: encrypt, decrypt, sign, verify (strings and files; --hmac), datakey, rewrap."""

from __future__ import annotations

import argparse

from kms.cli import files
from kms.cli.app import EXIT_ERROR, EXIT_UNCHECKED, Context, UsageError
from kms.cli.files import SignOptions, write_output
from kms.cli.output import pretty_json
from kms.cli.parsing import add_command, b64text, text_bytes
from kms.cli.shared import MAX_ITEM_BYTES, read_limited

FILE_NOTE = """
Files are encrypted locally: the server gives a fresh data key (wrapped under NAME),
the file is encrypted in 1 MiB authenticated segments, and the wrapped key is kept in
the file's header; the file itself never travels. Works with aes256 and RSA keys.

What a file that decrypts proves: that it was made for this key and not changed since
(every segment is authenticated). Not who made it: with an RSA key, anyone holding the
public key (`egide kms public-key`) can make a file that decrypts; with aes256, anyone
allowed to ask for a data key of the key. Sign files whose origin matters
(`egide kms sign NAME --input FILE`) and verify before trusting them.
"""


def register(commands: argparse._SubParsersAction) -> None:
    _register_encrypt(commands)
    _register_decrypt(commands)
    _register_sign(commands)
    _register_verify(commands)
    _register_datakey(commands)
    _register_rewrap(commands)


def _add_io(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--input", metavar="FILE", help=f"{what} FILE ('-': stdin)")
    p.add_argument("--output", metavar="FILE", default="-", help="write to FILE ('-': stdout)")


def _add_context(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--context",
        metavar="TEXT",
        type=text_bytes,
        help="aes256 only: bind the ciphertext to TEXT; decrypting needs the same TEXT",
    )


def _one_source(args: argparse.Namespace, value: str | None, what: str) -> None:
    if (value is None) == (args.input is None):
        raise UsageError(f"give either {what} or --input FILE (one of them)")


# --- encrypt and decrypt -----------------------------------------------------------------


def _register_encrypt(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "encrypt",
        run_encrypt,
        "encrypt a string or a file",
        f"""
  egide kms encrypt my-encryption-key "sensitive data"          # prints egide:v<N>:...
  egide kms encrypt my-encryption-key --input file.txt --output file.enc
  tar c dir | egide kms encrypt my-encryption-key --input - --output dir.tar.enc
{FILE_NOTE}""",
    )
    p.add_argument("name", metavar="NAME", help="the key")
    p.add_argument("plaintext", nargs="?", metavar="PLAINTEXT", help="the text to encrypt")
    _add_io(p, "encrypt")
    _add_context(p)
    p.add_argument("--key-version", type=int, metavar="N", help="strings: encrypt under version N")


def run_encrypt(args: argparse.Namespace, ctx: Context) -> int:
    _one_source(args, args.plaintext, "PLAINTEXT")
    if args.input is None:
        result = ctx.client.encrypt(
            args.name,
            text_bytes(args.plaintext),
            context=args.context,
            key_version=args.key_version,
        )
        write_output(ctx, args.output, (result.ciphertext + "\n").encode("ascii"))
        return 0
    if args.key_version is not None:
        raise UsageError("--key-version applies to strings; files use the current version")
    if args.output == "-" and ctx.stdout_is_terminal():
        raise UsageError("refusing to write an encrypted file to a terminal: use --output FILE")
    files.encrypt_file(ctx, args.name, args.input, args.output, args.context)
    return 0


def _register_decrypt(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "decrypt",
        run_decrypt,
        "decrypt a ciphertext or an encrypted file",
        f"""
  egide kms decrypt my-encryption-key "egide:v2:AAAAAAA..."
  egide kms decrypt my-encryption-key --input file.enc --output file.txt
  egide kms decrypt my-encryption-key --input dir.tar.enc --output - | tar x

Into a file (--output FILE), a failed decryption leaves nothing behind: the file
appears only once every segment has been verified. Onto stdout (--output -),
segments are written as they are verified, so a tampered or truncated file may
have emitted a verified prefix before the error (exit status 1): discard it.
A ciphertext is printed as the exact bytes (plus a newline on a terminal only).
--input also takes a file holding an egide:v<N>:... ciphertext.

Stopped by SIGTERM or SIGHUP (timeout, systemd, docker stop), decrypt --output FILE
exits with 143 or 129 and leaves no plaintext behind: on Linux it is written to an
unnamed file that gets its name only when complete.
{FILE_NOTE}""",
    )
    p.add_argument("name", metavar="NAME", help="the key")
    p.add_argument("ciphertext", nargs="?", metavar="CIPHERTEXT", help="egide:v<N>:...")
    _add_io(p, "decrypt")
    _add_context(p)


def run_decrypt(args: argparse.Namespace, ctx: Context) -> int:
    _one_source(args, args.ciphertext, "CIPHERTEXT")
    if args.input is None:
        plaintext = ctx.client.decrypt(args.name, args.ciphertext, context=args.context)
        write_output(ctx, args.output, plaintext)
        return 0
    files.decrypt_file(ctx, args.name, args.input, args.output, args.context)
    return 0


# --- sign and verify -------------------------------------------------------------------------

SIGN_NOTE = """
A file is signed by its digest (RSA, ECDSA: SHA-256, or SHA-384 for ecdsa-p384, or
--algorithm), which is all that is sent; the signature is the same as for the data
itself. Ed25519 has no digest form: the file is sent whole, at most 16 MiB.
"""


def _add_sign_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--algorithm",
        choices=["sha256", "sha384", "sha512"],
        help="hash (RSA: sha256 by default; ECDSA: fixed by the curve)",
    )
    p.add_argument("--padding", choices=["pss", "pkcs1v15"], help="RSA only (default pss)")
    p.add_argument(
        "--context",
        metavar="TEXT",
        type=text_bytes,
        help="ML-DSA only, strings: the context string (at most 255 bytes); verify needs the same",
    )


def _register_sign(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "sign",
        run_sign,
        "sign a string or a file",
        f"""
  egide kms sign my-signing-key "data to sign"             # prints egide:v<N>:...
  egide kms sign my-signing-key --input document.pdf --output document.pdf.sig
  egide kms sign my-signing-key --input document.pdf --algorithm sha512
{SIGN_NOTE}""",
    )
    p.add_argument("name", metavar="NAME", help="the key")
    p.add_argument("data", nargs="?", metavar="DATA", help="the text to sign")
    _add_io(p, "sign")
    _add_sign_options(p)
    p.add_argument("--key-version", type=int, metavar="N", help="sign with version N")


def run_sign(args: argparse.Namespace, ctx: Context) -> int:
    _one_source(args, args.data, "DATA")
    options = SignOptions(args.algorithm, args.padding)
    if args.input is None:
        result = ctx.client.sign(
            args.name,
            text_bytes(args.data),
            algorithm=args.algorithm,
            padding=args.padding,
            key_version=args.key_version,
            context=args.context,
        )
    else:
        _no_file_context(args)
        result = files.sign_file(ctx, args.name, args.input, options, args.key_version)
    write_output(ctx, args.output, (result.signature + "\n").encode("ascii"))
    return 0


def _register_verify(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "verify",
        run_verify,
        "verify a signature of a string or a file",
        f"""
  egide kms verify my-signing-key "data to sign" "egide:v1:..."
  egide kms verify my-signing-key --input document.pdf "$(cat document.pdf.sig)"
  egide kms verify --hmac my-mac-key "data" "egide:v1:..."     # an HMAC (hmac keys)

Prints "valid" (exit status 0) or "invalid" (exit status 1). Exit status 1 means
only that: any other failure (no such key, unreadable file, server or network error)
exits with status 4, the signature neither valid nor invalid.
{SIGN_NOTE}""",
        usage="%(prog)s [-h] [--hmac] [--input FILE] [--algorithm HASH] [--padding PADDING] "
        "[--context TEXT] NAME [DATA] SIGNATURE",
    )
    p.add_argument(
        "--hmac",
        action="store_true",
        help="the last operand is an HMAC made by `egide kms hmac` (an hmac key), not a signature",
    )
    p.add_argument("name", metavar="NAME", help="the key")
    p.add_argument(
        "operands",
        nargs="+",
        metavar="[DATA] SIGNATURE",
        help="the text and its signature; with --input, the signature only",
    )
    p.add_argument("--input", metavar="FILE", help="verify FILE ('-': stdin)")
    _add_sign_options(p)
    p.set_defaults(error_status=EXIT_UNCHECKED)  # 1 is "invalid", and only that


def run_verify(args: argparse.Namespace, ctx: Context) -> int:
    wanted = 1 if args.input is not None else 2
    if len(args.operands) != wanted:
        shape = "SIGNATURE with --input" if wanted == 1 else "DATA SIGNATURE (or --input FILE)"
        raise UsageError(f"expected {shape}")
    signature = args.operands[-1].strip()
    if args.hmac:
        if args.padding is not None or args.context is not None:
            raise UsageError("--padding and --context do not apply to an HMAC")
        data = text_bytes(args.operands[0]) if args.input is None else read_limited(
            args.input, MAX_ITEM_BYTES, "the input")  # fmt: skip
        valid = ctx.client.verify_hmac(args.name, data, signature, algorithm=args.algorithm)
    elif args.input is None:
        valid = ctx.client.verify(
            args.name,
            text_bytes(args.operands[0]),
            signature,
            algorithm=args.algorithm,
            padding=args.padding,
            context=args.context,
        )
    else:
        _no_file_context(args)
        options = SignOptions(args.algorithm, args.padding)
        valid = files.verify_file(ctx, args.name, args.input, signature, options)
    ctx.say("valid" if valid else "invalid")
    return 0 if valid else EXIT_ERROR


def _no_file_context(args: argparse.Namespace) -> None:
    if args.context is not None:
        raise UsageError("--context applies to strings; a file is signed without one")


# --- data keys and rewrap ------------------------------------------------------------------------


def _register_datakey(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "datakey",
        run_datakey,
        "get a fresh 256-bit data key, wrapped under a key",
        """
  egide kms datakey my-encryption-key                 # JSON: plaintext (base64), ciphertext
  egide kms datakey my-encryption-key --no-plaintext  # the wrapped key only

Decrypt the wrapped key later with `egide kms decrypt NAME CIPHERTEXT`.
""",
    )
    p.add_argument("name", metavar="NAME", help="the key")
    _add_context(p)
    p.add_argument(
        "--no-plaintext",
        dest="plaintext",
        action="store_false",
        help="return only the wrapped key",
    )


def run_datakey(args: argparse.Namespace, ctx: Context) -> int:
    key = ctx.client.datakey(args.name, context=args.context, plaintext=args.plaintext)
    plaintext = None if key.plaintext is None else b64text(key.plaintext)
    out = {"plaintext": plaintext, "ciphertext": key.ciphertext, "key_version": key.key_version}
    ctx.say(pretty_json(out))
    return 0


def _register_rewrap(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "rewrap",
        run_rewrap,
        "re-encrypt a ciphertext under the current version",
        """
  egide kms rewrap my-encryption-key "egide:v1:..."    # prints egide:v<current>:...

The plaintext never leaves the server.
""",
    )
    p.add_argument("name", metavar="NAME", help="the key")
    p.add_argument("ciphertext", metavar="CIPHERTEXT")
    _add_context(p)


def run_rewrap(args: argparse.Namespace, ctx: Context) -> int:
    result = ctx.client.rewrap(args.name, args.ciphertext, context=args.context)
    ctx.say(result.ciphertext)
    return 0
