"""Simulated body-region sessions with ground truth: trunk, neck, shoulder, hip and elbow
exercises (:data:`motiontrack.exercise.regions.REGION_EXERCISES`) measured by a sensor on the
distal segment and, optionally, one on the proximal segment.

The body: the proximal segment (pelvis, chest, upper arm) rests in the exercise's calibration
pose (standing, seated, supine, side-lying, quadruped, hook-lying) at a random heading, and
follows the distal segment's motion by a share of its angle about the same axis (lumbo-pelvic
rhythm, trunk counter-lean) plus a slow sway of up to ~1.5° about random axes. The distal
segment rotates about the exercise's anatomical axis of the proximal segment (ISB frames:
x anterior, y superior, z right; :data:`motiontrack.conventions.REGION_ANGLES`) through a
rep schedule: a still calibration pose, then reps of random amplitude (±15 %), speed, hold and
pause. Sensors sit at random orientations on their segments with a soft-tissue shift (≤ 1°
with the angle) and an 11 Hz wobble driven by the segment's speed, a constant gyroscope bias
of up to ``bias_dps`` per axis (plus the error model's noise and bias walk), and move with
their segment about the joint (their linear acceleration is in the accelerometer). Options
add a whole-body turn between reps, random sensor places along the segments, and the joint's
own travel in the closed-chain exercises (bridge, cat-cow).

Ground truth (:class:`RegionTruth`): the joint angle (two sensors: the distal segment relative
to the proximal one about the exercise's axis) and the segment's angle against gravity and its
start heading (one sensor), each the definition of the measured angle applied to the true
segment orientations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..conventions import REGION_ANGLES
from ..errors import ConfigurationError
from ..exercise.regions import REGION_EXERCISES
from ..kinematics.inclination import tilt_deg, twist_deg, up_in_sensor
from . import _rot
from .imu import ImuErrorModel, SimulatedImu, synthesize_imu, to_recording

__all__ = ["AMPLITUDE_DEG", "RegionSession", "RegionTruth", "simulate_region_session"]

#: Nominal primary-angle excursion of each exercise, deg (typical adult ROM in the exercise).
AMPLITUDE_DEG = {
    "trunk_flexion": 60.0, "seated_trunk_flexion": 35.0, "cat_cow": 20.0, "side_bend": 25.0,
    "trunk_rotation": 40.0, "cervical_rotation": 60.0, "chin_tuck": 10.0, "neck_flexion": 40.0,
    "shoulder_flexion": 150.0, "shoulder_abduction": 140.0, "shoulder_raise": 90.0,
    "wall_slide": 130.0, "shoulder_external_rotation": 60.0, "standing_hip_flexion": 80.0,
    "hip_abduction": 30.0, "clamshell": 35.0, "bridge": 30.0, "hip_leg_raise": 50.0,
    "elbow_curl": 120.0,
}
#: Share of the distal angle the proximal segment follows about the same axis.
_COUPLING = {"trunk": 0.3, "neck": 0.1, "shoulder": -0.05, "hip": -0.15, "elbow": 0.05}
#: Plane of elevation of the elevation exercises, deg (0 abduction plane, 90 flexion plane).
_PLANE = {"shoulder_raise": 45.0, "wall_slide": 90.0}
#: Distal segment in its proximal segment's frame in the calibration pose: flexion, deg.
_POSE_FLEXION = {"clamshell": 45.0, "bridge": 50.0}
_SENSOR_OFFSET = {  # sensor position in the distal segment frame from the joint, m
    "trunk": (0.10, 0.35, 0.0), "neck": (0.0, 0.12, 0.08), "shoulder": (0.03, -0.15, 0.04),
    "hip": (0.06, -0.25, 0.0), "elbow": (0.02, -0.2, 0.0),
}
#: ``sensor_position=True``: the proximal sensor's nominal place in its segment frame from
#: the joint, m (sacrum, sternum, sternum, sacrum, mid upper arm); without it the proximal
#: sensor sits on the joint centre.
_PROXIMAL_OFFSET = {
    "trunk": (-0.10, -0.05, 0.0), "neck": (0.10, -0.15, 0.0), "shoulder": (0.10, -0.10, -0.15),
    "hip": (-0.12, 0.05, -0.10), "elbow": (0.0, 0.15, 0.04),
}
#: ``closed_chain=True``: exercises whose ends stay on the floor, so that the joint itself
#: travels with the movement (bridge: the hips rise; cat-cow: the lower back rises and sinks
#: over hands and knees): travel range, m, straight up at the rep's peak.
_JOINT_TRAVEL = {"bridge": (0.10, 0.18), "cat_cow": (0.03, 0.06)}
#: ``body_turns=True``: the calibration poses a patient can turn in (standing, seated); the
#: lying and kneeling ones do not turn about the vertical.
_TURN_POSES = ("standing", "seated", "elbow_90")


@dataclass(frozen=True)
class RegionTruth:
    """Ground truth. ``joint_deg``: the distal segment relative to the proximal one (two
    sensors); ``segment_deg``: the distal segment against gravity / its start heading (one
    sensor); ``reps``: (start_s, end_s) of each rep; ``calib_s``: end of the still pose."""

    t: np.ndarray
    joint_deg: np.ndarray
    segment_deg: np.ndarray
    reps: list[tuple[float, float]]
    calib_s: float


@dataclass(frozen=True)
class RegionSession:
    exercise: str
    fs: float
    t: np.ndarray
    sensors: dict[str, SimulatedImu]
    truth: RegionTruth

    def to_recording(self):  # noqa: ANN201 - a motiontrack.recording.Recording
        """The session as a :class:`motiontrack.recording.Recording` (what its CSV gives)."""
        return to_recording(self.t, self.sensors, source=f"simulated {self.exercise}")


def _basis(pose: str, psi: float) -> np.ndarray:
    """Proximal segment -> earth rotation matrix (columns: segment x, y, z in ENU)."""
    h = np.array([math.cos(psi), math.sin(psi), 0.0])
    up = np.array([0.0, 0.0, 1.0])
    if pose in ("supine", "hook_lying"):
        x, y = up, h
    elif pose == "quadruped":
        x, y = -up, h
    elif pose == "side_lying":
        y, z = h, up
        x = np.cross(y, z)
        return np.column_stack([x, y, z])
    else:
        x, y = h, up
    return np.column_stack([x, y, np.cross(x, y)])


def _schedule(rng: np.random.Generator, reps: int, amp: float, fs: float, still_s: float,
              amp_jitter: float = 0.15, rep_s: tuple[float, float, float, float] | None = None,
              rep_jitter: float = 0.1, extra_pause: dict[int, float] | None = None,
              ) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float]]]:
    """Primary angle (deg) over time: still, then reps (cosine up, hold, cosine down, pause;
    ``extra_pause``: s added to the pause after rep i)."""
    parts = [np.zeros(round(still_s * fs))]
    spans = []
    t = still_s
    for i in range(reps):
        a = amp * rng.uniform(1.0 - amp_jitter, 1.0 + amp_jitter)
        if rep_s is None:
            up, hold, down, pause = rng.uniform(1.0, 2.2), rng.uniform(0.2, 1.0), \
                rng.uniform(1.0, 2.2), rng.uniform(0.8, 2.0)
        else:
            up, hold, down, pause = np.asarray(rep_s) * rng.uniform(1 - rep_jitter,
                                                                    1 + rep_jitter, 4)
        seg = [0.5 * a * (1 - np.cos(np.pi * np.arange(round(up * fs)) / (up * fs))),
               np.full(round(hold * fs), a),
               0.5 * a * (1 + np.cos(np.pi * np.arange(round(down * fs)) / (down * fs))),
               np.zeros(round((pause + (extra_pause or {}).get(i, 0.0)) * fs))]
        n = sum(s.size for s in seg[:3])
        spans.append((t, t + n / fs))
        t += sum(s.size for s in seg) / fs
        parts += seg
    parts.append(np.zeros(round(2.0 * fs)))
    x = np.concatenate(parts)
    return np.arange(x.size) / fs, x, spans


def _axis(name: str) -> np.ndarray:
    ex = REGION_EXERCISES[name]
    axis, sign = REGION_ANGLES[ex.region][ex.angle][:2]
    if axis == "elevation":
        p = math.radians(_PLANE.get(name, 90.0))
        return math.sin(p) * np.array([0.0, 0.0, 1.0]) + math.cos(p) * np.array([-1.0, 0.0, 0.0])
    return sign * np.eye(3)["xyz".index(axis)]


def _sway(rng: np.random.Generator, t: np.ndarray, start: int) -> np.ndarray:
    """A slow sway of up to ~1.5° about random axes, rotation vectors (rad), none before
    ``start``."""
    rv = np.zeros((t.size, 3))
    for k in range(3):
        f = rng.uniform(0.05, 0.2, 2)
        rv[:, k] = math.radians(0.6) * (np.sin(2 * np.pi * f[0] * t + rng.uniform(0, 6))
                                        + np.sin(2 * np.pi * f[1] * t + rng.uniform(0, 6)))
    ramp = np.clip((np.arange(t.size) - start) / (2.0 * (t.size / t[-1])), 0.0, 1.0)
    return rv * ramp[:, None]


def _wobble(rng: np.random.Generator, t: np.ndarray, q_seg: np.ndarray, frac: np.ndarray,
            on: bool) -> np.ndarray:
    """Soft tissue: rotation (quaternions) of the sensor on its segment over time."""
    if not on:
        return np.tile([1.0, 0.0, 0.0, 0.0], (t.size, 1))
    fs = (t.size - 1) / (t[-1] - t[0])
    w = _rot.to_rotvec(_rot.qmul(_rot.qconj(q_seg[:-1]), q_seg[1:])) * fs
    speed = np.concatenate([[0.0], np.linalg.norm(w, axis=1)])
    ax1, ax2 = rng.normal(size=3), rng.normal(size=3)
    ax1, ax2 = ax1 / np.linalg.norm(ax1), ax2 / np.linalg.norm(ax2)
    shift = math.radians(1.0) * frac[:, None] * ax1
    osc = math.radians(0.4) * np.clip(speed / 2.0, 0, 1)[:, None] * np.sin(2 * np.pi * 11.0 * t)[:, None] * ax2
    return _rot.from_rotvec(shift + osc)


def simulate_region_session(
    exercise: str,
    reps: int = 8,
    fs: float = 100.0,
    seed: int = 0,
    *,
    proximal: bool = True,
    with_mag: bool = True,
    bias_dps: float = 2.0,
    max_mount_deg: float = 180.0,
    soft_tissue: bool = True,
    still_s: float = 3.0,
    amplitude_deg: float | None = None,
    motion_axis: np.ndarray | None = None,
    drop_rate: float = 0.0,
    amplitude_jitter: float = 0.15,
    rep_s: tuple[float, float, float, float] | None = None,
    rep_jitter: float = 0.1,
    against_rhythm: bool = False,
    body_turns: bool = False,
    sensor_position: bool = False,
    closed_chain: bool = False,
) -> RegionSession:
    """Simulate one exercise of a body region (see the module docstring).

    Parameters
    ----------
    exercise : str
        A key of :data:`motiontrack.exercise.regions.REGION_EXERCISES`.
    reps : int
    fs : float
        Hz.
    seed : int
    proximal : bool
        Also a sensor on the proximal segment (the region's two-sensor mode).
    with_mag : bool
        Sensors stream a magnetometer (needed for 9D).
    bias_dps : float
        °/s; each gyroscope axis gets a constant bias uniform in ±this.
    max_mount_deg : float
        Sensors sit at a random rotation of up to this from their segment's axes (180: any).
    soft_tissue : bool
    still_s : float
        s of the still calibration pose at the start.
    amplitude_deg : float, optional
        Nominal rep excursion (default :data:`AMPLITUDE_DEG`).
    motion_axis : ndarray (3,), optional
        Move about this proximal-frame axis instead of the exercise's (a wrong exercise).
    drop_rate : float
        Share of each sensor's samples lost in bursts of 1-5 (lost BLE packets): NaN rows,
        ``valid`` False, left out of :meth:`RegionSession.to_recording`. The truth is complete.
    amplitude_jitter : float
        Each rep's excursion is ``amplitude_deg`` times a factor uniform in 1 ± this.
    rep_s : (up, hold, down, pause), optional
        Nominal durations of each rep's phases, s, each varied by a factor uniform in
        1 ± ``rep_jitter`` (a paced exercise); default: up and down 1.0-2.2 s, hold 0.2-1.0 s,
        pause 0.8-2.0 s, independently per rep.
    rep_jitter : float
        See ``rep_s``.
    against_rhythm : bool
        The proximal segment tilts against the region's usual rhythm
        (:data:`motiontrack.exercise.regions.RHYTHM`): its share of the distal angle changes
        sign (a patient tucking the pelvis while bending forward). Tilt presets only.
    body_turns : bool
        Standing and seated poses: the whole body turns by 20-120° about the vertical (in
        1.5-3 s) in one pause between reps (a patient turning on the chair or stepping
        round). The joint angle is unchanged; a one-sensor rotation angle (measured from the
        start heading) is not, by definition.
    sensor_position : bool
        Sensors at random places on their segments: the distal one at 0.6-1.4 × its nominal
        distance along the segment and ±1.5 cm across, the proximal one likewise about its
        own nominal place (sacrum, sternum, upper arm) instead of on the joint centre.
    closed_chain : bool
        Closed-chain exercises (bridge, cat-cow: the ends stay on the floor) move the joint
        itself: it rises with the rep (bridge 10-18 cm, cat-cow 3-6 cm), so both sensors feel
        that acceleration too. Other exercises are open chain (the joint stays).
    The three options draw from their own random stream: a seed gives the same session
    without them as before they existed.

    Returns
    -------
    RegionSession
        Sensors named by their segments (``"chest"``, ``"upper_arm"``, ...).
    """
    if exercise not in REGION_EXERCISES:
        raise ConfigurationError(f"unknown region exercise {exercise!r}")
    ex = REGION_EXERCISES[exercise]
    rng = np.random.default_rng(seed)
    amp = amplitude_deg if amplitude_deg is not None else AMPLITUDE_DEG[exercise]
    if not 0.0 <= amplitude_jitter < 1.0 or not 0.0 <= rep_jitter < 1.0:
        raise ConfigurationError("amplitude_jitter and rep_jitter must be within [0, 1)")
    if rep_s is not None and (len(rep_s) != 4 or min(rep_s) < 0 or rep_s[0] <= 0 or rep_s[2] <= 0):
        raise ConfigurationError(f"rep_s is (up, hold, down, pause) in s, up and down > 0, "
                                 f"got {rep_s}")
    vrng = np.random.default_rng([seed, 1414])  # the optional variations' own stream
    turn = _turn(vrng, reps) if body_turns and ex.pose in _TURN_POSES else None
    t, theta, spans = _schedule(rng, reps, amp, fs, still_s, amplitude_jitter, rep_s, rep_jitter,
                                {turn[0]: turn[1] + 1.0} if turn else None)
    k_cal = round(still_s * fs) - 1
    axis = _axis(exercise) if motion_axis is None else np.asarray(motion_axis, float)
    axis = axis / np.linalg.norm(axis)
    th = np.radians(theta)
    base = _rot.from_matrix(_basis(ex.pose, rng.uniform(-np.pi, np.pi)))
    c = _COUPLING[ex.region] if ex.axis != "y" else 0.1
    if against_rhythm:
        if ex.axis == "y":
            raise ConfigurationError(f"{exercise} is a rotation: the rhythm is about tilts")
        c = -c
    q_prox = _rot.qmul(_rot.qmul(np.broadcast_to(base, (t.size, 4)), _rot.from_rotvec(
        (c * th)[:, None] * axis)), _rot.from_rotvec(_sway(rng, t, k_cal + 1)))
    if turn is not None:  # the whole body about the vertical, between reps
        t0 = spans[turn[0]][1] + 0.5
        u = np.clip((t - t0) / turn[1], 0.0, 1.0)
        psi = math.radians(turn[2]) * (u**3 * (10 - 15 * u + 6 * u**2))  # minimum jerk
        q_prox = _rot.qmul(_rot.about_axis(2, psi), q_prox)
    pose = _rot.about_axis(2, np.radians(_POSE_FLEXION.get(exercise, 0.0)))
    rel = _rot.qmul(_rot.from_rotvec(th[:, None] * axis), np.broadcast_to(pose, (t.size, 4)))
    q_dist = _rot.qmul(q_prox, rel)
    # truth: the joint angle, and the distal segment against gravity / its start heading
    joint = theta.copy()
    if ex.axis == "y":
        seg = _sign(ex) * twist_deg(q_dist, q_dist[k_cal])
    elif ex.axis == "elevation":  # signed: - behind the hanging line (conventions)
        u = up_in_sensor(q_dist)
        seg = np.degrees(np.arccos(np.clip(u @ u[k_cal], -1, 1)))
        h_seg = _rot.qrot_inv(pose, axis)
        seg = np.where(tilt_deg(u, u[k_cal], h_seg / np.linalg.norm(h_seg)) < 0, -seg, seg)
    else:
        h_seg = _rot.qrot_inv(pose, axis)  # the motion axis, distal segment frame
        u = up_in_sensor(q_dist)
        seg = np.unwrap(tilt_deg(u, u[k_cal], h_seg / np.linalg.norm(h_seg)), period=360.0)
    sensors: dict[str, SimulatedImu] = {}
    errors = ImuErrorModel(gyr_bias_std=0.0)
    names = [ex.segments[0]] + ([ex.segments[1]] if proximal else [])
    frac = np.abs(theta) / max(amp, 1e-9)
    joint_pos = np.zeros((t.size, 3))
    if closed_chain and exercise in _JOINT_TRAVEL:
        joint_pos[:, 2] = vrng.uniform(*_JOINT_TRAVEL[exercise]) * np.clip(frac, 0.0, 1.2)
    offsets = _offsets(vrng, ex.region, sensor_position)
    for name, q_seg, off in zip(names, (q_dist, q_prox), offsets):
        mount = _rot.random_rotation(rng, math.radians(max_mount_deg))
        q_s = _rot.qmul(_rot.qmul(q_seg, np.broadcast_to(mount, (t.size, 4))),
                        _wobble(rng, t, q_seg, frac, soft_tissue))
        pos = joint_pos + _rot.qrot(q_seg, np.broadcast_to(off, (t.size, 3)))
        imu = synthesize_imu(t, q_s, pos, seed=rng, with_mag=with_mag, errors=errors,
                             q_segment_sensor=mount, drop_rate=drop_rate)
        bias = np.radians(rng.uniform(-bias_dps, bias_dps, 3))
        imu.gyr[:] += bias
        sensors[name] = imu
    truth = RegionTruth(t=t, joint_deg=joint, segment_deg=seg, reps=spans, calib_s=float(t[k_cal]))
    return RegionSession(exercise, fs, t, sensors, truth)


def _turn(vrng: np.random.Generator, reps: int) -> tuple[int, float, float] | None:
    """(after which rep, duration s, angle deg) of the one body turn, or None (< 2 reps)."""
    if reps < 2:
        return None
    return (int(vrng.integers(reps - 1)), float(vrng.uniform(1.5, 3.0)),
            float(vrng.choice([-1.0, 1.0]) * vrng.uniform(20.0, 120.0)))


def _offsets(vrng: np.random.Generator, region: str, random_place: bool
             ) -> tuple[np.ndarray, np.ndarray]:
    """Sensor positions in their segment frames from the joint, m: (distal, proximal)."""
    dist = np.asarray(_SENSOR_OFFSET[region], float)
    if not random_place:
        return dist, np.zeros(3)
    prox = np.asarray(_PROXIMAL_OFFSET[region], float)
    out = []
    for nominal in (dist, prox):
        o = nominal + vrng.uniform(-0.015, 0.015, 3)
        o[1] = nominal[1] * vrng.uniform(0.6, 1.4)  # along the segment
        out.append(o)
    return out[0], out[1]


def _sign(ex) -> float:  # noqa: ANN001
    return REGION_ANGLES[ex.region][ex.angle][1]
