"""kms.jsontext.loads answers as json.loads does, for any text."""

from __future__ import annotations

import json
import math

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kms import jsontext

VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80), st.text(),
              st.floats(allow_nan=False)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)),
    max_leaves=10,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_any_json_the_stdlib_writes_reads_back_the_same(value: object) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
        assert jsontext.loads(text.encode()) == json.loads(text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.from_regex(r"-?[0-9]{1,30}(\.[0-9]+)?", fullmatch=True)))
def test_any_text_is_read_or_refused_as_the_stdlib_does(text: str) -> None:
    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            jsontext.loads(text.encode())
        return
    got = jsontext.loads(text.encode())
    assert got == expected or (isinstance(got, float) and math.isnan(got) and math.isnan(expected))


def test_what_only_the_stdlib_takes_is_still_read() -> None:
    assert math.isnan(jsontext.loads(b'{"a": NaN}')["a"])
    assert jsontext.loads(b'"\\ud800"') == "\ud800"
    assert jsontext.loads(str(2**70).encode()) == 2**70


def test_a_long_integer_is_kept_whole_as_the_stdlib_keeps_it() -> None:
    for text in ("-9223372036854775809", "[18446744073709551616]", '{"k": 99999999999999999999}'):
        assert jsontext.loads(text.encode()) == json.loads(text)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_what_orjson_writes_it_reads_back_as_the_stdlib_would(value: object) -> None:
    try:
        raw = orjson.dumps(value)
    except TypeError:  # an integer past 64 bits: orjson writes none, so it reads none back
        return
    assert jsontext.loads_written_by_orjson(raw) == json.loads(raw)
