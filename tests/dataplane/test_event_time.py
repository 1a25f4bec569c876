"""A data-plane event's instant: the text the chain hashes, written cheaply, the same as Django's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from kms.dataplane import pipeline
from kms.services import audit

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NANOS = st.integers(min_value=0, max_value=(datetime(9999, 12, 31, tzinfo=UTC) - EPOCH).days * 86_400 * 10**9)


@settings(max_examples=500, deadline=None)
@given(st.lists(NANOS, min_size=1, max_size=4))
def test_the_events_instant_is_what_timezone_now_would_have_written(moments: list[int]) -> None:
    for ns in sorted(moments) + moments:  # the second's cache hit and missed, in and out of order
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(pipeline.time, "time_ns", lambda ns=ns: ns)
            text = pipeline.now_text()
        assert text == (EPOCH + timedelta(microseconds=ns // 1000)).isoformat(timespec="microseconds")
        assert audit.is_canonical_at(text)  # the shipper hashes it as it is


def test_the_clock_is_the_real_one() -> None:
    before = timezone.now()
    written = datetime.fromisoformat(pipeline.now_text())
    assert before - timedelta(seconds=1) <= written <= timezone.now() + timedelta(seconds=1)


def test_a_replaced_clock_is_the_clock(clock: object) -> None:
    """Every rule reads time through timezone.now (tests/clock.py): so does an event's instant."""
    assert pipeline.now_text() == "2030-01-01T12:00:00.000000+00:00"
