"""The dashboard's charts as geometry: numbers in, boxes and polylines out, drawn as inline
SVG by the templates (`templates/charts.html`). No script, no network: a page with
JavaScript off shows the same chart, and each chart has a table of its numbers beside it
for screen readers and for reading exact values.

Written by hand: a bar chart and a line chart over at most a few hundred points are a few
lines of arithmetic; a plotting library would bring a browser bundle or an image renderer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Bar", "BarChart", "Line", "LineChart", "bar_chart", "line_chart"]

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 28, 12, 34  # room for the axes' labels


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str
    css: str  # a class naming its colour


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    y_ticks: list[Tick]
    baseline: float


@dataclass(frozen=True)
class Line:
    name: str
    css: str
    points: str  # SVG polyline points: "x,y x,y …"
    dots: list[tuple[float, float, int]]  # x, y, value


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    lines: list[Line]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    bands: list[tuple[float, float, str]]  # y, height, css: the status bands behind a score


def _nice_max(value: int) -> int:
    """The least 1, 2 or 5 times a power of ten at or above `value`: an axis that reads well."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _y_ticks(top: int, plot_height: float) -> list[Tick]:
    return [Tick(TOP + plot_height - plot_height * k / 4, f"{top * k // 4:,}") for k in range(5)]


def bar_chart(values: Sequence[int], labels: Sequence[str], classes: Sequence[str]) -> BarChart:
    """One bar per value, left to right."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max(values, default=0))
    slot = plot_w / max(1, len(values))
    bars = []
    for i, (value, label, css) in enumerate(zip(values, labels, classes, strict=True)):
        h = plot_h * value / top
        bars.append(
            Bar(LEFT + i * slot + slot * 0.1, TOP + plot_h - h, slot * 0.8, h, value, label, css)
        )
    return BarChart(WIDTH, HEIGHT, bars, _y_ticks(top, plot_h), TOP + plot_h)


def line_chart(
    series: Mapping[str, Sequence[int]],
    x_labels: Sequence[str],
    classes: Mapping[str, str],
    *,
    y_max: int | None = None,
    bands: Sequence[tuple[int, int, str]] = (),
) -> LineChart:
    """One line per series over the same x positions. `y_max` fixes the axis (scores:
    100); `bands` shade value ranges (low, high, css) behind the lines."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = y_max or _nice_max(max((max(v, default=0) for v in series.values()), default=0))
    n = len(x_labels)

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y(v: float) -> float:
        return TOP + plot_h - plot_h * min(v, top) / top

    lines = []
    for name, values in series.items():
        dots = [(round(x(i), 1), round(y(v), 1), v) for i, v in enumerate(values)]
        points = " ".join(f"{px},{py}" for px, py, _ in dots)
        lines.append(Line(name, classes.get(name, ""), points, dots))
    every = max(1, (n + 5) // 6)  # at most ~6 labels under the axis
    x_ticks = [Tick(x(i), label) for i, label in enumerate(x_labels) if i % every == 0]
    shaded = [(y(high), y(low) - y(high), css) for low, high, css in bands]
    return LineChart(WIDTH, HEIGHT, lines, x_ticks, _y_ticks(top, plot_h), shaded)
