"""Offline analysis of a recording: fusion, sensor-to-segment calibration, joint angles,
repetitions, range of motion, gaps and data-quality warnings.

>>> from motiontrack.analysis import process_recording
>>> res = process_recording("set1.csv", joint="knee", proximal="thigh", distal="shank")  # doctest: +SKIP
>>> res.rep_count, res.reps[0].rom_deg                                                    # doctest: +SKIP

Pipeline (each step is the library's public API, nothing private):

1. read the file (:func:`motiontrack.io.load`: ``.mtrec`` or long-form CSV);
2. put each sensor on a uniform time grid at its nominal rate; gaps up to
   ``max_interp_s`` are linearly interpolated, longer ones become NaN rows (the filters
   hold the orientation there and the angles are NaN); every gap is reported;
3. fuse each sensor (:func:`motiontrack.fuse`, 6D);
4. two-sensor joints: resample the distal sensor onto the proximal sensor's grid,
   find the still period at the start (:func:`motiontrack.kinematics.detect_still`),
   tell whether it was the session protocol's standing pose or already the exercise's
   posture (:func:`detect_start_pose`; docs/session-protocol.md), calibrate
   sensor-to-segment from that pose plus the functional motion, the sit-down or lie-down
   included (:func:`motiontrack.kinematics.calibrate_joint`), compute the joint angles
   (:func:`motiontrack.kinematics.joint_angles`) and count reps on the primary angle from
   the first quiet moment in the exercise posture;
5. single sensor (``segment=``): count reps on the sensor's dominant rotation
   (:func:`motiontrack.reps.count_reps` with ``gyroscope=``), after a posture change
   from a standing start.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import CalibrationError, CalibrationWarning, ConfigurationError, InputError
from .recording.model import Gap, Recording, SensorSamples

__all__ = [
    "EXERCISE_POSES",
    "JOINT_CHOICES",
    "PRIMARY_ANGLE",
    "AnalysisResult",
    "AnalysisSettings",
    "analyze",
    "detect_start_pose",
    "process_recording",
    "resample",
]

#: Joints of ``analyze --joint``.
JOINT_CHOICES = ("knee", "elbow", "hip", "shoulder", "hinge")
#: Joints with an automatic (hinge) sensor-to-segment calibration.
_HINGE_JOINTS = ("knee", "elbow", "hinge")
#: Primary (counted) angle of each joint.
PRIMARY_ANGLE = {
    "knee": "flexion_deg",
    "elbow": "flexion_deg",
    "hip": "flexion_deg",
    "hinge": "flexion_deg",
    "shoulder": "elevation_deg",
}
#: Still pose at the start of a recording of each exercise (see motiontrack.kinematics.POSES).
EXERCISE_POSES = {
    "seated_knee_extension": "seated",
    "knee_extension": "seated",
    "squat": "standing",
    "heel_slide": "supine",
    "straight_leg_raise": "supine",
    "biceps_curl": "standing",
}
#: Column name of the counted signal in single-sensor mode.
SEGMENT_ANGLE = "segment_angle_deg"


@dataclass(frozen=True, kw_only=True, slots=True)
class AnalysisSettings:
    """Settings of :func:`process_recording`."""

    fusion_method: str = "vqf"  # orientation filter (motiontrack.fusion.methods())
    max_interp_s: float = 0.25  # s; gaps up to this are interpolated, longer ones are NaN
    still_min_s: float = 1.0  # s; shortest still period accepted for calibration
    still_search_s: float = 10.0  # s; the still period must start within this time
    min_duration_s: float = 3.0  # s; shorter recordings are refused
    pose: str | None = None  # still pose; None = detected (a standing start, or the
    #   exercise's own posture; without an exercise: standing)
    pose_flexion_deg: float | None = None  # deg; joint flexion in the still pose if measured
    #   (goniometer); None = the pose's nominal value (0 standing/supine, 90 seated). An error
    #   here is a constant offset of every angle: the seated pose's 90° is only nominal (the
    #   session protocol's standing pose defines 0°)
    side: str = "right"  # "right" | "left"

    def __post_init__(self) -> None:
        for name in ("max_interp_s", "still_min_s", "still_search_s", "min_duration_s"):
            v = getattr(self, name)
            if (
                isinstance(v, bool)
                or not isinstance(v, (int, float))
                or not math.isfinite(v)
                or v < 0
            ):
                raise ConfigurationError(f"{name} must be a finite number >= 0, got {v!r}")
        if self.pose_flexion_deg is not None and not (
            isinstance(self.pose_flexion_deg, (int, float)) and math.isfinite(self.pose_flexion_deg)
        ):
            raise ConfigurationError(
                f"pose_flexion_deg must be a finite number, got {self.pose_flexion_deg!r}"
            )
        if self.pose not in (None, "standing", "seated", "supine"):
            raise ConfigurationError(f"pose must be standing, seated or supine, got {self.pose!r}")
        if self.side not in ("right", "left"):
            raise ConfigurationError(f"side must be 'right' or 'left', got {self.side!r}")


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
        Rate of the common time grid, Hz.
    t : ndarray, shape (N,)
        Time grid, s (the recording's own clock).
    angles : dict[str, ndarray (N,)]
        Angles in degrees, primary first (NaN during long gaps).
    reps : list[motiontrack.reps.Rep]
    gaps : list[Gap]
    warnings : list[str]
    calibration : SegmentCalibration or None
    orientations : dict[str, ndarray (N, 4)]
        q_earth_sensor of each sensor on the grid.
    fusion_method : str
    """

    joint: str | None
    sensors: tuple[str, ...]
    exercise: str | None
    fs_hz: float
    t: np.ndarray
    angles: dict[str, np.ndarray]
    reps: list[Any]
    gaps: list[Gap]
    warnings: list[str] = field(default_factory=list)
    calibration: Any = None
    orientations: dict[str, np.ndarray] = field(default_factory=dict)
    fusion_method: str = ""
    pose: str | None = None
    source: str = ""

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

    def rom(self) -> dict[str, float | None]:
        """Range of motion of the primary angle over the recording, degrees."""
        a = self.primary_deg
        a = a[np.isfinite(a)]
        if a.size == 0:
            return {"min_deg": None, "max_deg": None, "rom_deg": None}
        lo, hi = float(a.min()), float(a.max())
        return {"min_deg": round(lo, 2), "max_deg": round(hi, 2), "rom_deg": round(hi - lo, 2)}

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
            "rep_count": self.rep_count,
            "reps": [rep_to_dict(r) for r in self.reps],
            "rom": self.rom(),
            "gaps": [g.to_dict() for g in self.gaps],
            "warnings": list(self.warnings),
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


def rep_to_dict(r: Any) -> dict[str, Any]:
    """A :class:`motiontrack.reps.Rep` as plain JSON values (times s, angles degrees)."""
    flags = [f.name.lower() for f in type(r.flags) if f and f in r.flags and f.name]
    return {
        "index": int(r.index),
        "set_index": int(r.set_index),
        "start_s": round(float(r.start_s), 4),
        "peak_s": round(float(r.peak_s), 4),
        "end_s": round(float(r.end_s), 4),
        "min_deg": round(float(r.min_deg), 2),
        "max_deg": round(float(r.max_deg), 2),
        "rom_deg": round(float(r.rom_deg), 2),
        "duration_s": round(float(r.duration_s), 4),
        "hold_s": round(float(r.hold_s), 4),
        "flags": flags,
        "partial": bool(r.partial),
        "too_fast": bool(r.too_fast),
    }


# --------------------------------------------------------------------------- resampling


def resample(
    s: SensorSamples, t_grid: np.ndarray, max_interp_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``acc``, ``gyr``, ``mag`` of ``s`` on ``t_grid`` (s), linear interpolation; grid
    points inside a gap longer than ``max_interp_s`` (or outside the data) are NaN rows."""
    tg = np.asarray(t_grid, dtype=np.float64)
    ts = s.t
    idx = np.searchsorted(ts, tg)
    hi = np.clip(idx, 0, len(ts) - 1)
    lo = np.clip(idx - 1, 0, len(ts) - 1)
    exact = ts[hi] == tg
    span = ts[hi] - ts[lo]
    tol = 0.5 / s.fs if s.fs > 0 else 0.0
    bad = ~exact & ((idx <= 0) | (idx >= len(ts)) | (span > max_interp_s + 1e-9))
    # the first/last grid point may fall a hair outside the data: accept half a period
    bad &= ~(((idx <= 0) & (ts[0] - tg <= tol)) | ((idx >= len(ts)) & (tg - ts[-1] <= tol)))

    def interp(a: np.ndarray) -> np.ndarray:
        out = np.empty((tg.shape[0], a.shape[1]))
        for j in range(a.shape[1]):
            col = a[:, j]
            ok = np.isfinite(col)
            out[:, j] = np.interp(tg, ts[ok], col[ok]) if ok.sum() >= 2 else np.nan
        out[bad] = np.nan
        return out

    mag = interp(s.mag) if s.mag is not None else None
    return interp(s.acc), interp(s.gyr), mag


def _grid(start: float, end: float, fs: float) -> np.ndarray:
    n = math.floor((end - start) * fs + 1e-6) + 1
    return start + np.arange(n) / fs


# --------------------------------------------------------------------------- pipeline


def _fuse(
    acc: np.ndarray, gyr: np.ndarray, fs: float, method: str, warn: list[str]
) -> tuple[np.ndarray, str]:
    from . import fusion

    if method not in fusion.methods():
        fallback = "madgwick"
        warn.append(f"fusion method {method!r} is not available here; used {fallback!r}")
        method = fallback
    return np.asarray(fusion.fuse(acc, gyr, fs=fs, method=method)), method


def _still_window(gp: np.ndarray, gd: np.ndarray, fs: float, st: AnalysisSettings) -> slice:
    from .kinematics import detect_still

    n = min(gp.shape[0], round((st.still_search_s + 30.0) * fs))
    ok = np.isfinite(gp[:n]).all(axis=1) & np.isfinite(gd[:n]).all(axis=1)
    # a NaN row (gap) breaks stillness: give it a large rate
    gp2 = np.where(ok[:, None], gp[:n], 10.0)
    gd2 = np.where(ok[:, None], gd[:n], 10.0)
    still = detect_still(gp2, gd2, fs=fs, min_duration=st.still_min_s)
    if still is None or still.start > st.still_search_s * fs:
        raise CalibrationError(
            f"no still period of at least {st.still_min_s:g} s in the first {st.still_search_s:g} s: "
            "start each recording with 2-3 s without moving (standing, or in the exercise's start pose)"
        )
    return still


#: A start pose is taken as "standing" when the proximal sensor's gravity direction in the
#: exercise's quiet periods is this far from the one in the still period at the start, deg.
START_TURN_DEG = 45.0
_QUIET_RATE = 0.1  # rad/s; both gyroscopes below this (bias included) is "quiet"
_QUIET_MIN_S = 0.5  # s; shortest quiet stretch used for the start-pose test
_LATE_STILL_S = 1.0  # s; a still period found later than this after the start is warned about
_BACK_DEG = 20.0  # deg; a quiet period this close to the start orientation: no posture change


def quiet_mask(*gyr: np.ndarray) -> np.ndarray:
    """True where every given gyroscope (N, 3), rad/s, reads below ``_QUIET_RATE`` (bias
    included): the segments are at rest. NaN rows (gaps) are not quiet."""
    with np.errstate(invalid="ignore"):
        return np.logical_and.reduce([np.linalg.norm(g, axis=1) < _QUIET_RATE for g in gyr])


def quiet_runs(mask: np.ndarray, n_min: int) -> list[tuple[int, int]]:
    """(start, stop) of the runs of True in ``mask`` at least ``n_min`` long."""
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(m))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2]) if b - a >= n_min]


def detect_start_pose(
    acc_proximal: np.ndarray,
    gyr_proximal: np.ndarray,
    gyr_distal: np.ndarray,
    fs: float,
    still: slice,
    exercise_pose: str,
) -> tuple[str, int | None, float]:
    """Was the still period at the start the standing calibration pose or already the
    exercise's posture?

    The documented session protocol (docs/session-protocol.md) starts standing with the legs
    straight and then takes the exercise position; a recording may also start in the
    exercise's posture. The proximal sensor's gravity direction during the still period is
    compared with its median direction during the exercise's quiet periods (both gyroscopes
    below 0.1 rad/s for >= 0.5 s, e.g. the rests between reps): a seated or supine exercise
    after a standing start turns the thigh by ~90° (median over the quiet periods above
    :data:`START_TURN_DEG`, and no quiet period back within 20° of the start orientation),
    an exercise started in its own posture by a few degrees (a thigh lift, a settle).

    Parameters
    ----------
    acc_proximal : ndarray, shape (N, 3)
        Proximal accelerometer, m/s² (NaN rows allowed).
    gyr_proximal, gyr_distal : ndarray, shape (N, 3)
        Gyroscopes, rad/s (NaN rows allowed).
    fs : float
        Hz.
    still : slice
        The still period at the start.
    exercise_pose : {"standing", "seated", "supine"} or None
        The exercise's own start posture; None if unknown (the start is then taken as
        standing, and only ``settled`` is looked for).

    Returns
    -------
    pose : str
        ``"standing"`` or ``exercise_pose``.
    settled : int or None
        For a detected standing start: the first sample of the first quiet period in the
        exercise posture (the transition is over); ``None`` otherwise.
    turn_deg : float
        Median turn of the proximal gravity direction, degrees (NaN: no quiet period).
    """
    a0 = acc_proximal[still]
    a0 = a0[np.isfinite(a0).all(axis=1)]
    fallback = exercise_pose or "standing"
    if exercise_pose == "standing" or a0.shape[0] == 0:
        return fallback, None, math.nan
    up0 = a0.mean(axis=0)
    up0 = up0 / np.linalg.norm(up0)
    a = acc_proximal[still.stop :]
    norm_a = np.linalg.norm(a, axis=1)
    with np.errstate(invalid="ignore"):
        quiet = quiet_mask(gyr_proximal[still.stop :], gyr_distal[still.stop :]) & (
            np.abs(norm_a - 9.80665) < 1.0
        )
    runs = quiet_runs(quiet, max(1, round(_QUIET_MIN_S * fs)))
    if not runs:
        return fallback, None, math.nan
    sel = np.concatenate([np.arange(b, e) for b, e in runs])
    cosang = np.clip((a[sel] @ up0) / norm_a[sel], -1.0, 1.0)
    ang = np.degrees(np.arccos(cosang))
    turn = float(np.median(ang))
    per_run = [float(np.median(ang[np.searchsorted(sel, b) : np.searchsorted(sel, e)])) for b, e in runs]
    # a posture change happens once: the segment never comes back to rest near its
    # orientation in the still period (a still period that was one of the exercise's own
    # rests or holds, e.g. a recording begun mid-set, does)
    if turn <= START_TURN_DEG or min(per_run) <= _BACK_DEG:
        return fallback, None, turn
    settled = next(still.stop + b for (b, _), m in zip(runs, per_run) if m > START_TURN_DEG)
    return "standing", settled, turn


def _segment_settled(acc: np.ndarray, gyr: np.ndarray, fs: float, st: AnalysisSettings) -> int:
    """First sample in the exercise posture after a standing start seen by one sensor (its
    gravity direction turned > :data:`START_TURN_DEG`), else 0."""
    from .kinematics import detect_still

    n = min(gyr.shape[0], round((st.still_search_s + 30.0) * fs))
    g = np.where(np.isfinite(gyr[:n]).all(axis=1)[:, None], gyr[:n], 10.0)
    still = detect_still(g, g, fs=fs, min_duration=st.still_min_s)
    # only a recording that starts still (the protocol's standing pose) is looked at: a
    # still period found later (a recording begun mid-set, a hold) says nothing of the start
    if still is None or still.start > round(_LATE_STILL_S * fs):
        return 0
    _, settled, _ = detect_start_pose(acc, gyr, gyr, fs, still, None)
    return settled or 0


def _calibrate(
    ap: np.ndarray,
    gp: np.ndarray,
    ad: np.ndarray,
    gd: np.ndarray,
    qp: np.ndarray,
    qd: np.ndarray,
    fs: float,
    joint: str,
    still: slice,
    poses: list[str],
    warn: list[str],
    pose_flexion_deg: float | None = None,
) -> tuple[Any, str]:
    from .kinematics import PoseMismatchError, calibrate_joint

    # the calibration's own estimators expect finite rows: zero-fill gaps (they are rare and
    # excluded from the motion fit by its rate threshold)
    fill = [np.nan_to_num(a) for a in (ap, gp, ad, gd)]
    qfill = [
        np.where(np.isfinite(q).all(axis=1)[:, None], q, np.array([1.0, 0, 0, 0])) for q in (qp, qd)
    ]
    best: tuple[tuple[int, float], Any, str, list[str]] | None = None
    errors: list[str] = []

    def run(pose: str, window: slice) -> Any:
        return calibrate_joint(
            acc_proximal=fill[0],
            gyr_proximal=fill[1],
            acc_distal=fill[2],
            gyr_distal=fill[3],
            q_proximal=qfill[0],
            q_distal=qfill[1],
            fs=fs,
            still=window,
            pose=pose,
            pose_flexion_deg=pose_flexion_deg,
            joint=joint,
        )

    mismatch: tuple[str, Any] | None = None  # the expected pose, if the still period contradicted it
    for pose in poses:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CalibrationWarning)
            try:
                cal = run(pose, still)
            except PoseMismatchError as exc:
                if pose == poses[0]:  # only the expected posture is looked for elsewhere
                    mismatch = (pose, exc)
                errors.append(f"{pose}: {exc}")
                continue
            except CalibrationError as exc:
                errors.append(f"{pose}: {exc}")
                continue
        anatomical = not any("anatomical" in n for n in cal.notes)
        key = (0 if anatomical else 1, -float(cal.confidence))
        msgs = [str(w.message) for w in caught if issubclass(w.category, CalibrationWarning)]
        if best is None or key < best[0]:
            best = (key, cal, pose, msgs)
        if anatomical and len(poses) > 1 and pose == poses[0]:
            break  # the expected pose works: do not second-guess it
    if best is None and mismatch is not None:
        # The still period was in no candidate posture (a recording begun mid-set: an
        # extension held at the top is as still as the rest). The motion showed where the
        # distal segment points: calibrate on the first still period that is in the expected
        # posture instead, and say so.
        pose, exc = mismatch
        other = _still_in_pose(exc, quiet_mask(gp, gd), ad, fs, still)
        if other is not None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", CalibrationWarning)
                try:
                    cal = run(pose, other)
                except CalibrationError as exc2:
                    errors.append(f"{pose} at {other.start / fs:.1f} s: {exc2}")
                else:
                    msgs = [str(w.message) for w in caught if issubclass(w.category, CalibrationWarning)]
                    best = ((0, -float(cal.confidence)), cal, pose, msgs)
                    warn.append(
                        f"the still period at {still.start / fs:.1f}-{still.stop / fs:.1f} s is not the "
                        f"{pose} pose ({exc}); calibrated on the still period at "
                        f"{other.start / fs:.1f}-{other.stop / fs:.1f} s instead"
                    )
    if best is None:
        raise CalibrationError("sensor-to-segment calibration failed: " + "; ".join(errors))
    _, cal, pose, msgs = best
    warn.extend(msgs)
    return cal, pose


def _still_in_pose(
    mismatch: Any, quiet: np.ndarray, ad: np.ndarray, fs: float, rejected: slice
) -> slice | None:
    """The first still period (``quiet`` for >= 1 s) whose distal inclination matches the
    declared pose according to ``mismatch`` (a :class:`PoseMismatchError`), or None."""
    for a, b in quiet_runs(quiet, max(10, round(1.0 * fs))):
        if a < rejected.stop and b > rejected.start:
            continue
        if mismatch.matches(ad[a:b].mean(axis=0)):
            return slice(a, b)
    return None


def process_recording(
    source: str | os.PathLike[str] | Recording,
    *,
    joint: str | None = None,
    proximal: str | None = None,
    distal: str | None = None,
    segment: str | None = None,
    exercise: str | None = None,
    settings: AnalysisSettings | None = None,
    calibration: Any = None,
    sensor_calibration: Any = None,
    recover: bool = False,
    progress: Callable[[str], None] | None = None,
) -> AnalysisResult:
    """Analyse a recording offline (the engine of ``motiontrack analyze``).

    Parameters
    ----------
    source : path or Recording
        ``.mtrec`` or long-form CSV file, or a recording already read.
    joint : {"knee", "elbow", "hip", "shoulder", "hinge"}, optional
        Two-sensor mode; requires ``proximal`` and ``distal`` sensor names (as in the file).
        Default when ``segment`` is not given: ``"knee"``; sensor names default to the
        file's two sensors in order.
    segment : str, optional
        Single-sensor mode: count reps from this sensor's dominant rotation.
    exercise : str, optional
        Rep-counter preset (``motiontrack.reps.PRESETS``) and the exercise's own start
        posture (:data:`EXERCISE_POSES`), used when the recording does not start with the
        session protocol's standing pose (detected, :func:`detect_start_pose`).
    settings : AnalysisSettings, optional
    calibration : motiontrack.kinematics.SegmentCalibration, optional
        A known sensor-to-segment calibration (e.g. from a live session's calibration
        step); skips the automatic one.
    sensor_calibration : mapping or path, optional
        Sensor calibrations (gyroscope bias, accelerometer, magnetometer;
        :class:`motiontrack.calibration.SensorCalibration` per sensor name, or their JSON
        file) applied to the samples first. Sensor calibrations stored in a ``.mtrec``
        recording are applied automatically when none is given.
    recover : bool
        Use the intact part of a damaged ``.mtrec`` file instead of failing.
    progress : callable, optional
        Called with a short description before each step (for a progress display).

    Returns
    -------
    AnalysisResult

    Raises
    ------
    InputError
        Unknown sensor name, bad option combination, recording too short.
    RecordingError, CorruptRecordingError
        Unreadable or damaged file.
    CalibrationError
        No still period, or no usable functional motion for the calibration.
    """
    from . import io
    from .reps import PRESETS, count_reps

    st = settings or AnalysisSettings()
    say = progress or (lambda _msg: None)
    if segment is not None and (joint is not None or proximal is not None or distal is not None):
        raise InputError("give either --segment NAME or --joint/--proximal/--distal, not both")
    if joint is not None and joint not in JOINT_CHOICES:
        raise InputError(f"unknown joint {joint!r}; choose one of {', '.join(JOINT_CHOICES)}")
    preset = None
    if exercise is not None:
        if exercise not in PRESETS and exercise not in EXERCISE_POSES:
            raise InputError(
                f"unknown exercise {exercise!r}; known: {', '.join(sorted(set(PRESETS) | set(EXERCISE_POSES)))}"
            )
        preset = exercise if exercise in PRESETS else None

    say("reading")
    rec = source if isinstance(source, Recording) else io.load(source, recover=recover)
    warn: list[str] = [w for w in rec.warnings if "not closed cleanly" in w or "damaged" in w]
    rec = apply_sensor_calibration(rec, sensor_calibration, warn)
    gaps_all = rec.gaps()

    if segment is not None:
        s = rec.sensor(segment)
        _check_length(s, segment, st)
        t = _grid(s.t[0], s.t[-1], s.fs)
        acc, gyr, _ = resample(s, t, st.max_interp_s)
        say(f"fusing {segment}")
        q, method = _fuse(acc, gyr, s.fs, st.fusion_method, warn)
        say("counting reps")
        # a standing start (session protocol) followed by sitting or lying down turns the
        # sensor once by ~90°: that is not a rep, count from the exercise posture on
        k0 = _segment_settled(acc, gyr, s.fs, st)
        res = count_reps(
            fs=s.fs,
            gyroscope=gyr[k0:],
            accelerometer=acc[k0:],
            preset=preset,
            t0=float(t[k0]),
            full_output=True,
        )
        signal = np.concatenate([np.full(k0, np.nan), np.asarray(res.signal_deg)])
        gaps = [g for g in gaps_all if g.sensor == segment]
        _gap_warnings(gaps, st, warn)
        return AnalysisResult(
            joint=None,
            sensors=(segment,),
            exercise=exercise,
            fs_hz=s.fs,
            t=t,
            angles={SEGMENT_ANGLE: signal},
            reps=list(res.reps),
            gaps=gaps,
            warnings=warn,
            orientations={segment: q},
            fusion_method=method,
            source=rec.source,
        )

    joint = joint or "knee"
    names = rec.names
    if proximal is None or distal is None:
        if len(names) != 2:
            raise InputError(
                f"the recording has {len(names)} sensors ({', '.join(names)}): name them with "
                "--proximal and --distal, or use --segment NAME"
            )
        proximal = proximal or next(n for n in names if n != distal)
        distal = distal or next(n for n in names if n != proximal)
    if proximal == distal:
        raise InputError("--proximal and --distal must be two different sensors")
    sp, sd = rec.sensor(proximal), rec.sensor(distal)
    sd, shift = align_clocks(sp, sd)
    if abs(shift) > 0.0:
        warn.append(
            f"{distal}'s clock put on {proximal}'s by the host arrival times (shift {shift * 1e3:+.1f} ms)"
        )
    _check_length(sp, proximal, st)
    _check_length(sd, distal, st)
    start, end = max(sp.t[0], sd.t[0]), min(sp.t[-1], sd.t[-1])
    if end - start < st.min_duration_s:
        raise InputError(
            f"{proximal} and {distal} overlap for only {max(end - start, 0):.1f} s "
            f"(need at least {st.min_duration_s:g} s)"
        )
    fs = sp.fs
    if abs(sd.fs - sp.fs) > 0.02 * sp.fs:
        warn.append(
            f"{proximal} runs at {sp.fs:.1f} Hz and {distal} at {sd.fs:.1f} Hz: {distal} resampled to {fs:.1f} Hz"
        )
    t = _grid(start, end, fs)
    ap, gp, _mp = resample(sp, t, st.max_interp_s)
    ad, gd, _md = resample(sd, t, st.max_interp_s)
    say(f"fusing {proximal}")
    qp, method = _fuse(ap, gp, fs, st.fusion_method, warn)
    say(f"fusing {distal}")
    qd, _ = _fuse(ad, gd, fs, method, [])

    from .kinematics import joint_angles

    cal = None
    pose = None
    settled = None  # first sample in the exercise posture after a standing start
    if calibration is not None:
        cal, pose = calibration, getattr(calibration, "pose", None)
    elif joint in _HINGE_JOINTS:
        say("calibrating sensor-to-segment")
        still = _still_window(gp, gd, fs, st)
        if still.start > round(_LATE_STILL_S * fs):
            warn.append(
                f"the recording does not start still: the still period used for the calibration "
                f"begins at {still.start / fs:.1f} s (session protocol: stand still with the legs "
                "straight for 2-3 s first)"
            )
        # the documented protocol starts standing, then takes the exercise posture; a
        # recording may also start in the exercise posture: tell them apart by how far the
        # proximal segment turned between the still start and the exercise's rests
        expected = EXERCISE_POSES.get(exercise) if st.pose is None and exercise else None
        detected, settled, _turn = detect_start_pose(ap, gp, gd, fs, still, expected)
        if st.pose is not None:
            poses = [st.pose]
            if st.pose != "standing":
                settled = None
        elif expected is not None:
            poses = [detected]
        else:
            # without an exercise, a seated start cannot be told from a standing one (the
            # shank hangs in both; flexion differs by the nominal 90°): the documented
            # protocol's standing start. A supine start (the shank lying flat, which the
            # calibration sees in the motion) is the fallback.
            poses = ["standing", "supine"]
            if settled is None:
                warn.append(
                    "no --exercise or --pose given: the still period at the start is taken as "
                    "standing (the session protocol's calibration pose), or supine when the "
                    "shank lay flat"
                )
        cal, pose = _calibrate(
            ap, gp, ad, gd, qp, qd, fs, joint, still, poses, warn, st.pose_flexion_deg
        )
        if cal.confidence < 0.5:
            warn.append(f"low calibration confidence {cal.confidence:.2f}: " + "; ".join(cal.notes))
    else:
        warn.append(
            f"{joint}: no automatic sensor-to-segment calibration for this joint yet; angles are "
            "between the sensor frames as mounted"
        )
    say("computing joint angles")
    ja = joint_angles(qp, qd, joint=joint, calibration=cal, fs=fs, side=st.side)  # type: ignore[arg-type]
    angles = ja.as_dict()
    primary = PRIMARY_ANGLE[joint] if PRIMARY_ANGLE[joint] in angles else ja.names[0]
    angles = {primary: angles[primary], **{k: v for k, v in angles.items() if k != primary}}
    say("counting reps")
    # after a standing start, the transition into the exercise posture (sitting or lying
    # down) is not a rep: count from the first quiet moment in the exercise posture
    k0 = settled or 0
    quiet = quiet_mask(gp, gd)
    reps = refine_extremes(
        count_reps(angles[primary][k0:], fs=fs, preset=preset, t0=float(t[k0])),
        t[k0:],
        angles[primary][k0:],
        quiet=quiet[k0:],
    )
    gaps = [g for g in gaps_all if g.sensor in (proximal, distal)]
    _gap_warnings(gaps, st, warn)
    return AnalysisResult(
        joint=joint,
        sensors=(proximal, distal),
        exercise=exercise,
        fs_hz=fs,
        t=t,
        angles=angles,
        reps=list(reps),
        gaps=gaps,
        warnings=warn,
        calibration=cal,
        orientations={proximal: qp, distal: qd},
        fusion_method=method,
        pose=pose,
        source=rec.source,
    )


def refine_extremes(
    reps: list[Any],
    t: np.ndarray,
    angle_deg: np.ndarray,
    *,
    settle_s: float = 1.0,
    quiet: np.ndarray | None = None,
) -> list[Any]:
    """Per-rep ``min_deg``/``max_deg``/``rom_deg`` over the whole movement cycle.

    A rep counter reports a rep as soon as the angle has come back most of the way
    (``RepSettings.return_frac``), before it has settled at rest, so its extremes miss the
    last degrees of the return. Offline we can look ahead: each rep's extremes are taken
    over ``[start_s - settle_s, end_s + settle_s]``, clipped to the neighbouring reps, i.e.
    from the rest before the movement to the rest after it (what a goniometer measures).

    ``quiet`` (bool, shape of ``t``; True where the segments are at rest) clips the window's
    start to ``settle_s`` before the onset of the rep's movement (found walking back from
    the peak over the hold and the movement): a posture change before that rest (the
    session protocol's standing pose settling into a squat stance, which a rep counter may
    take as the start of the first rep) is not part of the rep.
    """
    import dataclasses

    if quiet is not None and quiet.shape == t.shape and t.size > 1:
        quiet = _close_gaps(quiet, max(1, round(0.15 / float(t[1] - t[0]))))
    else:
        quiet = None
    out = []
    for i, r in enumerate(reps):
        lo = r.start_s - settle_s
        hi = r.end_s + settle_s
        if quiet is not None:
            k = min(int(np.searchsorted(t, r.peak_s)), t.size - 1)
            for state in (True, False):  # back over the hold, then the movement
                while k > 0 and quiet[k - 1] == state:
                    k -= 1
            lo = max(lo, float(t[k]) - settle_s)  # from the rest just before the movement
        if i > 0:
            lo = max(lo, reps[i - 1].end_s)
        if i + 1 < len(reps):
            hi = min(hi, reps[i + 1].start_s)
        m = (t >= lo) & (t <= hi) & np.isfinite(angle_deg)
        if not m.any():
            out.append(r)
            continue
        # the window covers the counter's own [start_s, end_s]: its extremes, not the
        # counter's (which may be running extremes from before the rep)
        mn, mx = float(angle_deg[m].min()), float(angle_deg[m].max())
        if quiet is None:
            mn, mx = min(mn, r.min_deg), max(mx, r.max_deg)
        out.append(dataclasses.replace(r, min_deg=mn, max_deg=mx, rom_deg=mx - mn))
    return out


def _close_gaps(mask: np.ndarray, n: int) -> np.ndarray:
    """``mask`` with runs of False shorter than ``n`` samples between Trues set True (a
    noise spike does not end a rest)."""
    out = mask.copy()
    idx = np.flatnonzero(mask)
    if idx.size < 2:
        return out
    gaps = np.flatnonzero((np.diff(idx) > 1) & (np.diff(idx) <= n))
    for g in gaps:
        out[idx[g] : idx[g + 1]] = True
    return out


#: Alias: the verb of the command line.
analyze = process_recording


def apply_sensor_calibration(rec: Recording, sensor_calibration: Any, warn: list[str]) -> Recording:
    """``rec`` with sensor calibrations applied: the given ones, else those recorded in the
    file (records of kind ``motiontrack.calibration.RECORD_KIND``)."""
    from . import calibration as scal

    if sensor_calibration is None:
        recorded = {
            c.get("sensor"): scal.calibration_from_record(c)
            for c in rec.calibration
            if c.get("kind") == scal.RECORD_KIND and c.get("sensor") in rec.sensors
        }
        if not recorded:
            return rec
        warn.append(
            f"applied the sensor calibration recorded in the file to {', '.join(sorted(recorded))}"
        )
        sensor_calibration = recorded
    return scal.apply_to_recording(rec, sensor_calibration)


def align_clocks(ref: SensorSamples, other: SensorSamples) -> tuple[SensorSamples, float]:
    """``other`` with its device times moved onto ``ref``'s device clock.

    Live recordings keep each sensor's own device clock plus the host arrival time of
    every block; the smallest ``host - device`` difference of each sensor (its fastest
    delivery) estimates its clock offset. Without host times (CSV) the clocks are taken as
    shared already and nothing changes.
    """
    if ref.host_t is None or other.host_t is None or len(ref) == 0 or len(other) == 0:
        return other, 0.0
    off_ref = float(np.min(ref.host_t - ref.t))
    off_other = float(np.min(other.host_t - other.t))
    shift = off_other - off_ref
    moved = SensorSamples(other.t + shift, other.acc, other.gyr, other.mag, other.fs, other.host_t)
    return moved, shift


def _check_length(s: SensorSamples, name: str, st: AnalysisSettings) -> None:
    if len(s) < 2 or s.duration_s < st.min_duration_s:
        raise InputError(
            f"sensor {name!r} has {s.duration_s:.1f} s of data; analysis needs at least "
            f"{st.min_duration_s:g} s (a still start plus some motion)"
        )


def _gap_warnings(gaps: list[Gap], st: AnalysisSettings, warn: list[str]) -> None:
    if not gaps:
        return
    long = [g for g in gaps if g.duration_s > st.max_interp_s]
    lost = sum(g.missing for g in gaps)
    warn.append(
        f"{len(gaps)} data gap(s), {lost} missing samples in total; gaps up to {st.max_interp_s:g} s interpolated"
    )
    for g in long:
        warn.append(
            f"long gap in {g.sensor}: {g.duration_s:.2f} s from {g.start_s:.2f} s (no angles there; a rep "
            "spanning it may be missed)"
        )
