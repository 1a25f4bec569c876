"""The `egide` command: an HTTP client of the Egide API (no Django import).

``main(argv)`` parses, runs one command and returns its exit status; every failure
is one line on stderr, ``error: <code>: <message>`` (the API's code when the server
refused), and a status from the table in ``egide --help``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from kms.cli import approvals, auth, byok, crypto, keys, shared, status, users
from kms.cli.app import (
    EXIT_CODES_HELP,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_PENDING,
    EXIT_USAGE,
    CliError,
    Context,
    Terminated,
    UsageError,
)
from kms.cli.parsing import Parser, add_group
from kms.client import ApprovalPending, EgideError, InvalidSignature, Unauthenticated
from kms.crypto.filestream import FileFormatError

TOP_EXAMPLES = """
  egide login
  egide kms create my-encryption-key --type aes256
  egide kms list
  egide kms encrypt my-encryption-key "sensitive data"
  egide kms decrypt my-encryption-key "egide:v1:..."
  egide kms encrypt my-encryption-key --input file.txt --output file.enc
  egide kms sign my-signing-key --input document.pdf
  egide status                 # the server, its version, who you are, your token's expiry

`egide COMMAND --help` shows each command's options and examples.
"""

KMS_EXAMPLES = """
  egide kms create my-encryption-key --type aes256
  egide kms list
  egide kms info my-encryption-key
  egide kms rotate my-encryption-key
  egide kms encrypt my-encryption-key "sensitive data"
  egide kms sign my-signing-key "data to sign"
  egide kms verify my-signing-key "data to sign" "egide:v1:..."
  egide kms create pq --type ml-dsa-65
  egide kms hmac my-mac-key "data"
  egide kms decapsulate my-kem-key "BASE64 CIPHERTEXT"
  egide kms derive my-agreement-key --peer peer.pem
  egide kms random 32
"""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="egide",
        description="Egide: keys that never leave the server; encrypt, decrypt, sign, verify.",
        epilog=f"examples:{TOP_EXAMPLES}\n{EXIT_CODES_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=None, group_parser=parser)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    kms = add_group(commands, "kms", "manage and use keys", KMS_EXAMPLES)
    keys.register(kms)
    crypto.register(kms)
    shared.register(kms)
    approvals.register(kms)
    byok.register(kms)
    auth.register(commands)
    status.register(commands)
    users.register(commands)
    parser.add_argument("--version", action="version", version=f"egide {_version()}")
    parser.epilog = f"kms commands (egide kms COMMAND --help):\n{_summaries(kms)}\n\n{parser.epilog}"
    return parser


def _version() -> str:
    try:
        return importlib.metadata.version("egide")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _summaries(commands: argparse._SubParsersAction) -> str:
    """Every `egide kms` command and its one-line summary, for `egide --help`."""
    return "\n".join(f"  {action.dest:<12} {action.help}" for action in commands._choices_actions)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `egide` command; return its exit status (see EXIT_CODES_HELP)."""
    ctx = Context()
    try:
        with _signals_end_cleanly():
            return _run(build_parser(), list(sys.argv[1:] if argv is None else argv), ctx)
    except Terminated as exc:
        ctx.note(f"terminated ({signal.Signals(exc.signum).name}): nothing half-written was left")
        return 128 + exc.signum
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_ERROR
    finally:
        ctx.close()


def _run(parser: argparse.ArgumentParser, argv: list[str], ctx: Context) -> int:
    args = None
    try:
        args = parser.parse_args(argv)
        if args.handler is None:
            args.group_parser.print_help(ctx.stderr)
            return EXIT_USAGE
        return args.handler(args, ctx)
    except SystemExit as exc:  # --help exits through argparse
        return exc.code if isinstance(exc.code, int) else 0
    except UsageError as exc:
        command = getattr(args, "command_parser", None)
        usage = exc.usage or (command.format_usage().strip() if command else "")
        if usage:
            ctx.note(usage)
        return _fail(ctx, exc.code, exc.message, exc.exit_code)
    except CliError as exc:
        status = _error_status(args) if exc.exit_code == EXIT_ERROR else exc.exit_code
        return _fail(ctx, exc.code, exc.message, status)
    except ApprovalPending as exc:
        return _pending(ctx, exc)
    except InvalidSignature as exc:  # verify: a malformed signature is an invalid one (1)
        return _fail(ctx, exc.code, exc.message, EXIT_ERROR)
    except EgideError as exc:
        return _fail(ctx, exc.code, _with_hint(exc), _error_status(args))
    except FileFormatError as exc:
        return _fail(ctx, exc.code, exc.message, _error_status(args))
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        return _fail(ctx, "io_error", _os_message(exc), _error_status(args))
    except KeyboardInterrupt:
        ctx.note("interrupted")
        return EXIT_INTERRUPTED


@contextlib.contextmanager
def _signals_end_cleanly() -> Iterator[None]:
    """SIGTERM (timeout, systemd, docker stop) and SIGHUP raise Terminated in the main thread,
    so every cleanup runs (a file being written is removed) before the exit; restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise Terminated(signum)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _error_status(args: argparse.Namespace | None) -> int:
    """EXIT_ERROR, or the command's own status for an error (verify: 4, as 1 means invalid)."""
    return getattr(args, "error_status", EXIT_ERROR)


def _fail(ctx: Context, code: str, message: str, status: int) -> int:
    ctx.stdout.flush()
    ctx.note(f"error: {code}: {message}")
    return status


def _pending(ctx: Context, exc: ApprovalPending) -> int:
    request_id = exc.request.get("id", "?")
    ctx.say(f"approval required: {exc.message}")
    ctx.say(f"approvers: egide kms approvals approve {request_id}")
    return EXIT_PENDING


def _with_hint(exc: EgideError) -> str:
    if isinstance(exc, Unauthenticated):
        return f"{exc.message} (run `egide login` or set EGIDE_TOKEN)"
    return exc.message


def _os_message(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    return f"{exc.filename}: {reason}" if exc.filename else reason


def _silence_stdout() -> None:
    """After EPIPE (`egide kms list | head -1`), stop Python's exit-time flush from failing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
