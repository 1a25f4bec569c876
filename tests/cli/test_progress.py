"""The progress bar: drawn on a terminal only, finished or erased cleanly."""

from __future__ import annotations

import io

import pytest

from kms.cli.progress import human, progress


def test_it_draws_a_bar_and_ends_the_line():
    stream = io.StringIO()
    with progress("encrypting big.iso", 4 * 1024**2, stream, enabled=True) as shown:
        shown(1024**2)
        shown(4 * 1024**2)
    text = stream.getvalue()
    assert "encrypting big.iso [" in text and "100%" in text and "4.0 MiB / 4.0 MiB" in text
    assert text.endswith("\n") and "MB/s" in text


def test_it_is_erased_when_the_operation_fails():
    stream = io.StringIO()
    with pytest.raises(ValueError), progress("x", 10, stream, enabled=True) as shown:
        shown(5)
        raise ValueError("boom")
    assert stream.getvalue().endswith("\r\x1b[K")


def test_nothing_is_drawn_when_not_a_terminal():
    stream = io.StringIO()
    with progress("x", 10, stream, enabled=False) as shown:
        assert shown is None
    assert stream.getvalue() == ""


def test_sizes_read_like_a_person_wrote_them():
    assert [human(n) for n in (900, 1536, 12 * 1024**2, 2 * 1024**3)] == [
        "900 B", "1.5 KiB", "12.0 MiB", "2.0 GiB",
    ]  # fmt: skip
