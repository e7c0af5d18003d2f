"""The report of one session: what a therapist reads after it.

Every number on the page is taken from :meth:`AnalysisResult.to_dict` (the JSON of
``motiontrack analyze --json``), so the page and the JSON cannot disagree; only the angle
trace is drawn from the result's arrays.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._page import (
    BRIDGE_S,
    SessionInfo,
    cards_html,
    esc,
    flags_html,
    fmt,
    legend,
    page,
    responsive,
    swatch,
    when,
)
from ._svg import GAP, REP_CUT, REP_FLAGGED, REP_OK, TARGET, TRACE, Bar, angle_plot, bar_chart
from .targets import EXERCISE_WORDS, TargetZone, target_zone


def result_dict(result: Any) -> dict[str, Any]:
    """``result.to_dict()`` with ``interrupted_reps`` (reps cut by a gap, not counted) also
    when the result predates them."""
    d = dict(result.to_dict())
    if "interrupted_reps" not in d:
        d["interrupted_reps"] = [r.to_dict() for r in getattr(result, "interrupted_reps", [])]
    return d


def angle_name(result: Any) -> str:
    """``"knee flexion"``, ``"thigh rotation"`` in single-sensor mode, or a body region's
    clinical name (``AnalysisResult.clinical_angle``: ``"shoulder abduction (+) / adduction
    (-)"``)."""
    if result.joint not in (None, "knee") and hasattr(result, "clinical_angle"):
        return str(result.clinical_angle)
    name = result.primary.replace("_deg", "").replace("_", " ")
    return f"{result.joint} {name}" if result.joint else f"{result.sensors[0]} {name}"


def rep_stats(reps: list[dict[str, Any]], target: TargetZone | None) -> dict[str, Any]:
    """Per-session figures of the counted reps (JSON values in, rounded as shown)."""
    roms = np.array([r["rom_deg"] for r in reps], dtype=float)
    return {
        "rom_mean": float(roms.mean()) if roms.size else None,
        "rom_sd": float(roms.std()) if roms.size else None,
        "flagged": sum(1 for r in reps if r["flags"]),
        "reached": None
        if target is None
        else sum(1 for r in reps if target.rep_reached(r["min_deg"], r["max_deg"])),
    }


def _facts(
    result: Any, d: dict[str, Any], info: SessionInfo | None, target: TargetZone | None
) -> str:
    side = info.side if info and info.side else None
    rows = [
        ("Date", when(info) + (f" ({info.date_note})" if info and info.date_note else "")),
        ("Side", side or "not given (analysed as the right side)"),
        (
            "Joint",
            f"{d['joint']} ({d['angle'].replace('_deg', '')})"
            if d["joint"]
            else f"one sensor: {d['segment']}",
        ),
        ("Exercise", d["exercise"] or "not given"),
        *([("Movement", EXERCISE_WORDS[d["exercise"]])] if d["exercise"] in EXERCISE_WORDS else []),
        ("Target", target.describe() if target else "none given"),
        (
            "Recording",
            f"{_source(result)} · {d['duration_s']:.1f} s at {d['fs_hz']:.0f} Hz · "
            f"sensors {', '.join(d['sensors'])}",
        ),
    ]
    return (
        '<dl class="facts">'
        + "".join(f'<dt>{esc(k)}</dt><dd data-k="{esc(k.lower())}">{esc(v)}</dd>' for k, v in rows)
        + "</dl>"
    )


def _source(result: Any) -> str:
    return os.path.basename(result.source) or "recording"


def _cards(d: dict[str, Any], st: dict[str, Any], name: str, target: TargetZone | None) -> str:
    rom = d["rom"]
    n_cut = len(d["interrupted_reps"])
    long_gap_s = sum(g["duration_s"] for g in d["gaps"] if g["duration_s"] > BRIDGE_S)
    cards = [
        ("rep_count", "repetitions counted", str(d["rep_count"])),
        ("interrupted", "interrupted (not counted)", str(n_cut)),
        ("max_deg", f"highest {name} (°)", fmt(rom["max_deg"])),
        ("min_deg", f"lowest {name} (°)", fmt(rom["min_deg"])),
        ("rom_deg", "range of motion (°)", fmt(rom["rom_deg"])),
        (
            "rom_mean",
            "ROM per rep, mean ± sd (°)",
            f"{st['rom_mean']:.1f} ± {st['rom_sd']:.1f}" if st["rom_mean"] is not None else "–",
        ),
    ]
    if target is not None:
        cards.append(
            ("reached", "reps reaching the target", f"{st['reached']} of {d['rep_count']}")
        )
    cards += [
        ("flagged", "reps flagged", str(st["flagged"])),
        ("gap_s", "time without angles (s)", f"{long_gap_s:.1f}"),
    ]
    return cards_html(cards)


def _rep_table(reps: list[dict[str, Any]], target: TargetZone | None) -> str:
    cols = (
        [
            "#",
            "set",
            "start (s)",
            "min (°)",
            "max (°)",
            "ROM (°)",
            "duration (s)",
            "out (s)",
            "hold (s)",
            "back (s)",
        ]
        + (["target"] if target else [])
        + ["quality"]
    )
    head = "".join(f"<th{' class=l' if c == 'quality' else ''}>{esc(c)}</th>" for c in cols)
    rows = []
    for r in reps:
        vals = [
            str(r["index"] + 1),
            str(r["set_index"] + 1),
            fmt(r["start_s"]),
            fmt(r["min_deg"]),
            fmt(r["max_deg"]),
            f"<b>{fmt(r['rom_deg'])}</b>",
            fmt(r["duration_s"]),
            fmt(r["peak_s"] - r["start_s"]),
            fmt(r["hold_s"]),
            fmt(r["end_s"] - r["peak_s"]),
        ]
        if target:
            vals.append(
                "reached" if target.rep_reached(r["min_deg"], r["max_deg"]) else "not reached"
            )
        cells = "".join(f'<td data-label="{esc(c)}">{v}</td>' for c, v in zip(cols, vals))
        cells += f'<td class="l wide" data-label="quality">{flags_html(r["flags"])}</td>'
        rows.append(f'<tr data-rep="{r["index"]}">{cells}</tr>')
    return (
        f'<table class="cards-sm reps"><thead><tr>{head}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


def _interrupted(cut: list[dict[str, Any]], gaps: list[dict[str, Any]]) -> list[str]:
    if not cut:
        return []
    cols = ["from (s)", "to (s)", "lowest seen (°)", "highest seen (°)", "cut by"]
    rows = []
    for r in cut:
        hits = [
            g
            for g in gaps
            if g["start_s"] <= r["end_s"] + 0.5
            and g["end_s"] >= r["start_s"] - 0.5
            and g["duration_s"] > BRIDGE_S
        ]
        by = (
            "; ".join(
                f"no data from {g['sensor']} {g['start_s']:.1f}–{g['end_s']:.1f} s" for g in hits
            )
            or "a data gap"
        )
        vals = [fmt(r["start_s"]), fmt(r["end_s"]), fmt(r["min_deg"]), fmt(r["max_deg"]), esc(by)]
        cells = "".join(
            f'<td data-label="{esc(c)}"{" class=wide" if c == "cut by" else ""}>{v}</td>'
            for c, v in zip(cols, vals)
        )
        rows.append(f'<tr data-cut="{r["start_s"]}">{cells}</tr>')
    head = "".join(f"<th>{esc(c)}</th>" for c in cols)
    return [
        "<h2>Interrupted repetitions (not counted)</h2>",
        f"<p>{len(cut)} repetition(s) were cut by a gap in the data. What was seen of each is "
        "below; none of them is counted, and none is part of the range of motion above.</p>",
        f'<table class="cards-sm cut"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}'
        "</tbody></table>",
    ]


def _quality(result: Any, d: dict[str, Any]) -> list[str]:
    h = ["<h2>Data quality</h2>"]
    cal = d.get("calibration")
    if cal is not None:
        notes = f" ({'; '.join(cal['notes'])})" if cal.get("notes") else ""
        h.append(
            f"<p>Sensor-to-body calibration: {esc(cal['pose'])} pose, confidence "
            f"{cal['confidence']:.2f}{esc(notes)}.</p>"
        )
    gaps = d["gaps"]
    if not gaps:
        h.append("<p>No data gaps.</p>")
    else:
        lost = sum(g["missing_samples"] for g in gaps)
        long = [g for g in gaps if g["duration_s"] > BRIDGE_S]
        h.append(
            f"<p>{len(gaps)} gap(s), {lost} samples missing; {len(gaps) - len(long)} "
            f"of them up to {BRIDGE_S:g} s long (bridged), {len(long)} longer (no angles "
            "there).</p>"
        )
        if long:
            cols = ["sensor", "from (s)", "to (s)", "duration (s)", "missing samples"]
            head = "".join(f"<th{' class=l' if c == 'sensor' else ''}>{c}</th>" for c in cols)
            rows = "".join(
                f'<tr data-gap="{g["start_s"]}">'
                f'<td class=l data-label="sensor">{esc(g["sensor"])}</td>'
                f'<td data-label="from (s)">{g["start_s"]:.2f}</td>'
                f'<td data-label="to (s)">{g["end_s"]:.2f}</td>'
                f'<td data-label="duration (s)">{g["duration_s"]:.2f}</td>'
                f'<td data-label="missing samples">{g["missing_samples"]}</td></tr>'
                for g in long[:50]
            )
            h.append(
                f'<table class="cards-sm gaps"><thead><tr>{head}</tr></thead>'
                f"<tbody>{rows}</tbody></table>"
            )
            if len(long) > 50:
                h.append(f"<p class=sub>... and {len(long) - 50} more.</p>")
    h += [f'<div class="warn">{esc(w)}</div>' for w in d["warnings"]]
    return h


def render_session(
    result: Any,
    *,
    title: str | None = None,
    info: SessionInfo | None = None,
    target_deg: float | None = None,
) -> str:
    """HTML text of the report of an :class:`~motiontrack.analysis.AnalysisResult`."""
    d = result_dict(result)
    target = target_zone(d["exercise"], joint=d["joint"], angle=d["angle"], target_deg=target_deg)
    reps, cut = d["reps"], d["interrupted_reps"]
    name = angle_name(result)
    st = rep_stats(reps, target)
    head = title or "Session report"
    body = [f"<h1>{esc(head)}: {esc(name)}</h1>"]
    body += [
        f'<div class="warn">Not to be trusted: {esc(s)} is faulty (its gyroscope and '
        "accelerometer disagree); the angles and repetitions below are marked, not corrected. "
        "See Data quality.</div>"
        for s in d.get("faulty_sensors", [])
    ]
    body += [
        _facts(result, d, info, target),
        _cards(d, st, name.split(" ")[-1], target),
        f"<h2>{esc(name.capitalize())} over time</h2>",
    ]
    gaps = list(result.gaps)
    body.append(
        responsive(
            lambda w: angle_plot(
                result.t,
                result.primary_deg,
                reps,
                gaps,
                ylabel=f"{name} (°)",
                width=w,
                interrupted=cut,
                target=target,
                bridge_s=BRIDGE_S,
            ),
            "angle",
        )
    )
    key = [
        swatch(TRACE, "angle"),
        swatch(REP_OK, "counted repetition (number at its turning point)"),
        swatch(REP_FLAGGED, "flagged repetition"),
        swatch(GAP, "no data: no angle is known"),
    ]
    if cut:
        key.append(swatch(REP_CUT, "interrupted repetition (not counted)", pattern=True))
    if target is not None:
        key.append(swatch(TARGET, "target zone"))
    body.append(f'<div class="key">{"".join(key)}</div>')
    body.append("<h2>Range of motion per repetition</h2>")
    if reps:
        body.append(responsive(lambda w: _rom_chart(reps, target, name, w), "rom"))
        body.append(
            '<div class="key">'
            + swatch(
                "#2e8b57",
                "from the lowest to the highest angle of each repetition; its ROM above it",
            )
            + (swatch(TARGET, "target") if target else "")
            + "</div>"
        )
        body += ["<h2>Repetitions</h2>", _rep_table(reps, target)]
    else:
        body.append("<p>No repetitions counted.</p>")
    body += _interrupted(cut, d["gaps"])
    body += _quality(result, d)
    body.append(legend(d["exercise"], joint=d["joint"], target=target))
    return page(f"{head}: {name}", body, footer=f"fusion {d['fusion_method']} · angles in degrees")


def _rom_chart(reps: list[dict[str, Any]], target: TargetZone | None, name: str, width: int) -> str:
    bars = [
        [
            Bar(
                r["min_deg"],
                r["max_deg"],
                "#f0a500" if r["flags"] else "#2e8b57",
                f"rep {r['index'] + 1}: {r['min_deg']:.1f}° to {r['max_deg']:.1f}°, "
                f"ROM {r['rom_deg']:.1f}°",
            )
        ]
        for r in reps
    ]
    ref = (target.target_deg, TARGET, f"target {target.target_deg:g}°") if target else None
    lo = min(0.0, min(r["min_deg"] for r in reps))
    return bar_chart(
        [str(r["index"] + 1) for r in reps],
        bars,
        width=width,
        ylabel=f"{name} (°)",
        xlabel="repetition",
        lo=lo,
        values=[f"{r['rom_deg']:.0f}" for r in reps],
        ref=ref,
        aria="range of motion per repetition",
    )
