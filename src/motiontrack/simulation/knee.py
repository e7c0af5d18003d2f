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
short_arc_quad        knee flexion   supine    hip; knee on a bolster, 30-45° -> 0-5°, heel lifts
long_arc_quad         knee flexion   seated    alias of seated_knee_extension (the same motion)
sit_to_stand          knee flexion   seated    ankle; 85-100° -> 0-5°, body rises, trunk leans
standing_knee_bend    knee flexion   standing  hip; thigh near vertical, shank swings back 75-100°
knee_wall_slide       knee flexion   standing  ankle; back on a wall, hip slides down, 45-60°
===================== ============== ========= =======================================

Closed-chain exercises (squat, sit-to-stand, wall slide) keep the foot on the floor: the hip
follows from the ankle through both segments, so the thigh tilts and the body rises and sinks.
In the wall slide the hip stays a fixed distance behind the ankle (``wall_foot_m``), in the
sit-to-stand the shank leans forward mid-rise (knees over the toes) and is upright seated and
standing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from ..errors import ConfigurationError
from ._knee_body import _KneeKinematics, _subject
from ._knee_schedule import _schedule, _ScheduleOptions
from ._knee_sensors import _eval_times, _sensors, _truth
from ._knee_spec import _SPECS, ALIASES, EXERCISES, KneeTruth, SimulatedSession, TrueRep
from .imu import ImuErrorModel

__all__ = [
    "ALIASES",
    "EXERCISES",
    "KneeTruth",
    "SimulatedSession",
    "TrueRep",
    "simulate_knee_session",
]


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
    turn_deg: float | None = None,
    stand_flexion_deg: float = 0.0,
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
        One of :data:`EXERCISES`, or an alias of one (``"long_arc_quad"``: the seated knee
        extension's motion; :data:`ALIASES`).
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
    turn_deg : float, optional
        The size of every body turn, degrees (its direction stays random), e.g. 180.
    stand_flexion_deg : float
        Standing start: knee flexion held in the standing still pose, degrees (0: straight;
        e.g. 15: a calibration pose held crooked).
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
        raise ConfigurationError(
            f"unknown exercise {exercise!r}; choose one of {', '.join((*EXERCISES, *ALIASES))}")
    _check_options(reps, fs, still_start_s, still_end_s, pause_s, max_mount_deg, hold_s, amplitude_deg,
                   drop_rate, side)
    lat = 1.0 if side == "right" else -1.0  # sign of the lateral direction along segment z
    fixed_mount = _fixed_mounting(mounting)

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
    opts = _ScheduleOptions(
        exercise=exercise, reps=reps, still_start_s=still_start_s, still_end_s=still_end_s,
        pause_s=pause_s, hold_s=hold_s, partial_reps=partial_reps, fast_reps=fast_reps,
        amplitude_deg=amplitude_deg, body_turns=body_turns, fidget_start=fidget_start,
        turn_deg=turn_deg, stand_flexion_deg=stand_flexion_deg,
    )
    sched = _schedule(opts, spec, rng, rep_rng, body_rng, start_rng)
    par, mount, wob = _subject(
        body_rng, lat=lat, body_turns=body_turns, rest=sched.rest, peak_nom=sched.peak_nominal,
        max_mount_deg=max_mount_deg, fixed_mount=fixed_mount,
    )
    kin = _KneeKinematics(
        exercise=exercise, spec=spec, sched=sched, par=par, mount=mount, wob=wob, lat=lat,
        soft_tissue=soft_tissue, standing=standing,
    )

    n = int(np.floor(sched.total * fs + 1e-9)) + 1
    t = np.arange(n) / fs
    ev = kin(_eval_times(t, fs))
    sensors = _sensors(
        t, ev, mount, sensor_seeds, errors=errors, noise=noise, gyr_bias=gyr_bias, with_mag=with_mag,
        mag_disturbance=mag_disturbance, drop_rate=drop_rate, saturation=saturation,
    )
    truth = _truth(ev, n, mount, spec.primary, sched.reps, par)
    options = {
        "reps": reps, "still_start_s": still_start_s, "still_end_s": still_end_s, "pause_s": pause_s,
        "hold_s": hold_s, "max_mount_deg": max_mount_deg, "noise": noise, "gyr_bias": gyr_bias,
        "soft_tissue": soft_tissue, "body_turns": body_turns, "with_mag": with_mag,
        "mag_disturbance": mag_disturbance, "drop_rate": drop_rate, "saturation": saturation,
        "side": side, "fidget_start": fidget_start, "start_pose": start_pose,
    }
    return SimulatedSession(fs=float(fs), t=t, exercise=exercise, sensors=sensors, truth=truth,
                            seed=seed, options=options)


def _check_options(
    reps: int,
    fs: float,
    still_start_s: float,
    still_end_s: float,
    pause_s: float,
    max_mount_deg: float,
    hold_s: float | None,
    amplitude_deg: float | None,
    drop_rate: float,
    side: str,
) -> None:
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


def _fixed_mounting(mounting: Mapping[str, npt.ArrayLike] | None) -> dict[str, np.ndarray]:
    """The ``mounting`` argument as unit quaternions."""
    fixed_mount: dict[str, np.ndarray] = {}
    for name, q_m in (mounting or {}).items():
        if name not in ("thigh", "shank"):
            raise ConfigurationError(f"mounting keys must be 'thigh' or 'shank', got {name!r}")
        arr = np.asarray(q_m, dtype=np.float64)
        if arr.shape != (4,) or not np.all(np.isfinite(arr)) or np.linalg.norm(arr) < 1e-9:
            raise ConfigurationError(f"mounting[{name!r}] must be a quaternion (w, x, y, z), got {q_m!r}")
        fixed_mount[name] = arr / np.linalg.norm(arr)
    return fixed_mount


def _check_positive(name: str, value: float, allow_zero: bool = True) -> None:
    ok = np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ConfigurationError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
