"""Egide encrypted files: a streaming AEAD (format version 1).

The ``egide`` client encrypts a file locally under a data key that the server
generated and wrapped; the wrapped key travels in the file's header, so to decrypt
the client sends only that token to the server and decrypts locally.

Construction: STREAM (Hoang, Reyhanitabar, Rogaway, Vizár, "Online
authenticated-encryption and its nonce-reuse misuse-resistance", 2015), as in
Tink's AES-GCM-HKDF streaming AEAD:

- segment key = HKDF-SHA256(data_key, salt=header.salt, info=b"egide file v1"),
  used with AES-256-GCM (128-bit tags);
- nonce of segment i = nonce_prefix (7 bytes) || i (4 bytes, big-endian) ||
  last flag (1 byte: 1 on the final segment, else 0);
- associated data of every segment = the whole serialized header, byte for byte.

File layout::

    header
      0   8   magic b"EGIDEFS\\n"
      8   2   format version, u16 big-endian (1)
      10  2   body length L, u16 big-endian
      12  L   body:
                4   segment size (plaintext bytes per segment), u32
                32  HKDF salt
                7   nonce prefix
                4   key version, u32
                2   length of the key name, u16; then the key name, UTF-8
                2   length of the wrapped data key, u16; then the token, ASCII
    segments
      segment 0 .. n-2   AES-GCM(segment_size bytes) || tag, exactly segment_size + 16
      segment n-1        AES-GCM(0 .. segment_size bytes) || tag, flagged last

A file always has at least one segment: an empty file is the header followed by one
empty final segment (its 16-byte tag).

Guarantees, given a data key that the attacker does not know: the plaintext stays
confidential, and decryption either returns having written exactly the plaintext that
was encrypted, or raises :class:`FileFormatError` having written only a verified
prefix of it (see :func:`decrypt_stream`). Segments cannot be changed, dropped,
reordered, duplicated, truncated or extended, and the header cannot be changed, since
each segment authenticates its index, whether it is the last, and the header. Nonces
never repeat under one segment key: each file has its own data key, salt and prefix
(so never encrypt twice with the same header and data key). Not hidden: the plaintext
length, the key name and version, the segment size.

This module is pure: it imports ``cryptography`` and the standard library only.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kms.crypto.atomicfile import write_atomically

MAGIC = b"EGIDEFS\n"
"""Marks an Egide encrypted file ("Egide File Stream"). It carries no version: the
version field follows it, so a newer file is told apart from a foreign one."""

FORMAT_VERSION = 1
DATA_KEY_SIZE = 32
SALT_SIZE = 32
NONCE_PREFIX_SIZE = 7
TAG_SIZE = 16
HKDF_INFO = b"egide file v1"

# Chosen by measurement (bench/file_stream_bench.py: 512 MiB, single thread, medians;
# encrypt /dev/zero -> /dev/null, decrypt page-cached file -> /dev/null; on this project's
# 2-core machine, where raw AES-256-GCM *_into on one 64 MiB buffer does ~5.1-5.5 GB/s):
#   segment    encrypt MB/s   decrypt MB/s   peak RSS (28.6 MiB before streaming)
#   64 KiB     6,300-6,500    3,800-3,900    30.0 MiB
#   256 KiB    5,700-8,200    4,000-4,600    30.4 MiB
#   1 MiB      8,200-8,500    4,800-4,900    32.0 MiB
#   4 MiB      7,200-7,300    4,500-4,600    38.0 MiB
# 1 MiB is the fastest both ways (per-segment Python cost is amortised, both buffers still
# fit in cache), costs ~2 MiB per stream, and matches Tink's AES256_GCM_HKDF_1MB template.
# Decrypt is bounded by copying the file out of the kernel (read alone: ~8-9 GB/s), which
# is serial with the cipher in one thread; a reader thread was tried and gained nothing at
# 1 MiB (it helped only at 4 MiB and lost at 256 KiB).
DEFAULT_SEGMENT_SIZE = 1024 * 1024
MIN_SEGMENT_SIZE = 16
# Bounds the memory a reader allocates (~2 x segment size) before anything is
# authenticated: the header of a hostile file cannot make it allocate gigabytes.
MAX_SEGMENT_SIZE = 16 * 1024 * 1024
MAX_KEY_NAME_BYTES = 1024
MAX_WRAPPED_KEY_CHARS = 16 * 1024
MAX_KEY_VERSION = 2**32 - 1
MAX_SEGMENT_INDEX = 2**32 - 1  # the index is 4 bytes of the nonce

_PREAMBLE = struct.Struct(">8sHH")  # magic, format version, body length
_FIXED = struct.Struct(">I32s7sI")  # segment size, salt, nonce prefix, key version
_LENGTH = struct.Struct(">H")
_INDEX_LAST = struct.Struct(">IB")
_MIN_BODY = _FIXED.size + 2 * _LENGTH.size
_MAX_BODY = _MIN_BODY + MAX_KEY_NAME_BYTES + MAX_WRAPPED_KEY_CHARS
MAX_HEADER_SIZE = _PREAMBLE.size + _MAX_BODY
"""Largest valid header (about 17 KiB); read_header refuses anything longer."""

# The wrapped data key is a ciphertext token, egide:v<version>:<standard base64>.
_B64 = r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)"
_WRAPPED_KEY = re.compile(rf"egide:v([1-9][0-9]{{0,9}}):{_B64}")
_HAS_INTO = hasattr(AESGCM, "encrypt_into") and hasattr(AESGCM, "decrypt_into")

_NOT_EGIDE = "not an Egide encrypted file"
_TRUNCATED = "file is truncated"
_BAD_HEADER = "file was modified or is corrupt (invalid header)"
_TRAILING = "unexpected data after the final segment"

Progress = Callable[[int], None]


class FileFormatError(Exception):
    """An encrypted file is malformed, truncated, modified, or not decryptable with this key.

    The message is meant for the user as it is, and never contains key material or
    plaintext. Segment numbers in it count from 0.
    """

    code = "invalid_ciphertext"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FileHeader:
    """The header of an encrypted file; every field is authenticated by every segment.

    Construction validates each field (ValueError), so a FileHeader always encodes
    to a valid header. ``key_name`` is printable (it is shown to users before
    anything is authenticated, so it cannot carry terminal escapes).
    """

    key_name: str
    key_version: int
    wrapped_key: str
    segment_size: int
    salt: bytes
    nonce_prefix: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.key_name, str) or not self.key_name.isprintable():
            raise ValueError("key_name must be a non-empty printable string")
        if not 1 <= len(self.key_name.encode("utf-8")) <= MAX_KEY_NAME_BYTES:
            raise ValueError(f"key_name must be 1 to {MAX_KEY_NAME_BYTES} bytes of UTF-8")
        _check_int("key_version", self.key_version, 1, MAX_KEY_VERSION)
        token = (
            _WRAPPED_KEY.fullmatch(self.wrapped_key)
            if isinstance(self.wrapped_key, str) and len(self.wrapped_key) <= MAX_WRAPPED_KEY_CHARS
            else None
        )
        if token is None:
            raise ValueError(
                f"wrapped_key must be a ciphertext token (egide:v<version>:<base64>) of at "
                f"most {MAX_WRAPPED_KEY_CHARS} characters"
            )
        # The version is stated twice (the header field, the token's prefix): they must agree,
        # or a reader would ask the server to unwrap with one version and label it another.
        if int(token.group(1)) != self.key_version:
            raise ValueError("key_version does not match the version in wrapped_key")
        _check_int("segment_size", self.segment_size, MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE)
        _check_bytes("salt", self.salt, SALT_SIZE)
        _check_bytes("nonce_prefix", self.nonce_prefix, NONCE_PREFIX_SIZE)


def new_header(
    *, key_name: str, key_version: int, wrapped_key: str, segment_size: int = DEFAULT_SEGMENT_SIZE
) -> FileHeader:
    """Return a header with a fresh random salt and nonce prefix; ValueError on a bad field
    (``wrapped_key`` must be a token ``egide:v<N>:...`` with N equal to ``key_version``).

    :func:`encrypt_stream` draws its own salt and nonce prefix anyway; this header gives
    it the key name, version, wrapped key and segment size.
    """
    return FileHeader(
        key_name=key_name,
        key_version=key_version,
        wrapped_key=wrapped_key,
        segment_size=segment_size,
        salt=os.urandom(SALT_SIZE),
        nonce_prefix=os.urandom(NONCE_PREFIX_SIZE),
    )


def encode_header(header: FileHeader) -> bytes:
    """Return the serialized header: what goes at the start of the file and the AAD."""
    name = header.key_name.encode("utf-8")
    wrapped = header.wrapped_key.encode("ascii")
    body = b"".join(
        (
            _FIXED.pack(header.segment_size, header.salt, header.nonce_prefix, header.key_version),
            _LENGTH.pack(len(name)),
            name,
            _LENGTH.pack(len(wrapped)),
            wrapped,
        )
    )
    return _PREAMBLE.pack(MAGIC, FORMAT_VERSION, len(body)) + body


def write_header(out: BinaryIO, header: FileHeader) -> int:
    """Write the serialized header to ``out``; return its length in bytes."""
    data = encode_header(header)
    _write_all(out, data)
    return len(data)


def read_header(src: BinaryIO) -> FileHeader:
    """Read and strictly validate a header, leaving ``src`` just after it.

    Reads exactly the header's bytes, never more. The header is not authenticated
    yet (that happens with the first segment), but it is well-formed: bounded sizes,
    a printable key name, no trailing or unknown bytes. Raises FileFormatError.
    """
    preamble = _read_exact(src, _PREAMBLE.size)
    if preamble[: len(MAGIC)] != MAGIC:
        if preamble and len(preamble) < len(MAGIC) and MAGIC.startswith(preamble):
            raise FileFormatError(_TRUNCATED)
        raise FileFormatError(_NOT_EGIDE)
    if len(preamble) < _PREAMBLE.size:
        raise FileFormatError(_TRUNCATED)
    _, version, body_length = _PREAMBLE.unpack(preamble)
    if version != FORMAT_VERSION:
        raise FileFormatError(
            f"unsupported format version {version} (this egide reads version "
            f"{FORMAT_VERSION}; a newer egide may read it)"
        )
    if not _MIN_BODY <= body_length <= _MAX_BODY:
        raise FileFormatError(_BAD_HEADER)
    body = _read_exact(src, body_length)
    if len(body) < body_length:
        raise FileFormatError(_TRUNCATED)
    header = _decode_body(body)
    # Decoding is strict, so this holds; checked because the AAD is re-encoded from
    # the parsed header and must be the exact bytes that were read.
    if encode_header(header) != preamble + body:
        raise FileFormatError(_BAD_HEADER)
    return header


def encrypt_stream(
    src: BinaryIO,
    out: BinaryIO,
    *,
    header: FileHeader,
    data_key: bytes,
    progress: Progress | None = None,
) -> int:
    """Encrypt all of ``src`` into ``out`` (header, then segments); return plaintext bytes.

    ``header`` gives the key name, version, wrapped key and segment size; the salt and
    nonce prefix written are always fresh random values drawn here, whatever ``header``
    holds, so no caller can make two files share them (read the written header back
    with :func:`read_header`). Memory is flat (two buffers of about one segment each),
    whatever the size of ``src``; ``src`` may return short reads (a pipe). ``out`` is
    given memoryviews of a reused buffer and must consume them before its ``write``
    returns (files and BytesIO do). ``progress`` is called with the cumulative plaintext
    byte count after each segment. ValueError if the data key is not 32 bytes, or if the input needs
    more than 2**32 segments.
    """
    header = replace(header, salt=os.urandom(SALT_SIZE), nonce_prefix=os.urandom(NONCE_PREFIX_SIZE))
    aead = _segment_aead(data_key, header)
    aad = encode_header(header)
    _write_all(out, aad)
    size = header.segment_size
    inbuf = bytearray(size + 1)  # one byte of look-ahead tells whether a segment is the last
    inview = memoryview(inbuf)
    outview = memoryview(bytearray(size + TAG_SIZE))
    prefix = header.nonce_prefix
    carried = index = total = 0
    while True:
        filled = carried + _read_into(src, inview[carried:])
        last = filled <= size
        length = filled if last else size
        if index > MAX_SEGMENT_INDEX:
            raise ValueError("input too large for this segment size (over 2**32 segments)")
        nonce = prefix + _INDEX_LAST.pack(index, last)
        if _HAS_INTO:
            sealed = outview[: length + TAG_SIZE]
            aead.encrypt_into(nonce, inview[:length], aad, sealed)
            _write_all(out, sealed)
        else:  # cryptography < 47
            _write_all(out, aead.encrypt(nonce, inview[:length], aad))
        total += length
        if progress is not None:
            progress(total)
        if last:
            return total
        inbuf[0] = inbuf[size]
        carried = 1
        index += 1


def decrypt_stream(
    src: BinaryIO,
    out: BinaryIO,
    *,
    header: FileHeader,
    data_key: bytes,
    progress: Progress | None = None,
) -> int:
    """Decrypt the segments of ``src`` into ``out``; return plaintext bytes.

    ``src`` must be positioned just after the header (as :func:`read_header` leaves
    it) and ``header`` be what it returned. Each segment is authenticated before its
    plaintext is written, and memory stays flat, so verified segments reach ``out``
    as they come: when FileFormatError is raised, ``out`` already holds a verified
    but incomplete prefix of the plaintext. The caller must treat ``out`` as garbage
    on any error: write into a temporary file and rename it only on success, as
    :func:`decrypt_to_path` does.

    Raises FileFormatError for a truncated, extended, modified or reordered file, or
    a wrong data key; ValueError if the data key is not 32 bytes. ``out`` and
    ``progress`` behave as in :func:`encrypt_stream`.
    """
    aead = _segment_aead(data_key, header)
    aad = encode_header(header)
    full = header.segment_size + TAG_SIZE
    inbuf = bytearray(full + 1)  # one byte of look-ahead tells whether a segment is the last
    inview = memoryview(inbuf)
    outview = memoryview(bytearray(header.segment_size))
    prefix = header.nonce_prefix
    carried = index = total = 0
    while True:
        filled = carried + _read_into(src, inview[carried:])
        last = filled <= full
        length = filled if last else full
        if length < TAG_SIZE:
            raise FileFormatError(_TRUNCATED)
        if index > MAX_SEGMENT_INDEX:
            raise FileFormatError(f"{_TRAILING} (more than 2**32 segments)")
        sealed = inview[:length]
        nonce = prefix + _INDEX_LAST.pack(index, last)
        try:
            if _HAS_INTO:
                plain = outview[: length - TAG_SIZE]
                aead.decrypt_into(nonce, sealed, aad, plain)
            else:  # cryptography < 47
                plain = memoryview(aead.decrypt(nonce, sealed, aad))
        except InvalidTag:
            raise _diagnose(aead, header, aad, sealed, index, last) from None
        _write_all(out, plain)
        total += len(plain)
        if progress is not None:
            progress(total)
        if last:
            return total
        inbuf[0] = inbuf[full]
        carried = 1
        index += 1


def encrypt_to_path(
    src: BinaryIO,
    dest_path: str | os.PathLike[str],
    *,
    header: FileHeader,
    data_key: bytes,
    progress: Progress | None = None,
) -> int:
    """Encrypt ``src`` into a new file at ``dest_path``; return plaintext bytes.

    Written as in :func:`decrypt_to_path`: ``dest_path`` appears (mode 0600, replacing
    any existing file) only once the whole file is written and synced.
    """
    return _write_atomically(
        dest_path,
        lambda out: encrypt_stream(src, out, header=header, data_key=data_key, progress=progress),
    )


def decrypt_to_path(
    src: BinaryIO,
    dest_path: str | os.PathLike[str],
    *,
    header: FileHeader,
    data_key: bytes,
    progress: Progress | None = None,
) -> int:
    """Decrypt ``src`` (after :func:`read_header`) into ``dest_path``; return plaintext bytes.

    Writes into a temporary file (mode 0600) in the destination's directory, syncs it,
    then atomically renames it over ``dest_path``. On any failure (FileFormatError,
    an I/O error, an exception from ``progress``, KeyboardInterrupt) the temporary
    file is deleted and ``dest_path`` is left untouched: a failed decryption leaves
    no partial plaintext behind.
    """
    return _write_atomically(
        dest_path,
        lambda out: decrypt_stream(src, out, header=header, data_key=data_key, progress=progress),
    )


def _diagnose(
    aead: AESGCM,
    header: FileHeader,
    aad: bytes,
    sealed: memoryview,
    index: int,
    last: bool,
) -> FileFormatError:
    """Name the failure of segment ``index`` as precisely as the file allows.

    A full-size segment at the end of the file that only opens as a middle segment
    means the file was cut at a segment boundary; a middle segment that only opens
    as the final one means bytes were appended. Anything else is a modification (or
    a wrong key). Runs only after a failure, so it costs nothing on valid files.
    """
    if len(sealed) == header.segment_size + TAG_SIZE:
        if last and _opens(aead, header, aad, sealed, index, last=False):
            return FileFormatError(_TRUNCATED)
        if not last and _opens(aead, header, aad, sealed, index, last=True):
            return FileFormatError(_TRAILING)
    return FileFormatError(f"file was modified or is corrupt (segment {index} failed authentication)")


def _opens(aead: AESGCM, header: FileHeader, aad: bytes, sealed: memoryview, index: int, *, last: bool) -> bool:
    try:
        aead.decrypt(header.nonce_prefix + _INDEX_LAST.pack(index, last), sealed, aad)
    except InvalidTag:
        return False
    return True


def _segment_aead(data_key: bytes, header: FileHeader) -> AESGCM:
    if not isinstance(data_key, (bytes, bytearray, memoryview)) or len(data_key) != DATA_KEY_SIZE:
        raise ValueError(f"data_key must be exactly {DATA_KEY_SIZE} bytes")
    if not isinstance(header, FileHeader):
        raise TypeError("header must be a FileHeader")
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=header.salt, info=HKDF_INFO)
    return AESGCM(kdf.derive(bytes(data_key)))


def _decode_body(body: bytes) -> FileHeader:
    segment_size, salt, nonce_prefix, key_version = _FIXED.unpack_from(body)
    name, pos = _take_prefixed(body, _FIXED.size)
    wrapped, pos = _take_prefixed(body, pos)
    if pos != len(body):
        raise FileFormatError(_BAD_HEADER)
    try:
        return FileHeader(
            key_name=name.decode("utf-8"),
            key_version=key_version,
            wrapped_key=wrapped.decode("ascii"),
            segment_size=segment_size,
            salt=salt,
            nonce_prefix=nonce_prefix,
        )
    except ValueError:  # includes UnicodeDecodeError
        raise FileFormatError(_BAD_HEADER) from None


def _take_prefixed(body: bytes, pos: int) -> tuple[bytes, int]:
    """Return the u16-length-prefixed field at ``pos`` and the position after it."""
    if pos + _LENGTH.size > len(body):
        raise FileFormatError(_BAD_HEADER)
    (length,) = _LENGTH.unpack_from(body, pos)
    start = pos + _LENGTH.size
    if start + length > len(body):
        raise FileFormatError(_BAD_HEADER)
    return body[start : start + length], start + length


def _read_into(src: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``src`` until it is full or ``src`` is at EOF; return bytes read.

    Loops over short reads (pipes, sockets, stdin). Uses ``readinto`` when ``src``
    has it (no copy), else ``read``.
    """
    readinto = getattr(src, "readinto", None)
    filled, wanted = 0, len(view)
    while filled < wanted:
        if readinto is not None:
            count = readinto(view[filled:])
        else:
            chunk = src.read(wanted - filled)
            count = len(chunk) if chunk is not None else None
            if count:
                view[filled : filled + count] = chunk
        if count is None:
            raise BlockingIOError("source is non-blocking and has no data ready")
        if count == 0:
            break
        filled += count
    return filled


def _read_exact(src: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes, fewer only at EOF; never reads past them."""
    buf = bytearray(size)
    return bytes(buf[: _read_into(src, memoryview(buf))])


def _write_all(out: BinaryIO, data: bytes | memoryview) -> None:
    """Write all of ``data``, looping over the short writes that raw files may do."""
    view = memoryview(data)
    while view:
        count = out.write(view)
        if count is None:
            raise BlockingIOError("output is non-blocking and not ready")
        view = view[count:]


def _write_atomically(dest_path: str | os.PathLike[str], write: Callable[[BinaryIO], int]) -> int:
    """Run ``write`` on a new 0600 file that takes the name ``dest_path`` only when complete
    (an unnamed O_TMPFILE on Linux: kms.crypto.atomicfile)."""
    return write_atomically(dest_path, write)


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}")


def _check_bytes(name: str, value: object, size: int) -> None:
    if not isinstance(value, bytes) or len(value) != size:
        raise ValueError(f"{name} must be {size} bytes")
