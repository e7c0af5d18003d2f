"""The progress report: several sessions of one joint, in time order, the figures a care team
follows week to week (range of motion, repetitions, their quality).

Each session's numbers are its :meth:`AnalysisResult.to_dict` values (the JSON of
``motiontrack analyze --json``), as in the session report.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from typing import Any

from ..errors import ConfigurationError
from ._page import (
    BRIDGE_S,
    SessionInfo,
    cards_html,
    esc,
    fmt,
    legend,
    page,
    responsive,
    swatch,
    when,
)
from ._session import angle_name, rep_stats, result_dict
from ._svg import REP_CUT, REP_FLAGGED, TARGET, Bar, bar_chart
from .targets import TargetZone, target_zone

OK_GREEN = "#2e8b57"
WIDE = ' class="l wide"'


def _labels(infos: list[SessionInfo | None]) -> list[str]:
    days = [f"{i.date:%b} {i.date.day}" if i and i.date else "" for i in infos]
    out = []
    for k, (day, info) in enumerate(zip(days, infos)):
        if not day:
            out.append(f"#{k + 1}")
        elif days.count(day) > 1 and info is not None and info.date is not None:
            out.append(f"{day} {info.date:%H:%M}")
        else:
            out.append(day)
    return out


def _order(
    sessions: Sequence[tuple[Any, SessionInfo | None]],
) -> list[tuple[Any, SessionInfo | None]]:
    """By date; sessions without a date keep their given order, after the dated ones."""
    far = _dt.datetime.max.replace(tzinfo=_dt.UTC)
    return sorted(sessions, key=lambda s: s[1].date if s[1] and s[1].date else far)


def _target(ds: list[dict[str, Any]], target_deg: float | None) -> TargetZone | None:
    exercises = {d["exercise"] for d in ds}
    if len(exercises) != 1:
        if target_deg is not None:
            raise ConfigurationError("a target needs one exercise for all sessions")
        return None
    d = ds[0]
    return target_zone(d["exercise"], joint=d["joint"], angle=d["angle"], target_deg=target_deg)


def render_progress(
    sessions: Sequence[tuple[Any, SessionInfo | None]],
    *,
    title: str | None = None,
    target_deg: float | None = None,
) -> str:
    """HTML text of the progress report of ``sessions``: (AnalysisResult, SessionInfo) pairs.

    Raises
    ------
    ConfigurationError
        Fewer than two sessions, or sessions of different joints or angles (their ROM
        cannot be compared).
    """
    if len(sessions) < 2:
        raise ConfigurationError("a progress report needs at least two sessions")
    ordered = _order(sessions)
    results = [r for r, _ in ordered]
    infos = [i for _, i in ordered]
    names = {angle_name(r) for r in results}
    if len(names) != 1:
        raise ConfigurationError(
            f"the sessions measure different angles ({', '.join(sorted(names))}): a progress "
            "report compares one joint's angle"
        )
    name = names.pop()
    ds = [result_dict(r) for r in results]
    target = _target(ds, target_deg)
    stats = [rep_stats(d["reps"], target) for d in ds]
    labels = _labels(infos)
    head = title or "Progress report"
    body = [
        f"<h1>{esc(head)}: {esc(name)}</h1>",
        '<dl class="facts">'
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in _facts(ds, infos, target))
        + "</dl>",
        _change_cards(ds, stats, labels),
        "<h2>Range of motion by session</h2>",
        responsive(lambda w: _rom_chart(ds, labels, target, name, w), "progress-rom"),
        '<div class="key">'
        + swatch(
            OK_GREEN,
            "from the lowest to the highest angle of the counted repetitions; the ROM above",
        )
        + (swatch(TARGET, "target") if target else "")
        + "</div>",
        "<h2>Repetitions by session</h2>",
        responsive(lambda w: _reps_chart(ds, stats, labels, w), "progress-reps"),
        '<div class="key">'
        + swatch(OK_GREEN, "counted, no flag")
        + swatch(REP_FLAGGED, "counted, flagged")
        + swatch(REP_CUT, "interrupted (not counted)")
        + "</div>",
        "<h2>Quality by session</h2>",
        responsive(lambda w: _quality_chart(ds, stats, labels, w), "progress-quality"),
        '<div class="key">'
        + swatch(OK_GREEN, "share of the counted repetitions with no flag")
        + "</div>",
        "<h2>Sessions</h2>",
        _table(ds, stats, infos, results, target),
        legend(ds[0]["exercise"] if target else None, joint=ds[0]["joint"], target=target),
    ]
    return page(f"{head}: {name}", body, footer="angles in degrees")


def _facts(
    ds: list[dict[str, Any]], infos: list[SessionInfo | None], target: TargetZone | None
) -> list[tuple[str, str]]:
    sides = {i.side for i in infos if i is not None and i.side}
    exercises = sorted({d["exercise"] or "not given" for d in ds})
    return [
        ("Sessions", f"{len(ds)}, from {when(infos[0])} to {when(infos[-1])}"),
        ("Side", ", ".join(sorted(sides)) if sides else "not given (analysed as the right side)"),
        (
            "Joint",
            f"{ds[0]['joint']} ({ds[0]['angle'].replace('_deg', '')})"
            if ds[0]["joint"]
            else f"one sensor: {ds[0]['segment']}",
        ),
        ("Exercise", ", ".join(exercises)),
        ("Target", target.describe() if target else "none given"),
    ]


def _change_cards(ds: list[dict[str, Any]], stats: list[dict[str, Any]], labels: list[str]) -> str:
    first, last = ds[0], ds[-1]

    def change(a: float | None, b: float | None, unit: str) -> str:
        if a is None or b is None:
            return "–"
        return f"{a:.1f}{unit} → {b:.1f}{unit} ({b - a:+.1f})"

    cards = [
        (
            "rom_change",
            f"range of motion, {labels[0]} → {labels[-1]} (°)",
            change(first["rom"]["rom_deg"], last["rom"]["rom_deg"], ""),
        ),
        (
            "max_change",
            "highest angle (°)",
            change(first["rom"]["max_deg"], last["rom"]["max_deg"], ""),
        ),
        ("reps_change", "repetitions counted", f"{first['rep_count']} → {last['rep_count']}"),
        ("flag_change", "reps flagged", f"{stats[0]['flagged']} → {stats[-1]['flagged']}"),
    ]
    return cards_html(cards)


def _rom_chart(
    ds: list[dict[str, Any]], labels: list[str], target: TargetZone | None, name: str, width: int
) -> str:
    bars, values = [], []
    for d, label in zip(ds, labels):
        rom = d["rom"]
        if rom["min_deg"] is None:
            bars.append([])
            values.append("")
            continue
        bars.append(
            [
                Bar(
                    rom["min_deg"],
                    rom["max_deg"],
                    OK_GREEN,
                    f"{label}: {rom['min_deg']:.1f}° to {rom['max_deg']:.1f}°, "
                    f"ROM {rom['rom_deg']:.1f}°",
                )
            ]
        )
        values.append(f"{rom['rom_deg']:.0f}")
    ref = (target.target_deg, TARGET, f"target {target.target_deg:g}°") if target else None
    lows = [d["rom"]["min_deg"] for d in ds if d["rom"]["min_deg"] is not None]
    return bar_chart(
        labels,
        bars,
        width=width,
        ylabel=f"{name} (°)",
        xlabel="session",
        lo=min([0.0] + lows),
        values=values,
        ref=ref,
        aria="range of motion by session",
    )


def _reps_chart(
    ds: list[dict[str, Any]], stats: list[dict[str, Any]], labels: list[str], width: int
) -> str:
    bars, values = [], []
    for d, st, label in zip(ds, stats, labels):
        n, flagged, cut = d["rep_count"], st["flagged"], len(d["interrupted_reps"])
        segs = [Bar(0, n - flagged, OK_GREEN, f"{label}: {n - flagged} counted, no flag")]
        if flagged:
            segs.append(Bar(n - flagged, n, REP_FLAGGED, f"{label}: {flagged} counted, flagged"))
        if cut:
            segs.append(Bar(n, n + cut, REP_CUT, f"{label}: {cut} interrupted, not counted"))
        bars.append(segs)
        values.append(str(n))
    return bar_chart(
        labels,
        bars,
        width=width,
        ylabel="repetitions",
        xlabel="session",
        values=values,
        aria="repetitions by session",
    )


def _quality_chart(
    ds: list[dict[str, Any]], stats: list[dict[str, Any]], labels: list[str], width: int
) -> str:
    bars, values = [], []
    for d, st, label in zip(ds, stats, labels):
        n = d["rep_count"]
        share = 100.0 * (n - st["flagged"]) / n if n else 0.0
        bars.append(
            [Bar(0, share, OK_GREEN, f"{label}: {share:.0f} % of {n} reps with no flag")]
            if n
            else []
        )
        values.append(f"{share:.0f}%" if n else "")
    return bar_chart(
        labels,
        bars,
        width=width,
        ylabel="reps with no flag (%)",
        xlabel="session",
        hi=100.0,
        values=values,
        aria="quality by session",
    )


def _table(
    ds: list[dict[str, Any]],
    stats: list[dict[str, Any]],
    infos: list[SessionInfo | None],
    results: list[Any],
    target: TargetZone | None,
) -> str:
    cols = (
        [
            "date",
            "file",
            "exercise",
            "reps",
            "interrupted",
            "lowest (°)",
            "highest (°)",
            "ROM (°)",
            "ROM per rep (°)",
        ]
        + (["reached target"] if target else [])
        + ["flagged", "no angles (s)"]
    )
    rows = []
    for k, (d, st, info, res) in enumerate(zip(ds, stats, infos, results)):
        no_angle = sum(g["duration_s"] for g in d["gaps"] if g["duration_s"] > BRIDGE_S)
        vals = [
            when(info),
            os.path.basename(res.source),
            d["exercise"] or "–",
            str(d["rep_count"]),
            str(len(d["interrupted_reps"])),
            fmt(d["rom"]["min_deg"]),
            fmt(d["rom"]["max_deg"]),
            fmt(d["rom"]["rom_deg"]),
            f"{st['rom_mean']:.1f} ± {st['rom_sd']:.1f}" if st["rom_mean"] is not None else "–",
        ]
        if target:
            vals.append(f"{st['reached']} of {d['rep_count']}")
        vals += [str(st["flagged"]), f"{no_angle:.1f}"]
        cells = "".join(
            f'<td data-label="{esc(c)}"{WIDE if c in ("date", "file") else ""}>{esc(v)}</td>'
            for c, v in zip(cols, vals)
        )
        rows.append(f'<tr data-session="{k}">{cells}</tr>')
    head = "".join(f"<th{' class=l' if c in ('date', 'file') else ''}>{esc(c)}</th>" for c in cols)
    return (
        f'<table class="cards-sm sessions"><thead><tr>{head}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )
