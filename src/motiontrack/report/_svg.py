"""Inline SVG charts for the HTML reports (no plotting library, no external assets).

Each chart is drawn for one width (``width`` user units = CSS pixels at scale 1), with text
of :data:`FONT` units: the page (:mod:`motiontrack.report._page`) holds one drawing per width
band and shows the one that fits, so that text is drawn at 11–16 CSS px on a 360 px phone as
on a desktop instead of shrinking with the chart. Data come in degrees and seconds.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FONT = 12  #: text size, user units (= CSS px at scale 1)
MT, MB, MR = 22, 38, 10  #: top, bottom and right margins of the plot area, user units
INK, MUTED, GRID = "#1d2330", "#4a5263", "#e4e6ee"
TRACE, GAP, TARGET = "#1f5fbf", "#d7263d", "#2e8b57"
REP_OK, REP_FLAGGED, REP_CUT = "#bfe3c6", "#ffcf80", "#c9ccd6"


def height_for(width: int) -> int:
    """Height of a chart drawn ``width`` units wide (phones get a taller aspect)."""
    return 250 if width < 420 else (280 if width < 700 else 320)


def nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """Round tick values covering ``lo``..``hi``, about ``n`` of them."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    start = math.ceil(lo / step - 1e-9) * step
    return [round(start + k * step, 10) for k in range(int((hi - start) / step + 1e-9) + 1)]


def _t(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "middle",
    size: int = FONT,
    fill: str = MUTED,
    weight: str = "",
    extra: str = "",
) -> str:
    w = f' font-weight="{weight}"' if weight else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}"{w}{extra}>{html.escape(text)}</text>'
    )


class _Axes:
    """A plot area of a chart ``width`` units wide: y from ``lo`` to ``hi`` (deg or count)."""

    def __init__(self, width: int, lo: float, hi: float, *, ylabel: str, ml: int = 50) -> None:
        self.w, self.h = width, height_for(width)
        self.ml = ml
        self.pw, self.ph = width - ml - MR, self.h - MT - MB
        self.lo, self.hi = lo, hi
        self.ylabel = ylabel

    def y(self, v: float) -> float:
        return MT + (self.hi - v) / (self.hi - self.lo) * self.ph

    def open(self, label: str) -> list[str]:
        s = [
            f'<svg viewBox="0 0 {self.w} {self.h}" width="{self.w}" height="{self.h}" '
            f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{html.escape(label)}">',
            f'<rect x="{self.ml}" y="{MT}" width="{self.pw}" height="{self.ph}" fill="#fbfbfd" '
            'stroke="#ccd"/>',
        ]
        for v in nice_ticks(self.lo, self.hi, max(3, self.ph // 45)):
            s.append(
                f'<line x1="{self.ml}" x2="{self.w - MR}" y1="{self.y(v):.1f}" '
                f'y2="{self.y(v):.1f}" stroke="{GRID}"/>'
            )
            s.append(_t(self.ml - 5, self.y(v) + 4, f"{v:g}", anchor="end"))
        s.append(_t(4, MT - 8, self.ylabel, anchor="start", fill=INK))
        return s

    def band(self, v0: float, v1: float, fill: str, text: str = "") -> list[str]:
        """A horizontal band between two values (clipped to the plot), e.g. the target zone."""
        a, b = max(min(v0, v1), self.lo), min(max(v0, v1), self.hi)
        if b <= a:
            return []
        out = [
            f'<rect class="zone" x="{self.ml}" y="{self.y(b):.1f}" width="{self.pw}" '
            f'height="{self.y(a) - self.y(b):.1f}" fill="{fill}" opacity="0.16"/>'
        ]
        if text:
            out += self.corner_label(text, fill, dashed=False)
        return out

    def corner_label(self, text: str, color: str, *, dashed: bool) -> list[str]:
        """A key entry in the top margin, right-aligned: a swatch (or a dashed line) and text."""
        x = self.w - MR - 2
        tw = len(text) * FONT * 0.58
        mark = (
            f'<line x1="{x - tw - 22:.1f}" x2="{x - tw - 6:.1f}" y1="{MT - 12}" y2="{MT - 12}" '
            f'stroke="{color}" stroke-width="1.5" stroke-dasharray="5 3"/>'
            if dashed
            else f'<rect x="{x - tw - 18:.1f}" y="{MT - 18}" width="11" height="11" fill="{color}" '
            'opacity="0.5"/>'
        )
        return [mark, _t(x, MT - 8, text, anchor="end", fill=color, weight="600")]

    def ref_line(self, v: float, color: str, text: str) -> list[str]:
        if not self.lo <= v <= self.hi:
            return []
        y = self.y(v)
        return [
            f'<line class="ref" x1="{self.ml}" x2="{self.w - MR}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{color}" stroke-width="1.5" stroke-dasharray="5 3"/>',
            *self.corner_label(text, color, dashed=True),
        ]


def _angle_range(a: np.ndarray, target: Any) -> tuple[float, float]:
    finite = a[np.isfinite(a)]
    lo, hi = float(finite.min()), float(finite.max())
    if target is not None:
        lo, hi = min(lo, target.target_deg), max(hi, target.target_deg)
    pad = max(5.0, 0.08 * (hi - lo))
    return math.floor((lo - pad) / 10) * 10, math.ceil((hi + pad) / 10) * 10


def decimate(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Min/max decimation to about ``max_points`` points; a chunk holding any NaN is NaN
    (unknown angles are never drawn, not even by a neighbour's line)."""
    n = x.size
    if n <= max_points:
        return x, y
    k = math.ceil(n / (max_points / 2))
    m = n // k
    xs, ys = x[: m * k].reshape(m, k), y[: m * k].reshape(m, k)
    bad = ~np.isfinite(ys).all(axis=1)
    lo_i = np.argmin(np.where(np.isfinite(ys), ys, np.inf), axis=1)
    hi_i = np.argmax(np.where(np.isfinite(ys), ys, -np.inf), axis=1)
    first, second = np.minimum(lo_i, hi_i), np.maximum(lo_i, hi_i)
    r = np.arange(m)
    xo = np.column_stack([xs[r, first], xs[r, second]]).ravel()
    yo = np.column_stack([ys[r, first], ys[r, second]]).astype(float).ravel()
    yo[np.repeat(bad, 2)] = np.nan
    if m * k < n:  # the tail that did not fill a chunk
        xo, yo = np.concatenate([xo, x[m * k :]]), np.concatenate([yo, y[m * k :]])
    return xo, yo


def runs(x: np.ndarray, y: np.ndarray) -> list[str]:
    """SVG ``points`` strings, one per run of finite values (NaN breaks the line)."""
    ok = np.isfinite(y)
    out = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.view(np.int8), [0]])))
    for a, b in zip(edges[::2], edges[1::2]):
        out.append(" ".join(f"{xi:.1f},{yi:.1f}" for xi, yi in zip(x[a:b], y[a:b])))
    return out


def angle_plot(
    t: np.ndarray,
    angle: np.ndarray,
    reps: Sequence[dict[str, Any]],
    gaps: Sequence[Any],
    *,
    ylabel: str,
    width: int,
    interrupted: Sequence[dict[str, Any]] = (),
    target: Any = None,
    bridge_s: float = 0.25,
) -> str:
    """The primary angle over time (deg vs s) with the reps (green, flagged orange), the
    interrupted reps (grey, hatched), data gaps longer than ``bridge_s`` (red bands: no
    angle is known there, so no trace), shorter bridged gaps (red ticks under the axis) and
    the target zone. ``reps`` and ``interrupted`` are :meth:`Rep.to_dict` values."""
    t = np.asarray(t, dtype=float)
    a = np.asarray(angle, dtype=float)
    if t.size < 2 or not np.isfinite(a).any():
        return "<p>No angle data.</p>"
    ax = _Axes(width, *_angle_range(a, target), ylabel=ylabel)
    t0, t1 = float(t[0]), float(t[-1])

    def X(v: float) -> float:
        return ax.ml + (min(max(v, t0), t1) - t0) / (t1 - t0) * ax.pw

    s = ax.open(f"{ylabel} over time")
    cut_id = f"cut{width}"  # one id per drawing: a pattern in a hidden drawing is not drawn
    s.append(
        f'<defs><pattern id="{cut_id}" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{REP_CUT}"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#8a90a0" stroke-width="2"/></pattern></defs>'
    )
    if target is not None:
        s += ax.band(target.lo_deg, target.hi_deg, TARGET, f"target zone ({target.target_deg:g}°)")
    for r in reps:
        fill = REP_FLAGGED if r["flags"] else REP_OK
        s.append(
            f'<rect class="rep" x="{X(r["start_s"]):.1f}" y="{MT}" '
            f'width="{max(X(r["end_s"]) - X(r["start_s"]), 1):.1f}" height="{ax.ph}" '
            f'fill="{fill}" opacity="0.6"/>'
        )
    for r in interrupted:
        s.append(
            f'<rect class="cut" x="{X(r["start_s"]):.1f}" y="{MT}" '
            f'width="{max(X(r["end_s"]) - X(r["start_s"]), 2):.1f}" height="{ax.ph}" '
            f'fill="url(#{cut_id})" stroke="#5a6275" stroke-dasharray="3 2">'
            "<title>interrupted repetition (not counted)"
            "</title></rect>"
        )
    for g in gaps:
        x0, x1 = X(g.start_s), X(g.end_s)
        tip = f"<title>no data from {html.escape(g.sensor)}: {g.duration_s:.2f} s</title>"
        if g.duration_s > bridge_s:
            s.append(
                f'<rect class="gap" x="{x0:.1f}" y="{MT}" width="{max(x1 - x0, 2):.1f}" '
                f'height="{ax.ph}" fill="{GAP}" opacity="0.28">{tip}</rect>'
            )
            if x1 - x0 > 4 * FONT:
                s.append(_t((x0 + x1) / 2, MT + FONT + 2, "no data", fill=GAP, weight="600"))
        else:
            s.append(
                f'<line x1="{x0:.1f}" x2="{x0:.1f}" y1="{MT + ax.ph}" y2="{MT + ax.ph + 5}" '
                f'stroke="{GAP}">{tip}</line>'
            )
    for v in nice_ticks(t0, t1, max(3, ax.pw // 70)):
        s.append(
            f'<line x1="{X(v):.1f}" x2="{X(v):.1f}" y1="{MT + ax.ph}" '
            f'y2="{MT + ax.ph + 5}" stroke="#888"/>'
        )
        s.append(_t(X(v), MT + ax.ph + 18, f"{v:g}"))
    s.append(_t(ax.ml + ax.pw / 2, ax.h - 4, "time (s)", fill=INK))
    xs = ax.ml + (t - t0) / (t1 - t0) * ax.pw
    ys = np.where(np.isfinite(a), MT + (ax.hi - a) / (ax.hi - ax.lo) * ax.ph, np.nan)
    for pts in runs(*decimate(xs, ys, 3 * width)):
        s.append(
            f'<polyline class="trace" points="{pts}" fill="none" stroke="{TRACE}" '
            'stroke-width="1.4" stroke-linejoin="round"/>'
        )
    last_label = -math.inf
    for r in reps:
        at = float(np.interp(r["peak_s"], t, a))  # the trace at the turning point says which
        turn = r["min_deg"] if abs(at - r["min_deg"]) < abs(at - r["max_deg"]) else r["max_deg"]
        px, py = X(r["peak_s"]), ax.y(turn)
        s.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{INK}"/>')
        label = str(r["index"] + 1)
        if px - last_label >= (len(label) + 1) * FONT * 0.62:  # numbers never overlap
            last_label = px
            dy = -6 if turn == r["max_deg"] else FONT + 4
            s.append(_t(px, py + dy, label, fill=INK, weight="600"))
    s.append("</svg>")
    return "\n".join(s)


def _label_step(n: int, span: float, chars: int) -> int:
    """Label every k-th of ``n`` evenly spread items so labels of ``chars`` do not touch."""
    need = chars * FONT * 0.62 + 6
    return max(1, math.ceil(need / max(span / max(n, 1), 1e-9)))


@dataclass(frozen=True, slots=True)
class Bar:
    """One segment of a category's bar: from ``lo`` to ``hi`` (data units)."""

    lo: float
    hi: float
    fill: str
    title: str
    cls: str = "bar"


def bar_chart(
    labels: Sequence[str],
    bars: Sequence[Sequence[Bar]],
    *,
    width: int,
    ylabel: str,
    xlabel: str,
    lo: float = 0.0,
    hi: float | None = None,
    values: Sequence[str] | None = None,
    ref: tuple[float, str, str] | None = None,
    zone: tuple[float, float] | None = None,
    aria: str = "",
) -> str:
    """Bars (or floating bars, stacked segments) per category, with the category labels
    thinned so they never overlap, optional value labels above the bars, a reference line
    ``ref`` = (value, colour, text) and a shaded ``zone`` = (lo, hi) in data units."""
    tops = [seg.hi for b in bars for seg in b] + ([ref[0]] if ref else [])
    bottoms = [seg.lo for b in bars for seg in b] + ([ref[0]] if ref else [])
    top = hi if hi is not None else max(tops + [lo + 1.0])
    top = max(top, max(tops, default=top))
    base = min([lo] + bottoms)
    span = top - base
    ax = _Axes(width, base, top + 0.12 * span + (1 if span == 0 else 0), ylabel=ylabel)
    s = ax.open(aria or ylabel)
    if zone is not None:
        s += ax.band(zone[0], zone[1], TARGET)
    n = len(labels)
    bw = ax.pw / max(n, 1)
    step = _label_step(n, ax.pw, max((len(x) for x in labels), default=1))
    vstep = _label_step(n, ax.pw, max((len(x) for x in values), default=1)) if values else 0
    for i, (label, segs) in enumerate(zip(labels, bars)):
        x = ax.ml + i * bw + 0.15 * bw
        for seg in segs:
            y0, y1 = ax.y(seg.hi), ax.y(seg.lo)
            s.append(
                f'<rect class="{seg.cls}" x="{x:.1f}" y="{y0:.1f}" width="{0.7 * bw:.1f}" '
                f'height="{max(y1 - y0, 1.5):.1f}" fill="{seg.fill}"><title>'
                f"{html.escape(seg.title)}</title></rect>"
            )
        if values and i % vstep == 0 and segs:
            s.append(_t(x + 0.35 * bw, ax.y(max(g.hi for g in segs)) - 4, values[i], fill=INK))
        if i % step == 0:
            s.append(_t(x + 0.35 * bw, MT + ax.ph + 18, label))
    if ref is not None:
        s += ax.ref_line(*ref)
    s.append(_t(ax.ml + ax.pw / 2, ax.h - 4, xlabel, fill=INK))
    s.append("</svg>")
    return "\n".join(s)
