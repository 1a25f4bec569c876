"""The bytes the audit chain's HMAC covers never change with the JSON library.

Every chain ever written was hashed over `json.dumps(sort_keys=True, separators=(",", ":"),
default=str)`; the shipper now prints with orjson where the two agree. These properties
hold the fast path to the stdlib's bytes for any content, and the details column to data
that reads back the same.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kms.services import audit
from kms.services import audit_spool as spool
from kms.services.audit import canonical_json, details_json

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=()), max_size=30)  # any code point but surrogates
ANY_TEXT = st.one_of(TEXT, st.text(max_size=30))  # with lone surrogates too
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), ANY_TEXT,
)  # fmt: skip
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(ANY_TEXT, inner, max_size=4)),
    max_leaves=12,
)


def _stdlib(content: Any) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(["seq", "at", "actor_name", "key_uid", "details", "x"]), JSONISH))
def test_the_canonical_bytes_are_the_stdlibs_for_any_content(content: dict[str, Any]) -> None:
    assert canonical_json(content) == _stdlib(content)


class Colour(Enum):
    RED = "red"


def test_types_the_two_libraries_print_differently_take_the_stdlib_road() -> None:
    for odd in (1.0, 1e16, 0.1, Colour.RED, uuid.UUID(int=7), datetime(2026, 1, 1, tzinfo=UTC), {1: "a"},
                "é", "\u2028", 2**64, -(2**63) - 1, (1, 2), {"k": [0.5]}):  # fmt: skip
        content = {"details": odd, "seq": 1}
        assert canonical_json(content) == _stdlib(content), odd


def test_a_typical_event_takes_the_fast_road_and_hashes_as_before() -> None:
    content = {"seq": 3, "at": "2026-11-30T00:34:42.982074+00:00", "actor_id": 1, "actor_name": "bench",
               "auth_method": "token", "token_id": "1", "source": "api", "action": "encrypt", "key_name": "ship",
               "key_uid": "8c97ebfb-135b-4cf8-8926-261cff8780b6", "key_version": 1, "outcome": "success",
               "error_code": "", "request_id": "1b5ec44f", "client_addr": "127.0.0.1",
               "details": {"items": 1, "failed": 0, "bytes": 64, "superuser": True}}  # fmt: skip
    assert canonical_json(content) == _stdlib(content)


@settings(max_examples=300, deadline=None)
@given(JSONISH)
def test_the_details_column_reads_back_as_the_same_data(details: Any) -> None:
    assert json.loads(details_json(details)) == json.loads(json.dumps(details, default=str))


def _sanitize_row_column_by_column(row: dict[str, Any]) -> dict[str, Any]:
    """sanitize_row as it was written before its one-pass common case: the reference."""
    from kms.services.audit import _TEXT_COLUMNS, clean_text, sanitize

    for name, limit in _TEXT_COLUMNS.items():
        text = row.get(name)
        if isinstance(text, str) and (len(text) > limit or not text.isprintable()):
            text = clean_text(text, limit)
            row[name] = text if len(text) <= limit else text[:limit]
    row["details"] = sanitize(row.get("details") or {})
    return row


COLUMN_TEXT = st.one_of(ANY_TEXT, st.text(max_size=200), st.none(), st.integers(), st.just(""))


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(["actor_name", "auth_method", "token_id", "source", "action", "key_name",
                                        "key_uid", "outcome", "error_code", "request_id", "client_addr"]),
                       COLUMN_TEXT), JSONISH)  # fmt: skip
def test_sanitize_row_fast_path_changes_nothing(columns, details):
    """The shipper's one-pass check (kms.services.audit.sanitize_row) sanitizes a row exactly
    as the column-by-column rule does: long, unprintable, surrogate and non-text columns too."""
    from kms.services.audit import sanitize_row

    row = {**columns, "details": details}
    assert sanitize_row(dict(row)) == _sanitize_row_column_by_column(dict(row))


# --- an instant's text, as the spool line carries it ------------------------------------------

INSTANTS = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
)  # fmt: skip


def _event(at: datetime, text: str) -> dict[str, Any]:
    row = spool.row_of({"at": text, "action": "encrypt", "actor_name": "bench", "details": {"items": 1}})
    row["seq"] = 1
    assert row["at"] == at
    return row


@settings(max_examples=300, deadline=None)
@given(INSTANTS, st.sampled_from(["T", " "]), st.sampled_from(["microseconds", "auto", "seconds"]))
def test_an_instant_hashes_the_same_whatever_text_the_spool_line_carried(at: datetime, sep: str, spec: str) -> None:
    """The shipper hashes (and COPYs) the line's own text only when it is already the chain's
    form; any other spelling of the instant is formatted as before: the same bytes either way."""
    text = at.isoformat(sep=sep, timespec=spec)
    row = _event(datetime.fromisoformat(text), text)
    formatted = {name: value for name, value in row.items() if name != audit.AT_TEXT}
    assert audit.canonical(row) == audit.canonical(formatted)
    chain_form = at.astimezone(UTC).isoformat(timespec="microseconds")
    assert (audit.AT_TEXT in row) == (text == chain_form)


def test_a_week_date_of_the_same_length_is_not_taken_for_the_chains_form() -> None:
    text = "2026-W48-1T09:40:00.123456+00:00"  # 32 characters, read by fromisoformat, not the chain's form
    row = _event(datetime.fromisoformat(text), text)
    assert audit.AT_TEXT not in row
    assert b'"at":"2026-11-23T09:40:00.123456+00:00"' in audit.canonical(row)


# --- sanitize: a flat, clean `details` is kept as it is --------------------------------------

FLAT = st.dictionaries(
    ANY_TEXT,
    st.one_of(st.none(), st.booleans(), st.integers(), ANY_TEXT, st.floats(), st.lists(st.integers())),
    max_size=6,
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(FLAT, JSONISH, st.dictionaries(ANY_TEXT, FLAT, max_size=3)))
def test_sanitize_answers_the_same_with_or_without_its_shortcut(value: Any) -> None:
    fast = audit.sanitize(value)
    real = audit._flat_and_clean
    audit._flat_and_clean = lambda _value: False  # the general road only
    try:
        slow = audit.sanitize(value)
    finally:
        audit._flat_and_clean = real
    assert fast == slow
    assert _stdlib(fast) == _stdlib(slow)  # the same bytes in the chain: same types, same order


def test_a_del_character_is_escaped_as_the_stdlib_escapes_it() -> None:
    """Found by the property above: orjson writes DEL (0x7f) raw, the stdlib as \\u007f."""
    for content in ({"seq": {"\x7f": None}}, {"details": "a\x7fb"}, {"x": ["\x7f"]}):
        assert canonical_json(content) == _stdlib(content)
