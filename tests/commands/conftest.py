"""A controlled clock for commands, which read the time themselves (no sleeping)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone


class Clock:
    """Stands in for django.utils.timezone.now: the time only moves when told to."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock(timezone.now())
    monkeypatch.setattr(timezone, "now", fake)
    return fake
