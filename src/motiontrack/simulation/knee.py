"""Simulated two-IMU knee sessions (thigh and shank sensors) with ground truth.

Segment frames (ISB-like): x anterior, y superior (along the long axis, towards the proximal
joint), z to the right (lateral on the right leg, medial on the left; ``side=`` picks the leg). The knee follows the
Grood & Suntay (1983) joint coordinate system:

    R_thigh_shank = Rz(-flexion) · Rx(-abduction) · Ry(rotation)        (right leg)
    R_thigh_shank = Rz(-flexion) · Rx(+abduction) · Ry(-rotation)       (left leg: mirrored)

i.e. flexion about the thigh's z axis (positive = flexion, 0 = straight; a positive flexion
moves the foot posteriorly), then ab/adduction about the floating axis (positive = abduction /
valgus), then axial rotation about the shank's y axis (positive = internal rotation of the
shank). Ab/adduction and rotation are small and coupled to flexion (the screw-home mechanism).

Body frame: x forward (the heading), y up, z right. At heading 0 the subject faces magnetic
north (+y ENU); heading is a counter-clockwise rotation about the vertical. Segment sagittal
angle ``phi``: the tilt of the segment's y axis from vertical, positive when its top is in front.

Exercises (primary angle / posture / anchor point that stays fixed):

===================== ============== ========= =======================================
seated_knee_extension knee flexion   seated    hip; thigh horizontal, shank 80-95° -> 0-12°
squat                 knee flexion   standing  ankle; shank leans forward with flexion
heel_slide            knee flexion   supine    hip; heel slides on the bed (closed chain)
straight_leg_raise    hip flexion    supine    hip; knee nearly straight, thigh lifts 35-60°
===================== ============== ========= =======================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ConfigurationError
from . import _rot
from .imu import ImuErrorModel, SimulatedImu, _replace, _synthesize, earth_field, to_recording, write_long_csv
from .profiles import Knots

__all__ = [
    "EXERCISES",
    "KneeTruth",
    "SimulatedSession",
    "TrueRep",
    "simulate_knee_session",
]

EXERCISES: tuple[str, ...] = (
    "seated_knee_extension",
    "squat",
    "heel_slide",
    "straight_leg_raise",
)

_DEG = np.pi / 180.0
_EX = np.array([1.0, 0.0, 0.0])
_EY = np.array([0.0, 1.0, 0.0])
_EZ = np.array([0.0, 0.0, 1.0])
#: q_earth_body at heading 0: body x (forward) -> north, y (up) -> up, z (right) -> east.
_Q_EARTH_BODY0 = np.array([0.5, 0.5, 0.5, 0.5])


@dataclass(frozen=True, slots=True)
class _Spec:
    primary: str  # "flexion" (knee) or "hip_flexion"
    rest_deg: tuple[float, float]
    peak_deg: tuple[float, float]
    move_s: tuple[float, float]
    hold_s: tuple[float, float]
    supine: bool


_SPECS: dict[str, _Spec] = {
    "seated_knee_extension": _Spec("flexion", (80.0, 95.0), (0.0, 12.0), (1.2, 2.0), (0.5, 2.0), False),
    "squat": _Spec("flexion", (0.0, 5.0), (70.0, 100.0), (1.3, 2.2), (0.2, 1.0), False),
    "heel_slide": _Spec("flexion", (0.0, 5.0), (75.0, 110.0), (2.0, 3.0), (0.5, 1.5), True),
    "straight_leg_raise": _Spec("hip_flexion", (0.0, 3.0), (35.0, 60.0), (1.5, 2.5), (1.0, 3.0), True),
}


@dataclass(frozen=True, slots=True)
class TrueRep:
    """One true repetition of the primary angle (``KneeTruth.primary``).

    ``peak_s`` is the middle of the hold at the extreme of the movement (minimum flexion for a
    knee extension, maximum for the others); ``min_deg``/``max_deg`` bound the primary angle
    over ``[start_s, end_s]``.
    """

    start_s: float
    peak_s: float
    end_s: float
    min_deg: float
    max_deg: float
    partial: bool = False  # amplitude 35-60 % of a full rep
    fast: bool = False  # movement phases of 0.4-0.7 s

    @property
    def rom_deg(self) -> float:
        return self.max_deg - self.min_deg


@dataclass(frozen=True, slots=True)
class KneeTruth:
    """Ground truth of a simulated knee session; arrays have N rows like ``SimulatedSession.t``.

    ``hinge_axis_thigh_sensor`` and ``hinge_axis_shank_sensor`` are the knee's *functional* hinge
    axis, the one an estimate from the two sensors' angular rates converges to: the principal
    direction (least squares) of the bones' relative angular velocity over the session, expressed
    in each segment and then in each sensor frame, signed towards the thigh's +z. Because
    ab/adduction and axial rotation are coupled to flexion, it differs from the anatomical
    flexion axis (Grood & Suntay e1 = the thigh's z axis, ``flexion_axis_thigh_sensor``) by
    about 1.5-2°. All use the nominal
    mounting ``q_segment_sensor``, not the soft-tissue motion.
    """

    flexion_deg: np.ndarray  # (N,) knee flexion, 0 = straight, positive = flexion
    abduction_deg: np.ndarray  # (N,) positive = abduction (valgus)
    rotation_deg: np.ndarray  # (N,) positive = internal rotation of the shank
    hip_flexion_deg: np.ndarray  # (N,) thigh vs an upright (standing/seated) or flat (supine) trunk
    heading_deg: np.ndarray  # (N,) whole-body heading, counter-clockwise from magnetic north
    primary: str  # which angle the reps are counted on: "flexion" or "hip_flexion"
    reps: list[TrueRep]
    hinge_axis_thigh_sensor: np.ndarray  # (3,) unit, functional knee axis in the thigh sensor frame
    hinge_axis_shank_sensor: np.ndarray  # (3,) unit, functional knee axis in the shank sensor frame
    flexion_axis_thigh_sensor: np.ndarray  # (3,) unit, Grood & Suntay e1 (thigh z) in the thigh sensor frame
    q_earth_thigh: np.ndarray  # (N, 4) segment orientations (bone, no soft tissue)
    q_earth_shank: np.ndarray  # (N, 4)
    positions: dict[str, np.ndarray]  # "hip", "knee", "ankle": (N, 3) m, ENU
    parameters: dict[str, Any]  # segment lengths, sensor offsets, coupling coefficients, ...


@dataclass(frozen=True, slots=True)
class SimulatedSession:
    """A simulated session: two IMUs ("thigh", "shank") sampled at ``fs`` on the times ``t``."""

    fs: float
    t: np.ndarray
    exercise: str
    sensors: dict[str, SimulatedImu]
    truth: KneeTruth
    seed: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write the long-form CSV of API.md (one row per sample per sensor, dropped rows omitted).

        Columns ``time_s,sensor,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z[,mag_x,mag_y,mag_z]`` in
        s, m/s², rad/s, µT; rows in time order, thigh before shank at equal times.
        """
        write_long_csv(path, self.t, self.sensors)

    def to_recording(self) -> Any:
        """The sensors' valid samples as a :class:`motiontrack.recording.Recording` (no file)."""
        return to_recording(self.t, self.sensors, source=f"simulation:{self.exercise}:seed={self.seed}")


def _pick(indices: int | Sequence[int], reps: int, rng: np.random.Generator, name: str) -> set[int]:
    if isinstance(indices, (int, np.integer)):
        if not (0 <= indices <= reps):
            raise ConfigurationError(f"{name} must be between 0 and reps={reps}, got {indices}")
        return set(int(i) for i in rng.choice(reps, size=int(indices), replace=False))
    out = set(int(i) for i in indices)
    if any(not (0 <= i < reps) for i in out):
        raise ConfigurationError(f"{name} indices must be in [0, {reps}), got {sorted(out)}")
    return out


def _check_positive(name: str, value: float, allow_zero: bool = True) -> None:
    ok = np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ConfigurationError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


def simulate_knee_session(
    exercise: str = "seated_knee_extension",
    reps: int = 10,
    fs: float = 100.0,
    seed: int | None = 0,
    *,
    still_start_s: float = 2.0,
    still_end_s: float = 2.0,
    pause_s: float = 1.0,
    hold_s: float | None = None,
    partial_reps: int | Sequence[int] = 0,
    fast_reps: int | Sequence[int] = 0,
    amplitude_deg: float | None = None,
    max_mount_deg: float = 30.0,
    noise: bool = True,
    gyr_bias: bool = True,
    soft_tissue: bool = True,
    body_turns: bool = True,
    with_mag: bool = True,
    mag_disturbance: bool = False,
    drop_rate: float = 0.0,
    saturation: bool = False,
    errors: ImuErrorModel | None = None,
    side: str = "right",
    mounting: Mapping[str, npt.ArrayLike] | None = None,
    fidget_start: bool = False,
    start_pose: str | None = None,
) -> SimulatedSession:
    """Simulate a knee exercise session measured by a thigh and a shank IMU.

    Parameters
    ----------
    exercise : str
        One of :data:`EXERCISES`.
    reps : int
        Number of repetitions.
    fs : float
        Sample rate, Hz.
    seed : int or None
        Seed of everything random (anthropometry, mounting, rep variation, sensor errors).
    still_start_s, still_end_s : float
        Still periods at the start and end, s (leg at rest, no body turn).
    pause_s : float
        Mean pause between reps, s (each pause is 0.5-1.5 × this; some 4-8 s long pauses).
    hold_s : float, optional
        Mean hold at the extreme of each rep, s (default: exercise-typical range).
    partial_reps, fast_reps : int or sequence of int
        How many reps (random ones) or which rep indices are partial (35-60 % amplitude) or
        fast (0.4-0.7 s per movement phase).
    amplitude_deg : float, optional
        Nominal primary-angle excursion of a full rep, degrees (default: exercise-typical).
    max_mount_deg : float
        Each sensor is strapped at a random rotation of up to this many degrees from the
        segment axes (180 = any orientation).
    noise, gyr_bias : bool
        Sensor white noise; gyroscope bias with slow random-walk drift.
    soft_tissue : bool
        Soft-tissue motion of the sensors relative to the bone: a slow shift with muscle
        contraction (≤ 1.5°, ≤ 2 mm) and an 8-14 Hz wobble excited by the segment's speed.
    body_turns : bool
        Whole-body heading changes (20-120°) during some pauses, plus a slow ±1° sway.
    with_mag : bool
        Simulate magnetometers (else ``mag`` is None).
    mag_disturbance : bool
        Add episodes of magnetic disturbance (5-20 µT, 3-10 s; see ``SimulatedImu.mag_disturbed``).
    drop_rate : float
        Fraction of samples lost per sensor (bursts of 1-5), as NaN rows with ``valid`` False.
    saturation : bool
        Clip readings to the full-scale ranges of ``errors``.
    errors : ImuErrorModel, optional
        Sensor error model (default :class:`ImuErrorModel`), modified by ``noise``/``gyr_bias``.
    side : {"right", "left"}
        The exercised leg. Segment frames keep z to the right on both sides (so z is medial on
        the left leg); the left knee's relative rotation is the mirror image through the
        sagittal plane, ``Rz(-flexion) · Rx(+abduction) · Ry(-rotation)``, so the truth angles
        keep their clinical meaning (ISB: mirror left-side data). Sensors sit laterally.
    mounting : mapping, optional
        Exact ``q_segment_sensor`` (w, x, y, z) for "thigh" and/or "shank", instead of a random
        one (e.g. ``{"shank": [0, 0, 0, 1]}``: the shank sensor upside down).
    fidget_start : bool
        The leg moves during the initial still period (two 5-10° flexion wiggles and a small
        heading change): a "still pose" that is not still, for testing calibration checks.
    start_pose : {None, "standing"}
        ``None`` (default): the session starts in the exercise's own rest posture and stays
        there for ``still_start_s``. ``"standing"``: the documented session protocol
        (``docs/session-protocol.md``): ``still_start_s`` of quiet standing with the knee at
        exactly 0° (thigh and shank vertical up to a common forward/backward lean of the whole
        leg of up to ±3°; hip ab/adduction and rotation as always), then a smooth transition
        into the exercise's start posture (seated: sit down in 1.5-3 s, the foot stays on the
        floor, the thigh goes horizontal and the knee to the rest angle; supine: lie down in
        2.5-4 s, the whole leg goes horizontal while the hip comes down to the bed; squat:
        settle from 0° to the rest angle in 0.4-0.6 s), 1-2 s still in that posture, then the
        reps. The transition is not a rep (``truth.reps`` holds the exercise's reps only);
        all truth (angles, orientations, positions, hinge axes) is continuous through it.

    Returns
    -------
    SimulatedSession
        ``sensors["thigh"]``, ``sensors["shank"]`` and ``truth``.

    Notes
    -----
    Accelerometers see the linear acceleration of the sensor location from the segment
    kinematics (segment lengths, sensor offsets along and across the segment, soft tissue),
    differentiated centrally with h = 0.5 ms on the closed-form trajectory (error < 1e-3 m/s²).
    Deterministic for a given seed.
    """
    if exercise not in _SPECS:
        raise ConfigurationError(f"unknown exercise {exercise!r}; choose one of {', '.join(EXERCISES)}")
    if not isinstance(reps, (int, np.integer)) or reps < 0:
        raise ConfigurationError(f"reps must be an int >= 0, got {reps!r}")
    _check_positive("fs", fs, allow_zero=False)
    for name, value in (("still_start_s", still_start_s), ("still_end_s", still_end_s),
                        ("pause_s", pause_s), ("max_mount_deg", max_mount_deg)):
        _check_positive(name, value)
    if hold_s is not None:
        _check_positive("hold_s", hold_s)
    if amplitude_deg is not None:
        _check_positive("amplitude_deg", amplitude_deg, allow_zero=False)
    if not (0.0 <= drop_rate < 1.0):
        raise ConfigurationError(f"drop_rate must be in [0, 1), got {drop_rate!r}")
    if side not in ("right", "left"):
        raise ConfigurationError(f"side must be 'right' or 'left', got {side!r}")
    lat = 1.0 if side == "right" else -1.0  # sign of the lateral direction along segment z
    fixed_mount: dict[str, np.ndarray] = {}
    for name, q_m in (mounting or {}).items():
        if name not in ("thigh", "shank"):
            raise ConfigurationError(f"mounting keys must be 'thigh' or 'shank', got {name!r}")
        arr = np.asarray(q_m, dtype=np.float64)
        if arr.shape != (4,) or not np.all(np.isfinite(arr)) or np.linalg.norm(arr) < 1e-9:
            raise ConfigurationError(f"mounting[{name!r}] must be a quaternion (w, x, y, z), got {q_m!r}")
        fixed_mount[name] = arr / np.linalg.norm(arr)

    spec = _SPECS[exercise]
    rng = np.random.default_rng(seed)
    rep_rng = np.random.default_rng(rng.integers(2**63))
    body_rng = np.random.default_rng(rng.integers(2**63))
    sensor_seeds = rng.integers(2**63, size=2)
    if start_pose not in (None, "standing"):
        raise ConfigurationError(f"start_pose must be None or 'standing', got {start_pose!r}")
    standing = start_pose == "standing"
    # drawn only for a standing start, so that sessions without it keep every random stream
    start_rng = np.random.default_rng(rng.integers(2**63)) if standing else None
    partial = _pick(partial_reps, reps, rep_rng, "partial_reps")
    fast = _pick(fast_reps, reps, rep_rng, "fast_reps")

    # ---- rep schedule of the primary angle (degrees) ----------------------------------------
    rest = rep_rng.uniform(*spec.rest_deg)
    if amplitude_deg is None:
        peak_nom = rep_rng.uniform(*spec.peak_deg)
    else:
        peak_nom = rest - amplitude_deg if spec.peak_deg[1] < spec.rest_deg[0] else rest + amplitude_deg
    span = peak_nom - rest
    # long pauses (4-8 s) and body turns happen in some of the gaps between reps
    long_gaps: set[int] = set()
    turn_gaps: set[int] = set()
    if reps > 1:
        n_long = min(max(1, reps // 6), reps - 1)
        long_gaps = set(int(i) for i in rep_rng.choice(reps - 1, size=n_long, replace=False))
        if body_turns:
            n_turns = min(1 + reps // 10, reps - 1)
            turn_gaps = set(int(i) for i in rep_rng.choice(reps - 1, size=n_turns, replace=False))
    # anatomical limits of the knee: at most 2° of hyperextension, 125° of flexion
    lo_lim, hi_lim = (-2.0, 125.0) if spec.primary == "flexion" else (-5.0, 90.0)

    kt: list[float] = [0.0]
    kv: list[float] = [rest]
    turns: list[tuple[float, float, float]] = []  # (start, duration, angle)
    true_reps: list[TrueRep] = []
    now = still_start_s
    level = rest
    # standing start: [0, still_start_s] standing, [trans_t0, trans_t1] the transition into
    # the exercise posture, then `settle_s` still in it before the first rep
    lean_deg, trans_t0, trans_t1 = 0.0, 0.0, 0.0
    if start_rng is not None:
        lean_deg = float(start_rng.uniform(-3.0, 3.0))
        dur_range = (0.4, 0.6) if exercise == "squat" else ((2.5, 4.0) if spec.supine else (1.5, 3.0))
        trans_t0 = still_start_s
        trans_t1 = trans_t0 + float(start_rng.uniform(*dur_range))
        now = trans_t1 + float(start_rng.uniform(1.0, 2.0))
    sk_t: list[float] = [0.0]  # knee flexion while standing (0, or the fidget wiggles), deg
    sk_v: list[float] = [0.0]
    fidget_turn: tuple[float, float, float] | None = None
    if fidget_start:
        if still_start_s < 1.5:
            raise ConfigurationError("fidget_start needs still_start_s >= 1.5")
        f_rng = np.random.default_rng(rng.integers(2**63))
        for frac in (0.2, 0.55):
            t0 = frac * still_start_s
            amp = f_rng.choice([-1.0, 1.0]) * f_rng.uniform(5.0, 10.0)
            if standing:
                # a straight knee can only flex: wiggle into flexion
                sk_t += [t0, t0 + 0.35, t0 + 0.7]
                sk_v += [0.0, abs(amp), 0.0]
                continue
            amp = float(np.clip(rest + amp, lo_lim, hi_lim) - rest)
            kt += [t0, t0 + 0.35, t0 + 0.7]
            kv += [rest, rest + amp, rest]
        fidget_turn = (0.1 * still_start_s, 0.6, float(f_rng.uniform(4.0, 8.0)))
    for i in range(reps):
        is_fast = i in fast
        is_partial = i in partial
        if is_partial:
            amp = span * rep_rng.uniform(0.35, 0.6)
        else:
            amp = span * float(np.clip(rep_rng.normal(1.0, 0.05), 0.85, 1.12))
        peak = float(np.clip(rest + amp, lo_lim, hi_lim))
        if is_fast:
            up, down = rep_rng.uniform(0.4, 0.7, 2)
            hold = rep_rng.uniform(0.05, 0.2)
        else:
            up, down = rep_rng.uniform(*spec.move_s, 2)
            hold = (hold_s * rep_rng.uniform(0.7, 1.3)) if hold_s is not None else rep_rng.uniform(*spec.hold_s)
            hold = max(hold, 0.05)
        # the resting angle between reps wanders a little (the patient settles differently)
        nxt = float(np.clip(rest + rep_rng.normal(0.0, 1.0), lo_lim, hi_lim)) if i < reps - 1 else rest
        start = now
        kt += [start, start + up, start + up + hold, start + up + hold + down]
        kv += [level, peak, peak, nxt]
        end = start + up + hold + down
        lo, hi = min(level, peak, nxt), max(level, peak, nxt)
        true_reps.append(TrueRep(start, start + up + 0.5 * hold, end, lo, hi, is_partial, is_fast))
        level = nxt
        gap = pause_s * rep_rng.uniform(0.5, 1.5)
        if i in long_gaps:
            gap += rep_rng.uniform(4.0, 8.0)
        if i in turn_gaps:
            dur = rep_rng.uniform(1.5, 3.0)
            angle = rep_rng.choice([-1.0, 1.0]) * rep_rng.uniform(20.0, 120.0)
            turns.append((end + 0.5 * gap + 0.5, dur, angle))
            gap += dur + 1.0
        now = end + max(gap, 0.05)
    total = now + still_end_s
    kt.append(max(total, kt[-1] + 0.05))
    kv.append(level)
    primary_profile = Knots.from_lists(kt, kv)

    heading0 = body_rng.uniform(-180.0, 180.0)
    ht: list[float] = [0.0]
    hv: list[float] = [heading0]
    for start, dur, angle in ([fidget_turn] if fidget_turn else []) + turns:
        ht += [start, start + dur]
        hv += [hv[-1], hv[-1] + angle]
    ht.append(max(total, ht[-1] + 0.05))
    hv.append(hv[-1])
    heading_profile = Knots.from_lists(ht, hv)

    # ---- subject, mounting and coupling parameters -------------------------------------------
    par: dict[str, Any] = {
        "thigh_length_m": body_rng.uniform(0.40, 0.46),
        "shank_length_m": body_rng.uniform(0.38, 0.44),
        "rest_deg": rest,
        "peak_nominal_deg": peak_nom,
        "abduction_offset_deg": body_rng.uniform(-1.0, 1.0),
        "abduction_coupling_deg": body_rng.uniform(-2.0, 2.0),  # × sin(flexion)
        "rotation_offset_deg": body_rng.uniform(-1.5, 1.5),
        "rotation_coupling_deg": body_rng.uniform(2.0, 4.0),  # × flexion / 90°
        "hip_abduction_deg": body_rng.uniform(-4.0, 4.0),
        "hip_rotation_deg": body_rng.uniform(-8.0, 8.0),
        "seat_tilt_deg": body_rng.uniform(-5.0, 5.0),
        "thigh_lift_deg": body_rng.uniform(0.0, 5.0),
        "shank_lean_ratio": body_rng.uniform(0.35, 0.5),
        "heel_drop_m": body_rng.uniform(-0.03, 0.0),
        "slr_knee_rest_deg": body_rng.uniform(1.0, 5.0),
        "slr_knee_change_deg": body_rng.uniform(-1.0, 3.0),
        "sway_deg": 1.0 if body_turns else 0.0,
        "sway_hz": body_rng.uniform(0.03, 0.08),
        "sway_phase": body_rng.uniform(0, 2 * np.pi),
    }
    par["thigh_sensor_offset_m"] = np.array(
        [body_rng.uniform(-0.02, 0.03), -body_rng.uniform(0.45, 0.65) * par["thigh_length_m"], 0.07 * lat]
    )
    par["shank_sensor_offset_m"] = np.array(
        [body_rng.uniform(-0.01, 0.02), -body_rng.uniform(0.25, 0.45) * par["shank_length_m"], 0.045 * lat]
    )
    mount = {name: _rot.random_rotation(body_rng, max_mount_deg * _DEG) for name in ("thigh", "shank")}
    mount.update(fixed_mount)
    wob: dict[str, dict[str, np.ndarray]] = {}
    for name, lf_rot, lf_pos, hf_rot, hf_pos in (("thigh", 1.5, 0.002, 0.4, 0.0005), ("shank", 1.0, 0.001, 0.25, 0.0003)):
        axis = body_rng.normal(size=3)
        wob[name] = {
            "lf_rot": axis / np.linalg.norm(axis) * body_rng.uniform(0.3, 1.0) * lf_rot * _DEG,
            "lf_pos": body_rng.normal(size=3) / np.sqrt(3) * lf_pos,
            "hf_rot": np.full(3, hf_rot * _DEG) * body_rng.uniform(0.5, 1.0, 3),
            "hf_pos": np.full(3, hf_pos) * body_rng.uniform(0.5, 1.0, 3),
            "freq": body_rng.uniform(8.0, 14.0, 3),
            "phase": body_rng.uniform(0, 2 * np.pi, 3),
            "freq_p": body_rng.uniform(8.0, 14.0, 3),
            "phase_p": body_rng.uniform(0, 2 * np.pi, 3),
        }
    anchor = np.array([0.0, 0.0, 0.08]) if exercise == "squat" else np.array([0.0, 0.0, 0.5])

    # standing start: w = 0 standing, min-jerk 0 -> 1 over the transition, 1 in the exercise
    blend_profile = Knots.from_lists([0.0, trans_t0, trans_t1, max(total, trans_t1 + 0.05)], [0.0, 0.0, 1.0, 1.0])
    sk_t.append(max(total, sk_t[-1] + 0.05))
    sk_v.append(0.0)
    stand_profile = Knots.from_lists(sk_t, sk_v)
    ankle_stand = np.zeros(3)  # where the foot stands before a standing start (set below)

    def evaluate(tt: np.ndarray) -> dict[str, np.ndarray]:
        prim, prim_rate = primary_profile(tt)
        prim_r = prim * _DEG
        if spec.primary == "hip_flexion":
            hip = prim_r
            progress = (prim - rest) / span
            flex = (par["slr_knee_rest_deg"] + par["slr_knee_change_deg"] * progress) * _DEG
        else:
            flex = prim_r
            progress = (prim - rest) / span
        if exercise == "seated_knee_extension":
            phi_t = (-90.0 + par["seat_tilt_deg"] - par["thigh_lift_deg"] * progress) * _DEG
        elif exercise == "squat":
            phi_t = (par["shank_lean_ratio"] - 1.0) * flex
        elif exercise == "heel_slide":
            l1, l2 = par["thigh_length_m"], par["shank_length_m"]
            a = l1 + l2 * np.cos(flex)
            b = l2 * np.sin(flex)
            delta = np.arctan2(b, a)
            alpha = delta + np.arcsin(par["heel_drop_m"] / np.hypot(a, b))
            phi_t = -np.pi / 2 - alpha
        else:
            phi_t = -np.pi / 2 - hip
        trunk = np.pi / 2 if spec.supine else 0.0  # trunk angle from upright
        trans_rate = np.zeros_like(tt)  # rad/s, speed of the start transition (soft tissue)
        if standing:
            # blend the standing posture (knee straight, common lean) into the exercise's
            # start posture; the exercise profiles are at rest until the first rep
            w_b, w_rate = blend_profile(tt)
            k0, _ = stand_profile(tt)
            flex_st, phi_st = k0 * _DEG, np.full_like(tt, lean_deg * _DEG)
            trans_rate = np.abs(w_rate) * (np.abs(flex - flex_st) + np.abs(phi_t - phi_st))
            flex = flex_st + w_b * (flex - flex_st)
            phi_t = phi_st + w_b * (phi_t - phi_st)
            trunk = trunk * w_b
        hip_flex = -phi_t - trunk
        abd = (par["abduction_offset_deg"] + par["abduction_coupling_deg"] * np.sin(flex) / 1.0) * _DEG
        rot = (par["rotation_offset_deg"] * _DEG + par["rotation_coupling_deg"] * flex / 90.0)
        heading, _ = heading_profile(tt)
        heading = (heading + par["sway_deg"] * np.sin(2 * np.pi * par["sway_hz"] * tt + par["sway_phase"])) * _DEG

        q_hip = _rot.qmul(_rot.about_axis(0, lat * par["hip_abduction_deg"] * _DEG),
                          _rot.about_axis(1, lat * par["hip_rotation_deg"] * _DEG))
        q_thigh = _rot.qmul(
            _rot.qmul(_rot.qmul(_rot.about_axis(2, heading), _Q_EARTH_BODY0), _rot.about_axis(2, -phi_t)),
            q_hip,
        )
        # Grood & Suntay, right leg: Rz(-flex) Rx(-abd) Ry(rot); the left leg is its mirror image
        q_ts = _rot.qmul(_rot.qmul(_rot.about_axis(2, -flex), _rot.about_axis(0, -lat * abd)),
                         _rot.about_axis(1, lat * rot))
        q_shank = _rot.qmul(q_thigh, q_ts)
        y_thigh = _rot.qrot(q_thigh, _EY)
        y_shank = _rot.qrot(q_shank, _EY)
        chain = par["shank_length_m"] * y_shank + par["thigh_length_m"] * y_thigh  # ankle -> hip
        if exercise == "squat":
            p_hip = anchor + chain
        elif standing:
            # standing on the foot at `ankle_stand`, then the hip moves smoothly to the seat/bed
            p_hip = (1.0 - w_b)[:, None] * (ankle_stand + chain) + w_b[:, None] * anchor
        else:
            p_hip = np.broadcast_to(anchor, tt.shape + (3,))
        p_knee = p_hip - par["thigh_length_m"] * y_thigh
        p_ankle = p_knee - par["shank_length_m"] * y_shank

        env = np.minimum((np.abs(prim_rate * _DEG) + trans_rate) / 2.0, 1.5)[:, None]
        out = {
            "flex": flex, "abd": abd, "rot": rot, "hip": hip_flex, "heading": heading, "prim_rate": prim_rate,
            "q_thigh": q_thigh, "q_shank": q_shank, "p_hip": p_hip, "p_knee": p_knee, "p_ankle": p_ankle,
        }
        for name, q_seg, origin in (("thigh", q_thigh, p_hip), ("shank", q_shank, p_knee)):
            offset = np.broadcast_to(par[f"{name}_sensor_offset_m"], tt.shape + (3,))
            if soft_tissue:
                w = wob[name]
                rv = w["lf_rot"] * progress[:, None] + w["hf_rot"] * env * np.sin(2 * np.pi * w["freq"] * tt[:, None] + w["phase"])
                dp = w["lf_pos"] * progress[:, None] + w["hf_pos"] * env * np.sin(2 * np.pi * w["freq_p"] * tt[:, None] + w["phase_p"])
                q_w = _rot.from_rotvec(rv)
                offset = offset + dp
                q_sensor = _rot.qmul(_rot.qmul(q_seg, q_w), mount[name])
            else:
                q_sensor = _rot.qmul(q_seg, mount[name])
            out[f"q_{name}_sensor"] = q_sensor
            out[f"p_{name}_sensor"] = origin + _rot.qrot(q_seg, offset)
        return out

    if standing and exercise != "squat":
        if spec.supine:
            # the foot on the floor below the hip's place on the bed
            ankle_stand = np.array([anchor[0], anchor[1], 0.0])
        else:
            # the foot stays where it will be when seated: under the knee of the seated posture
            end = evaluate(np.array([trans_t1]))
            ankle_stand = anchor - (end["p_hip"][0] - end["p_ankle"][0])

    n = int(np.floor(total * fs + 1e-9)) + 1
    t = np.arange(n) / fs
    h = 5e-4
    tt = np.concatenate([[t[0] - 1.0 / fs], t, t - h, t + h])
    ev = evaluate(tt)
    sl_prev, sl_now, sl_m, sl_p = slice(0, 1), slice(1, n + 1), slice(n + 1, 2 * n + 1), slice(2 * n + 1, 3 * n + 1)

    base = errors if errors is not None else ImuErrorModel()
    if not noise:
        base = _replace(base, gyr_noise=0.0, acc_noise=0.0, mag_noise=0.0)
    if not gyr_bias:
        base = _replace(base, gyr_bias_std=0.0, gyr_bias_walk=0.0)
    field_vec = earth_field()

    sensors: dict[str, SimulatedImu] = {}
    for k, name in enumerate(("thigh", "shank")):
        srng = np.random.default_rng(sensor_seeds[k])
        q_all = ev[f"q_{name}_sensor"]
        p_all = ev[f"p_{name}_sensor"]
        pos = p_all[sl_now]
        acc_lin = (p_all[sl_p] - 2.0 * pos + p_all[sl_m]) / (h * h)
        dist = _mag_disturbance(srng, t) if (with_mag and mag_disturbance) else None
        sensors[name] = _synthesize(
            t,
            q_all[sl_now],
            q_all[sl_prev][0],
            acc_lin,
            rng=srng,
            errors=base,
            with_mag=with_mag,
            mag_field=field_vec,
            mag_disturbance=dist,
            drop_rate=drop_rate,
            saturation=saturation,
            q_segment_sensor=mount[name],
            pos=pos,
        )

    # truth hinge axes: the functional (mean helical) axis of the knee in each segment, i.e. the
    # principal direction of the relative angular velocity of the bones, then in sensor frames
    q_ts_ext = _rot.qmul(_rot.qconj(ev["q_thigh"][: n + 1]), ev["q_shank"][: n + 1])
    step_shank = _rot.to_rotvec(_rot.qmul(_rot.qconj(q_ts_ext[:-1]), q_ts_ext[1:]))  # shank frame
    step_thigh = _rot.qrot(q_ts_ext[:-1], step_shank)  # the same increments in the thigh frame
    axis_thigh_seg = _principal_axis(step_thigh)
    axis_shank_seg = _principal_axis(step_shank)
    hinge_thigh = _rot.qrot_inv(mount["thigh"], axis_thigh_seg)
    hinge_shank = _rot.qrot_inv(mount["shank"], axis_shank_seg)
    flexion_axis_thigh = _rot.qrot_inv(mount["thigh"], _EZ)

    truth = KneeTruth(
        flexion_deg=ev["flex"][sl_now] / _DEG,
        abduction_deg=ev["abd"][sl_now] / _DEG,
        rotation_deg=ev["rot"][sl_now] / _DEG,
        hip_flexion_deg=ev["hip"][sl_now] / _DEG,
        heading_deg=ev["heading"][sl_now] / _DEG,
        primary=spec.primary,
        reps=true_reps,
        hinge_axis_thigh_sensor=hinge_thigh,
        hinge_axis_shank_sensor=hinge_shank,
        flexion_axis_thigh_sensor=flexion_axis_thigh,
        q_earth_thigh=ev["q_thigh"][sl_now],
        q_earth_shank=ev["q_shank"][sl_now],
        positions={"hip": ev["p_hip"][sl_now].copy(), "knee": ev["p_knee"][sl_now], "ankle": ev["p_ankle"][sl_now].copy()},
        parameters=par,
    )
    options = {
        "reps": reps, "still_start_s": still_start_s, "still_end_s": still_end_s, "pause_s": pause_s,
        "hold_s": hold_s, "max_mount_deg": max_mount_deg, "noise": noise, "gyr_bias": gyr_bias,
        "soft_tissue": soft_tissue, "body_turns": body_turns, "with_mag": with_mag,
        "mag_disturbance": mag_disturbance, "drop_rate": drop_rate, "saturation": saturation,
        "side": side, "fidget_start": fidget_start, "start_pose": start_pose,
    }
    return SimulatedSession(fs=float(fs), t=t, exercise=exercise, sensors=sensors, truth=truth,
                            seed=seed, options=options)


def _mag_disturbance(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Episodes of 5-20 µT extra field (ENU), 3-10 s long with 0.5 s smooth ramps."""
    out = np.zeros((t.size, 3))
    duration = t[-1] - t[0]
    for _ in range(1 + int(duration // 60.0)):
        length = rng.uniform(3.0, 10.0)
        start = t[0] + rng.uniform(0.0, max(duration - length, 0.1))
        vec = rng.normal(size=3)
        vec *= rng.uniform(5.0, 20.0) / np.linalg.norm(vec)
        ramp = Knots.from_lists([start, start + 0.5, start + length - 0.5, start + length], [0, 1, 1, 0])
        out += ramp(t)[0][:, None] * vec
    return out


def _principal_axis(steps: np.ndarray) -> np.ndarray:
    """Unit principal direction of rotation increments (N, 3), signed towards +z (thigh z)."""
    m = steps.T @ steps
    if not np.any(m):
        return _EZ.copy()
    axis = np.linalg.eigh(m)[1][:, -1]
    return axis if axis[2] >= 0 else -axis
