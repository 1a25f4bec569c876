"""What every command shares: the client, the output streams, the exit codes, CLI errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO

from kms.cli import config
from kms.client import EgideClient

EXIT_OK = 0
EXIT_ERROR = 1  # the server refused, or the operation failed; verify: invalid signature
EXIT_USAGE = 2
EXIT_PENDING = 3  # the action waits for approvers
EXIT_UNCHECKED = 4  # verify only: the signature could not be checked (1 is kept for "invalid")
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\
exit status:
  0    success (verify: the signature is valid)
  1    an error: from the server (its code is printed), a file, or the network;
       verify: the signature is invalid (and only that)
  2    usage error: bad arguments or options
  3    approval pending: the action waits for approvers (the request is printed)
  4    verify: the signature could not be checked (unknown key, unreadable input,
       server or network error): neither valid nor invalid
  130  interrupted (Ctrl-C); 129 hung up (SIGHUP); 143 terminated (SIGTERM):
       an output file being written is never left behind, complete or partial

errors are printed on stderr as `error: <code>: <message>`, with the API's code.

environment:
  EGIDE_ADDR    server address (default http://127.0.0.1:8200, the server of `make run`)
  EGIDE_TOKEN   API token (default: the one saved by `egide login`)
  EGIDE_CACERT  CA bundle for an https server with a private CA
  EGIDE_ALLOW_HTTP  1: allow http:// to a server that is not on this machine (the token
                and the data then cross the network in clear); default: https only,
                except to 127.0.0.1, ::1 and localhost
"""


class CliError(Exception):
    """A failure found by the CLI itself, printed as ``error: <code>: <message>``."""

    def __init__(self, code: str, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.exit_code = exit_code


class Terminated(BaseException):  # noqa: N818 - a signal, not an error
    """SIGTERM or SIGHUP, raised in the main thread so that cleanups run (never caught as an
    Exception): the command stops and leaves no half-written output behind."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class UsageError(CliError):
    """Bad arguments: exit status 2, with the command's usage line when known."""

    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__("usage", message, EXIT_USAGE)
        self.usage = usage


Handler = Callable[[argparse.Namespace, "Context"], int]


@dataclass
class Context:
    """The streams and the server of one run; the client is made on first use."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    _client: EgideClient | None = None

    @property
    def client(self) -> EgideClient:
        if self._client is None:
            self._client = EgideClient(
                config.server_addr(),
                config.saved_token(),
                client_name="cli",
                ca_file=config.ca_file(),
                allow_http=config.allow_http(),
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def say(self, text: str = "") -> None:
        """One line of output on stdout."""
        print(text, file=self.stdout)

    def note(self, text: str) -> None:
        """One line for the person on stderr (not part of the output)."""
        print(text, file=self.stderr)

    def binary_stdout(self) -> BinaryIO:
        """stdout for bytes, after flushing any text written to it."""
        self.stdout.flush()
        return self.stdout.buffer  # type: ignore[return-value]

    def stdout_is_terminal(self) -> bool:
        return _isatty(self.stdout)

    def stderr_is_terminal(self) -> bool:
        return _isatty(self.stderr)


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False
