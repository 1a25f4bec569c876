"""Ciphertext and signature tokens: egide:v<version>:<standard base64>."""

from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kms.crypto import (
    InvalidCiphertext,
    InvalidSignature,
    format_token,
    parse_ciphertext,
    parse_signature,
)
from kms.crypto.tokens import MAX_TOKEN_LENGTH

MARKER = "S3CRETMARK"

MALFORMED = {
    "none": None,
    "bytes": b"egide:v1:AAAA",
    "int": 1,
    "list": ["egide:v1:AAAA"],
    "empty": "",
    "prefix only": "egide:v",
    "no version": "egide:v:AAAA",
    "no colon after version": "egide:v1AAAA",
    "missing body": "egide:v1:",
    "upper-case prefix": "EGIDE:v1:AAAA",
    "other prefix": "vault:v1:AAAA",
    "leading space": " egide:v1:AAAA",
    "trailing newline": "egide:v1:AAAA\n",
    "embedded newline": "egide:v1:AA\nAA",
    "space in body": "egide:v1:AA AA",
    "version zero": "egide:v0:AAAA",
    "leading zero": "egide:v01:AAAA",
    "plus sign": "egide:v+1:AAAA",
    "minus sign": "egide:v-1:AAAA",
    "space in version": "egide:v 1:AAAA",
    "arabic-indic digit": "egide:v\u0661:AAAA",
    "superscript digit": "egide:v\u00b2:AAAA",
    "fullwidth digit": "egide:v\uff11:AAAA",
    "version too big": "egide:v2147483648:AAAA",
    "version far too big": "egide:v99999999999999999999:AAAA",
    "hex version": "egide:v0x1:AAAA",
    "missing padding": "egide:v1:QQ",
    "too much padding": "egide:v1:QQ===",
    "non-canonical trailing bits": "egide:v1:QR==",
    "urlsafe alphabet": "egide:v1:-_-_",
    "second colon": "egide:v1:AAAA:AAAA",
    "non-ascii body": "egide:v1:AAA\u00e9",
    "lone surrogate": "egide:v1:AAA\ud800",
    "nul byte": "egide:v1:AAAA\x00",
    "marker in body": f"egide:v1:{MARKER}!",
    "marker in version": f"egide:v{MARKER}:AAAA",
}


@pytest.mark.parametrize("token", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_ciphertext_token_is_refused_with_invalid_ciphertext(token: object) -> None:
    with pytest.raises(InvalidCiphertext) as caught:
        parse_ciphertext(token)
    assert MARKER not in str(caught.value)


@pytest.mark.parametrize("token", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_signature_token_is_refused_with_invalid_signature(token: object) -> None:
    with pytest.raises(InvalidSignature) as caught:
        parse_signature(token)
    assert MARKER not in str(caught.value)


def test_a_token_over_one_mebibyte_is_refused_before_decoding() -> None:
    token = "egide:v1:" + "A" * (MAX_TOKEN_LENGTH + 4)
    with pytest.raises(InvalidCiphertext, match="longer than"):
        parse_ciphertext(token)


def test_a_token_round_trips_through_format_and_parse() -> None:
    token = format_token(42, b"\x00\xffhello")
    assert token == "egide:v42:AP9oZWxsbw=="  # noqa: S105
    assert parse_ciphertext(token) == (42, b"\x00\xffhello")
    assert parse_signature(token) == (42, b"\x00\xffhello")


def test_the_largest_version_is_accepted() -> None:
    assert parse_ciphertext("egide:v2147483647:AA==") == (2**31 - 1, b"\x00")


@pytest.mark.parametrize("version", [0, -1, 2**31, True, "1", 1.0])
def test_format_token_refuses_a_version_outside_1_to_2_31_minus_1(version: object) -> None:
    with pytest.raises(ValueError, match="version"):
        format_token(version, b"x")  # type: ignore[arg-type]


@pytest.mark.parametrize("blob", [b"", "text", None, bytearray(b"x")])
def test_format_token_refuses_an_empty_or_non_bytes_blob(blob: object) -> None:
    with pytest.raises(ValueError, match="blob"):
        format_token(1, blob)  # type: ignore[arg-type]


def _round_trips_or_refuses(text: str) -> None:
    try:
        version, blob = parse_ciphertext(text)
    except InvalidCiphertext:
        return
    assert format_token(version, blob) == text


@settings(max_examples=400, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_any_text_either_parses_and_round_trips_or_is_refused(text: str) -> None:
    _round_trips_or_refuses(text)


@settings(max_examples=400, database=None)
@given(st.from_regex(r"egide:v[0-9+\- ]{0,12}:[A-Za-z0-9+/=\-_\n ]{0,16}", fullmatch=True))
def test_near_valid_tokens_either_round_trip_or_are_refused(text: str) -> None:
    _round_trips_or_refuses(text)


@settings(max_examples=200, database=None)
@given(st.integers(min_value=1, max_value=2**31 - 1), st.binary(min_size=1, max_size=64))
def test_every_formatted_token_parses_back_to_its_version_and_blob(version: int, blob: bytes) -> None:
    token = format_token(version, blob)
    assert parse_ciphertext(token) == (version, blob)
    assert token == f"egide:v{version}:{base64.b64encode(blob).decode()}"


@settings(max_examples=100, database=None)
@given(st.one_of(st.none(), st.binary(), st.integers(), st.floats(), st.lists(st.text())))
def test_any_non_text_input_is_refused_with_the_typed_error(value: object) -> None:
    with pytest.raises(InvalidCiphertext):
        parse_ciphertext(value)
    with pytest.raises(InvalidSignature):
        parse_signature(value)
