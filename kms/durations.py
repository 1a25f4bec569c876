"""Durations as people write them: "90d", "12h", "30m", "1w" (rotation periods, TTLs).

Pure: no Django. The services, the API's serializers, the pages' forms and the Transit
dialect read and write periods through these two functions.
"""

from __future__ import annotations

import re
from datetime import timedelta

from kms.exceptions import InvalidRequest

_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1),
          "m": timedelta(minutes=1), "s": timedelta(seconds=1)}  # fmt: skip
_DURATION = re.compile(r"([1-9][0-9]{0,8})([wdhms])")
DURATION_RULE = "a whole number and a unit: w, d, h, m or s (e.g. 90d, 12h, 1w)"


def parse_duration(text: object) -> timedelta:
    """'90d' -> timedelta(days=90). Strict: one positive whole number and one lowercase unit,
    nothing around them. Anything else is InvalidRequest, with a message saying the form.

    Range (e.g. the 1h minimum of a rotation period) is the caller's rule, not checked here.
    """
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidRequest(f"invalid duration {str(text)[:20]!r}: {DURATION_RULE}")
    number, unit = match.groups()
    try:
        return int(number) * _UNITS[unit]
    except OverflowError:
        raise InvalidRequest(f"duration {text!r} is too long") from None


def format_duration(period: timedelta) -> str:
    """timedelta(days=90) -> '90d': the largest of d, h, m, s that divides it exactly, so
    `parse_duration(format_duration(p)) == p` for whole seconds up to 31 years (a fraction
    of a second is rounded away). Days are preferred to weeks (14d, not 2w), as people write
    rotation periods. ValueError only for a period under half a second (never stored)."""
    seconds = round(period.total_seconds())
    if seconds <= 0:
        raise ValueError(f"not a positive duration: {period!r}")
    for unit in "dhm":
        size = int(_UNITS[unit].total_seconds())
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
