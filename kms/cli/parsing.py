"""argparse, set up once: usage errors raised (not exited), examples in every --help."""

from __future__ import annotations

import argparse
import base64
from typing import NoReturn

from kms.cli.app import EXIT_CODES_HELP, Handler, UsageError


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UsageError instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.format_usage().strip())


FORMATS = ("table", "json")
"""The words of every command's --format: ``table`` for people, ``json`` for programs."""


def add_format(p: argparse.ArgumentParser, default: str = "table") -> None:
    """The one --format option: the same two words on every command that has one."""
    p.add_argument(
        "--format", choices=FORMATS, default=default,
        help=f"table: for people; json: for programs (default {default})",
    )  # fmt: skip


def add_command(
    commands: argparse._SubParsersAction,
    name: str,
    handler: Handler,
    summary: str,
    examples: str,
    usage: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand running ``handler``, with its examples and the exit codes in --help."""
    parser = commands.add_parser(
        name,
        help=summary,
        usage=usage,
        description=summary[0].upper() + summary[1:] + ".",
        epilog=f"examples:{examples}\n{EXIT_CODES_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler, command_parser=parser)
    return parser


def add_group(
    commands: argparse._SubParsersAction, name: str, summary: str, examples: str
) -> argparse._SubParsersAction:
    """A command that only groups subcommands (``egide kms``, ``egide token`` ...)."""
    parser = commands.add_parser(
        name,
        help=summary,
        description=summary[0].upper() + summary[1:] + ".",
        epilog=f"examples:{examples}\n{EXIT_CODES_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=None, group_parser=parser)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    return sub


def text_bytes(value: str) -> bytes:
    """A command-line string as the bytes it means: UTF-8."""
    return value.encode("utf-8", "surrogateescape")


def b64text(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
