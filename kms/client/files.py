"""Files in the CLI's streaming format (kms.crypto.filestream), from Python.

The server gives a fresh data key (``datakey``, wrapped under the key); the file is
encrypted here, in authenticated segments, and the wrapped key kept in its header. The
file never travels; memory stays flat whatever its size. ``egide kms encrypt --input``
and :meth:`FileCalls.encrypt_file` make the same files, each decrypts the other's.

What a file that decrypts proves: it was made for this key and not changed since. Not who
made it: with an RSA key anyone holding the public key can make one. Sign files whose
origin matters.
"""

from __future__ import annotations

import os
from typing import BinaryIO

from kms.client.crypto import CryptoCalls
from kms.client.errors import InvalidCiphertext, InvalidRequest, ServerError
from kms.client.keys import KeyCalls
from kms.crypto.atomicfile import write_atomically
from kms.crypto.filestream import (
    DATA_KEY_SIZE,
    DEFAULT_SEGMENT_SIZE,
    decrypt_stream,
    encrypt_stream,
    new_header,
    read_header,
)

FILE_CONTEXT = b"egide-file"
"""Binds a file's data key (aes256) to its use: a token wrapped for another purpose cannot be
passed off as a file key, nor the other way round."""

Source = str | os.PathLike[str] | BinaryIO


def file_context(key_type: str, context: bytes | None) -> bytes | None:
    """The context of a file's data key: ``egide-file[:<context>]`` for aes256, else none
    (RSA wraps with plain OAEP). InvalidRequest for a context with another type."""
    if key_type != "aes256":
        if context is not None:
            raise InvalidRequest("invalid_request", f"--context applies only to aes256 keys, not {key_type}")
        return None
    return FILE_CONTEXT if context is None else FILE_CONTEXT + b":" + context


class FileCalls(KeyCalls, CryptoCalls):
    """encrypt_file and decrypt_file: paths or open binary streams."""

    def encrypt_file(
        self, name: str, source: Source, dest: Source, *, context: bytes | None = None,
        segment_size: int = DEFAULT_SEGMENT_SIZE,
    ) -> int:  # fmt: skip
        """Encrypt ``source`` (a path or a binary stream) into ``dest`` (a path: created 0600,
        named only once complete; or a stream); return the plaintext bytes read.

        aes256 and RSA keys; ``context`` (aes256) must be given again to decrypt.
        """
        data_key = self.datakey(name, context=file_context(self.key_info(name)["type"], context))
        if data_key.plaintext is None or len(data_key.plaintext) != DATA_KEY_SIZE:
            raise ServerError("server_error", "the server returned no usable data key")
        header = new_header(key_name=name, key_version=data_key.key_version, wrapped_key=data_key.ciphertext,
                            segment_size=segment_size)  # fmt: skip
        with _reading(source) as src:
            return _write(dest, lambda out: encrypt_stream(src, out, header=header, data_key=data_key.plaintext))

    def decrypt_file(self, name: str, source: Source, dest: Source, *, context: bytes | None = None) -> int:
        """Decrypt a file made by :meth:`encrypt_file` or ``egide kms encrypt --input`` into
        ``dest``; return the plaintext bytes written.

        Into a path, nothing is left behind on failure (the file is named only once every
        segment is verified). Into a stream, verified segments may have been written before
        a failure (FileFormatError, from kms.crypto.filestream) is detected: discard them.
        """
        with _reading(source) as src:
            header = read_header(src)
            if header.key_name != name:
                raise InvalidCiphertext(
                    "invalid_ciphertext", f"this file was encrypted with key '{header.key_name}', not '{name}'"
                )
            key_ctx = file_context(self.key_info(name)["type"], context)
            data_key = self.decrypt(name, header.wrapped_key, context=key_ctx)
            if len(data_key) != DATA_KEY_SIZE:
                raise InvalidCiphertext("invalid_ciphertext", "the file's header does not hold a file data key")
            return _write(dest, lambda out: decrypt_stream(src, out, header=header, data_key=data_key))


class _reading:
    """A path opened for reading (and closed), or a stream used as it is (left open)."""

    def __init__(self, source: Source) -> None:
        self._source = source
        self._opened: BinaryIO | None = None

    def __enter__(self) -> BinaryIO:
        if isinstance(self._source, str | os.PathLike):
            self._opened = open(self._source, "rb")  # noqa: SIM115 - closed in __exit__
            return self._opened
        return self._source

    def __exit__(self, *exc: object) -> None:
        if self._opened is not None:
            self._opened.close()


def _write(dest: Source, write: object) -> int:
    if isinstance(dest, str | os.PathLike):
        return write_atomically(dest, write)  # type: ignore[arg-type]
    return write(dest)  # type: ignore[operator]
