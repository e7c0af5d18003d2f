"""Templates and template-based rep counting on recordings (``motiontrack template create``,
``motiontrack analyze --template``).

IMU templates read the named sensors' samples, put on one time grid (the first sensor's
rate; a hole longer than :data:`GAP_S` is a gap, NaN, never bridged). Joint-angle templates
take the joint angle of the one session engine (:func:`motiontrack.analysis.process_recording`:
the session protocol, calibration and angles) and match on it.

>>> import motiontrack as mt
>>> tpl = mt.template_analysis.create_template("demo.csv", span=(12.0, 16.5), segments=["shank"],
...                                            label="knee extension")        # doctest: +SKIP
>>> tpl.save("knee_ext.json")                                                  # doctest: +SKIP
>>> res = mt.template_analysis.analyze_templates("session.csv", [tpl])         # doctest: +SKIP
>>> res.rep_count, res.reps[0].label, res.reps[0].score                        # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import io
from .analysis import process_recording
from .recording.model import Recording
from .reps import (
    Template,
    TemplateError,
    TemplateRep,
    TemplateSettings,
    detect_template_reps,
    imu_features,
)

__all__ = ["GAP_S", "OFFLINE_SLACK_S", "TemplateAnalysis", "analyze_templates", "create_template", "imu_grid"]

#: a hole longer than this between two samples of a sensor is a gap, s
GAP_S = 0.25
#: offline there is no latency bound: matches of templates ending up to this far apart are
#: compared before a rep is decided (live: ``TemplateSettings.slack_s``, 0.2 s), s
OFFLINE_SLACK_S = 1.5


@dataclass
class TemplateAnalysis:
    """Reps found by templates in one recording."""

    source: str
    sensors: tuple[str, ...]
    fs_hz: float
    duration_s: float
    labels: list[str]
    reps: list[TemplateRep]
    warnings: list[str] = field(default_factory=list)

    @property
    def rep_count(self) -> int:
        return len(self.reps)

    def counts(self) -> dict[str, int]:
        """Reps per template label."""
        out = {lab: 0 for lab in self.labels}
        for r in self.reps:
            out[r.label] = out.get(r.label, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``motiontrack analyze --template --json``."""
        return {
            "mode": "template",
            "sensors": list(self.sensors),
            "templates": list(self.labels),
            "fs_hz": round(self.fs_hz, 6),
            "duration_s": round(self.duration_s, 4),
            "rep_count": self.rep_count,
            "counts": self.counts(),
            "reps": [r.to_dict() for r in self.reps],
            "warnings": list(self.warnings),
        }


def _load(source: str | os.PathLike[str] | Recording) -> Recording:
    return source if isinstance(source, Recording) else io.load(source)


def imu_grid(rec: Recording, names: Sequence[str]) -> tuple[np.ndarray, float, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The named sensors' gyroscope and accelerometer on one grid (linear interpolation).

    Returns (t (N,) s, fs Hz, {name: (gyr (N, 3), acc (N, 3))}); samples inside a hole longer
    than :data:`GAP_S`, and outside a sensor's own span, are NaN.
    """
    missing = [n for n in names if n not in rec.sensors]
    if missing:
        raise TemplateError(f"the template needs sensors {list(names)}; the recording "
                            f"{rec.source!r} has {sorted(rec.sensors)} (no {', '.join(missing)})")
    first = rec.sensors[names[0]]
    fs = float(first.fs)
    t0 = min(float(rec.sensors[n].t[0]) for n in names)
    t1 = max(float(rec.sensors[n].t[-1]) for n in names)
    t = t0 + np.arange(int(np.floor((t1 - t0) * fs)) + 1) / fs
    out = {}
    for n in names:
        s = rec.sensors[n]
        k = np.clip(np.searchsorted(s.t, t), 1, s.t.size - 1)
        hole = (s.t[k] - s.t[k - 1] > GAP_S) | (t < s.t[0]) | (t > s.t[-1])
        vals = []
        for arr in (s.gyr, s.acc):
            v = np.column_stack([np.interp(t, s.t, arr[:, c]) for c in range(3)])
            v[hole] = np.nan
            vals.append(v)
        out[n] = (vals[0], vals[1])
    return t, fs, out


def create_template(source: str | os.PathLike[str] | Recording, *, span: tuple[float, float],
                    reps: int = 1, segments: Sequence[str] | None = None,
                    joint: str | None = None, proximal: str | None = None,
                    distal: str | None = None, label: str | None = None,
                    settings: TemplateSettings | None = None) -> Template:
    """A template from a span of a recording (times in s on the file's time axis).

    Give ``segments`` (one or more sensor names: IMU features) or ``joint`` with
    ``proximal``/``distal`` (the joint's primary angle from the session engine).
    """
    st = settings or TemplateSettings()
    rec = _load(source)
    name = label or f"{Path(str(rec.source or 'recording')).stem} {span[0]:g}-{span[1]:g} s"
    if segments:
        if joint or proximal or distal:
            raise TemplateError("give --segment NAME(s) or --joint/--proximal/--distal, not both")
        names = list(dict.fromkeys(segments))
        t, fs, imu = imu_grid(rec, names)
        tt, f = imu_features([imu[n][0] for n in names], [imu[n][1] for n in names], fs=fs,
                             t0=float(t[0]), settings=st)
        return Template.from_features(tt, f, span=span, reps=reps, label=name,
                                      source={"kind": "imu", "segments": names},
                                      feature_rate_hz=st.feature_rate_hz, frame=st.frame,
                                      vertical_tau_s=st.vertical_tau_s)
    if joint is None:
        raise TemplateError("give --segment NAME(s), or --joint with --proximal and --distal")
    res = process_recording(rec, joint=joint, proximal=proximal, distal=distal)
    return Template.from_angle(res.primary_deg, fs=res.fs_hz, t0=float(res.t[0]), span=span,
                               reps=reps, label=name, joint=res.joint, proximal=res.sensors[0],
                               distal=res.sensors[1], settings=st)


def analyze_templates(source: str | os.PathLike[str] | Recording,
                      templates: Sequence[Template | str | os.PathLike[str]], *,
                      settings: TemplateSettings | None = None) -> TemplateAnalysis:
    """Every repetition of any of ``templates`` (objects or JSON files) in a recording.

    Without ``settings``, matches are compared over :data:`OFFLINE_SLACK_S` (no latency bound
    offline; the choice of template is better informed than live).
    """
    settings = settings or TemplateSettings(slack_s=OFFLINE_SLACK_S)
    tl = [t if isinstance(t, Template) else Template.load(t) for t in templates]
    if not tl:
        raise TemplateError("give at least one template")
    rec = _load(source)
    warn = list(rec.warnings)
    src = tl[0].source
    if src["kind"] == "imu":
        names = list(tl[0].segments)
        t, fs, imu = imu_grid(rec, names)
        n_gap = int(np.isnan(next(iter(imu.values()))[0][:, 0]).sum())
        if n_gap:
            warn.append(f"{n_gap / fs:.2f} s of gaps: no rep counted across them")
        reps = detect_template_reps(tl, fs=fs, imu=imu, t0=float(t[0]), settings=settings)
        dur = float(t[-1] - t[0])
    else:
        res = process_recording(rec, joint=src.get("joint"), proximal=src.get("proximal"),
                                distal=src.get("distal"))
        names = list(res.sensors)
        fs = res.fs_hz
        reps = detect_template_reps(tl, fs=fs, angle_deg=res.primary_deg, t0=float(res.t[0]),
                                    settings=settings)
        dur = res.duration_s
        warn += res.warnings
    return TemplateAnalysis(source=str(rec.source), sensors=tuple(names), fs_hz=fs,
                            duration_s=dur, labels=[t.label for t in tl], reps=reps, warnings=warn)
