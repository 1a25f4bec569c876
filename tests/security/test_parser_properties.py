"""Property tests (hypothesis) of the parsers that read attacker-chosen bytes.

What tests/crypto already proves is not repeated here (parse_ciphertext on any text,
near-valid tokens, non-text values; a flipped byte anywhere in a valid file). Added:

- signature tokens: any text round-trips or is InvalidSignature, and both token parsers
  accept exactly the same texts;
- bearer tokens: any Authorization header is a user or `unauthenticated`, never another
  exception, through the ORM path (DRF) and the data plane's;
- encrypted files: `read_header` on arbitrary bytes, on arbitrary bodies behind a valid
  preamble, and on mutated valid headers, raises only FileFormatError, and a header it
  accepts is canonical (re-encodes to the bytes read) and is read to its end and no
  further; `decrypt_stream` over arbitrary segment bytes, or with the wrong key, raises
  only FileFormatError and writes nothing.
"""

from __future__ import annotations

import io
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kms.crypto import (
    InvalidCiphertext,
    InvalidSignature,
    format_token,
    parse_ciphertext,
    parse_signature,
)
from kms.crypto import filestream as fs
from kms.crypto.filestream import FileFormatError

FAST = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
WITH_DB = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

NEAR_TOKENS = st.from_regex(r"egide:v[0-9]{0,11}:[A-Za-z0-9+/=]{0,24}", fullmatch=True)


# Built now, at collection, not lazily inside a test: hypothesis imports its regex module on
# first use, through pytest's assertion rewriter (ast.parse). CPython 3.11's ast module is not
# thread-safe ("AST constructor recursion depth mismatch") and background threads that log
# tracebacks (3.11's traceback calls ast.parse for its carets) may be running mid-test.
NEAR_TOKENS.validate()


# --- ciphertext and signature tokens ---------------------------------------------------


def _outcome(parse: Any, error: type[Exception], text: str) -> tuple[int, bytes] | None:
    try:
        return parse(text)
    except error:
        return None


@FAST
@given(st.one_of(st.text(), NEAR_TOKENS))
def test_any_text_is_a_signature_that_round_trips_or_invalid_signature(text: str) -> None:
    parsed = _outcome(parse_signature, InvalidSignature, text)
    if parsed is not None:
        assert format_token(*parsed) == text


@FAST
@given(st.one_of(st.text(), NEAR_TOKENS))
def test_both_token_parsers_accept_exactly_the_same_texts(text: str) -> None:
    assert _outcome(parse_ciphertext, InvalidCiphertext, text) == _outcome(parse_signature, InvalidSignature, text)


# --- bearer tokens ------------------------------------------------------------------------

# What a WSGI server can hand over: header values are latin-1 text.
HEADER_TEXT = st.text(alphabet=st.characters(codec="latin-1"), max_size=300)
HEADERS = st.one_of(
    HEADER_TEXT,
    HEADER_TEXT.map(lambda t: "Bearer " + t),
    HEADER_TEXT.map(lambda t: "Bearer egd_" + t),
    st.from_regex(r"(?i:bearer) +egd_[A-Za-z0-9_\-]{0,60}", fullmatch=True),
)
HEADERS.validate()


@pytest.fixture
def live_token(bob: Any) -> str:
    from kms.services.actor import Actor
    from kms.services.tokens import token_create

    return token_create(actor=Actor.system(), user=bob)[1]


@WITH_DB
@given(header=HEADERS)
def test_any_authorization_header_is_a_user_or_unauthenticated_on_the_orm_path(header: str, live_token: str) -> None:
    from rest_framework.exceptions import AuthenticationFailed
    from rest_framework.test import APIRequestFactory

    from kms.api.auth import BearerTokenAuthentication

    assume(header.strip() != f"Bearer {live_token}")
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=header)
    try:
        result = BearerTokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return
    assert result is None and header == ""


@WITH_DB
@given(header=HEADERS)
def test_any_authorization_header_is_answered_401_json_by_the_data_plane(header: str, live_token: str) -> None:
    from django.core.cache import cache
    from rest_framework.test import APIClient

    assume(header.strip() and header.strip() != f"Bearer {live_token}")
    cache.clear()  # throttles: every example is its own request budget
    response = APIClient().post(
        "/v1/kms/encrypt/k",
        data=b'{"plaintext": "QQ=="}',
        content_type="application/json",
        HTTP_AUTHORIZATION=header,
    )
    assert response.status_code == 401, response.content[:300]
    assert response.json()["error"]["code"] == "unauthenticated"


# --- encrypted files ------------------------------------------------------------------------

KEY = bytes(range(32))
SEGMENT = 32


def _valid_file(plaintext: bytes = b"attack at dawn" * 5) -> tuple[bytes, int]:
    header = fs.new_header(key_name="files", key_version=2, wrapped_key="egide:v2:d3JhcHBlZA==", segment_size=SEGMENT)
    out = io.BytesIO()
    fs.encrypt_stream(io.BytesIO(plaintext), out, header=header, data_key=KEY)
    return out.getvalue(), len(fs.encode_header(header))


VALID_FILE, HEADER_LENGTH = _valid_file()


def _read_header_property(data: bytes) -> None:
    """read_header raises only FileFormatError; what it accepts is canonical and exact."""
    src = io.BytesIO(data)
    try:
        header = fs.read_header(src)
    except FileFormatError as exc:
        assert exc.code == "invalid_ciphertext" and exc.message
        return
    consumed = src.tell()
    assert fs.encode_header(header) == data[:consumed]


@FAST
@given(st.binary(max_size=400))
def test_read_header_of_any_bytes_is_a_canonical_header_or_file_format_error(data: bytes) -> None:
    _read_header_property(data)


@FAST
@given(st.binary(max_size=300), st.integers(0, 2**16 - 1), st.booleans())
def test_read_header_of_any_body_behind_a_valid_preamble(body: bytes, declared: int, honest: bool) -> None:
    length = len(body) if honest else declared
    _read_header_property(fs.MAGIC + struct.pack(">HH", fs.FORMAT_VERSION, length) + body)


@FAST
@given(st.lists(st.tuples(st.integers(0, HEADER_LENGTH - 1), st.integers(0, 255)), min_size=1, max_size=6))
def test_read_header_of_a_mutated_valid_header(changes: list[tuple[int, int]]) -> None:
    data = bytearray(VALID_FILE[:HEADER_LENGTH])
    for at, value in changes:
        data[at] = value
    _read_header_property(bytes(data))


@FAST
@given(st.binary(max_size=200))
def test_decrypt_stream_of_any_segment_bytes_raises_file_format_error_and_writes_nothing(
    body: bytes,
) -> None:
    src = io.BytesIO(VALID_FILE[:HEADER_LENGTH] + body)
    header = fs.read_header(src)
    out = io.BytesIO()
    with pytest.raises(FileFormatError):
        fs.decrypt_stream(src, out, header=header, data_key=KEY)
    assert out.getvalue() == b""


@FAST
@given(st.binary(min_size=32, max_size=32))
def test_decrypt_stream_with_any_other_key_raises_file_format_error_and_writes_nothing(
    key: bytes,
) -> None:
    assume(key != KEY)
    src = io.BytesIO(VALID_FILE)
    header = fs.read_header(src)
    out = io.BytesIO()
    with pytest.raises(FileFormatError):
        fs.decrypt_stream(src, out, header=header, data_key=key)
    assert out.getvalue() == b""
