"""Offline analysis of a recording: the exercise engine fed the whole recording.

>>> from motiontrack.analysis import process_recording
>>> res = process_recording("set1.csv", joint="knee", proximal="thigh", distal="shank")  # doctest: +SKIP
>>> res.rep_count, res.reps[0].rom_deg                                                    # doctest: +SKIP

This is a thin driver of :class:`motiontrack.exercise.ExerciseEngine`, the same engine a live
:class:`motiontrack.Session` runs: read the file (:func:`motiontrack.io.load`), apply the
sensor calibrations, feed every sensor's samples with their host arrival times (recordings
made live) or on the file's shared clock (CSV), and collect the engine's events into an
:class:`AnalysisResult`. The session protocol, the calibration, the time base, gaps, angles,
reps and their extremes are the engine's; nothing here computes them a second way, so the
reps read here are the reps a live session counted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import calibration as scal
from . import events as ev
from . import io
from .conventions import REGION_ANGLES
from .errors import CalibrationError, ConfigurationError, InputError
from .exercise import (
    EXERCISE_POSES,
    JOINT_CHOICES,
    PRIMARY_ANGLE,
    SEGMENT_ANGLE,
    ExerciseEngine,
    ExerciseSettings,
    detect_start_pose,
    quiet_mask,
    quiet_runs,
)
from .exercise.regions import PlacementError, load_placement
from .kinematics import SegmentCalibration
from .recording.model import Gap, Recording, SensorSamples
from .reps import Rep

__all__ = [
    "EXERCISE_POSES",
    "JOINT_CHOICES",
    "PRIMARY_ANGLE",
    "AnalysisResult",
    "AnalysisSettings",
    "analyze",
    "detect_start_pose",
    "process_recording",
    "quiet_mask",
    "quiet_runs",
]

#: .. versionchanged:: 0.1.0  The one settings object of live and offline sessions.
AnalysisSettings = ExerciseSettings
MIN_DURATION_S = 3.0  # s; shorter recordings are refused
_CHUNKS_S = 30.0  # s of samples fed per sensor at a time (bounds the engine's buffers)


@dataclass
class AnalysisResult:
    """What :func:`process_recording` found.

    Attributes
    ----------
    joint : str or None
        Joint analysed, or None in single-sensor mode.
    sensors : tuple of str
        (proximal, distal) or (segment,).
    exercise : str or None
    fs_hz : float
        Rate of the session time grid (the reference sensor's), Hz.
    t : ndarray, shape (N,)
        Session time, s (the reference sensor's clock, as in the file).
    angles : dict[str, ndarray (N,)]
        Angles in degrees, primary first (NaN where unknown: long gaps).
    reps : list[motiontrack.reps.Rep]
        The counted reps.
    gaps : list[Gap]
    warnings : list[str]
    calibration : SegmentCalibration or None
    orientations : dict[str, ndarray (N, 4)]
        q_earth_sensor of each sensor on the session grid (NaN in gaps).
    fusion_method : str
    interrupted_reps : list[motiontrack.reps.Rep]
        Reps cut by a gap (flag ``INTERRUPTED``): what was seen of them. Not counted, not in
        :meth:`rom`.
    bridged : ndarray of bool, shape (N,)
        Rows whose angles rest on data interpolated over a short hole (at most
        ``ExerciseSettings.max_interp_s``); longer holes are NaN.
    faulty_sensors : list[str]
        Sensors whose gyroscope and accelerometer disagree at rest (the ``sensor_fault``
        warning, :class:`motiontrack.checks.TiltAgreementWatch`): the angles, and the reps
        counted from them, are not to be trusted. Empty for working sensors.
    """

    joint: str | None
    sensors: tuple[str, ...]
    exercise: str | None
    fs_hz: float
    t: np.ndarray
    angles: dict[str, np.ndarray]
    reps: list[Rep]
    gaps: list[Gap]
    warnings: list[str] = field(default_factory=list)
    calibration: SegmentCalibration | None = None
    orientations: dict[str, np.ndarray] = field(default_factory=dict)
    fusion_method: str = ""
    pose: str | None = None
    source: str = ""
    interrupted_reps: list[Rep] = field(default_factory=list)
    bridged: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    survivor: SurvivorCount | None = None
    faulty_sensors: list[str] = field(default_factory=list)

    @property
    def rep_count(self) -> int:
        return len(self.reps)

    @property
    def duration_s(self) -> float:
        return float(self.t[-1] - self.t[0]) if self.t.size > 1 else 0.0

    @property
    def primary(self) -> str:
        return next(iter(self.angles))

    @property
    def primary_deg(self) -> np.ndarray:
        return self.angles[self.primary]

    @property
    def clinical_angle(self) -> str:
        """The counted angle in a therapist's words (``"shoulder abduction (+) / adduction
        (-)"``; :data:`motiontrack.conventions.REGION_ANGLES`), else joint and column."""
        entry = REGION_ANGLES.get(self.joint or "", {}).get(self.primary)
        if entry is not None:
            return entry[2]
        name = self.primary.removesuffix("_deg").replace("_", " ")
        return f"{self.joint} {name}" if self.joint else f"{self.sensors[0]} {name}"

    def rom(self) -> dict[str, float | None]:
        """Range of motion of the primary angle, degrees: the lowest and highest extremes of the
        counted reps (each over its whole movement). The one ROM of motiontrack (the CLI, the
        JSON, the report and the live summary): the calibration pose, the transition into the
        exercise posture and movements that were not reps are not part of it. ``None`` values
        without reps."""
        if not self.reps:
            return {"min_deg": None, "max_deg": None, "rom_deg": None}
        lo = min(float(r.min_deg) for r in self.reps)
        hi = max(float(r.max_deg) for r in self.reps)
        return {"min_deg": round(lo, 2), "max_deg": round(hi, 2), "rom_deg": round(hi - lo, 2)}

    def to_dataframe(self, orientations: bool = False) -> Any:
        """The angles as a pandas DataFrame: ``time_s`` (s), one column per angle (degrees,
        primary first, NaN where unknown), ``in_gap`` (a sample inside a data gap) and
        ``bridged`` (:attr:`bridged`: angles interpolated over a short hole), and with
        ``orientations=True`` the sensors' ``<name>_qw.._qz`` (q_earth_sensor). Needs
        ``motiontrack[pandas]``."""
        q = self.orientations if orientations else None
        return io.tables.angles_frame(self.t, self.angles, self.gaps, q, self.bridged)

    def reps_dataframe(self) -> Any:
        """One row per rep (:data:`motiontrack.io.tables.REP_COLUMNS`), full precision."""
        return io.tables.reps_frame(self.reps)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``motiontrack analyze --json`` (see shared/API.md)."""
        d: dict[str, Any] = {
            "joint": self.joint,
            "segment": self.sensors[0] if self.joint is None else None,
            "sensors": list(self.sensors),
            "exercise": self.exercise,
            "fs_hz": round(self.fs_hz, 6),
            "duration_s": round(self.duration_s, 4),
            "angle": self.primary,
            "angle_name": self.clinical_angle,
            "rep_count": self.rep_count,
            "reps": [r.to_dict() for r in self.reps],
            "interrupted_reps": [r.to_dict() for r in self.interrupted_reps],
            "rom": self.rom(),
            "bridged_samples": int(np.count_nonzero(self.bridged)),
            "survivor": self.survivor.to_dict() if self.survivor is not None else None,
            "gaps": [g.to_dict() for g in self.gaps],
            "warnings": list(self.warnings),
            "faulty_sensors": list(self.faulty_sensors),
            "fusion_method": self.fusion_method,
        }
        if self.calibration is not None:
            c = self.calibration
            d["calibration"] = {
                "pose": c.pose,
                "confidence": round(float(c.confidence), 4),
                "rom_deg": round(float(c.rom_deg), 2),
                "q_segment_sensor_proximal": [
                    round(float(v), 8) for v in c.q_segment_sensor_proximal
                ],
                "q_segment_sensor_distal": [round(float(v), 8) for v in c.q_segment_sensor_distal],
                "notes": list(c.notes),
            }
        return d


@dataclass(frozen=True)
class SurvivorCount:
    """Reps counted from one sensor alone after its partner stopped for good (two-sensor
    analysis): offered only where sound, i.e. where that sensor alone found exactly the joint's
    reps while both ran. No joint angle is known there: these reps have the segment's angle."""

    segment: str
    from_s: float  #: the partner's last sample, s
    reps: list[Rep]  #: the reps after ``from_s`` (single-sensor extremes, degrees)
    checked: int  #: joint reps while both ran, each also found by the segment alone

    def to_dict(self) -> dict[str, Any]:
        return {"segment": self.segment, "from_s": round(self.from_s, 4),
                "rep_count": len(self.reps), "reps": [r.to_dict() for r in self.reps],
                "checked_reps": self.checked}


def rep_to_dict(r: Rep) -> dict[str, Any]:
    """A rep as plain JSON values (:meth:`motiontrack.reps.Rep.to_dict`)."""
    return r.to_dict()


def apply_sensor_calibration(rec: Recording, given: Any, warn: list[str]) -> dict[str, Any]:
    """Sensor calibrations to apply: the given ones (mapping or JSON file), else those recorded
    in the file (records of kind ``motiontrack.calibration.RECORD_KIND``)."""
    if given is None:
        recorded = {
            c.get("sensor"): scal.calibration_from_record(c)
            for c in rec.calibration
            if c.get("kind") == scal.RECORD_KIND and c.get("sensor") in rec.sensors
        }
        if recorded:
            warn.append(
                f"applied the sensor calibration recorded in the file to {', '.join(sorted(recorded))}"
            )
        return recorded
    cals = dict(given) if isinstance(given, dict) else scal.load_calibrations(given)
    if cals and not any(n in rec.sensors for n in cals):
        raise CalibrationError(
            f"the calibrations are for {sorted(cals)}, the recording has sensors {sorted(rec.sensors)}"
        )
    return {n: c for n, c in cals.items() if n in rec.sensors}


def _check_length(s: SensorSamples, name: str) -> None:
    if len(s) < 2 or s.duration_s < MIN_DURATION_S:
        raise InputError(
            f"sensor {name!r} has {s.duration_s:.1f} s of data; analysis needs at least "
            f"{MIN_DURATION_S:g} s (a still start plus some motion)"
        )


def _feed(
    engine: ExerciseEngine, rec: Recording, names: list[str], say: Callable[[str], None]
) -> list[ev.SessionEvent]:
    """Every sample of ``names`` into the engine, the reference sensor's chunk first (the
    engine's result does not depend on the chunking; this keeps its buffers small)."""
    sensors = [rec.sensors[n] for n in names]
    span = max(s.duration_s for s in sensors)
    k = max(1, int(np.ceil(span / _CHUNKS_S)))
    cuts = [np.linspace(0, len(s), k + 1).astype(int) for s in sensors]
    out: list[ev.SessionEvent] = []
    for i in range(k):
        say(f"processing {100 * i // k} %")
        for n, s, c in zip(names, sensors, cuts):
            sl = slice(c[i], c[i + 1])
            host = s.host_t[sl] if s.host_t is not None else np.nan
            out += engine.feed(
                n, s.t[sl], s.acc[sl], s.gyr[sl], s.mag[sl] if s.mag is not None else None, host
            )
    return out + engine.finish()


def _collect(
    events: list[ev.SessionEvent], names: list[str]
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    ups = [e for e in events if isinstance(e, ev.AngleUpdate) and e.final]
    ori = [e for e in events if isinstance(e, ev.OrientationUpdate)]
    if not ups:
        return np.empty(0), {}, {}, np.zeros(0, dtype=bool)
    t = np.concatenate([u.times for u in ups])
    vals = np.vstack([u.values_deg for u in ups])
    bridged = np.concatenate(
        [u.bridged if u.bridged is not None else np.zeros(u.times.size, bool) for u in ups]
    )
    angles = {name: vals[:, j] for j, name in enumerate(ups[-1].names)}
    q: dict[str, np.ndarray] = {}
    if ori:
        ot = np.concatenate([o.times for o in ori])
        idx = np.clip(np.searchsorted(ot, t), 0, ot.size - 1)
        for n in names:
            if all(n in o.q for o in ori):
                q[n] = np.vstack([o.q[n] for o in ori])[idx]
    return t, angles, q, bridged


def _warnings(events: list[ev.SessionEvent], gaps: list[Gap], bridge_s: float) -> list[str]:
    out = [e.message for e in events if isinstance(e, ev.SessionWarning)]
    out += [
        e.message for e in events if isinstance(e, ev.CalibrationPrompt) and e.step == "warning"
    ]
    if gaps:
        lost = sum(g.missing for g in gaps)
        out.append(
            f"{len(gaps)} data gap(s), {lost} missing samples in total; gaps up to {bridge_s:g} s interpolated"
        )
        for g in gaps:
            if g.duration_s > bridge_s:
                out.append(
                    f"long gap in {g.sensor}: {g.duration_s:.2f} s from {g.start_s:.2f} s (no angles "
                    "there; a rep it cuts is reported as interrupted, not counted)"
                )
    cut = [e.rep for e in events if isinstance(e, ev.RepInterrupted)]
    if cut:
        spans = ", ".join(f"{r.start_s:.1f}-{r.end_s:.1f} s" for r in cut[:5])
        more = f" and {len(cut) - 5} more" if len(cut) > 5 else ""
        out.append(
            f"{len(cut)} rep(s) cut by data gaps were not counted ({spans}{more}): see "
            "interrupted_reps"
        )
    return out


def process_recording(
    source: str | os.PathLike[str] | Recording,
    *,
    joint: str | None = None,
    proximal: str | None = None,
    distal: str | None = None,
    segment: str | None = None,
    exercise: str | None = None,
    settings: ExerciseSettings | None = None,
    calibration: SegmentCalibration | None = None,
    sensor_calibration: Any = None,
    recover: bool = False,
    progress: Callable[[str], None] | None = None,
    placement: Any = None,
) -> AnalysisResult:
    """Analyse a recording offline (the engine of ``motiontrack analyze``).

    Parameters
    ----------
    source : path or Recording
        ``.mtrec`` or long-form CSV file, or a recording already read.
    joint : {"knee", "elbow", "hip", "shoulder", "hinge"}, optional
        Two-sensor mode (default when ``segment`` is not given: ``"knee"``); sensor names
        default to the file's two sensors in order.
    segment : str, optional
        Single-sensor mode: count reps from this sensor's dominant rotation.
    exercise : str, optional
        Rep-counter preset (``motiontrack.reps.PRESETS``) and the exercise's own posture
        (:data:`EXERCISE_POSES`), checked against the start of the recording.
    settings : ExerciseSettings, optional
        The same settings a live session takes.
    calibration : SegmentCalibration, optional
        A known sensor-to-segment calibration; skips the automatic one.
    sensor_calibration : mapping or path, optional
        Sensor calibrations applied to the samples first (default: those stored in a
        ``.mtrec`` recording).
    recover : bool
        Use the intact part of a damaged ``.mtrec`` file instead of failing.
    progress : callable, optional
        Called with a short description as the work goes on.
    placement : mapping segment -> sensor name, or path of a JSON file holding one, optional
        Body-region exercises (:data:`motiontrack.exercise.regions.REGION_EXERCISES`): what is
        worn where; default: the sensor names say their segments (``chest``, ``upper_arm``, ...).

    Raises
    ------
    InputError
        Unknown sensor or exercise, bad option combination, recording too short.
    RecordingError, CorruptRecordingError
        Unreadable or damaged file.
    CalibrationError
        No still period, or no usable functional motion for the calibration.
    """
    st = settings or ExerciseSettings()
    say = progress or (lambda _msg: None)
    if segment is not None and (joint is not None or proximal is not None or distal is not None):
        raise InputError("give either --segment NAME or --joint/--proximal/--distal, not both")
    if joint is not None and joint not in JOINT_CHOICES:
        raise InputError(f"unknown joint {joint!r}; choose one of {', '.join(JOINT_CHOICES)}")
    say("reading")
    rec = source if isinstance(source, Recording) else io.load(source, recover=recover)
    warn = list(rec.warnings)  # what the reader noticed (unsorted rows, an unfinished file, ...)
    cals = apply_sensor_calibration(rec, sensor_calibration, warn)
    if segment is None:
        joint = joint or "knee"
    for n in [segment] if segment else [proximal, distal]:
        if n is not None:
            rec.sensor(n)  # a clear error for an unknown name
    try:
        engine = ExerciseEngine(
            {n: s.fs for n, s in rec.sensors.items()},
            joint=joint,
            proximal=proximal,
            distal=distal,
            segment=segment,
            exercise=exercise,
            calibration=calibration,
            settings=st,
            sensor_calibration=cals,
            orientations=True,
            placement=load_placement(placement) if placement is not None else None,
        )
    except PlacementError:
        raise
    except ConfigurationError as exc:
        raise InputError(str(exc)) from None
    names = [n for n in (engine.ref, engine.partner) if n is not None]
    for n in names:
        _check_length(rec.sensors[n], n)
    warn += _pair_warnings(rec, names)
    events = _feed(engine, rec, names, say)
    failed = [e for e in events if isinstance(e, ev.CalibrationFailed)]
    if engine.phase == "failed" or (engine.phase == "calibrating"):
        reason = failed[-1].reason if failed else "no calibration"
        raise CalibrationError(f"sensor-to-segment calibration failed: {reason}")
    t, angles, q, bridged = _collect(events, names)
    if engine.joint is not None:
        primary = engine.primary_angle or PRIMARY_ANGLE[engine.joint]
        if primary in angles:
            angles = {primary: angles[primary], **{k: v for k, v in angles.items() if k != primary}}
    gaps = [
        Gap(e.sensor, e.start_s, e.end_s, e.missing_samples)
        for e in events
        if isinstance(e, ev.DataGap)
    ]
    warn += engine_clock_warnings(engine) + coverage_warnings(rec, names, t)
    reps = engine.final_reps()
    survivor = _survivor(rec, names, reps, exercise, st, cals, warn)
    return AnalysisResult(
        joint=engine.joint,
        sensors=tuple(names) if engine.region is None else tuple(reversed(names)),  # (prox., dist.)
        exercise=exercise,
        fs_hz=engine.fs,
        t=t,
        angles=angles or {SEGMENT_ANGLE if segment else "flexion_deg": np.full(t.size, np.nan)},
        reps=reps,
        gaps=sorted(gaps, key=lambda g: (g.start_s, g.sensor)),
        warnings=warn + _warnings(events, gaps, st.max_interp_s),
        calibration=engine.calibration,
        orientations=q,
        fusion_method=st.fusion_method,
        pose=engine.pose,
        source=rec.source,
        interrupted_reps=list(engine.interrupted),
        bridged=bridged,
        survivor=survivor,
        faulty_sensors=[n for n in names if engine.streams[n].tilt.disagrees],
    )


def _survivor(rec: Recording, names: list[str], reps: list[Rep], exercise: str | None,
              st: ExerciseSettings, cals: dict[str, Any], warn: list[str]) -> SurvivorCount | None:
    """A sensor stopped for good (over 10 s before its partner, no host times): count the
    rest from the survivor alone, where sound: it must find each of the joint's reps (and no
    other) while both ran. Says what it did in ``warn``."""
    if len(names) != 2 or len(reps) < 3:
        return None
    ends = {n: float(rec.sensors[n].t[-1]) for n in names}
    short, other = sorted(names, key=lambda n: ends[n])
    if rec.sensors[short].host_t is not None or ends[other] - ends[short] <= 10.0:
        return None
    alone_rec = Recording(sensors={other: rec.sensors[other]}, source=rec.source)
    try:
        alone = process_recording(alone_rec, segment=other, exercise=exercise, settings=st,
                                  sensor_calibration={k: v for k, v in cals.items() if k == other})
    except (CalibrationError, InputError):
        return None
    both = [r for r in alone.reps if r.end_s <= ends[short]]
    found = sum(any(r.start_s - 0.5 <= a.peak_s <= r.end_s + 0.5 for a in both) for r in reps)
    if found != len(reps) or len(both) != len(reps):
        warn.append(f"{other} alone is no sound count here: while both sensors ran it found "
                    f"{len(both)} reps where the {names[0]}-{names[1]} pair counted {len(reps)}")
        return None
    after = [r for r in alone.reps if r.end_s > ends[short]]
    warn.append(f"counted from {other} alone after {ends[short]:.1f} s: {len(after)} more rep(s) "
                f"(its count matched all {len(reps)} of the pair's while both ran; no joint "
                "angle there: survivor in the JSON)")
    return SurvivorCount(other, ends[short], after, found)


def _pair_warnings(rec: Recording, names: list[str]) -> list[str]:
    if len(names) != 2:
        return []
    sp, sd = rec.sensors[names[0]], rec.sensors[names[1]]
    out = []
    if abs(sd.fs - sp.fs) > 0.02 * sp.fs:
        out.append(
            f"{names[0]} runs at {sp.fs:.1f} Hz and {names[1]} at {sd.fs:.1f} Hz: {names[1]} "
            f"resampled to {sp.fs:.1f} Hz"
        )
    if sp.host_t is None or sd.host_t is None:
        start, end = max(sp.t[0], sd.t[0]), min(sp.t[-1], sd.t[-1])
        if end - start < MIN_DURATION_S:
            raise InputError(
                f"{names[0]} and {names[1]} overlap for only {max(end - start, 0):.1f} s "
                f"(need at least {MIN_DURATION_S:g} s)"
            )
    return out


def coverage_warnings(rec: Recording, names: list[str], t: np.ndarray) -> list[str]:
    """What was not analysed because a sensor started late or stopped early (two sensors)."""
    if len(names) != 2 or t.size == 0:
        return []
    out = []
    ends = {n: float(rec.sensors[n].t[-1]) for n in names}
    starts = {n: float(rec.sensors[n].t[0]) for n in names}
    short, other = sorted(names, key=lambda n: ends[n])
    lost = ends[other] - ends[short]
    if rec.sensors[short].host_t is None and lost > 1.0:
        out.append(f"{short}'s data end at {ends[short]:.1f} s and {other}'s at {ends[other]:.1f} s: "
                   f"no angles and no reps after {ends[short]:.1f} s ({lost:.1f} s not analysed); "
                   f"count the rest from one sensor with --segment {other}")
    late, first = sorted(names, key=lambda n: -starts[n])
    missed = starts[late] - starts[first]
    if rec.sensors[late].host_t is None and missed > 1.0:
        out.append(f"{late}'s data begin at {starts[late]:.1f} s, {first}'s at {starts[first]:.1f} s: "
                   f"no angles before {starts[late]:.1f} s ({missed:.1f} s not analysed)")
    return out


def engine_clock_warnings(engine: ExerciseEngine) -> list[str]:
    """How the partner's clock was put on the reference's (recordings with host times)."""
    if engine.partner is None:
        return []
    off = engine.clock_offset()
    if off is None:
        return []
    shift, drift = off
    return [
        (
            f"{engine.partner}'s clock put on {engine.ref}'s by the host arrival times "
            f"(shift {shift * 1e3:+.1f} ms, relative drift {drift:+.1f} ppm)"
        )
    ]


#: Alias: the verb of the command line.
analyze = process_recording
