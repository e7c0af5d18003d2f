"""Inline SVG charts for the HTML report (no plotting library, no external assets)."""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

W, H = 960, 320
ML, MR, MT, MB = 56, 16, 14, 36


def _nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 5, 10) if m * mag >= raw), default=raw)
    start = math.ceil(lo / step) * step
    return [start + k * step for k in range(int((hi - start) / step) + 1)]


def _polylines(x: np.ndarray, y: np.ndarray, max_points: int = 2400) -> list[str]:
    """SVG point strings, one per finite run (NaN breaks the line); min/max decimation."""
    n = x.size
    if n > max_points:
        k = math.ceil(n / (max_points / 2))
        m = n // k
        xs = x[: m * k].reshape(m, k)
        ys = y[: m * k].reshape(m, k)
        with np.errstate(all="ignore"):
            bad = ~np.isfinite(ys).all(axis=1)
            lo_i = np.nanargmin(np.where(np.isfinite(ys), ys, np.inf), axis=1)
            hi_i = np.nanargmax(np.where(np.isfinite(ys), ys, -np.inf), axis=1)
        first = np.minimum(lo_i, hi_i)
        second = np.maximum(lo_i, hi_i)
        r = np.arange(m)
        x = np.column_stack([xs[r, first], xs[r, second]]).ravel()
        y = np.column_stack([ys[r, first], ys[r, second]]).ravel()
        y[np.repeat(bad, 2)] = np.nan
    out, cur = [], []
    for xi, yi in zip(x, y):
        if math.isfinite(yi):
            cur.append(f"{xi:.1f},{yi:.1f}")
        elif cur:
            out.append(" ".join(cur))
            cur = []
    if cur:
        out.append(" ".join(cur))
    return out


def angle_plot(
    t: np.ndarray, angle: np.ndarray, reps: list[Any], gaps: list[Any], *, ylabel: str
) -> str:
    t = np.asarray(t, dtype=float)
    a = np.asarray(angle, dtype=float)
    finite = a[np.isfinite(a)]
    if t.size < 2 or finite.size == 0:
        return "<p>No angle data.</p>"
    t0, t1 = float(t[0]), float(t[-1])
    lo, hi = float(finite.min()), float(finite.max())
    pad = max(5.0, 0.08 * (hi - lo))
    lo, hi = math.floor((lo - pad) / 10) * 10, math.ceil((hi + pad) / 10) * 10
    pw, ph = W - ML - MR, H - MT - MB

    def X(v: float) -> float:
        return ML + (v - t0) / (t1 - t0) * pw

    def Y(v: float) -> float:
        return MT + (hi - v) / (hi - lo) * ph

    s = [
        f'<svg viewBox="0 0 {W} {H}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{html.escape(ylabel)} over time">',
        f'<rect x="{ML}" y="{MT}" width="{pw}" height="{ph}" fill="#fbfbfd" stroke="#ccd"/>',
    ]
    for r in reps:
        color = "#ffcf80" if int(r.flags) else "#bfe3c6"
        s.append(
            f'<rect x="{X(r.start_s):.1f}" y="{MT}" width="{max(X(r.end_s) - X(r.start_s), 1):.1f}" height="{ph}" fill="{color}" opacity="0.55"/>'
        )
    for g in gaps:
        x0, x1 = X(max(g.start_s, t0)), X(min(g.end_s, t1))
        s.append(
            f'<rect x="{x0:.1f}" y="{MT}" width="{max(x1 - x0, 1.2):.1f}" height="{ph}" fill="#e0303a" opacity="0.35"><title>gap {g.sensor} {g.duration_s:.2f} s</title></rect>'
        )
    for v in _nice_ticks(lo, hi):
        s.append(
            f'<line x1="{ML}" x2="{W - MR}" y1="{Y(v):.1f}" y2="{Y(v):.1f}" stroke="#e4e6ee"/>'
        )
        s.append(
            f'<text x="{ML - 6}" y="{Y(v) + 4:.1f}" font-size="11" text-anchor="end" fill="#555">{v:g}</text>'
        )
    for v in _nice_ticks(t0, t1, 10):
        s.append(
            f'<line x1="{X(v):.1f}" x2="{X(v):.1f}" y1="{MT + ph}" y2="{MT + ph + 4}" stroke="#888"/>'
        )
        s.append(
            f'<text x="{X(v):.1f}" y="{MT + ph + 16}" font-size="11" text-anchor="middle" fill="#555">{v:g}</text>'
        )
    s.append(
        f'<text x="{ML + pw / 2}" y="{H - 4}" font-size="12" text-anchor="middle" fill="#333">time (s)</text>'
    )
    s.append(
        f'<text x="14" y="{MT + ph / 2}" font-size="12" text-anchor="middle" fill="#333" transform="rotate(-90 14 {MT + ph / 2})">{html.escape(ylabel)}</text>'
    )
    xs = ML + (t - t0) / (t1 - t0) * pw
    ys = np.where(np.isfinite(a), MT + (hi - a) / (hi - lo) * ph, np.nan)
    for pts in _polylines(xs, ys):
        s.append(f'<polyline points="{pts}" fill="none" stroke="#1f5fbf" stroke-width="1.4"/>')
    for r in reps:
        px = X(r.peak_s)
        turn = (
            r.max_deg if abs(r.peak_deg - r.max_deg) <= abs(r.peak_deg - r.min_deg) else r.min_deg
        )
        py = Y(turn)
        dy = -7 if turn == r.max_deg else 15
        s.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="#1d2330"/>')
        s.append(
            f'<text x="{px:.1f}" y="{py + dy:.1f}" font-size="11" font-weight="600" text-anchor="middle" fill="#1d2330">{r.index + 1}</text>'
        )
    s.append("</svg>")
    return "\n".join(s)


def rom_bars(reps: list[Any]) -> str:
    n = len(reps)
    h = 220
    pw, ph = W - ML - MR, h - MT - MB
    hi = max(10.0, math.ceil(max(r.rom_deg for r in reps) / 10) * 10 + 10)
    bw = pw / max(n, 1)
    s = [
        f'<svg viewBox="0 0 {W} {h}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="ROM per repetition">',
        f'<rect x="{ML}" y="{MT}" width="{pw}" height="{ph}" fill="#fbfbfd" stroke="#ccd"/>',
    ]
    for v in _nice_ticks(0.0, hi, 5):
        y = MT + (hi - v) / hi * ph
        s.append(f'<line x1="{ML}" x2="{W - MR}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e6ee"/>')
        s.append(
            f'<text x="{ML - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#555">{v:g}</text>'
        )
    best = max(r.rom_deg for r in reps)
    for i, r in enumerate(reps):
        x = ML + i * bw + 0.15 * bw
        y = MT + (hi - r.rom_deg) / hi * ph
        color = "#f0a500" if int(r.flags) else "#2e8b57"
        s.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{0.7 * bw:.1f}" height="{MT + ph - y:.1f}" fill="{color}"><title>rep {r.index + 1}: {r.rom_deg:.1f}°</title></rect>'
        )
        s.append(
            f'<text x="{x + 0.35 * bw:.1f}" y="{y - 4:.1f}" font-size="11" text-anchor="middle" fill="#333">{r.rom_deg:.0f}°</text>'
        )
        s.append(
            f'<text x="{x + 0.35 * bw:.1f}" y="{MT + ph + 15}" font-size="11" text-anchor="middle" fill="#555">{r.index + 1}</text>'
        )
    yb = MT + (hi - best) / hi * ph
    s.append(
        f'<line x1="{ML}" x2="{W - MR}" y1="{yb:.1f}" y2="{yb:.1f}" stroke="#2e8b57" stroke-dasharray="4 3"/>'
    )
    s.append(
        f'<text x="{W - MR - 4}" y="{yb - 4:.1f}" font-size="11" text-anchor="end" fill="#2e8b57">best {best:.1f}°</text>'
    )
    s.append(
        f'<text x="{ML + pw / 2}" y="{h - 4}" font-size="12" text-anchor="middle" fill="#333">repetition</text>'
    )
    s.append(
        f'<text x="14" y="{MT + ph / 2}" font-size="12" text-anchor="middle" fill="#333" transform="rotate(-90 14 {MT + ph / 2})">ROM (°)</text>'
    )
    s.append("</svg>")
    return "\n".join(s)
