"""A clock the tests set and move: time is controlled, never slept on.

    @pytest.fixture
    def clock(monkeypatch):
        return install_clock(monkeypatch)

    def test_something(clock):
        clock.advance(days=30)

It replaces `django.utils.timezone.now`, which every service, `auto_now` field
and default in Egide reads through the module (never `from ... import now`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime = START) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


def install_clock(monkeypatch, start: datetime = START) -> Clock:  # noqa: ANN001
    from django.utils import timezone

    clock = Clock(start)
    monkeypatch.setattr(timezone, "now", clock)
    return clock
