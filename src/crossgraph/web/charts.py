"""Small charts drawn on the server as SVG: no chart library, no script, readable without
colour (every bar carries its number), and allowed by a strict Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from markupsafe import Markup


def compact_money(value: float) -> str:
    """12,345 -> '12.3k', 2,500,000 -> '2.5M' (axis labels; tables show full figures)."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{sign}{value / limit:.3g}{suffix}"
    return f"{sign}{value:.0f}"


def bars(
    points: Sequence[tuple[str, float]],
    *,
    label: str,
    width: int = 360,
    height: int = 140,
    fmt: str = "money",
) -> Markup:
    """A vertical bar per (label, value), value written above the bar. `fmt`: money | pct | num."""
    if not points:
        return Markup('<p class="muted">No figures yet.</p>')
    top = max(max(v for _, v in points), 0.0) or 1.0
    n = len(points)
    slot = width / n
    bar = max(min(slot * 0.7, 48), 4)
    base = height - 20
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
    ]
    for i, (name, value) in enumerate(points):
        h = max(value, 0.0) / top * (base - 18)
        x = i * slot + (slot - bar) / 2
        text = _fmt(value, fmt)
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{base - h:.1f}" width="{bar:.1f}" height="{h:.1f}">'
            f"<title>{escape(name)}: {escape(text)}</title></rect>"
            f'<text class="value" x="{x + bar / 2:.1f}" y="{base - h - 4:.1f}" text-anchor="middle">'
            f"{escape(text)}</text>"
            f'<text class="axis" x="{x + bar / 2:.1f}" y="{height - 5}" text-anchor="middle">'
            f"{escape(name)}</text>"
        )
    parts.append(f'<line class="base" x1="0" x2="{width}" y1="{base}" y2="{base}"/></svg>')
    return Markup("".join(parts))


@dataclass(frozen=True)
class Span:
    label: str
    start: date
    end: date
    tone: str = "normal"  # normal | soon | ended


def timeline(spans: Sequence[Span], today: date, *, label: str, width: int = 560) -> Markup:
    """One horizontal bar per span (contracts) with its end date, and a line at `today`."""
    if not spans:
        return Markup('<p class="muted">None.</p>')
    first = min(min(s.start for s in spans), today)
    last = max(max(s.end for s in spans), today)
    days = max((last - first).days, 1)
    left, right, row = 150, width - 80, 26
    height = row * len(spans) + 24

    def x(day: date) -> float:
        return left + (day - first).days / days * (right - left)

    parts = [
        f'<svg class="chart timeline" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
    ]
    for i, s in enumerate(spans):
        y = 6 + i * row
        x0, x1 = x(s.start), x(s.end)
        parts.append(
            f'<text class="axis" x="{left - 6}" y="{y + 13}" text-anchor="end">{escape(s.label[:24])}</text>'
            f'<rect class="span {s.tone}" x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 2):.1f}" height="16">'
            f"<title>{escape(s.label)}: {s.start} to {s.end}</title></rect>"
            f'<text class="value" x="{x1 + 4:.1f}" y="{y + 13}">{s.end.isoformat()}</text>'
        )
    t = x(today)
    parts.append(
        f'<line class="today" x1="{t:.1f}" x2="{t:.1f}" y1="0" y2="{height - 14}"/>'
        f'<text class="axis" x="{t:.1f}" y="{height - 2}" text-anchor="middle">today</text></svg>'
    )
    return Markup("".join(parts))


def lines(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    label: str,
    width: int = 560,
    height: int = 180,
    fmt: str = "num",
    goal: float | None = None,
) -> Markup:
    """One line per (name, values) over the x labels (at most two series: .line and .line.b),
    and a dashed .goal line with its value when a goal is given.
    Each point carries its value as a tooltip and the last point of each line its series name
    and value, so the chart reads without colour; a missing value breaks the line."""
    values = [v for _, vs in series for v in vs if v is not None]
    if not labels or not values:
        return Markup('<p class="muted">No figures yet.</p>')
    low, high = min(min(values), 0.0), max([*values, *([goal] if goal is not None else [])]) or 1.0
    left, right, top, base = 40, width - 130, 12, height - 22
    step = (right - left) / max(len(labels) - 1, 1)

    def y(v: float) -> float:
        return base - (v - low) / ((high - low) or 1.0) * (base - top)

    parts = [
        f'<svg class="chart lines" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
        f'<line class="base" x1="{left}" x2="{right}" y1="{base}" y2="{base}"/>'
        f'<text class="axis" x="{left - 4}" y="{y(high) + 4:.1f}" text-anchor="end">'
        f"{escape(_fmt(high, fmt))}</text>"
        f'<text class="axis" x="{left - 4}" y="{base + 4:.1f}" text-anchor="end">'
        f"{escape(_fmt(low, fmt))}</text>"
    ]
    if goal is not None:
        parts.append(
            f'<line class="goal" x1="{left}" x2="{right}" y1="{y(goal):.1f}" y2="{y(goal):.1f}"/>'
            f'<text class="axis goal" x="{right + 6}" y="{y(goal) + 4:.1f}">'
            f"goal {escape(_fmt(goal, fmt))}</text>"
        )
    for i, name in enumerate(labels):
        parts.append(
            f'<text class="axis" x="{left + i * step:.1f}" y="{height - 5}" text-anchor="middle">'
            f"{escape(name)}</text>"
        )
    for k, (name, vs) in enumerate(series[:2]):
        tone = "line b" if k else "line"
        points = [(left + i * step, y(v), v, labels[i]) for i, v in enumerate(vs) if v is not None]
        segments: list[list[str]] = [[]]
        for i, v in enumerate(vs):
            if v is None:
                segments.append([])
            else:
                segments[-1].append(f"{left + i * step:.1f},{y(v):.1f}")
        for seg in segments:
            if len(seg) > 1:
                parts.append(f'<polyline class="{tone}" points="{" ".join(seg)}"/>')
        for px, py, v, at in points:
            parts.append(
                f'<circle class="dot{" b" if k else ""}" cx="{px:.1f}" cy="{py:.1f}" r="3">'
                f"<title>{escape(name)}, {escape(at)}: {escape(_fmt(v, fmt))}</title></circle>"
            )
        if points:
            px, py, v, _ = points[-1]
            parts.append(
                f'<text class="value" x="{px + 6:.1f}" y="{py + 4 + (10 if k else 0):.1f}">'
                f"{escape(name) + ' ' if len(series) > 1 else ''}{escape(_fmt(v, fmt))}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _fmt(value: float, fmt: str) -> str:
    if fmt == "pct":
        return f"{value:.0%}"
    if fmt == "num":
        return f"{value:.3g}"
    return compact_money(value)
