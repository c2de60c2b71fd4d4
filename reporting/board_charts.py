"""Server-rendered SVG charts: a weekly line and weekly stacked bars.

No chart library: the page stays script-free (the CSP allows only our own
scripts) and legible in any browser, and each chart sits beside its table and
CSV export, which carry the exact numbers. Output is escaped with format_html.
"""

from __future__ import annotations

import math
from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH = 560
HEIGHT = 230
LEFT = 46
RIGHT = 14
TOP = 14
BOTTOM = 38
# Colour-blind safe (Okabe-Ito), in the order categories are drawn.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


def _plot_width() -> int:
    return WIDTH - LEFT - RIGHT


def _plot_height() -> int:
    return HEIGHT - TOP - BOTTOM


def _nice_max(value: float) -> float:
    """Four gridline steps of 1, 2 or 5 x 10^k reaching the largest value, so
    counts get whole-number ticks (4, 8, 20, 40, ...)."""
    if value <= 0:
        return 4
    magnitude = 10 ** math.floor(math.log10(value / 4)) if value >= 4 else 1
    for multiple in (1, 2, 5, 10):
        if value <= 4 * multiple * magnitude:
            return 4 * multiple * magnitude
    return value


def _y(value: float, y_max: float) -> float:
    return TOP + _plot_height() * (1 - value / y_max)


def _axes(labels: list[date], y_max: float, y_label: str, intervals: int = 4) -> SafeString:
    ticks = [y_max * i / intervals for i in range(intervals + 1)]
    grid = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" class="grid"/>'
        '<text x="{}" y="{}" class="tick" text-anchor="end">{}</text>',
        (
            (
                LEFT,
                WIDTH - RIGHT,
                f"{_y(t, y_max):.1f}",
                f"{_y(t, y_max):.1f}",
                LEFT - 6,
                f"{_y(t, y_max) + 4:.1f}",
                f"{t:g}",
            )
            for t in ticks
        ),
    )
    # Label at most ~8 weeks so the dates never overlap at this width.
    every = max(1, -(-len(labels) // 8))
    step = _plot_width() / max(len(labels), 1)
    x_labels = format_html_join(
        "",
        '<text x="{}" y="{}" class="tick" text-anchor="middle">{}</text>',
        (
            (f"{LEFT + step * (i + 0.5):.1f}", HEIGHT - BOTTOM + 16, label.strftime("%d %b"))
            for i, label in enumerate(labels)
            if i % every == 0
        ),
    )
    return format_html(
        '{}{}<text x="{}" y="{}" class="axis-label">{}</text>',
        grid,
        x_labels,
        LEFT,
        HEIGHT - 4,
        f"week starting · {y_label}",
    )


def _svg(body: SafeString, title: str) -> SafeString:
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img" '
        'aria-label="{}"><title>{}</title>{}</svg>',
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        title,
        title,
        body,
    )


def line_chart(
    points: list[tuple[date, float | None]],
    *,
    y_label: str,
    y_max: float | None = None,
    intervals: int = 4,
    partial: frozenset[date] | set[date] = frozenset(),
    empty: str = "No data in this range yet.",
) -> SafeString:
    """One weekly series; weeks without a value (nothing to measure) break the line.
    A partial week's point is drawn hollow and not joined to the line."""
    values = [value for _, value in points if value is not None]
    if not values:
        return format_html('<p class="muted chart-empty">{}</p>', empty)
    top = y_max or _nice_max(max(values, default=1))
    step = _plot_width() / len(points)
    segments: list[list[tuple[float, float]]] = [[]]
    dots = []
    for i, (week, value) in enumerate(points):
        is_partial = week in partial
        if value is None or is_partial:
            segments.append([])
            if value is None:
                continue
        xy = (LEFT + step * (i + 0.5), _y(value, top))
        if not is_partial:
            segments[-1].append(xy)
        dots.append(
            (
                f"{xy[0]:.1f}",
                f"{xy[1]:.1f}",
                "dot partial" if is_partial else "dot",
                f"{value:g}" + (" (partial week)" if is_partial else ""),
            )
        )
    lines = format_html_join(
        "",
        '<polyline points="{}" class="series"/>',
        (
            (" ".join(f"{x:.1f},{y:.1f}" for x, y in segment),)
            for segment in segments
            if len(segment) > 1
        ),
    )
    circles = format_html_join(
        "", '<circle cx="{}" cy="{}" r="3.5" class="{}"><title>{}</title></circle>', dots
    )
    body = format_html(
        "{}{}{}", _axes([w for w, _ in points], top, y_label, intervals), lines, circles
    )
    return _svg(body, y_label)


def bar_chart(
    weeks: list[dict],
    *,
    categories: list[str],
    y_label: str,
    empty: str = "No data in this range yet.",
) -> SafeString:
    """Stacked weekly bars, one colour per category, with a legend; a partial week's
    bar (row["partial"]) is drawn faded."""
    if not weeks or not categories or not any(row.get("total", 0) for row in weeks):
        return format_html('<p class="muted chart-empty">{}</p>', empty)
    top = _nice_max(max((row.get("total", 0) for row in weeks), default=1))
    step = _plot_width() / len(weeks)
    bar_width = max(step * 0.7, 2)
    rects = []
    for i, row in enumerate(weeks):
        base = 0
        for c, category in enumerate(categories):
            count = row.get(category, 0)
            if not count:
                continue
            y_top, y_bottom = _y(base + count, top), _y(base, top)
            rects.append(
                (
                    f"{LEFT + step * i + (step - bar_width) / 2:.1f}",
                    f"{y_top:.1f}",
                    f"{bar_width:.1f}",
                    f"{y_bottom - y_top:.1f}",
                    PALETTE[c % len(PALETTE)],
                    "0.35" if row.get("partial") else "1",
                    f"{category}: {count}" + (" (partial week)" if row.get("partial") else ""),
                )
            )
            base += count
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" fill-opacity="{}">'
        "<title>{}</title></rect>",
        rects,
    )
    legend = format_html_join(
        "",
        '<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}" class="tick">{}</text>',
        (
            (
                LEFT + 8 + (i % 4) * 120,
                TOP + 2 + (i // 4) * 14,
                PALETTE[i % len(PALETTE)],
                LEFT + 22 + (i % 4) * 120,
                TOP + 11 + (i // 4) * 14,
                category,
            )
            for i, category in enumerate(categories)
        ),
    )
    body = format_html("{}{}{}", _axes([row["week"] for row in weeks], top, y_label), bars, legend)
    return _svg(body, y_label)
