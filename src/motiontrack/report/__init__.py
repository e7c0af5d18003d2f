"""Self-contained HTML session report: what a therapist reads.

One HTML file, no external assets (inline SVG and CSS, no scripts): the joint angle over
time with the reps marked, ROM per rep, tempo, quality flags, data gaps and warnings.

>>> from motiontrack.analysis import process_recording
>>> from motiontrack.report import write_report
>>> write_report("report.html", process_recording("set1.mtrec"))  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import html
import math
import os
from typing import Any

import numpy as np

from ..recording._files import open_private
from ._svg import angle_plot, rom_bars

__all__ = ["render_report", "write_report"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#1d2330;padding:0 16px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde;padding-bottom:4px}
.sub{color:#5a6275;font-size:13px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{border:1px solid #dde;border-radius:8px;padding:10px 14px;min-width:130px}
.card .v{font-size:24px;font-weight:600} .card .k{font-size:12px;color:#5a6275}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{padding:4px 8px;border-bottom:1px solid #eef;text-align:right} th{background:#f5f6fa}
td.l,th.l{text-align:left}
.flag{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;margin-right:3px}
.partial{background:#ffe9b3} .too_fast,.too_slow{background:#ffd0d0} .ok{background:#d9f2df}
.warn{background:#fff6e0;border-left:4px solid #f0a500;padding:6px 10px;margin:4px 0;font-size:13px}
svg{width:100%;height:auto} footer{margin-top:30px;font-size:11px;color:#8a90a0}
"""


def _f(x: Any, nd: int = 1) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{nd}f}"


def _flags(r: Any) -> str:
    names = [f.name.lower() for f in type(r.flags) if f and f in r.flags and f.name]
    if not names:
        return '<span class="flag ok">ok</span>'
    return "".join(
        f'<span class="flag {("partial" if "partial" in n else n)}">{html.escape(n.replace("_", " "))}</span>'
        for n in names
    )


def render_report(result: Any, *, title: str | None = None) -> str:
    """HTML text of the report of an :class:`~motiontrack.analysis.AnalysisResult`."""
    r = result
    reps = list(r.reps)
    name = r.primary.replace("_deg", "").replace("_", " ")
    what = f"{r.joint} {name}" if r.joint else f"{r.sensors[0]} rotation"
    what = getattr(r, "clinical_angle", what) if r.joint not in (None, "knee") else what
    roms = np.array([x.rom_deg for x in reps]) if reps else np.array([])
    durs = np.array([x.duration_s for x in reps]) if reps else np.array([])
    rom = r.rom()
    n_flag = sum(1 for x in reps if int(x.flags))
    cards = [
        ("repetitions", str(len(reps))),
        (f"max {name} (°)", _f(rom["max_deg"])),  # the one ROM: over the counted reps
        (f"min {name} (°)", _f(rom["min_deg"])),
        ("mean ROM per rep (°)", f"{roms.mean():.1f} ± {roms.std():.1f}" if roms.size else "–"),
        ("mean rep duration (s)", f"{durs.mean():.1f}" if durs.size else "–"),
        ("reps flagged", str(n_flag)),
        ("data gaps", str(len(r.gaps))),
    ]
    h = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title or 'motiontrack session report')}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title or 'Session report')}: {html.escape(what)}</h1>",
        '<div class="sub">'
        + html.escape(
            f"{os.path.basename(r.source) or 'recording'} · exercise {r.exercise or 'not given'} · "
            f"{r.duration_s:.1f} s at {r.fs_hz:.0f} Hz · sensors {', '.join(r.sensors)}"
        )
        + "</div>",
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="v">{v}</div><div class="k">{html.escape(k)}</div></div>'
            for k, v in cards
        )
        + "</div>",
        f"<h2>{html.escape(name.capitalize())} over time</h2>",
        angle_plot(r.t, r.primary_deg, reps, r.gaps, ylabel=f"{name} (°)"),
        '<div class="sub">Shaded: counted repetitions (numbered at their turning point). Red bands: data gaps. '
        "Orange: flagged reps.</div>",
        "<h2>Range of motion per repetition</h2>",
        rom_bars(reps) if reps else "<p>No repetitions counted.</p>",
    ]
    if reps:
        h.append(
            "<h2>Repetitions</h2><table><tr><th>#</th><th>set</th><th>start (s)</th><th>min (°)</th><th>max (°)</th>"
            "<th>ROM (°)</th><th>duration (s)</th><th>out (s)</th><th>hold (s)</th><th>back (s)</th><th class=l>quality</th></tr>"
        )
        for x in reps:
            out = x.peak_s - x.start_s
            back = x.end_s - x.peak_s
            h.append(
                f"<tr><td>{x.index + 1}</td><td>{x.set_index + 1}</td><td>{x.start_s:.1f}</td><td>{x.min_deg:.1f}</td>"
                f"<td>{x.max_deg:.1f}</td><td><b>{x.rom_deg:.1f}</b></td><td>{x.duration_s:.1f}</td><td>{out:.1f}</td>"
                f"<td>{x.hold_s:.1f}</td><td>{back:.1f}</td><td class=l>{_flags(x)}</td></tr>"
            )
        h.append("</table>")
        h.append(
            '<div class="sub">Tempo: "out" is start to turning point, "back" turning point to end; '
            "hold is the time spent within 10 % of the ROM from the turning point.</div>"
        )
    h.append("<h2>Data quality</h2>")
    if r.calibration is not None:
        c = r.calibration
        h.append(
            f"<p>Sensor-to-segment calibration: {html.escape(str(r.pose))} pose, confidence {c.confidence:.2f}"
            + (f" ({html.escape('; '.join(c.notes))})" if c.notes else "")
            + ".</p>"
        )
    if r.gaps:
        lost = sum(g.missing for g in r.gaps)
        h.append(
            f"<p>{len(r.gaps)} gap(s), {lost} samples missing ({100.0 * lost / max(r.t.size, 1):.2f} % of the session).</p>"
        )
        per = {}
        for g in r.gaps:
            n, m, longest = per.get(g.sensor, (0, 0, 0.0))
            per[g.sensor] = (n + 1, m + g.missing, max(longest, g.duration_s))
        h.append(
            "<ul>"
            + "".join(
                f"<li>{html.escape(k)}: {n} gap(s), {m} samples, longest {lg:.2f} s</li>"
                for k, (n, m, lg) in per.items()
            )
            + "</ul>"
        )
        long = [g for g in r.gaps if g.duration_s >= 0.1]
        if long:
            h.append(
                "<table><tr><th class=l>sensor</th><th>from (s)</th><th>to (s)</th><th>duration (s)</th><th>missing samples</th></tr>"
            )
            for g in long[:50]:
                h.append(
                    f"<tr><td class=l>{html.escape(g.sensor)}</td><td>{g.start_s:.2f}</td><td>{g.end_s:.2f}</td>"
                    f"<td>{g.duration_s:.3f}</td><td>{g.missing}</td></tr>"
                )
            h.append("</table>")
            if len(long) > 50:
                h.append(f"<p class=sub>... and {len(long) - 50} more gaps of 0.1 s or longer.</p>")
        else:
            h.append("<p class=sub>All gaps are shorter than 0.1 s (interpolated).</p>")
    else:
        h.append("<p>No data gaps.</p>")
    for w in r.warnings:
        h.append(f'<div class="warn">{html.escape(w)}</div>')
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    h.append(
        f"<footer>motiontrack report · generated {stamp} · fusion {html.escape(r.fusion_method)} · "
        "angles in degrees, 0° = straight, flexion positive</footer></body></html>"
    )
    return "\n".join(h)


def write_report(path: str | os.PathLike[str], result: Any, *, title: str | None = None) -> None:
    """Write :func:`render_report` to ``path`` (owner-only permissions: health data)."""
    text = render_report(result, title=title).encode("utf-8")
    with open_private(path, "wb") as f:
        f.write(text)
