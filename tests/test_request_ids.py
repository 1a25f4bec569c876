"""Request ids: the id Egide makes is uuid4().hex's form; an offered id is kept only whole."""

from __future__ import annotations

import re
import uuid

from hypothesis import given
from hypothesis import strategies as st

from kms import request_ids

KEPT = re.compile(r"[A-Za-z0-9._-]{8,64}")


def test_a_new_id_is_a_version_4_uuid_in_hex():
    for _ in range(2000):
        made = request_ids.new()
        parsed = uuid.UUID(hex=made)
        assert parsed.hex == made and len(made) == 32
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_new_ids_differ():
    assert len({request_ids.new() for _ in range(10_000)}) == 10_000


@given(st.text(alphabet=st.sampled_from("abcXYZ019._- \n\t<>/é\x00"), max_size=80))
def test_an_offered_id_is_kept_exactly_when_it_is_all_allowed_characters(offered):
    got = request_ids.of(offered)
    if KEPT.fullmatch(offered):
        assert got == offered
    else:
        assert got != offered and uuid.UUID(hex=got).version == 4


def test_a_trailing_newline_is_not_kept():
    """`re.match("^...$")` let "abcdefgh\\n" through ($ matches before a final newline)."""
    assert request_ids.of("abcdefgh\n") != "abcdefgh\n"
    assert request_ids.of("abcdefgh") == "abcdefgh"
