"""Egide encrypted files: round trips, tampering of every kind, and the on-disk layout."""

from __future__ import annotations

import dataclasses
import io
import os
import random
import stat
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kms.crypto import filestream as fs
from kms.crypto.filestream import FileFormatError, FileHeader

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SEG = 64
TAG = fs.TAG_SIZE


def make_header(segment_size: int = SEG, **changes: object) -> FileHeader:
    header = fs.new_header(
        key_name="files-prod-backup",
        key_version=3,
        wrapped_key="egide:v3:c29tZSB3cmFwcGVkIGtleQ==",
        segment_size=segment_size,
    )
    return dataclasses.replace(header, **changes)


def encrypt(plaintext: bytes, segment_size: int = SEG, header: FileHeader | None = None) -> bytes:
    out = io.BytesIO()
    header = header or make_header(segment_size)
    assert fs.encrypt_stream(io.BytesIO(plaintext), out, header=header, data_key=KEY) == len(plaintext)
    return out.getvalue()


def written_header(blob: bytes) -> FileHeader:
    """The header an encryption wrote (its salt and nonce prefix are drawn by encrypt_stream)."""
    return fs.read_header(io.BytesIO(blob))


def decrypt(blob: bytes, key: bytes = KEY) -> bytes:
    src = io.BytesIO(blob)
    header = fs.read_header(src)
    out = io.BytesIO()
    assert fs.decrypt_stream(src, out, header=header, data_key=key) == len(out.getvalue())
    return out.getvalue()


def split(blob: bytes) -> tuple[bytes, list[bytes]]:
    """(header bytes, on-disk segments) of a valid file."""
    src = io.BytesIO(blob)
    header = fs.read_header(src)
    head, body = blob[: src.tell()], blob[src.tell() :]
    full = header.segment_size + TAG
    segments = [body[i : i + full] for i in range(0, len(body), full)] or [b""]
    if len(segments[-1]) == 0:  # body length is a multiple of a full segment
        segments.pop()
    return head, segments


def error_of(blob: bytes, key: bytes = KEY) -> str:
    with pytest.raises(FileFormatError) as caught:
        decrypt(blob, key)
    return str(caught.value)


class Trickle(io.RawIOBase):
    """A pipe-like source: each read returns 1 to 7 bytes."""

    def __init__(self, data: bytes, use_readinto: bool) -> None:
        self.data, self.pos = data, 0
        self.rng = random.Random(7)  # noqa: S311 - chooses read sizes, not secrets
        if not use_readinto:
            self.readinto = None  # type: ignore[assignment,method-assign]

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        count = min(self.rng.randint(1, 7), size if size >= 0 else 7)
        chunk = self.data[self.pos : self.pos + count]
        self.pos += len(chunk)
        return chunk

    def readinto(self, view: memoryview) -> int:  # type: ignore[override]
        chunk = self.read(len(view))
        view[: len(chunk)] = chunk
        return len(chunk)


class Dribble(io.RawIOBase):
    """A raw sink that accepts at most 5 bytes per write, like a slow pipe."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.data += bytes(data[:5])
        return min(5, len(data))


# Round trips


@pytest.mark.parametrize(
    "size",
    [0, 1, SEG - 1, SEG, SEG + 1, 2 * SEG, 10 * SEG + 7],
    ids=[
        "empty",
        "one-byte",
        "just-under-a-segment",
        "one-segment",
        "segment-plus-one",
        "two-segments",
        "many-segments",
    ],
)
def test_it_round_trips_files_of_every_shape(size: int) -> None:
    plaintext = os.urandom(size)
    assert decrypt(encrypt(plaintext)) == plaintext


def test_it_round_trips_with_the_default_segment_size() -> None:
    plaintext = os.urandom(2 * fs.DEFAULT_SEGMENT_SIZE + 12345)
    blob = encrypt(plaintext, fs.DEFAULT_SEGMENT_SIZE)
    assert len(split(blob)[1]) == 3
    assert decrypt(blob) == plaintext


def test_an_empty_file_is_the_header_and_one_empty_final_segment() -> None:
    blob = encrypt(b"")
    header = written_header(blob)
    assert blob == fs.encode_header(header) + blob[-TAG:]
    assert len(blob) == len(fs.encode_header(header)) + TAG


def test_a_segment_multiple_needs_no_extra_empty_segment() -> None:
    _, segments = split(encrypt(bytes(3 * SEG)))
    assert [len(s) for s in segments] == [SEG + TAG] * 3


def test_it_works_with_sources_that_return_a_few_bytes_at_a_time() -> None:
    plaintext = os.urandom(5 * SEG + 3)
    for use_readinto in (True, False):
        out = io.BytesIO()
        fs.encrypt_stream(Trickle(plaintext, use_readinto), out, header=make_header(), data_key=KEY)
        src = Trickle(out.getvalue(), use_readinto)
        header = fs.read_header(src)
        result = io.BytesIO()
        fs.decrypt_stream(src, result, header=header, data_key=KEY)
        assert result.getvalue() == plaintext


def test_it_completes_short_writes() -> None:
    plaintext = os.urandom(3 * SEG + 1)
    sink = Dribble()
    fs.encrypt_stream(io.BytesIO(plaintext), sink, header=make_header(), data_key=KEY)
    src = io.BytesIO(bytes(sink.data))
    header = fs.read_header(src)
    result = Dribble()
    fs.decrypt_stream(src, result, header=header, data_key=KEY)
    assert bytes(result.data) == plaintext


def test_it_reports_cumulative_progress_after_each_segment() -> None:
    seen: list[int] = []
    out = io.BytesIO()
    fs.encrypt_stream(io.BytesIO(bytes(150)), out, header=make_header(), data_key=KEY, progress=seen.append)
    assert seen == [64, 128, 150]
    seen.clear()
    src = io.BytesIO(out.getvalue())
    header = fs.read_header(src)
    fs.decrypt_stream(src, io.BytesIO(), header=header, data_key=KEY, progress=seen.append)
    assert seen == [64, 128, 150]


def test_it_never_reads_more_than_one_segment_and_a_byte_at_once() -> None:
    blob = encrypt(os.urandom(20 * SEG))
    asked: list[int] = []

    class Recording(io.BytesIO):
        def readinto(self, view: memoryview) -> int:  # type: ignore[override]
            asked.append(len(view))
            return super().readinto(view)

    src = Recording(blob)
    header = fs.read_header(src)
    asked.clear()
    fs.decrypt_stream(src, io.BytesIO(), header=header, data_key=KEY)
    assert max(asked) <= SEG + TAG + 1


def test_it_gives_the_same_bytes_without_encrypt_into(monkeypatch: pytest.MonkeyPatch) -> None:
    plaintext = os.urandom(4 * SEG + 5)
    header = make_header()
    monkeypatch.setattr(os, "urandom", lambda n: bytes(range(n)))  # same salt and prefix twice
    with_into = encrypt(plaintext, header=header)
    monkeypatch.setattr(fs, "_HAS_INTO", False)
    assert encrypt(plaintext, header=header) == with_into
    monkeypatch.undo()
    assert decrypt(with_into) == plaintext
    mangled = bytearray(with_into)
    mangled[len(split(with_into)[0]) + 2 * (SEG + TAG) + 3] ^= 1  # in segment 2 of 5
    assert "segment 2 failed" in error_of(bytes(mangled))


# The format is what the module docstring says


def test_the_header_layout_is_as_documented() -> None:
    header = make_header()
    raw = fs.encode_header(header)
    magic, version, body_length = struct.unpack(">8sHH", raw[:12])
    assert (magic, version, body_length) == (b"EGIDEFS\n", 1, len(raw) - 12)
    segment_size, salt, prefix, key_version = struct.unpack(">I32s7sI", raw[12:59])
    assert (segment_size, salt, prefix, key_version) == (SEG, header.salt, header.nonce_prefix, 3)
    name_length = struct.unpack(">H", raw[59:61])[0]
    assert raw[61 : 61 + name_length] == b"files-prod-backup"
    rest = raw[61 + name_length :]
    assert struct.unpack(">H", rest[:2])[0] == 33
    assert rest[2:] == header.wrapped_key.encode()


def test_segments_follow_the_documented_construction() -> None:
    plaintext = os.urandom(SEG + 10)
    blob = encrypt(plaintext)
    header = written_header(blob)
    head, segments = split(blob)
    key = HKDF(hashes.SHA256(), 32, salt=header.salt, info=b"egide file v1").derive(KEY)
    aead = AESGCM(key)
    first = aead.decrypt(header.nonce_prefix + bytes([0, 0, 0, 0, 0]), segments[0], head)
    final = aead.decrypt(header.nonce_prefix + bytes([0, 0, 0, 1, 1]), segments[1], head)
    assert first + final == plaintext


def test_read_header_gives_back_the_fields_and_stops_right_after_the_header() -> None:
    header = make_header()
    blob = encrypt(b"hello", header=header)
    src = io.BytesIO(blob)
    read = fs.read_header(src)
    assert read == dataclasses.replace(header, salt=read.salt, nonce_prefix=read.nonce_prefix)
    assert src.tell() == len(fs.encode_header(header))
    assert fs.write_header(io.BytesIO(), header) == src.tell()


def test_encrypt_stream_draws_its_own_salt_and_nonce_prefix_whatever_the_header_holds() -> None:
    header = make_header(salt=bytes(32), nonce_prefix=bytes(7))
    first, second = encrypt(b"same", header=header), encrypt(b"same", header=header)
    salts = {written_header(first).salt, written_header(second).salt, header.salt}
    prefixes = {
        written_header(first).nonce_prefix,
        written_header(second).nonce_prefix,
        header.nonce_prefix,
    }
    assert len(salts) == 3 and len(prefixes) == 3
    assert decrypt(first) == decrypt(second) == b"same"


@pytest.mark.parametrize(
    "wrapped_key",
    ["w", "egide:v2:c29tZQ==", "egide:v03:c29tZQ==", "egide:v3:c29tZQ", "egide:v3:"],
)
def test_a_header_refuses_a_wrapped_key_that_is_not_a_token_of_its_version(
    wrapped_key: str,
) -> None:
    with pytest.raises(ValueError, match="wrapped_key"):
        make_header(wrapped_key=wrapped_key)


def test_read_header_refuses_a_file_whose_key_version_contradicts_its_token() -> None:
    good = fs.encode_header(make_header())
    version_at = 12 + 4 + 32 + 7  # preamble, segment size, salt, nonce prefix
    assert struct.unpack(">I", good[version_at : version_at + 4]) == (3,)
    forged = good[:version_at] + struct.pack(">I", 4) + good[version_at + 4 :]
    with pytest.raises(FileFormatError, match="invalid header"):
        fs.read_header(io.BytesIO(forged))


def test_new_header_draws_a_fresh_salt_and_nonce_prefix_each_time() -> None:
    first, second = make_header(), make_header()
    assert first.salt != second.salt
    assert first.nonce_prefix != second.nonce_prefix
    assert (len(first.salt), len(first.nonce_prefix)) == (32, 7)
    assert fs.new_header(key_name="k", key_version=1, wrapped_key="egide:v1:dw==").segment_size == (
        fs.DEFAULT_SEGMENT_SIZE
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"key_name": ""},
        {"key_name": "evil\x1b[2J"},
        {"key_name": "x" * (fs.MAX_KEY_NAME_BYTES + 1)},
        {"key_version": 0},
        {"key_version": True},
        {"key_version": 2**32},
        {"wrapped_key": ""},
        {"wrapped_key": "egide:v3: spaces"},
        {"wrapped_key": "égide"},
        {"segment_size": fs.MIN_SEGMENT_SIZE - 1},
        {"segment_size": fs.MAX_SEGMENT_SIZE + 1},
        {"salt": bytes(31)},
        {"salt": bytearray(32)},
        {"nonce_prefix": bytes(8)},
    ],
)
def test_a_header_refuses_invalid_fields(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must be"):
        make_header(**changes)


def test_new_header_refuses_a_key_version_that_contradicts_the_token() -> None:
    with pytest.raises(ValueError, match="key_version"):
        fs.new_header(key_name="k", key_version=2, wrapped_key="egide:v3:AAAA")


def test_it_refuses_a_data_key_that_is_not_32_bytes() -> None:
    for key in (b"", bytes(16), bytes(33)):
        with pytest.raises(ValueError, match="32 bytes"):
            fs.encrypt_stream(io.BytesIO(b"x"), io.BytesIO(), header=make_header(), data_key=key)
        src = io.BytesIO(encrypt(b"x"))
        header = fs.read_header(src)
        with pytest.raises(ValueError, match="32 bytes"):
            fs.decrypt_stream(src, io.BytesIO(), header=header, data_key=key)


def test_it_refuses_more_segments_than_the_nonce_can_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    three, four = encrypt(bytes(3 * SEG)), encrypt(bytes(4 * SEG))
    monkeypatch.setattr(fs, "MAX_SEGMENT_INDEX", 2)
    assert decrypt(three) == bytes(3 * SEG)  # indices 0..2: still allowed
    with pytest.raises(ValueError, match="2\\*\\*32 segments"):
        encrypt(bytes(4 * SEG))
    assert "2**32 segments" in error_of(four)


# Reading a header that is not right


def test_it_says_when_a_file_is_not_an_egide_file() -> None:
    for blob in (b"", b"PK\x03\x04 a zip file", b"x", os.urandom(200)):
        assert error_of(blob) == "not an Egide encrypted file"


def test_it_says_when_the_header_is_truncated() -> None:
    head, _ = split(encrypt(b"abc"))
    for cut in range(1, len(head)):
        assert error_of(head[:cut]) == "file is truncated"


def test_it_names_an_unsupported_format_version() -> None:
    blob = bytearray(encrypt(b"abc"))
    blob[8:10] = struct.pack(">H", 2)
    assert error_of(bytes(blob)).startswith("unsupported format version 2")


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda body: body + b"\x00", id="trailing-byte-in-body"),
        pytest.param(lambda body: body[:-1], id="field-runs-past-body"),
        pytest.param(lambda body: body[:51] + b"\x00\x00" + body[53:], id="empty-key-name"),
        pytest.param(lambda body: body[:53] + b"\xff" + body[54:], id="key-name-not-utf8"),
        pytest.param(lambda body: b"\xff\xff\xff\xff" + body[4:], id="segment-size-too-big"),
        pytest.param(lambda body: body[:47] + bytes(4) + body[51:], id="key-version-zero"),
        pytest.param(lambda body: bytes(10), id="body-too-short"),
    ],
)
def test_it_refuses_a_malformed_header_body(mangle: Callable[[bytes], bytes]) -> None:
    head, _ = split(encrypt(b"abc"))
    body = mangle(head[12:])
    blob = head[:10] + struct.pack(">H", len(body)) + body
    with pytest.raises(FileFormatError):
        fs.read_header(io.BytesIO(blob))


def test_it_refuses_a_header_length_over_the_limit_without_reading_it() -> None:
    blob = fs.MAGIC + struct.pack(">HH", 1, 0xFFFF) + bytes(0xFFFF)
    src = io.BytesIO(blob)
    with pytest.raises(FileFormatError):
        fs.read_header(src)
    assert src.tell() == 12
    assert fs.MAX_HEADER_SIZE <= 64 * 1024


# Tampering with segments


def test_truncation_at_every_segment_boundary_says_the_file_is_truncated() -> None:
    for plaintext in (bytes(3 * SEG), bytes(3 * SEG + 5)):
        head, segments = split(encrypt(plaintext))
        for kept in range(len(segments)):
            assert error_of(head + b"".join(segments[:kept])) == "file is truncated"


def test_truncation_anywhere_is_detected() -> None:
    blob = encrypt(os.urandom(4 * SEG + 9))
    for cut in range(len(blob)):
        with pytest.raises(FileFormatError):
            decrypt(blob[:cut])


@pytest.mark.parametrize("dropped", [0, 1, 2, 3])
def test_dropping_a_segment_is_detected(dropped: int) -> None:
    head, segments = split(encrypt(os.urandom(3 * SEG + 9)))
    del segments[dropped]
    with pytest.raises(FileFormatError):
        decrypt(head + b"".join(segments))


def test_swapping_two_segments_is_detected() -> None:
    head, segments = split(encrypt(os.urandom(4 * SEG)))
    segments[1], segments[2] = segments[2], segments[1]
    assert "segment 1 failed authentication" in error_of(head + b"".join(segments))


def test_swapping_the_final_segment_inward_is_detected() -> None:
    head, segments = split(encrypt(os.urandom(3 * SEG)))  # all segments full-size
    segments[1], segments[2] = segments[2], segments[1]
    with pytest.raises(FileFormatError):
        decrypt(head + b"".join(segments))


@pytest.mark.parametrize("duplicated", [0, 1, 2])
def test_duplicating_a_segment_is_detected(duplicated: int) -> None:
    head, segments = split(encrypt(os.urandom(2 * SEG + 9)))
    segments.insert(duplicated, segments[duplicated])
    with pytest.raises(FileFormatError):
        decrypt(head + b"".join(segments))


def test_data_after_a_full_final_segment_is_named() -> None:
    blob = encrypt(os.urandom(2 * SEG))
    for extra in (b"\x00", os.urandom(SEG + TAG), blob[-(SEG + TAG) :]):
        assert error_of(blob + extra) == "unexpected data after the final segment"


def test_data_after_a_short_final_segment_is_detected() -> None:
    blob = encrypt(os.urandom(2 * SEG + 9))
    for extra in (b"\x00", os.urandom(SEG), os.urandom(5 * SEG)):
        with pytest.raises(FileFormatError):
            decrypt(blob + extra)


def test_a_flipped_byte_anywhere_is_detected_header_included() -> None:
    blob = encrypt(os.urandom(2 * SEG + 9))
    for position in range(len(blob)):
        for mask in (0x01, 0x80):
            mangled = bytearray(blob)
            mangled[position] ^= mask
            with pytest.raises(FileFormatError):
                decrypt(bytes(mangled))


def test_a_wrong_data_key_fails_on_the_first_segment() -> None:
    message = error_of(encrypt(b"secret"), key=OTHER_KEY)
    assert message == "file was modified or is corrupt (segment 0 failed authentication)"


@pytest.mark.parametrize(
    "changes",
    [
        {"key_name": "files-prod-other"},
        {"key_version": 4, "wrapped_key": "egide:v4:c29tZSB3cmFwcGVkIGtleQ=="},
        {"wrapped_key": "egide:v3:b3RoZXIgd3JhcHBlZCBrZXk="},
        {"segment_size": SEG + 1},
        {"salt": bytes(32)},
        {"nonce_prefix": bytes(7)},
    ],
)
def test_any_header_field_change_breaks_decryption(changes: dict[str, object]) -> None:
    blob = encrypt(os.urandom(SEG + 9))
    header = written_header(blob)
    rewritten = fs.encode_header(dataclasses.replace(header, **changes))
    body = blob[len(fs.encode_header(header)) :]
    with pytest.raises(FileFormatError):
        decrypt(rewritten + body)  # the header on disk was rewritten
    with pytest.raises(FileFormatError):  # the caller passes another header
        fs.decrypt_stream(
            io.BytesIO(body),
            io.BytesIO(),
            header=dataclasses.replace(header, **changes),
            data_key=KEY,
        )


def test_the_error_has_the_invalid_ciphertext_code() -> None:
    with pytest.raises(FileFormatError) as caught:
        decrypt(b"nope")
    assert caught.value.code == "invalid_ciphertext"
    assert caught.value.message == "not an Egide encrypted file"


# Writing to a path


def test_decrypt_to_path_writes_a_private_file(tmp_path: Path) -> None:
    plaintext = os.urandom(3 * SEG + 1)
    src = io.BytesIO(encrypt(plaintext))
    header = fs.read_header(src)
    dest = tmp_path / "out.txt"
    dest.write_bytes(b"old content")
    assert fs.decrypt_to_path(src, dest, header=header, data_key=KEY) == len(plaintext)
    assert dest.read_bytes() == plaintext
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["out.txt"]


def test_a_failed_decrypt_to_path_leaves_no_file_behind(tmp_path: Path) -> None:
    head, segments = split(encrypt(os.urandom(4 * SEG)))
    del segments[2]  # two verified segments get written before the failure
    src = io.BytesIO(head + b"".join(segments))
    header = fs.read_header(src)
    with pytest.raises(FileFormatError):
        fs.decrypt_to_path(src, str(tmp_path / "out.txt"), header=header, data_key=KEY)
    assert os.listdir(tmp_path) == []


def test_a_failed_decrypt_to_path_leaves_an_existing_file_untouched(tmp_path: Path) -> None:
    src = io.BytesIO(encrypt(b"abc"))
    header = fs.read_header(src)
    dest = tmp_path / "out.txt"
    dest.write_bytes(b"keep me")
    with pytest.raises(FileFormatError):
        fs.decrypt_to_path(src, dest, header=header, data_key=OTHER_KEY)
    assert dest.read_bytes() == b"keep me"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_an_interrupted_encrypt_to_path_leaves_no_file_behind(tmp_path: Path) -> None:
    def cancel(done: int) -> None:
        if done > SEG:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fs.encrypt_to_path(
            io.BytesIO(bytes(5 * SEG)),
            tmp_path / "out.egide",
            header=make_header(),
            data_key=KEY,
            progress=cancel,
        )
    assert os.listdir(tmp_path) == []


def test_encrypt_to_path_round_trips(tmp_path: Path) -> None:
    plaintext = os.urandom(2 * SEG + 3)
    dest = tmp_path / "out.egide"
    fs.encrypt_to_path(io.BytesIO(plaintext), dest, header=make_header(), data_key=KEY)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert decrypt(dest.read_bytes()) == plaintext


# Properties


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plaintext=st.binary(max_size=700),
    segment_size=st.integers(fs.MIN_SEGMENT_SIZE, 150),
    data=st.data(),
)
def test_any_plaintext_round_trips_and_any_flipped_byte_is_detected(
    plaintext: bytes, segment_size: int, data: st.DataObject
) -> None:
    blob = encrypt(plaintext, segment_size)
    assert decrypt(blob) == plaintext
    position = data.draw(st.integers(0, len(blob) - 1), label="position")
    mask = data.draw(st.integers(1, 255), label="mask")
    mangled = bytearray(blob)
    mangled[position] ^= mask
    with pytest.raises(FileFormatError):
        decrypt(bytes(mangled))
