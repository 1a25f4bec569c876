"""A small bar chart as plain geometry, drawn as inline SVG by `_partials/_ops_chart.html`.

Server-side, no chart framework and no script: the template places the rectangles computed
here. Each bar carries its own <title> (a tooltip and an accessible name), and the chart a
text summary, so the numbers are readable without seeing the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

from kms.services.audit_log import DayCount

WIDTH, HEIGHT = 600, 140
TOP, BOTTOM, LEFT, RIGHT = 10, 20, 36, 6  # margins: room for the scale and the dates
GAP = 2


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    ok_y: float
    ok_height: float
    failed_y: float
    failed_height: float
    label: str  # e.g. "2030-01-05: 12 operations (1 failed)"


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[Tick]
    first_label: str
    last_label: str
    baseline: float
    left: int
    right_edge: int
    total: int
    failed: int
    peak: int


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^n that is at least `value` (a readable scale top)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _label(day: DayCount) -> str:
    failed = f" ({day.failed} failed)" if day.failed else ""
    plural = "" if day.total == 1 else "s"
    return f"{day.day.isoformat()}: {day.total} operation{plural}{failed}"


def bar_chart(days: list[DayCount]) -> BarChart:
    peak = max((d.total for d in days), default=0)
    top = _nice_ceiling(max(peak, 1))
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    baseline = TOP + plot_h
    bars = []
    for i, day in enumerate(days):
        ok_h = plot_h * day.ok / top
        failed_h = plot_h * day.failed / top
        x = LEFT + i * slot + GAP / 2
        bars.append(Bar(
            x=round(x, 2), width=round(slot - GAP, 2),
            ok_y=round(baseline - ok_h, 2), ok_height=round(ok_h, 2),
            failed_y=round(baseline - ok_h - failed_h, 2), failed_height=round(failed_h, 2),
            label=_label(day),
        ))  # fmt: skip
    values = [0, top // 2, top] if top % 2 == 0 else [0, top]  # a middle line only if whole
    ticks = [Tick(y=round(baseline - plot_h * v / top, 2), value=v) for v in values]
    return BarChart(
        width=WIDTH, height=HEIGHT, bars=bars, ticks=ticks,
        first_label=days[0].day.strftime("%b %d") if days else "",
        last_label=days[-1].day.strftime("%b %d") if days else "",
        baseline=baseline, left=LEFT, right_edge=WIDTH - RIGHT,
        total=sum(d.total for d in days), failed=sum(d.failed for d in days), peak=peak,
    )  # fmt: skip
