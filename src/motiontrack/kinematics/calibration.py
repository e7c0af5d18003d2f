"""Sensor-to-segment calibration of a two-segment joint (knee, elbow, generic hinge).

Two sources of information, combined:

* **still pose** (a few seconds without motion in a known posture): the accelerometer of
  each sensor gives the direction of *up* in that sensor's frame, which is a known axis of
  the segment (standing: the long axis y of thigh and shank; supine: the anterior axis x of
  both; seated with the shank hanging: thigh x and shank y). The mean gyroscope reading is
  the gyroscope bias.
* **functional motion** (flexion/extension repetitions): the hinge axis in each sensor
  frame, from the *relative* angular rate of the two segments, which for a hinge points
  along the hinge whatever each segment does on its own (:func:`relative_hinge_axes`; the
  kinematic hinge constraint of Seel, Schauer, Raisch 2012, DOI 10.1109/CCA.2012.6402423,
  and Seel, Raisch, Schauer 2014, "IMU-based joint angle measurement for gait analysis",
  Sensors 14(4):6891, DOI 10.3390/s140406891, §3.1, used on the relative rate instead of
  eq. (1)'s norm constraint, which is ambiguous for the planar, proportional thigh/shank
  motion of squats and heel slides). Gyroscope bias comes off with the still pose; soft
  tissue wobble with a 2.5 Hz zero-phase low-pass; partial motion only needs the rate to
  exceed ``min_rate`` somewhere. The distal axis is the principal direction of the
  relative rate in the distal frame, the proximal one that of the same rate in the
  proximal frame: the *functional* axes, which a knee's flexion-coupled ab/adduction and
  axial rotation tilt 1.5-2.5° away from the anatomical flexion axis.
* **6D relative heading**: searched (1-D) on the relative rate, then tracked with the
  streaming hinge-constraint estimator. The hinge constraint alone is biased by the same
  coupled rotations whenever the thigh turns in proportion to the knee (heel slides,
  squats: they mimic a heading error; 8-13° seen in simulation, with both axes then 4-8°
  off), so the branch and a constant correction come from the joint-centre accelerations
  (Seel et al. 2014 §3.2), which see the heading through the knee's horizontal
  acceleration. That needs tilt errors well below a real-time filter's 0.3-0.5° during
  motion (0.05-0.09 m/s² of fake horizontal acceleration): the calibration recording is
  re-fused offline (:func:`motiontrack.fusion.fuse` ``method="vqf-offline"``, tilt ~0.05°)
  for this, whenever the proximal segment rotates enough for the heading to be observable.

The hinge axis becomes each segment's z axis; the still-pose up direction, made
perpendicular to it, the x or y axis; the third axis completes a right-handed frame.
Works for any mounting orientation of the sensors on the segments.

Sign ambiguities (each axis is found up to its sign) are resolved with anatomical rules:

1. the joint flexes: over the calibration motion flexion should not go below
   ``-hyperextension_deg`` nor above ``max_flexion_deg``;
2. from a flexed still pose (seated, shank hanging) the motion is an *extension*: among the
   candidates that satisfy rule 1, the one with the smallest peak flexion wins;
3. 9D (orientations sharing magnetic north): the two hinge axes must point the same way in
   the earth frame.

What is detected, and what cannot be
-------------------------------------
* a still pose that is not still (gyroscope or accelerometer spread, or acceleration not
  ~1 g): :class:`~motiontrack.errors.CalibrationError`;
* motion with no flexion (hinge angle range below ``min_rom_deg``, or too few moving
  samples): ``CalibrationError``; a small range or a poorly determined distal hinge axis:
  :class:`~motiontrack.errors.CalibrationWarning` and a low ``confidence``;
* a hinge axis that is not horizontal during the still pose (the posture is not the one
  declared, a sensor moved on the segment between pose and motion, or the two sensors
  belong to different joints): ``CalibrationError``;
* a still pose in another posture than the declared one, seen on the distal segment: the
  joint centre seen from the distal sensor (well determined, the distal segment swings)
  gives its long axis, whose inclination in the still pose must match the pose's (the shank
  hangs standing or seated, lies flat supine); e.g. a seated extension *held at the top*
  taken for the seated rest would otherwise mirror every angle:
  :class:`PoseMismatchError` (a ``CalibrationError`` that can tell which still periods
  are in the declared posture, :meth:`PoseMismatchError.matches`);
* a sensor upside down *relative to an expected mounting* (``expected_mounting``): the
  estimated mounting is compared with it and a difference above
  ``max_mounting_deviation_deg`` raises ``CalibrationError``. Without an expected mounting an
  upside-down sensor is simply an arbitrary mounting and is calibrated correctly;
* swapped proximal/distal sensors: for exercises where the proximal segment stays
  still (seated knee extension) the *proximal* sensor must be the quieter one: when the
  proximal sensor's median rate while moving is more than twice the distal one's in a
  ``seated`` pose, ``CalibrationError`` (the median, so that one sit-down in the motion
  window does not hide it). In any pose, a joint centre (Seel et al. 2014 §3.2) on the wrong
  side of both sensors along their segments raises too; a standing pose followed by
  sitting or lying down (the session protocol) makes that test work for every exercise. For other exercises (squats, heel slides) swapping gives a
  flexion of the opposite sign, which rule 1 absorbs, so the *flexion* stays right but
  ab/adduction and rotation are then those of the mirrored joint: this cannot be detected
  from a standing or supine pose with 6D data.
* In 6D, if the proximal segment hardly rotates during the motion (seated extension), the
  hinge axis in the proximal sensor is only known to be horizontal in the still pose: its
  direction about the vertical is not observable without a magnetometer (rotating the thigh
  sensor about the vertical changes none of its 6D data but a 0-5° lift and a body turn).
  Flexion is not affected (the relative heading estimator absorbs it), ab/adduction and
  rotation are; ``hinge_axis_std_deg[0]`` reports it (90°) and the notes say so. The session
  protocol (docs/session-protocol.md) avoids it: a standing pose, then sitting down, turns the
  thigh by ~90° about an axis nearly parallel to the hinge. The proximal axis is then taken
  from where the relative heading is observed: each sample's evidence is weighted by the
  squared share of the proximal segment's rotation about horizontal axes in the total (a
  thigh that then stays still through the extensions lets the tracked heading follow any
  proximal axis, so those samples carry no evidence about it). In 9D the same tracking
  replaces the shared magnetic heading for a proximal segment that moves much less than the
  distal one (RMS rate < 0.6×): 9D headings agree only to 1-2° after a 90° turn.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from .. import quaternion as mq
from .._kernels import joint as _k
from ..errors import (
    CalibrationError,
    CalibrationWarning,
    ConfigurationError,
    InputError,
    MotionTrackError,
)
from .angles import FLEXION_SIGN, JointAngleEstimator, JointSettings

Pose = Literal["standing", "supine", "seated"]

#: still poses: (up axis of the proximal segment, of the distal segment, flexion at the pose, deg)
POSES: dict[str, tuple[int, int, float]] = {
    "standing": (1, 1, 0.0),  # legs straight, long axes vertical
    "supine": (0, 0, 0.0),  # lying on the back, legs straight: anterior faces up
    "seated": (0, 1, 90.0),  # thigh horizontal (anterior up), shank hanging vertically
}

_UP = np.array([0.0, 0.0, 1.0])
CALIBRATION_FORMAT = "motiontrack.segment_calibration"
CALIBRATION_VERSION = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class CalibrationSettings:
    """Thresholds of :func:`calibrate_joint` (units in comments)."""

    still_max_gyr_std: float = 0.05  # rad/s; gyroscope spread allowed in the still pose
    still_max_gyr_mean: float = 0.1  # rad/s; |mean rate| above this is motion, not bias
    still_max_acc_std: float = 0.4  # m/s²; accelerometer spread allowed in the still pose
    still_acc_tolerance: float = 1.5  # m/s²; | |acc| - 9.81 | allowed in the still pose
    min_rate: float = 0.15  # rad/s; samples slower than this (both sensors) are not used
    min_moving_fraction: float = 0.05  # of the motion window that must be moving
    min_rom_deg: float = 15.0  # deg; less hinge motion than this is "no flexion" (error)
    warn_rom_deg: float = 30.0  # deg; less than this gives a CalibrationWarning
    warn_axis_std_deg: float = 3.0  # deg; distal hinge-axis std above this warns
    max_axis_tilt_deg: float = 25.0  # deg; hinge axis vs horizontal in the still pose
    hyperextension_deg: float = 10.0  # deg; anatomical rule 1
    max_flexion_deg: float = 160.0  # deg; anatomical rule 1
    max_samples: int = 6000  # motion samples used by the axis fit (evenly thinned)
    swap_lever_m: float = (
        0.04  # m; joint centre this far on the wrong side of both sensors = swapped
    )
    branch_contrast: float = 1.5  # joint-centre residual ratio that decides the 6D heading branch
    max_pose_deviation_deg: float = 45.0  # deg; distal long axis vs the declared pose's, still pose

    def __post_init__(self) -> None:
        for name in (
            "still_max_gyr_std",
            "still_max_gyr_mean",
            "still_max_acc_std",
            "still_acc_tolerance",
            "min_rate",
            "min_rom_deg",
            "warn_rom_deg",
            "warn_axis_std_deg",
            "max_axis_tilt_deg",
            "max_flexion_deg",
            "swap_lever_m",
            "branch_contrast",
            "max_pose_deviation_deg",
        ):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ConfigurationError(f"{name} must be > 0, got {v!r}")
        if not (0 <= self.min_moving_fraction < 1):
            raise ConfigurationError("min_moving_fraction must be in [0, 1)")
        if not (self.hyperextension_deg >= 0):
            raise ConfigurationError("hyperextension_deg must be >= 0")
        if self.max_samples < 100:
            raise ConfigurationError("max_samples must be >= 100")


@dataclass(frozen=True)
class HingeAxes:
    """Result of :func:`relative_hinge_axes`.

    Attributes
    ----------
    proximal, distal : ndarray, shape (3,)
        Unit hinge direction in each sensor frame; the two point the same physical way,
        the overall sign is not yet anatomical.
    std_deg : ndarray, shape (2,)
        1-sigma angular uncertainty of each axis, degrees (Gauss-Newton covariance); large
        means the motion did not determine that axis.
    residual : float
        Robust RMS of the constraint residual, rad/s.
    n_used : int
        Moving samples used.
    """

    proximal: np.ndarray
    distal: np.ndarray
    std_deg: np.ndarray
    residual: float
    n_used: int


@dataclass(frozen=True)
class SegmentCalibration:
    """Sensor-to-segment mounting of the two sensors of a joint.

    Attributes
    ----------
    joint : str
    q_segment_sensor_proximal, q_segment_sensor_distal : ndarray, shape (4,)
        Mounting: rotates sensor-frame vectors into the segment frame (x anterior,
        y superior, z right).
    hinge_axis_proximal, hinge_axis_distal : ndarray, shape (3,)
        Segment z (the flexion axis) in each sensor frame, unit.
    hinge_axis_std_deg : ndarray, shape (2,)
        1-sigma uncertainty of the two axes, degrees (see module notes for the proximal one).
    gyr_bias_proximal, gyr_bias_distal : ndarray, shape (3,)
        Gyroscope bias seen in the still pose, rad/s (zeros without a pose).
    confidence : float
        0..1; product of the motion-range, axis-uncertainty and residual factors.
    pose : str
    rom_deg : float
        Hinge-angle range seen during the calibration motion, degrees.
    notes : tuple of str
        Why the confidence is reduced, in words.
    joint_centre_proximal, joint_centre_distal : ndarray, shape (3,)
        Joint centre seen from each sensor, m, sensor frames (Seel et al. 2014 §3.2; the
        component along the hinge is arbitrary); zeros when not estimated.
    """

    joint: str
    q_segment_sensor_proximal: np.ndarray
    q_segment_sensor_distal: np.ndarray
    hinge_axis_proximal: np.ndarray
    hinge_axis_distal: np.ndarray
    hinge_axis_std_deg: np.ndarray
    gyr_bias_proximal: np.ndarray
    gyr_bias_distal: np.ndarray
    confidence: float
    pose: str
    rom_deg: float
    notes: tuple[str, ...] = field(default=())
    joint_centre_proximal: np.ndarray = field(default_factory=lambda: np.zeros(3))
    joint_centre_distal: np.ndarray = field(default_factory=lambda: np.zeros(3))

    @classmethod
    def from_mounting(
        cls,
        q_segment_sensor_proximal: npt.ArrayLike,
        q_segment_sensor_distal: npt.ArrayLike,
        *,
        joint: str = "knee",
    ) -> SegmentCalibration:
        """A calibration from known mountings (e.g. a fixture, or a simulator's truth).

        Parameters
        ----------
        q_segment_sensor_proximal, q_segment_sensor_distal : array_like, shape (4,)
            Rotate sensor-frame vectors into the segment frame (w, x, y, z).
        """
        qs = []
        for name, q in (
            ("proximal", q_segment_sensor_proximal),
            ("distal", q_segment_sensor_distal),
        ):
            a = np.asarray(q, dtype=np.float64)
            if a.shape != (4,) or not np.all(np.isfinite(a)) or not np.linalg.norm(a) > 0:
                raise InputError(
                    f"q_segment_sensor_{name} must be a finite quaternion of shape (4,)"
                )
            qs.append(a / np.linalg.norm(a))
        conj = np.array([1.0, -1.0, -1.0, -1.0])
        axes = [mq.rotate(q * conj, np.array([0.0, 0.0, 1.0])) for q in qs]
        return cls(
            joint=joint,
            q_segment_sensor_proximal=qs[0],
            q_segment_sensor_distal=qs[1],
            hinge_axis_proximal=axes[0],
            hinge_axis_distal=axes[1],
            hinge_axis_std_deg=np.zeros(2),
            gyr_bias_proximal=np.zeros(3),
            gyr_bias_distal=np.zeros(3),
            confidence=1.0,
            pose="given",
            rom_deg=0.0,
        )

    def to_json(self) -> str:
        """Versioned JSON (quaternions w, x, y, z; bias rad/s; angles degrees)."""
        d = {
            "format": CALIBRATION_FORMAT,
            "version": CALIBRATION_VERSION,
            "units": {
                "gyr_bias": "rad/s",
                "angles": "deg",
                "quaternion": "w,x,y,z segment<-sensor",
            },
        }
        for k in self.__dataclass_fields__:
            v = getattr(self, k)
            d[k] = (
                v.tolist()
                if isinstance(v, np.ndarray)
                else (list(v) if isinstance(v, tuple) else v)
            )
        return json.dumps(d, indent=2)

    @classmethod
    def from_json(cls, text: str) -> SegmentCalibration:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CalibrationError(f"not a calibration file: {exc}") from None
        if d.get("format") != CALIBRATION_FORMAT or d.get("version") != CALIBRATION_VERSION:
            raise CalibrationError(
                f"unsupported calibration format {d.get('format')!r} version {d.get('version')!r}"
            )
        kw = {}
        for k in cls.__dataclass_fields__:
            v = d[k]
            kw[k] = np.asarray(v, dtype=np.float64) if isinstance(v, list) and k != "notes" else v
        kw["notes"] = tuple(d["notes"])
        return cls(**kw)


# ----------------------------------------------------------------------------- helpers


def _rows(a: npt.ArrayLike, name: str, width: int = 3) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != width:
        raise InputError(f"{name} must have shape (N, {width}), got {arr.shape}")
    return np.ascontiguousarray(arr)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _angle_deg(u: np.ndarray, v: np.ndarray) -> float:
    return math.degrees(math.atan2(np.linalg.norm(np.cross(u, v)), float(np.dot(u, v))))


@dataclass(frozen=True)
class _Still:
    up_p: np.ndarray
    up_d: np.ndarray
    bias_p: np.ndarray
    bias_d: np.ndarray


def _still_pose(acc_p, gyr_p, acc_d, gyr_d, s: CalibrationSettings) -> _Still:
    out = []
    for name, acc, gyr in (("proximal", acc_p, gyr_p), ("distal", acc_d, gyr_d)):
        ok = np.all(np.isfinite(acc), axis=1) & np.all(np.isfinite(gyr), axis=1)
        if ok.sum() < 10:
            raise CalibrationError(f"still pose: fewer than 10 valid samples for the {name} sensor")
        a, g = acc[ok], gyr[ok]
        gstd = float(np.sqrt(np.sum(np.var(g, axis=0))))
        gmean = float(np.linalg.norm(g.mean(axis=0)))
        astd = float(np.sqrt(np.sum(np.var(a, axis=0))))
        anorm = float(np.linalg.norm(a.mean(axis=0)))
        if gstd > s.still_max_gyr_std or gmean > s.still_max_gyr_mean or astd > s.still_max_acc_std:
            raise CalibrationError(
                f"still pose is not still ({name} sensor: gyroscope spread {gstd:.3f} rad/s, "
                f"mean {gmean:.3f} rad/s, accelerometer spread {astd:.2f} m/s²; limits "
                f"{s.still_max_gyr_std}, {s.still_max_gyr_mean}, {s.still_max_acc_std})"
            )
        if abs(anorm - 9.80665) > s.still_acc_tolerance:
            raise CalibrationError(
                f"still pose: {name} accelerometer reads {anorm:.2f} m/s², not ~9.81 "
                "(wrong units or not at rest)"
            )
        out.append((_unit(a.mean(axis=0)), g.mean(axis=0)))
    return _Still(up_p=out[0][0], up_d=out[1][0], bias_p=out[0][1], bias_d=out[1][1])


def _frame(j: np.ndarray, up: np.ndarray, up_seg: np.ndarray) -> np.ndarray:
    """q_segment_sensor from the hinge ``j`` (segment z, sensor frame), the measured up
    direction ``up`` (sensor frame) and the known up direction ``up_seg`` (segment frame,
    in its x-y plane)."""
    z = _unit(j)
    v = _unit(up - np.dot(up, z) * z)  # up, made perpendicular to the hinge
    w = np.cross(z, v)  # segment image of z x up_seg
    psi = math.atan2(up_seg[1], up_seg[0])
    x = math.cos(psi) * v - math.sin(psi) * w
    y = math.sin(psi) * v + math.cos(psi) * w
    m_sensor_segment = np.stack([x, y, z], axis=1)  # columns: segment axes in the sensor frame
    q_sensor_segment = mq.from_matrix(m_sensor_segment)
    return q_sensor_segment * np.array([1.0, -1.0, -1.0, -1.0])


def detect_still(
    gyr_proximal: npt.ArrayLike,
    gyr_distal: npt.ArrayLike,
    *,
    fs: float,
    min_duration: float = 1.0,
    max_rate: float = 0.1,
) -> slice | None:
    """First window in which both segments are still, for the ``still`` argument of
    :func:`calibrate_joint`.

    Parameters
    ----------
    gyr_proximal, gyr_distal : array_like, shape (N, 3)
        Angular rate, rad/s. NaN rows break a window.
    fs : float
        Sample rate, Hz.
    min_duration : float
        s; shortest window accepted.
    max_rate : float
        rad/s; both gyroscope norms must stay below this (it includes the gyroscope bias).

    Returns
    -------
    slice or None
        The whole first still stretch of at least ``min_duration``; ``None`` if there is none.
    """
    if not (math.isfinite(fs) and fs > 0):
        raise ConfigurationError(f"fs must be > 0 Hz, got {fs!r}")
    gp = _rows(gyr_proximal, "gyr_proximal")
    gd = _rows(gyr_distal, "gyr_distal")
    if gp.shape != gd.shape:
        raise InputError("gyr_proximal and gyr_distal must have the same shape")
    with np.errstate(invalid="ignore"):
        quiet = (np.linalg.norm(gp, axis=1) < max_rate) & (np.linalg.norm(gd, axis=1) < max_rate)
    n = max(1, round(min_duration * fs))
    i = 0
    while i < quiet.size:
        if quiet[i]:
            j = i
            while j < quiet.size and quiet[j]:
                j += 1
            if j - i >= n:
                return slice(i, j)
            i = j
        else:
            i += 1
    return None


def _fill_nan(x: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaN rows (edges held), column-wise."""
    out = x.copy()
    ok = np.all(np.isfinite(x), axis=1)
    if ok.all() or not ok.any():
        return np.nan_to_num(out)
    idx = np.arange(x.shape[0])
    for c in range(x.shape[1]):
        out[:, c] = np.interp(idx, idx[ok], x[ok, c])
    return out


def _lowpass(x: np.ndarray, fs: float, cutoff: float) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth low-pass (offline calibration only)."""
    from scipy.signal import butter, sosfiltfilt

    if cutoff >= 0.45 * fs or x.shape[0] < 30:
        return x
    sos = butter(2, cutoff, fs=fs, output="sos")
    return sosfiltfilt(sos, x, axis=0)


def _relative_rate_terms(gp: np.ndarray, gd: np.ndarray, qp: np.ndarray, qd: np.ndarray):
    """Terms of the relative angular rate in the distal sensor frame as a function of the
    relative heading delta: w_rel(delta) = g2 - R2^T Rz(-delta) R1 g1 = G - c B - s C."""
    w1 = mq.rotate(qp, gp)  # proximal rate in the proximal sensor's earth frame
    zero = np.zeros(w1.shape[0])
    a = mq.rotate(qd, np.stack([zero, zero, w1[:, 2]], axis=1), inverse=True)
    b = mq.rotate(qd, np.stack([w1[:, 0], w1[:, 1], zero], axis=1), inverse=True)
    c = mq.rotate(qd, np.stack([w1[:, 1], -w1[:, 0], zero], axis=1), inverse=True)
    return gd - a, b, c


def _scatter(g: np.ndarray, b: np.ndarray, c: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Scatter matrices sum(w w^T) of w = g - cos(d) b - sin(d) c, one per delta: (K, 3, 3)."""
    gg, gb, gc = g.T @ g, g.T @ b, g.T @ c
    bb, bc, cc = b.T @ b, b.T @ c, c.T @ c
    co = np.cos(delta)[:, None, None]
    si = np.sin(delta)[:, None, None]
    return (
        gg
        - co * (gb + gb.T)
        - si * (gc + gc.T)
        + co * co * bb
        + co * si * (bc + bc.T)
        + si * si * cc
    )


def _off_axis_ratio(m: np.ndarray) -> np.ndarray:
    ev = np.linalg.eigvalsh(m)
    return (ev[..., 0] + ev[..., 1]) / np.maximum(ev[..., 2], 1e-300)


def _relative_hinge_axes_core(
    gyr_proximal: npt.ArrayLike,
    gyr_distal: npt.ArrayLike,
    q_proximal: npt.ArrayLike,
    q_distal: npt.ArrayLike,
    *,
    fs: float,
    shared_heading: bool = False,
    cutoff_hz: float = 2.5,
    min_rate: float = 0.15,
    heading_hint: float | None = None,
    init_window_s: float = 30.0,
    delta_near: float | None = None,
    delta_given: np.ndarray | None = None,
) -> tuple[HingeAxes, float, float, np.ndarray]:
    """Hinge axes from the *relative* angular rate of the two segments.

    The relative rate ``w_rel = g2 - R2^T R_z(-delta) R1 g1`` (distal sensor frame) of a hinge
    points along the hinge, whatever each segment does on its own (hip rotation, body turns,
    proportional thigh/shank motion that makes eq. (1) of Seel 2012 ambiguous). Its principal
    direction gives the distal axis; the proximal axis is the same direction carried through
    the relative orientation. With 6D orientations the relative heading ``delta`` is unknown:
    it is found by a 1-D search minimising the off-axis part of ``w_rel`` (resolving the
    180° ambiguity of the axis signs whenever the proximal segment rotates about the hinge).

    Parameters
    ----------
    gyr_proximal, gyr_distal : array_like, shape (N, 3)
        Bias-corrected angular rate, rad/s.
    q_proximal, q_distal : array_like, shape (N, 4)
        Fused ``q_earth_sensor``.
    fs : float
        Hz.
    shared_heading : bool
        True for 9D orientations (delta = 0 is used, not searched).
    cutoff_hz : float
        Low-pass applied to the rates first (soft-tissue wobble lives above ~5 Hz).
    min_rate : float
        rad/s; samples where neither segment rotates faster are not used.
    heading_hint : float, optional
        Coarse relative heading (rad, e.g. from magnetometers too disturbed for 9D), used
        only to choose between two near-equal branches of the heading search.
    init_window_s : float
        s; the constant-heading search uses the first this-many seconds of motion; the
        heading is then tracked over the whole window (6D headings drift apart).
    Returns
    -------
    axes : HingeAxes
        Axes with consistent signs (same physical direction).
    delta : float
        Relative heading at the start of the motion, rad.
    delta_contrast : float
        Off-axis ratio of the best other branch (>= 90° away) divided by the optimum's
        (>= 1); below ~3 the relative heading (so the proximal axis direction about the
        vertical) is ambiguous.
    """
    gp = _lowpass(_fill_nan(_rows(gyr_proximal, "gyr_proximal")), fs, cutoff_hz)
    gd = _lowpass(_fill_nan(_rows(gyr_distal, "gyr_distal")), fs, cutoff_hz)
    qp = _rows(q_proximal, "q_proximal", 4)
    qd = _rows(q_distal, "q_distal", 4)
    ok = np.all(np.isfinite(qp), axis=1) & np.all(np.isfinite(qd), axis=1)
    moving = ok & (
        (np.linalg.norm(gp, axis=1) > min_rate) | (np.linalg.norm(gd, axis=1) > min_rate)
    )
    idx = np.flatnonzero(moving)
    if idx.size < 20:
        raise CalibrationError(
            f"motion with no flexion: only {idx.size} samples rotate faster than {min_rate} rad/s"
        )
    g, b, c = _relative_rate_terms(gp[idx], gd[idx], qp[idx], qd[idx])
    n_all = qp.shape[0]
    fixed = shared_heading or delta_given is not None
    if delta_given is not None:
        delta_t = np.asarray(delta_given, dtype=np.float64)
        contrast = np.inf
        delta = float(delta_t[idx[0]])
    elif shared_heading:
        delta_t = np.zeros(n_all)
        contrast = np.inf
        delta = 0.0
    else:
        # 1) constant-heading search on the first `init_window_s` of motion (6D headings
        #    drift apart, up to degrees per second with a poorly compensated gyro bias)
        first = idx < idx[0] + init_window_s * fs
        if first.sum() < 0.25 * idx.size:
            first = np.arange(idx.size) < max(int(0.25 * idx.size), 20)
        gi, bi, ci = g[first], b[first], c[first]
        grid = np.radians(np.arange(-180.0, 180.0, 1.0))
        r = _off_axis_ratio(_scatter(gi, bi, ci, grid))
        if delta_near is not None:
            # restrict the search to one branch (chosen by other evidence)
            near = np.abs(
                np.remainder(grid - delta_near + math.pi, 2.0 * math.pi) - math.pi
            ) <= math.radians(45.0)
            r = np.where(near, r, np.inf)
        k = int(np.argmin(r))
        # the best local minimum at least 90° away: a second branch (the 180° ambiguity of a
        # proximal segment that only rotates about axes parallel to the hinge)
        far = np.abs(((np.arange(360) - k + 180) % 360) - 180) >= 90
        local = (r <= np.roll(r, 1)) & (r <= np.roll(r, -1)) & far & np.isfinite(r)
        k2 = int(np.flatnonzero(local)[np.argmin(r[local])]) if local.any() else (k + 180) % 360
        contrast = float(r[k2] / max(r[k], 1e-300)) if np.isfinite(r[k2]) else np.inf
        if heading_hint is not None and contrast < 3.0:
            # ambiguous: take the branch nearer the (coarse) magnetometer heading
            def dist(i: int) -> float:
                return abs(math.remainder(float(grid[i]) - heading_hint, 2.0 * math.pi))

            if dist(k2) < dist(k):
                k = k2
        fine = grid[k] + np.radians(np.arange(-1.0, 1.0001, 0.05))
        rf = _off_axis_ratio(_scatter(gi, bi, ci, fine))
        delta = float(fine[int(np.argmin(rf))])
        delta_t = np.full(n_all, delta)
    if shared_heading or contrast < 3.0:

        def info(w: np.ndarray) -> np.ndarray:
            return np.ones(w.shape[0])

    else:
        # 6D, heading determined by the motion: the relative heading, and so the proximal
        # axis carried through it, is only observed where the proximal segment rotates about
        # a horizontal axis (a thigh that stays still through seated extensions after sitting
        # down leaves the tracked heading free to follow any proximal axis): weight each
        # sample's evidence for the proximal axis by that share. (An ambiguous heading, a
        # proximal segment that never rotated, keeps the plain rate weighting.)
        h1 = np.linalg.norm(mq.rotate(qp[idx], gp[idx])[:, :2], axis=1)

        def info(w: np.ndarray) -> np.ndarray:
            return (h1 / (h1 + np.linalg.norm(w, axis=1) + 1e-9)) ** 2

    j1 = j2 = np.zeros(3)
    w_rel = g
    for it in range(1 if fixed else 4):
        if it > 0:
            # 2) follow the drifting relative heading with the streaming hinge-constraint
            #    estimator (same kernel as the joint angles), then re-estimate the axes
            delta_t = _track_heading(qp, qd, j1, j2, fs, delta)
        dt = delta_t[idx]
        w_rel = g - np.cos(dt)[:, None] * b - np.sin(dt)[:, None] * c
        ev, vec = np.linalg.eigh(w_rel.T @ w_rel)
        j2 = vec[:, 2] if it == 0 else vec[:, 2] * np.sign(vec[:, 2] @ j2)
        # proximal axis: the same direction through the relative orientation, rate-weighted
        qz = np.stack(
            [np.cos(0.5 * dt), np.zeros_like(dt), np.zeros_like(dt), np.sin(0.5 * dt)], axis=1
        )
        q12 = mq.multiply(
            mq.conjugate(qp[idx]), mq.multiply(qz, qd[idx])
        )  # distal -> proximal sensor
        j1s = mq.rotate(q12, j2)
        wt = np.abs(w_rel @ j2)
        j1 = _unit((j1s * (wt * info(w_rel))[:, None]).sum(axis=0))
    if fixed:
        # the functional axis of the proximal segment: the principal direction of the same
        # relative rate expressed in the proximal frame (it differs from the carried distal
        # axis by the coupled ab/adduction and axial rotation of a real knee)
        w_rel_p = mq.rotate(q12, w_rel) * np.sqrt(info(w_rel))[:, None]
        v1 = np.linalg.eigh(w_rel_p.T @ w_rel_p)[1][:, 2]
        j1 = v1 * np.sign(v1 @ j1)
    # uncertainty of j2: spread of the estimate over 5 consecutive chunks
    chunks = np.array_split(np.arange(idx.size), 5)
    ests = []
    for ch in chunks:
        if ch.size < 10:
            continue
        _, v = np.linalg.eigh(w_rel[ch].T @ w_rel[ch])
        ests.append(v[:, 2] * np.sign(v[:, 2] @ j2))
    spread = [_angle_deg(e_, j2) for e_ in ests]
    std2 = float(np.sqrt(np.mean(np.square(spread)) / max(len(spread) - 1, 1))) if spread else 180.0
    disp1 = np.degrees(
        np.sqrt(np.average(np.sum(np.cross(j1s, j1) ** 2, axis=1), weights=wt + 1e-12))
    )
    std1 = float(max(std2, disp1 / math.sqrt(max(len(spread) - 1, 1))))
    if not fixed and contrast < 3.0:
        std1 = 90.0
    residual = float(np.sqrt(ev[0] + ev[1]) / math.sqrt(idx.size))
    axes = HingeAxes(
        proximal=j1,
        distal=j2,
        std_deg=np.array([std1, std2]),
        residual=residual,
        n_used=int(idx.size),
    )
    return axes, delta, contrast, delta_t


def relative_hinge_axes(
    gyr_proximal: npt.ArrayLike,
    gyr_distal: npt.ArrayLike,
    q_proximal: npt.ArrayLike,
    q_distal: npt.ArrayLike,
    *,
    fs: float,
    shared_heading: bool = False,
    cutoff_hz: float = 2.5,
    min_rate: float = 0.15,
    heading_hint: float | None = None,
    init_window_s: float = 30.0,
) -> tuple[HingeAxes, float, float]:
    axes, delta, contrast, _ = _relative_hinge_axes_core(
        gyr_proximal,
        gyr_distal,
        q_proximal,
        q_distal,
        fs=fs,
        shared_heading=shared_heading,
        cutoff_hz=cutoff_hz,
        min_rate=min_rate,
        heading_hint=heading_hint,
        init_window_s=init_window_s,
    )
    return axes, delta, contrast


relative_hinge_axes.__doc__ = _relative_hinge_axes_core.__doc__


class _JointCentre:
    """Joint centre seen from each sensor (m, sensor frames), Seel et al. 2014 §3.2 in its
    vector form: both sensors must report the same acceleration of the joint centre,
    ``R1 (a1 + G1 o1) = Rz(delta + off) R2 (a2 + G2 o2)`` with ``G o = dw x o + w x (w x o)``.
    Linear least squares for (o1, o2) (minimum norm along the hinge, where it is free).
    The normal equations are linear in cos/sin of a constant heading offset ``off``, so
    their parts are summed once and each offset costs one 6x6 solve."""

    def __init__(
        self,
        acc_p: np.ndarray,
        gyr_p: np.ndarray,
        acc_d: np.ndarray,
        gyr_d: np.ndarray,
        qp: np.ndarray,
        qd: np.ndarray,
        delta_t: np.ndarray,
        fs: float,
        min_rate: float,
    ) -> None:
        a1 = _lowpass(_fill_nan(acc_p), fs, 2.5)
        a2 = _lowpass(_fill_nan(acc_d), fs, 2.5)
        g1 = _lowpass(_fill_nan(gyr_p), fs, 2.5)
        g2 = _lowpass(_fill_nan(gyr_d), fs, 2.5)
        d1 = np.gradient(g1, 1.0 / fs, axis=0)
        d2 = np.gradient(g2, 1.0 / fs, axis=0)
        ok = np.all(np.isfinite(qp), axis=1) & np.all(np.isfinite(qd), axis=1)
        idx = np.flatnonzero(
            ok & ((np.linalg.norm(g1, axis=1) > min_rate) | (np.linalg.norm(g2, axis=1) > min_rate))
        )
        self.n_eff = max(1.0, idx.size / fs * 5.0)  # independent samples after the 2.5 Hz low-pass
        self.valid = idx.size >= 20
        if not self.valid:
            return
        idx = idx[:: max(1, idx.size // 3000)]
        self.n = idx.size

        def skew(v: np.ndarray) -> np.ndarray:
            z = np.zeros(v.shape[0])
            return np.stack(
                [
                    np.stack([z, -v[:, 2], v[:, 1]], 1),
                    np.stack([v[:, 2], z, -v[:, 0]], 1),
                    np.stack([-v[:, 1], v[:, 0], z], 1),
                ],
                axis=1,
            )

        def gamma(g: np.ndarray, d: np.ndarray) -> np.ndarray:
            w = skew(g[idx])
            return skew(d[idx]) + w @ w

        r1 = mq.to_matrix(qp[idx])
        qz = np.stack(
            [np.cos(0.5 * delta_t[idx]), 0 * idx, 0 * idx, np.sin(0.5 * delta_t[idx])], axis=1
        )
        r2 = mq.to_matrix(mq.multiply(qz, qd[idx]))
        A = r1 @ gamma(g1, d1)  # (n, 3, 3)
        B = r2 @ gamma(g2, d2)
        e1 = np.einsum("nij,nj->ni", r1, a1[idx])
        e2 = np.einsum("nij,nj->ni", r2, a2[idx])
        E = (
            np.diag([0.0, 0.0, 1.0]),
            np.diag([1.0, 1.0, 0.0]),
            np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
        )
        self.S11 = np.einsum("nki,nkj->ij", A, A)
        self.S22 = np.einsum("nki,nkj->ij", B, B)
        self.P = [np.einsum("nki,kl,nlj->ij", A, Ek, B) for Ek in E]  # sum A^T Ek B
        self.q = [np.einsum("nki,kl,nl->i", A, Ek, e2) for Ek in E]  # sum A^T Ek e2
        self.v = [np.einsum("nki,lk,nl->i", B, Ek, e1) for Ek in E]  # sum B^T Ek^T e1
        self.z = [float(np.einsum("nk,kl,nl->", e1, Ek, e2)) for Ek in E]  # sum e1^T Ek e2
        self.u1 = np.einsum("nki,nk->i", A, e1)
        self.w2 = np.einsum("nki,nk->i", B, e2)
        self.yy0 = float(np.sum(e1 * e1) + np.sum(e2 * e2))

    def solve(self, off: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(o1, o2, covariance (6, 6) in m², RMS residual in m/s²) for a heading offset (rad)."""
        if not self.valid:
            return np.zeros(3), np.zeros(3), np.full((6, 6), np.inf), np.inf
        w = (1.0, math.cos(off), math.sin(off))
        cross = sum(wk * pk for wk, pk in zip(w, self.P))
        mtm = np.block([[self.S11, -cross], [-cross.T, self.S22]])
        mty = np.concatenate(
            [
                sum(wk * qk for wk, qk in zip(w, self.q)) - self.u1,
                -self.w2 + sum(wk * vk for wk, vk in zip(w, self.v)),
            ]
        )
        yy = self.yy0 - 2.0 * sum(wk * zk for wk, zk in zip(w, self.z))
        x = np.linalg.pinv(mtm, rcond=1e-10) @ mty
        ssr = max(yy - float(x @ mty), 0.0)
        rms = math.sqrt(ssr / (3 * self.n))
        # covariance, inflated for the correlation of low-passed samples
        cov = (rms**2) * max(1.0, self.n / self.n_eff) * np.linalg.pinv(mtm, rcond=1e-10)
        return x[:3], x[3:], cov, rms


def _track_heading(
    qp: np.ndarray, qd: np.ndarray, j1: np.ndarray, j2: np.ndarray, fs: float, delta0: float
) -> np.ndarray:
    """Relative heading (rad, per sample) that keeps the two hinge axes aligned (6D kernel)."""
    cp = _frame(j1, _perp(j1), np.array([0.0, 1.0, 0.0]))
    cd = _frame(j2, _perp(j2), np.array([0.0, 1.0, 0.0]))
    est = JointAngleEstimator(
        _Cand(cp, cd), joint="hinge", fs=fs, settings=JointSettings(mode="6d", heading_tau=2.0)
    )
    st = est.state
    st[_k.S_PX], st[_k.S_PY], st[_k.S_INIT] = math.cos(delta0), math.sin(delta0), 1.0
    est.state = st
    res = est.update_batch(qp, qd)
    d = np.radians(res.heading_offset_deg)
    # samples where the hinge was vertical keep the held estimate; NaN rows keep it too
    return np.where(np.isfinite(d), d, delta0)


def _conj(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def _perp(j: np.ndarray) -> np.ndarray:
    a = np.eye(3)[int(np.argmin(np.abs(j)))]
    return _unit(np.cross(j, a))


def _pose_up_distal(up_p: np.ndarray, flex_deg: float, flexion_sign: float) -> np.ndarray:
    """Up direction in the distal segment frame given the proximal one and the pose flexion."""
    a = math.radians(flexion_sign * flex_deg)  # relative rotation about z: R_pd = Rz(a)
    ca, sa = math.cos(a), math.sin(a)
    # up_d = Rz(a)^T up_p
    return np.array([ca * up_p[0] + sa * up_p[1], -sa * up_p[0] + ca * up_p[1], up_p[2]])


def _offline_orientations(
    ap: np.ndarray,
    gp: np.ndarray,
    ad: np.ndarray,
    gd: np.ndarray,
    qp: np.ndarray,
    qd: np.ndarray,
    fs: float,
    motion: slice,
) -> tuple[np.ndarray, np.ndarray] | None:
    """6D orientations of the motion window from the offline (forward-backward) VQF of
    :mod:`motiontrack.fusion`, gaps interpolated first; ``None`` if that fails. Rows that
    were gaps (or NaN in the given orientations) stay NaN."""
    from ..fusion import fuse

    out = []
    for acc, gyr, q in ((ap, gp, qp), (ad, gd, qd)):
        ok = np.all(np.isfinite(acc), axis=1) & np.all(np.isfinite(gyr), axis=1)
        if ok.sum() < 20:
            return None
        try:
            qo = np.asarray(
                fuse(_fill_nan(acc), _fill_nan(gyr), None, fs=fs, method="vqf-offline"),
                dtype=np.float64,
            )
        except MotionTrackError:  # keep the caller's orientations
            return None
        if qo.shape != q.shape or not np.all(np.isfinite(qo[ok])):
            return None
        qo = qo.copy()
        qo[~(ok & np.all(np.isfinite(q), axis=1))] = np.nan
        out.append(np.ascontiguousarray(qo[motion]))
    return out[0], out[1]


def calibrate_joint(
    *,
    acc_proximal: npt.ArrayLike,
    gyr_proximal: npt.ArrayLike,
    acc_distal: npt.ArrayLike,
    gyr_distal: npt.ArrayLike,
    q_proximal: npt.ArrayLike,
    q_distal: npt.ArrayLike,
    fs: float,
    still: slice,
    motion: slice | None = None,
    pose: Pose = "standing",
    pose_flexion_deg: float | None = None,
    joint: Literal["knee", "elbow", "hinge"] = "knee",
    mode: Literal["6d", "9d"] = "6d",
    mag_proximal: npt.ArrayLike | None = None,
    mag_distal: npt.ArrayLike | None = None,
    expected_mounting: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    max_mounting_deviation_deg: float = 60.0,
    settings: CalibrationSettings | None = None,
    warn: bool = True,
) -> SegmentCalibration:
    """Sensor-to-segment calibration from a still pose plus functional motion.

    Parameters
    ----------
    acc_proximal, gyr_proximal, acc_distal, gyr_distal : array_like, shape (N, 3)
        Accelerometer (m/s²) and gyroscope (rad/s) of the two sensors, sensor frames, on one
        time base of rate ``fs``. NaN rows (gaps) are interpolated over.
    q_proximal, q_distal : array_like, shape (N, 4)
        Fused ``q_earth_sensor`` of both sensors (6D or 9D).
    fs : float
        Sample rate, Hz.
    still : slice
        Samples of the still pose (1-3 s).
    motion : slice, optional
        Samples of the functional motion (a few flexion/extension repetitions, 20-60 s).
        Default: everything after ``still``.
    pose : {"standing", "supine", "seated"}
        Posture during ``still`` (see :data:`POSES`): which segment axis points up.
    pose_flexion_deg : float, optional
        Joint flexion during the still pose, degrees, if known (e.g. measured with a
        goniometer). Default: the pose's nominal value (0 standing/supine, 90 seated). An
        error here is a constant flexion offset of the same size.
    joint : {"knee", "elbow", "hinge"}
    mode : {"6d", "9d"}
        How ``q_*`` were fused; ``"9d"`` orientations share a heading, which also fixes the
        proximal axis when the proximal segment does not move.
    mag_proximal, mag_distal : array_like, shape (N, 3), optional
        Magnetometers (any unit). In ``"6d"`` mode they only choose between the two branches
        of an ambiguous relative heading (a proximal segment that barely moves), which
        needs nothing better than ±90° of magnetic heading; they never enter the angles.
    expected_mounting : (q_segment_sensor_proximal, q_segment_sensor_distal), optional
        Nominal mountings (e.g. of a strap design); an estimated mounting further than
        ``max_mounting_deviation_deg`` from it (upside down, wrong segment) raises. In 6D only
        the tilt part is compared (where the still pose's up direction lands in the segment
        frame), since a rotation about the vertical is not always observable.
    settings : CalibrationSettings, optional

    warn : bool
        Emit a :class:`CalibrationWarning` for a weak calibration (default). Callers that
        judge ``confidence`` themselves (the live session) pass False: warning filters are
        process-wide and not thread-safe, so suppressing them around the call is unreliable.
    Returns
    -------
    SegmentCalibration

    Raises
    ------
    CalibrationError
        Still pose not still; no flexion in the motion; hinge not horizontal in the pose;
        the distal segment not at the pose's inclination (:class:`PoseMismatchError`);
        sensors swapped; mounting far from ``expected_mounting``.

    Warns
    -----
    CalibrationWarning
        Small motion range or a poorly determined distal hinge axis (``confidence`` < 0.5).

    Notes
    -----
    Hinge axes: :func:`relative_hinge_axes`. Frames: segment z = hinge; the still-pose up
    direction, made perpendicular to z, is the pose's up axis; right-handed completion.
    """
    s = settings or CalibrationSettings()
    if joint not in ("knee", "elbow", "hinge"):
        raise ConfigurationError(
            f"calibrate_joint supports hinge-like joints (knee, elbow, hinge), not {joint!r}"
        )
    if pose not in POSES:
        raise ConfigurationError(f"pose must be one of {sorted(POSES)}, got {pose!r}")
    if mode not in ("6d", "9d"):
        raise ConfigurationError(f"mode must be '6d' or '9d', got {mode!r}")
    if not (isinstance(fs, (int, float)) and math.isfinite(fs) and fs > 0):
        raise ConfigurationError(f"fs must be > 0 Hz, got {fs!r}")
    ap, gp = _rows(acc_proximal, "acc_proximal"), _rows(gyr_proximal, "gyr_proximal")
    ad, gd = _rows(acc_distal, "acc_distal"), _rows(gyr_distal, "gyr_distal")
    qp, qd = _rows(q_proximal, "q_proximal", 4), _rows(q_distal, "q_distal", 4)
    n = ap.shape[0]
    for a in (gp, ad, gd, qp, qd):
        if a.shape[0] != n:
            raise InputError("all calibration arrays must have the same length")
    if motion is None:
        motion = slice(still.stop, n)
    st = _still_pose(ap[still], gp[still], ad[still], gd[still], s)
    notes: list[str] = []
    up_axis_p, _, flex_nominal = POSES[pose]
    flex_pose = flex_nominal if pose_flexion_deg is None else float(pose_flexion_deg)
    fsign = FLEXION_SIGN[joint]

    gpm = gp[motion] - st.bias_p
    gdm = gd[motion] - st.bias_d
    rms_p = float(np.sqrt(np.nanmean(np.sum(gpm**2, axis=1))))
    rms_d = float(np.sqrt(np.nanmean(np.sum(gdm**2, axis=1))))
    # seated: the thigh stays still while the shank extends. Compared on the median rate of
    # the moving samples, not the RMS: a motion window that starts with sitting down (the
    # documented protocol's standing start) has the thigh turn 90° once
    with np.errstate(invalid="ignore"):
        np_, nd_ = np.linalg.norm(gpm, axis=1), np.linalg.norm(gdm, axis=1)
        mv = (np_ > s.min_rate) | (nd_ > s.min_rate)
    med_p = float(np.median(np_[mv])) if mv.any() else 0.0
    med_d = float(np.median(nd_[mv])) if mv.any() else 0.0
    if pose == "seated" and med_p > 2.0 * med_d and rms_p > 0.3:
        raise CalibrationError(
            f"swapped sensors? In the seated pose the proximal (thigh) sensor rotates more "
            f"(median {med_p:.2f} rad/s while moving, RMS {rms_p:.2f}) than the distal one "
            f"({med_d:.2f}, {rms_d:.2f} rad/s)"
        )
    # 6D: the heading and the joint-centre fit need tilt better than a real-time filter
    # gives during motion (a 0.3-0.5° tilt error is a 0.05-0.09 m/s² horizontal error, as
    # large as the knee's own acceleration that fixes the relative heading): re-fuse the
    # calibration recording offline (forward-backward VQF, tilt ~0.05°).
    # Only where the proximal segment rotates enough to make the heading observable at all
    # (a seated extension's still thigh leaves it open: the given orientations are kept).
    qpi, qdi = qp[motion], qd[motion]
    if mode == "6d":
        off = _offline_orientations(ap, gp, ad, gd, qp, qd, fs, motion)
        if off is not None:
            qpo, qdo = off
            _, _, c_off, _ = _relative_hinge_axes_core(
                gpm, gdm, qpo, qdo, fs=fs, min_rate=s.min_rate
            )
            if c_off >= 3.0 or rms_p >= 0.5 * rms_d:
                qpi, qdi = qpo, qdo
    hint = None
    if mode == "6d" and mag_proximal is not None and mag_distal is not None:
        m1 = mq.rotate(qpi, _rows(mag_proximal, "mag_proximal")[motion])
        m2 = mq.rotate(qdi, _rows(mag_distal, "mag_distal")[motion])
        okm = np.all(np.isfinite(m1), axis=1) & np.all(np.isfinite(m2), axis=1)
        if okm.sum() > 10:
            d = np.arctan2(m1[okm, 1], m1[okm, 0]) - np.arctan2(m2[okm, 1], m2[okm, 0])
            hint = float(np.arctan2(np.mean(np.sin(d)), np.mean(np.cos(d))))
    ax, delta, contrast, delta_t = _relative_hinge_axes_core(
        gpm,
        gdm,
        qpi,
        qdi,
        fs=fs,
        shared_heading=(mode == "9d"),
        min_rate=s.min_rate,
        heading_hint=hint,
    )
    if mode == "9d" and rms_p < 0.6 * rms_d:
        # 9D headings share magnetic north only to a degree or two (the filters' magnetic
        # corrections are slow, and a segment that turned 90° needs seconds to settle). For a
        # proximal segment that stays nearly still through the exercise (seated extensions:
        # RMS rate 0.3-0.5 of the distal one, against 0.9-1.7 for squats, heel slides,
        # straight-leg raises), that error goes straight into its axis about the vertical.
        # When the motion itself determines the relative heading (the proximal segment
        # rotated off the vertical somewhere, e.g. sitting down after a standing start),
        # track it as in 6D and keep 9D only as the branch reference (within 45°). Elsewhere
        # the shared heading is better: the 6D path's rate-based heading is biased by the
        # knee's coupled rotations, which only the 6D joint-centre step corrects.
        try:
            ax6, delta6, contrast6, _ = _relative_hinge_axes_core(
                gpm, gdm, qpi, qdi, fs=fs, min_rate=s.min_rate
            )
        except CalibrationError:
            contrast6 = 0.0
        if (
            contrast6 >= 3.0
            and abs(math.remainder(delta6, 2.0 * math.pi)) < math.radians(45.0)
            and rms_p < 0.6 * rms_d
        ):
            ax = HingeAxes(
                proximal=ax6.proximal * np.sign(ax6.proximal @ ax.proximal),
                distal=ax6.distal * np.sign(ax6.distal @ ax.distal),
                std_deg=ax6.std_deg,
                residual=ax6.residual,
                n_used=ax6.n_used,
            )
    if mode == "6d":
        # The rates alone cannot tell the relative heading from its 180° twin when both
        # segments turn about parallel axes (straight-leg raise, squat): the joint centre's
        # acceleration, the same seen from both sensors, can (Seel et al. 2014 §3.2).
        args = (ap[motion], gpm, ad[motion], gdm, qpi, qdi)
        jc = _JointCentre(*args, delta_t, fs, s.min_rate)
        rms, rms_alt = jc.solve(0.0)[3], jc.solve(math.pi)[3]
        # when the rates left the branch open (and no magnetometer hint), any evidence counts
        need = 1.0 if (contrast < 3.0 and hint is None) else s.branch_contrast
        if rms_alt < rms / need:
            ax, delta, contrast, delta_t = _relative_hinge_axes_core(
                gpm,
                gdm,
                qpi,
                qdi,
                fs=fs,
                min_rate=s.min_rate,
                delta_near=delta + math.pi,
            )
            contrast = np.inf
            notes.append("relative heading branch chosen by the joint-centre accelerations")
            jc = _JointCentre(*args, delta_t, fs, s.min_rate)
        elif rms < rms_alt / s.branch_contrast:
            contrast = np.inf  # the branch is confirmed
        # The rate-based heading is biased by motion that is not about the hinge (axial
        # rotation coupled to flexion, hip rotation); the joint-centre accelerations are
        # not: refine a constant offset when they are informative.
        offs = np.radians(np.arange(-24.0, 24.01, 2.0))
        ssr = np.array([jc.solve(float(o))[3] ** 2 for o in offs])
        n_eff = jc.n_eff if jc.valid else 0.0
        kb = int(np.argmin(ssr))
        # significant when the edges are worse than the optimum by > 2 sigma (chi-square)
        if (
            contrast >= 3.0  # only within a known branch (not for a still proximal segment)
            and 0 < kb < offs.size - 1
            and n_eff > 0
            and min(ssr[0], ssr[-1]) / ssr[kb] - 1.0 > 4.0 / n_eff
        ):
            y0, y1_, y2_ = ssr[kb - 1], ssr[kb], ssr[kb + 1]
            den = y0 - 2.0 * y1_ + y2_
            off = offs[kb] + (0.5 * (y0 - y2_) / den * (offs[1] - offs[0]) if den > 0 else 0.0)
            ax, delta, _, delta_t = _relative_hinge_axes_core(
                gpm,
                gdm,
                qpi,
                qdi,
                fs=fs,
                min_rate=s.min_rate,
                delta_given=delta_t + off,
            )
    if contrast < 3.0:
        notes.append(
            "relative heading ambiguous (the proximal segment hardly rotated off the hinge axis)"
            + (
                "; branch chosen by the magnetometers"
                if hint is not None
                else "; a wrong branch costs about twice the proximal segment's pitch change in flexion"
            )
        )
    j1, j2 = ax.proximal.copy(), ax.distal.copy()
    std = ax.std_deg.copy()
    if std[0] >= 90.0:
        # Only the hinge's tilt matters then (a rotation of the proximal frame about the
        # vertical is absorbed by the relative heading): take the hinge's elevation from the
        # distal sensor in the still pose, keep the heading-search azimuth.
        el = math.asin(float(np.clip(np.dot(st.up_d, j2), -1.0, 1.0)))
        h = _unit(j1 - np.dot(j1, st.up_p) * st.up_p)
        j1 = _unit(math.cos(el) * h + math.sin(el) * st.up_p)
        notes.append(
            "proximal segment hardly rotated about the hinge: its axis direction about the vertical "
            "is not observable without a magnetometer (flexion unaffected; ab/adduction, rotation are)"
        )

    # range of the relative rotation about the hinge (detrended against residual bias)
    rate = np.empty(gpm.shape[0])
    gq1 = np.ascontiguousarray(_fill_nan(gpm))
    gq2 = np.ascontiguousarray(_fill_nan(gdm))
    _k.hinge_rate(gq1, gq2, np.ascontiguousarray(j1), np.ascontiguousarray(j2), rate)
    ang = np.degrees(np.cumsum(rate) / fs)
    if ang.size > 2:
        tt = np.arange(ang.size)
        ang = ang - np.polyval(np.polyfit(tt, ang, 1), tt)
    rom = float(np.percentile(ang, 99) - np.percentile(ang, 1)) if ang.size else 0.0
    if rom < s.min_rom_deg:
        raise CalibrationError(
            f"motion with no flexion: the joint moved {rom:.1f}° about its axis (< {s.min_rom_deg}°); "
            "do a few full flexion/extension repetitions"
        )
    if std[1] > 30.0:
        raise CalibrationError(
            "motion with no flexion: the hinge axis is not determined by the motion"
        )

    up_seg_p = np.eye(3)[up_axis_p]
    up_seg_d = _pose_up_distal(up_seg_p, flex_pose, fsign)
    for name, j, up, useg in (
        ("proximal", j1, st.up_p, up_seg_p),
        ("distal", j2, st.up_d, up_seg_d),
    ):
        tilt = 90.0 - _angle_deg(j, up)
        if abs(tilt) > s.max_axis_tilt_deg:
            raise CalibrationError(
                f"the {name} hinge axis is {abs(tilt):.0f}° from horizontal in the {pose!r} still pose: "
                "wrong posture, a sensor moved on its segment, or the data are not from this joint"
            )

    # global sign: anatomical rules 1 and 2 (the pair's relative sign is already consistent)
    js = JointSettings(mode=mode)
    best = None
    for sgn in (1.0, -1.0):
        cp = _frame(sgn * j1, st.up_p, up_seg_p)
        cd = _frame(sgn * j2, st.up_d, up_seg_d)
        est = JointAngleEstimator(_Cand(cp, cd), joint=joint, fs=fs, settings=js)
        res = est.update_batch(qp[motion], qd[motion])
        flex = res.values_deg[:, 0]
        flex = flex[np.isfinite(flex)]
        if flex.size == 0:
            raise CalibrationError("no finite orientation samples in the motion window")
        lo, hi = float(np.percentile(flex, 1)), float(np.percentile(flex, 99))
        penalty = max(0.0, -s.hyperextension_deg - lo) + max(0.0, hi - s.max_flexion_deg)
        key = (round(penalty), hi)
        if best is None or key < best[0]:
            best = (key, sgn, cp, cd, lo, hi)
    key, sgn, cp, cd, lo, hi = best  # type: ignore[misc]
    if key[0] > 0:
        notes.append(f"no sign choice keeps flexion anatomical (range {lo:.0f}..{hi:.0f}°)")
    j1, j2 = sgn * j1, sgn * j2

    # joint centre from each sensor: distal of the proximal sensor, proximal of the distal one
    o1, o2, cov, _ = _JointCentre(
        ap[motion], gpm, ad[motion], gdm, qpi, qdi, delta_t, fs, s.min_rate
    ).solve()
    y1 = mq.rotate(_conj(cp), np.array([0.0, 1.0, 0.0]))
    y2 = mq.rotate(_conj(cd), np.array([0.0, 1.0, 0.0]))
    along_p, along_d = float(o1 @ y1), float(o2 @ y2)
    sd_p = math.sqrt(max(float(y1 @ cov[:3, :3] @ y1), 0.0))
    sd_d = math.sqrt(max(float(y2 @ cov[3:, 3:] @ y2), 0.0))
    if along_p > max(s.swap_lever_m, 3 * sd_p) and along_d < -max(s.swap_lever_m, 3 * sd_d):
        raise CalibrationError(
            f"swapped sensors? The joint centre lies {along_p:.2f} m *above* the proximal sensor and "
            f"{-along_d:.2f} m *below* the distal one (expected: below the proximal, above the distal)"
        )
    _check_pose_posture(o2, cov[3:, 3:], j2, st.up_d, up_seg_d, pose, s)
    if expected_mounting is not None:
        for name, q_est, q_exp, up in (
            ("proximal", cp, expected_mounting[0], st.up_p),
            ("distal", cd, expected_mounting[1], st.up_d),
        ):
            q_exp = np.asarray(q_exp, dtype=np.float64)
            # 6D: compare where the still-pose "up" lands in the segment frame, blind to a
            # rotation about the vertical (not observable for a still proximal segment);
            # 9D: the whole rotation
            dev = _angle_deg(mq.rotate(q_est, up), mq.rotate(q_exp, up))
            if mode == "9d":
                dev = max(dev, math.degrees(float(mq.angle_between(q_est, q_exp))))
            if dev > max_mounting_deviation_deg:
                raise CalibrationError(
                    f"the {name} sensor is mounted {dev:.0f}° away from the expected mounting "
                    f"(> {max_mounting_deviation_deg}°): upside down or on the wrong segment?"
                )

    f_rom = min(1.0, rom / (2.0 * s.warn_rom_deg))
    f_axis = 1.0 / (1.0 + (std[1] / s.warn_axis_std_deg) ** 2)
    confidence = float(f_rom * f_axis * (0.8 if (contrast < 3.0 and hint is None) else 1.0))
    if rom < s.warn_rom_deg:
        notes.append(
            f"small calibration motion: {rom:.0f}° about the hinge (< {s.warn_rom_deg:.0f}°)"
        )
    if std[1] > s.warn_axis_std_deg:
        notes.append(f"distal hinge axis uncertain: ±{std[1]:.1f}°")
    cal = SegmentCalibration(
        joint=joint,
        q_segment_sensor_proximal=cp,
        q_segment_sensor_distal=cd,
        hinge_axis_proximal=j1,
        hinge_axis_distal=j2,
        hinge_axis_std_deg=std,
        gyr_bias_proximal=st.bias_p,
        gyr_bias_distal=st.bias_d,
        confidence=confidence,
        pose=pose,
        rom_deg=rom,
        notes=tuple(notes),
        joint_centre_proximal=o1,
        joint_centre_distal=o2,
    )
    if warn and (confidence < 0.5 or rom < s.warn_rom_deg or std[1] > s.warn_axis_std_deg):
        warnings.warn(
            f"weak {joint} calibration (confidence {confidence:.2f}): " + "; ".join(notes),
            CalibrationWarning,
            stacklevel=2,
        )
    return cal


def _sagittal(v: np.ndarray, j: np.ndarray) -> np.ndarray:
    """``v`` without its component along the unit hinge axis ``j``."""
    return v - float(v @ j) * j


def _inclination_deg(lever: np.ndarray, j: np.ndarray, up: np.ndarray, *, min_fraction: float) -> float:
    """Angle (deg) between a segment direction ``lever`` (perpendicular to the hinge ``j``) and
    the up direction ``up``, both in the plane perpendicular to the hinge; NaN when ``up`` is
    not finite or less than ``min_fraction`` of it lies in that plane (hinge near vertical)."""
    u = _sagittal(up, j)
    if not np.all(np.isfinite(u)) or not np.linalg.norm(u) >= min_fraction * np.linalg.norm(up):
        return math.nan
    return _angle_deg(lever, u)


def _check_pose_posture(
    o2: np.ndarray,
    cov2: np.ndarray,
    j2: np.ndarray,
    up_d: np.ndarray,
    up_seg_d: np.ndarray,
    pose: str,
    s: CalibrationSettings,
) -> None:
    """Raise when the still pose was not the declared posture, judged on the distal segment.

    The joint centre seen from the distal sensor (``o2``, well determined because the distal
    segment swings in every functional motion) points along the distal segment's long axis
    (+y, towards the joint) up to the sensor's small offset from the bone. Its inclination
    from the vertical in the still pose, measured in the sagittal plane (perpendicular to the
    hinge), must match the declared pose's: about 0° standing or seated (the shank hangs,
    the knee above the sensor), about 90° supine. A seated extension held still at the top
    (the shank near horizontal) taken for the seated rest would otherwise calibrate every
    angle about 80° wrong, mirrored. Skipped when the joint centre is not determined.
    """
    lever = _sagittal(o2, j2)
    # uncertainty in the sagittal plane only (along the hinge the joint centre is unobservable)
    proj = np.eye(3) - np.outer(j2, j2)
    sd = math.sqrt(max(float(np.trace(proj @ cov2 @ proj)), 0.0)) if np.all(np.isfinite(cov2)) else math.inf
    if not np.linalg.norm(lever) > max(0.05, 3.0 * sd):
        return
    measured = _inclination_deg(lever, j2, up_d, min_fraction=0.5)
    if math.isnan(measured):
        return
    expected = _angle_deg(np.array([0.0, 1.0, 0.0]), up_seg_d)
    if abs(measured - expected) > s.max_pose_deviation_deg:
        raise PoseMismatchError(
            f"the still pose is not the declared {pose!r} pose: the distal segment was {measured:.0f}° "
            f"from vertical (expected about {expected:.0f}°); was the limb held in another position "
            "(e.g. an extension held at the top) during the still period?",
            distal_long_axis=_unit(lever),
            hinge_axis_distal=j2.copy(),
            expected_inclination_deg=expected,
            max_deviation_deg=s.max_pose_deviation_deg,
        )


class PoseMismatchError(CalibrationError):
    """The still pose was not the declared posture (see :func:`calibrate_joint`).

    Carries what the motion revealed, so a caller can look for a still period that is in the
    declared posture (:meth:`matches`) instead of giving up.
    """

    def __init__(
        self,
        message: str,
        *,
        distal_long_axis: np.ndarray,
        hinge_axis_distal: np.ndarray,
        expected_inclination_deg: float,
        max_deviation_deg: float,
    ) -> None:
        super().__init__(message)
        self.distal_long_axis = distal_long_axis  # (3,) unit, distal sensor frame, towards the joint
        self.hinge_axis_distal = hinge_axis_distal  # (3,) unit, distal sensor frame
        self.expected_inclination_deg = expected_inclination_deg
        self.max_deviation_deg = max_deviation_deg

    def matches(self, acc_distal_mean: npt.ArrayLike) -> bool:
        """Whether a still period with this mean distal accelerometer reading (m/s², sensor
        frame) has the distal segment at the declared pose's inclination."""
        a = np.asarray(acc_distal_mean, dtype=np.float64)
        measured = _inclination_deg(self.distal_long_axis, self.hinge_axis_distal, a, min_fraction=0.3)
        # NaN (hinge near vertical: the inclination is not defined) compares False
        return abs(measured - self.expected_inclination_deg) <= 0.8 * self.max_deviation_deg


@dataclass(frozen=True)
class _Cand:
    q_segment_sensor_proximal: np.ndarray
    q_segment_sensor_distal: np.ndarray
