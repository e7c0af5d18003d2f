"""What the session report and the progress report share: the page, its CSS (phone first,
print), charts drawn per width band, the header facts, the plain-words legend."""

from __future__ import annotations

import datetime as _dt
import html
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..conventions import JOINT_RANGE_DEG
from ..exercise import ExerciseSettings
from ..recording.model import Recording
from ..reps import PRESETS, RepFlags

#: Width bands: (class, drawing width in user units, smallest viewport in CSS px). Each chart
#: is drawn once per band and the band's CSS shows the one that fits, so the drawing is shown
#: at 0.89-1.3x its size and its 12-unit text at 11-16 px (a single drawing scaled from 1000 px
#: down to a phone shrinks text to 4 px). Print uses the "l" drawing.
BANDS: tuple[tuple[str, int, int], ...] = (
    ("s", 340, 0),
    ("m", 460, 472),
    ("l", 620, 632),
    ("xl", 900, 832),
)

_BAND_CSS = "".join(
    f"@media (min-width:{vmin}px){{"
    + "".join(f".chart-{o}{{display:none}}" for o, _, _ in BANDS if o != name)
    + f".chart-{name}{{display:block}}}}"
    for name, _, vmin in BANDS[1:]
)

CSS = (
    """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1000px;
color:#1d2330;padding:16px;font-size:15px;line-height:1.45}
h1{font-size:21px;margin:0 0 8px;overflow-wrap:anywhere}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde;padding-bottom:4px}
p,li{overflow-wrap:anywhere}
.sub{color:#4a5263;font-size:13px}
.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 14px;margin:0 0 12px;font-size:14px}
.facts dt{color:#4a5263}.facts dd{margin:0;overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:10px;margin:14px 0}
.card{border:1px solid #dde;border-radius:8px;padding:8px 12px;min-width:0}
.card .v{font-size:22px;font-weight:600;overflow-wrap:anywhere}.card .k{font-size:12px;color:#4a5263}
.chart svg{display:block;width:100%;height:auto}
.chart-m,.chart-l,.chart-xl{display:none}
.key{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:13px;color:#4a5263;margin:6px 0 0}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin-right:5px}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{padding:4px 6px;border-bottom:1px solid #eef;text-align:right;vertical-align:top}
th{background:#f5f6fa;font-weight:600}
td.l,th.l{text-align:left}
.flag{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;margin:1px 3px 1px 0;white-space:nowrap}
.flag.ok{background:#d9f2df}.flag.partial_set,.flag.partial_target{background:#ffe9b3}
.flag.too_fast,.flag.too_slow{background:#ffd0d0}.flag.implausible{background:#f5b8c0}
.flag.interrupted{background:#d9dbe3}
.warn{background:#fff6e0;border-left:4px solid #f0a500;padding:6px 10px;margin:4px 0;font-size:13px;overflow-wrap:anywhere}
.legend dt{font-weight:600;margin-top:6px}.legend dd{margin:0 0 0 0;font-size:14px}
footer{margin-top:30px;font-size:12px;color:#6a7080;overflow-wrap:anywhere}
@media (max-width:639px){
table.cards-sm thead{display:none}
table.cards-sm,table.cards-sm tbody,table.cards-sm tr,table.cards-sm td{display:block;width:100%}
table.cards-sm tr{display:grid;grid-template-columns:repeat(auto-fill,minmax(64px,1fr));gap:2px 8px;border:1px solid #dde;
border-radius:8px;padding:6px 10px;margin:0 0 8px}
table.cards-sm td{text-align:left;border:0;padding:0}
table.cards-sm td::before{content:attr(data-label);display:block;font-size:11px;color:#4a5263}
table.cards-sm td.wide{grid-column:1/-1}
}
"""
    + _BAND_CSS
    + """
@media print{
body{max-width:none;padding:0;font-size:10.5pt}
.chart-s,.chart-m,.chart-xl{display:none!important}.chart-l{display:block!important}
.card,.chart,tr,.warn,.legend div{break-inside:avoid}h2{break-after:avoid}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""
)

#: Gaps up to this long are bridged by the engine (its default setting), s.
BRIDGE_S = ExerciseSettings().max_interp_s

#: Plain words for each rep flag (lower-case name of :class:`motiontrack.reps.RepFlags`).
FLAG_TEXT: dict[str, str] = {
    "ok": "nothing unusual about this repetition.",
    "partial_set": "its range of motion was below {partial:.0f} % of the full repetitions of "
    "this session.",
    "partial_target": "its range of motion was below {target_frac:.0f} % of the prescribed one.",
    "too_fast": "done faster than the exercise's tempo allows (under {fast} s, or well under "
    "this patient's usual pace).",
    "too_slow": "slower than the prescribed tempo.",
    "implausible": "it reaches an angle the joint cannot take (outside {range}): a sensor "
    "probably slipped; do not trust its numbers.",
    "interrupted": "cut by a gap in the data: what was seen is listed, but it is not counted and "
    "its range of motion is not known.",
}


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """Facts about a session that the analysis itself does not hold.

    ``date``: when it was recorded (UTC), and ``date_note`` where that comes from;
    ``side``: the exercised side as given (None: not given; the analysis assumed right).
    """

    date: _dt.datetime | None = None
    date_note: str = ""
    side: str | None = None

    @classmethod
    def of(cls, rec: Recording, *, side: str | None = None) -> SessionInfo:
        """The date of a recording: a ``.mtrec`` file's start (written in its header), else
        the file's modification time (a CSV holds no date)."""
        created = rec.meta.get("created")
        if isinstance(created, str):
            try:
                when = _dt.datetime.fromisoformat(created)
                if when.tzinfo is None:
                    when = when.replace(tzinfo=_dt.UTC)
                return cls(when.astimezone(_dt.UTC), "recording started", side)
            except ValueError:
                pass
        try:
            mtime = os.stat(rec.source).st_mtime
        except (OSError, ValueError):
            return cls(None, "", side)
        when = _dt.datetime.fromtimestamp(mtime, _dt.UTC)
        return cls(when, "file modified; the file holds no date", side)


def fmt(x: Any, nd: int = 1) -> str:
    """A number for the page: ``nd`` decimals, "–" for None or NaN."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{nd}f}"


def when(info: SessionInfo | None) -> str:
    if info is None or info.date is None:
        return "not known"
    return info.date.strftime("%Y-%m-%d %H:%M UTC")


def esc(x: Any) -> str:
    return html.escape(str(x))


def responsive(draw: Callable[[int], str], name: str) -> str:
    """One drawing of a chart per width band (see :data:`BANDS`)."""
    return "".join(
        f'<div class="chart chart-{band}" data-chart="{esc(name)}">{draw(width)}</div>'
        for band, width, _ in BANDS
    )


def cards_html(cards: Sequence[tuple[str, str, str]]) -> str:
    """Figure cards: (key for ``data-k``, label, value shown)."""
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card" data-k="{esc(k)}"><div class="v">{esc(v)}</div>'
            f'<div class="k">{esc(label)}</div></div>'
            for k, label, v in cards
        )
        + "</div>"
    )


def flags_html(flags: Sequence[str]) -> str:
    names = list(flags) or ["ok"]
    return "".join(f'<span class="flag {esc(n)}">{esc(n.replace("_", " "))}</span>' for n in names)


def swatch(color: str, text: str, pattern: bool = False) -> str:
    bg = f"repeating-linear-gradient(45deg,{color} 0 3px,#8a90a0 3px 5px)" if pattern else color
    return f'<span><span class="sw" style="background:{bg}"></span>{esc(text)}</span>'


def page(title: str, body: Sequence[str], *, footer: str) -> str:
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title)}</title>",
            f"<style>{CSS}</style></head><body>",
            *body,
            f"<footer>motiontrack report · generated {stamp} · {esc(footer)}</footer>",
            "</body></html>",
        ]
    )


def legend(
    exercise: str | None, *, joint: str | None, target: Any, extra: Sequence[tuple[str, str]] = ()
) -> str:
    """ "How to read this report": every term and symbol of the page in plain words."""
    preset = PRESETS.get(exercise or "", PRESETS["generic"])
    rng = JOINT_RANGE_DEG.get(joint or "")
    words = {
        "partial": 100 * preset.partial_frac,
        "target_frac": 100 * preset.target_frac,
        "fast": f"{preset.fast_s:g}" if preset.fast_s else "–",
        "range": f"{rng[0]:g}..{rng[1]:g}° for a {joint}" if rng else "the joint's range",
    }
    items = [
        (
            "Repetition (rep)",
            "one movement out and back. It is counted once the joint has come "
            f"back most of the way ({100 * preset.return_frac:.0f} % of the movement).",
        ),
        (
            "Set",
            "repetitions done one after another. A rest of more than "
            f"{preset.pause_s:g} s starts a new set.",
        ),
        (
            "min, max",
            "the smallest and the largest angle of a repetition, in degrees. For a "
            "knee, 0° is a straight leg and bending is positive.",
        ),
        (
            "ROM",
            "range of motion: the largest minus the smallest angle (of one repetition, or "
            "of all counted repetitions together).",
        ),
        (
            "±",
            "“80.0 ± 3.1” is the average and the standard deviation: about two "
            "repetitions in three lie within 3.1° of the average of 80.0°.",
        ),
        (
            "Tempo",
            "“out” is the time from the start to the turning point, “back” from the "
            "turning point to the end; “hold” the time spent near the turning point.",
        ),
        (
            "Data gap",
            f"a time without data from a sensor. Gaps up to {BRIDGE_S:g} s are "
            "bridged; over a longer one no angle is known, none is drawn (red band), and a "
            "repetition it cuts is listed as interrupted, not counted.",
        ),
    ]
    if target is not None:
        items.append(
            (
                "Target zone",
                f"{target.describe()}: the green band; “reached” says "
                "whether a repetition's turning point was inside it.",
            )
        )
    items += list(extra)
    flag_items = "".join(
        f"<div><dt>{flags_html([name])}</dt><dd>{esc(text.format(**words))}</dd></div>"
        for name, text in FLAG_TEXT.items()
        if name == "ok" or getattr(RepFlags, name.upper(), None) is not None
    )
    return (
        '<h2>How to read this report</h2><dl class="legend">'
        + "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in items)
        + "<div><dt>Flags</dt><dd>each repetition is marked with what was noticed:</dd></div>"
        + flag_items
        + "</dl>"
    )
