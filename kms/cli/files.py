"""Files: encrypted locally under a data key, signed by digest (or whole, for Ed25519).

Encrypting a file asks the server for a data key (``datakey``, plaintext and
wrapped), encrypts the file locally in the streaming format of
kms.crypto.filestream, and stores the wrapped key in the file's header. Decrypting
sends only that wrapped key to the server and decrypts locally. The file never
travels; memory stays flat whatever its size.

For aes256 keys the data key is bound to the fixed context ``egide-file`` (plus the
user's ``--context``, if any); RSA keys take no context (their data key is wrapped
with plain OAEP).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from kms.cli.app import EXIT_USAGE, CliError, Context
from kms.cli.progress import progress
from kms.client import RAW_BODY_LIMIT, EgideClient, InvalidCiphertext, Signature
from kms.client.files import file_context  # the one rule of a file key's context (client and CLI)
from kms.crypto import KEY_TYPES
from kms.crypto.atomicfile import write_atomically
from kms.crypto.filestream import (
    DATA_KEY_SIZE,
    DEFAULT_SEGMENT_SIZE,
    MAGIC,
    MAX_SEGMENT_SIZE,
    MIN_SEGMENT_SIZE,
    TAG_SIZE,
    decrypt_stream,
    decrypt_to_path,
    encrypt_stream,
    encrypt_to_path,
    new_header,
    read_header,
)
from kms.exceptions import InvalidRequest
from kms.rules import parse_whole_number

SEGMENT_SIZE_ENV = "EGIDE_FILE_SEGMENT_SIZE"
"""Internal, for tests: plaintext bytes per segment (default 1 MiB)."""

# Default hash of a file's digest, by key type (RSA also takes --algorithm sha384/sha512).
DIGEST_OF_TYPE = {
    "rsa2048": "sha256",
    "rsa4096": "sha256",
    "ecdsa-p256": "sha256",
    "ecdsa-p384": "sha384",
}
# No prehashed form (Ed25519, ML-DSA): the file itself is sent. From the registry's facts.
WHOLE_FILE_TYPES = frozenset(name for name, kt in KEY_TYPES.items() if kt.supports("sign") and not kt.prehash)
TOKEN_PREFIX = b"egide:v"
MAX_TOKEN_FILE = 2 * 1024 * 1024
_READ_SIZE = 1024 * 1024


def segment_size() -> int:
    raw = os.environ.get(SEGMENT_SIZE_ENV)
    if not raw:
        return DEFAULT_SEGMENT_SIZE
    bounds = f"from {MIN_SEGMENT_SIZE} to {MAX_SEGMENT_SIZE}"
    try:
        size = parse_whole_number(raw, SEGMENT_SIZE_ENV, textual=True, minimum=MIN_SEGMENT_SIZE)
    except InvalidRequest:
        size = 0
    if not MIN_SEGMENT_SIZE <= size <= MAX_SEGMENT_SIZE:
        raise CliError("usage", f"{SEGMENT_SIZE_ENV} must be a byte count {bounds}", EXIT_USAGE)
    return size


# --- encrypt and decrypt -------------------------------------------------------------


def encrypt_file(ctx: Context, name: str, src_path: str, dest_path: str, context: bytes | None) -> int:
    """Encrypt ``src_path`` (``-``: stdin) into ``dest_path`` (``-``: stdout); return bytes.

    A destination file appears only when complete (temporary file, then rename).
    """
    check_output(dest_path)
    client = ctx.client
    key_ctx = file_context(client.key_info(name)["type"], context)
    data_key = client.datakey(name, context=key_ctx)
    if data_key.plaintext is None or len(data_key.plaintext) != DATA_KEY_SIZE:
        raise CliError("server_error", "the server returned no usable data key")
    header = new_header(
        key_name=name,
        key_version=data_key.key_version,
        wrapped_key=data_key.ciphertext,
        segment_size=segment_size(),
    )
    with (
        open_input(src_path) as src,
        progress(
            f"encrypting {_label(src_path)}",
            input_size(src),
            ctx.stderr,
            enabled=ctx.stderr_is_terminal(),
        ) as shown,
    ):
        if dest_path == "-":
            out = ctx.binary_stdout()
            count = encrypt_stream(src, out, header=header, data_key=data_key.plaintext, progress=shown)
            out.flush()
            return count
        return encrypt_to_path(src, dest_path, header=header, data_key=data_key.plaintext, progress=shown)


def decrypt_file(ctx: Context, name: str, src_path: str, dest_path: str, context: bytes | None) -> int:
    """Decrypt an encrypted file (``-``: stdin) into ``dest_path`` (``-``: stdout).

    Into a file: nothing is left behind on failure (decrypt_to_path). Onto stdout:
    verified segments may have been written before a failure is detected.
    A file that holds a ciphertext token (``egide:v...``) instead is decrypted by the
    server, so ``encrypt NAME "text" --output f`` and ``decrypt NAME --input f`` pair up.
    """
    check_output(dest_path)
    with open_input(src_path) as raw:
        head = _read_up_to(raw, len(MAGIC))
        # A regular file is re-read from its start (full speed); a pipe gets the head put back.
        src: BinaryIO = _rewound(raw) or _Prefixed(head, raw)
        if head.startswith(TOKEN_PREFIX):
            plaintext = _decrypt_token_file(ctx.client, name, src, context)
            write_output(ctx, dest_path, plaintext)
            return len(plaintext)
        header = read_header(src)
        data_key = _unwrap(ctx.client, name, header.key_name, header.wrapped_key, context)
        total = plaintext_size(input_size(raw), header.segment_size)
        with progress(f"decrypting {_label(src_path)}", total, ctx.stderr, enabled=ctx.stderr_is_terminal()) as shown:
            if dest_path == "-":
                out = ctx.binary_stdout()
                count = decrypt_stream(src, out, header=header, data_key=data_key, progress=shown)
                out.flush()
                return count
            return decrypt_to_path(src, dest_path, header=header, data_key=data_key, progress=shown)


def _unwrap(client: EgideClient, name: str, file_key: str, wrapped: str, context: bytes | None) -> bytes:
    if file_key != name:
        raise CliError("invalid_ciphertext", f"this file was encrypted with key '{file_key}', not '{name}'")
    key_ctx = file_context(client.key_info(name)["type"], context)
    try:
        data_key = client.decrypt(name, wrapped, context=key_ctx)
    except InvalidCiphertext as exc:
        hint = (
            " (was the file encrypted with --context?)"
            if context is None
            else " (is --context the one used to encrypt?)"
        )
        raise CliError("invalid_ciphertext", f"the file's data key does not decrypt{hint}: {exc.message}") from None
    if len(data_key) != DATA_KEY_SIZE:
        raise CliError("invalid_ciphertext", "the file's header does not hold a file data key")
    return data_key


def _decrypt_token_file(client: EgideClient, name: str, src: BinaryIO, context: bytes | None) -> bytes:
    text = _read_up_to(src, MAX_TOKEN_FILE + 1)
    if len(text) > MAX_TOKEN_FILE:
        raise CliError("invalid_ciphertext", "the input is too long for a ciphertext token")
    try:
        token = text.decode("ascii").strip()
    except UnicodeDecodeError:
        raise CliError("invalid_ciphertext", "the input is not a ciphertext token") from None
    return client.decrypt(name, token, context=context)


def plaintext_size(file_size: int | None, seg: int) -> int | None:
    """The plaintext bytes of an encrypted file of ``file_size`` (header excluded: approx)."""
    if file_size is None:
        return None
    segments = max(1, -(-file_size // (seg + TAG_SIZE)))
    return max(file_size - segments * TAG_SIZE, 0)


# --- sign and verify -----------------------------------------------------------------


@dataclass(frozen=True)
class SignOptions:
    algorithm: str | None
    padding: str | None


def sign_file(ctx: Context, name: str, path: str, options: SignOptions, key_version: int | None) -> Signature:
    """Sign a file: its digest (prehashed) for RSA/ECDSA, the file itself for Ed25519."""
    client = ctx.client
    key_type = client.key_info(name)["type"]
    if key_type in WHOLE_FILE_TYPES:
        with open_input(path) as src, _whole_body(src, path) as (body, length):
            return client.sign_stream(
                name,
                body,
                length,
                algorithm=options.algorithm,
                padding=options.padding,
                key_version=key_version,
            )
    hash_name = options.algorithm or DIGEST_OF_TYPE.get(key_type, "sha256")
    digest = digest_file(ctx, path, hash_name)
    return client.sign(
        name,
        digest,
        algorithm=hash_name,
        padding=options.padding,
        prehashed=True,
        key_version=key_version,
    )


def verify_file(ctx: Context, name: str, path: str, signature: str, options: SignOptions) -> bool:
    client = ctx.client
    key_type = client.key_info(name)["type"]
    if key_type in WHOLE_FILE_TYPES:
        with open_input(path) as src, _whole_body(src, path) as (body, length):
            return client.verify_stream(
                name, body, length, signature, algorithm=options.algorithm, padding=options.padding
            )
    hash_name = options.algorithm or DIGEST_OF_TYPE.get(key_type, "sha256")
    digest = digest_file(ctx, path, hash_name)
    return client.verify(name, digest, signature, algorithm=hash_name, padding=options.padding, prehashed=True)


def digest_file(ctx: Context, path: str, hash_name: str) -> bytes:
    """The digest of a file (``-``: stdin), read in 1 MiB blocks."""
    if hash_name not in hashlib.algorithms_available:
        raise CliError("invalid_request", f"unknown hash algorithm '{hash_name}'")
    hasher = hashlib.new(hash_name)
    buffer = bytearray(_READ_SIZE)
    view = memoryview(buffer)
    with (
        open_input(path) as src,
        progress(f"hashing {_label(path)}", input_size(src), ctx.stderr, enabled=ctx.stderr_is_terminal()) as shown,
    ):
        done = 0
        while count := src.readinto(view):
            hasher.update(view[:count])
            done += count
            if shown is not None:
                shown(done)
    return hasher.digest()


@contextlib.contextmanager
def _whole_body(src: BinaryIO, path: str) -> Iterator[tuple[BinaryIO, int]]:
    """The input as a request body and its length, refused locally above the limit."""
    size = input_size(src)
    if size is None:  # a pipe: read it, bounded
        data = src.read(RAW_BODY_LIMIT + 1)
        size = len(data)
        src = io.BytesIO(data)
    if size > RAW_BODY_LIMIT:
        raise CliError(
            "payload_too_large",
            f"{_label(path)} is {size} bytes: Ed25519 and ML-DSA sign the whole file, sent to the server, "
            f"at most {RAW_BODY_LIMIT // (1024 * 1024)} MiB; use an RSA or ECDSA key for "
            "bigger files (they sign its digest)",
        )
    yield src, size


# --- inputs and outputs ------------------------------------------------------------------


@contextlib.contextmanager
def open_input(path: str) -> Iterator[BinaryIO]:
    """The file at ``path`` opened for reading, or stdin for ``-``; CliError if it cannot be."""
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        src = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise CliError("io_error", f"cannot read {path}: {exc.strerror or exc}") from None
    with src:
        yield src


def input_size(src: BinaryIO) -> int | None:
    """The size of a regular file (None for a pipe or a terminal)."""
    try:
        info = os.fstat(src.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def write_output(ctx: Context, path: str, data: bytes, *, newline_on_terminal: bool = True) -> None:
    """Write ``data`` to ``path`` (a new 0600 file, replaced atomically) or stdout (``-``).

    On a terminal a newline is added when ``data`` has none, so the prompt stays on its
    own line; anywhere else the bytes are written exactly.
    """
    if path == "-":
        out = ctx.binary_stdout()
        out.write(data)
        if newline_on_terminal and ctx.stdout_is_terminal() and not data.endswith(b"\n"):
            out.write(b"\n")
        out.flush()
        return
    check_output(path)
    try:
        _write_atomically(path, data)
    except OSError as exc:
        raise CliError("io_error", f"cannot write {path}: {exc.strerror or exc}") from None


def _write_atomically(path: str, data: bytes) -> None:
    """A new 0600 file named ``path`` only once complete (kms.crypto.atomicfile)."""
    write_atomically(path, lambda out: out.write(data))


def check_output(path: str) -> None:
    """Refuse, in words and before any work, an output file whose directory does not exist."""
    if path == "-":
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        shown = os.path.dirname(path) or directory
        raise CliError("io_error", f"cannot write {path}: the directory {shown} does not exist")
    if os.path.isdir(path):
        raise CliError("io_error", f"cannot write {path}: it is a directory; give a file name")


def _label(path: str) -> str:
    return "stdin" if path == "-" else os.path.basename(path)


def _read_up_to(src: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes, fewer only at the end of the input (loops over short reads)."""
    chunks = bytearray()
    while len(chunks) < size:
        chunk = src.read(size - len(chunks))
        if not chunk:
            break
        chunks += chunk
    return bytes(chunks)


def _rewound(raw: BinaryIO) -> BinaryIO | None:
    try:
        if raw.seekable():
            raw.seek(0)
            return raw
    except (OSError, ValueError):
        pass
    return None


class _Prefixed(io.RawIOBase):
    """A reader that gives back ``head`` (already read from ``src``), then the rest of ``src``."""

    def __init__(self, head: bytes, src: BinaryIO) -> None:
        self._head = memoryview(head)
        self._src = src

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if self._head:
            count = min(len(self._head), len(view))
            view[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        return self._src.readinto(view)  # type: ignore[attr-defined]

    def fileno(self) -> int:
        return self._src.fileno()
