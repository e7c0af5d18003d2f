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
  The chunk spread of the proximal axis cannot see this (the tracked heading follows the
  distal axis: 0.1-0.2° for a thigh axis 11-25° off after short arc quads on the bed), so
  observability is measured physically: the proximal segment's pitch about the hinge
  against gravity over the motion (:func:`_calib_math._pitch_range_deg`; whole-body turns
  about the vertical leave it at 0). Below ``min_proximal_pitch_deg`` (10°) the proximal
  axis is reported undetermined (std 90°) and the heading ambiguous (confidence × 0.8
  without a magnetic branch hint).

Where the code lives
--------------------
:func:`calibrate_joint` (here) runs the steps in order; the result, settings, poses and
JSON file are in ``_calib_model``, the still pose and :func:`detect_still` in ``_still``,
:func:`relative_hinge_axes` and the heading search and tracking in ``_hinge_axes``, the
joint-centre fit in ``_joint_centre``, the choice of orientations, the magnetometer hint,
the 9D tracked heading and the joint-centre heading steps in ``_calib_heading``, the checks
that raise in ``_calib_checks``, shared array and frame helpers in ``_calib_math``. Every
public name is importable from here and from :mod:`motiontrack.kinematics`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from .._kernels import joint as _k
from ..errors import CalibrationError, CalibrationWarning, ConfigurationError, InputError
from ._calib_checks import (
    _check_axis_tilt,
    _check_joint_centre_not_swapped,
    _check_mounting,
    _check_pose_posture,
    _check_rates_not_swapped,
)
from ._calib_heading import (
    _joint_centre_heading,
    _magnetic_hint,
    _Motion,
    _motion_orientations,
    _nine_d_tracked_axes,
)
from ._calib_math import _fill_nan, _frame, _pitch_range_deg, _pose_up_distal, _rows, _unit
from ._calib_model import (
    CALIBRATION_FORMAT,
    CALIBRATION_VERSION,
    POSES,
    CalibrationSettings,
    HingeAxes,
    Pose,
    PoseMismatchError,
    SegmentCalibration,
    _Cand,
)
from ._hinge_axes import relative_hinge_axes
from ._still import _Still, _still_pose, detect_still
from .angles import FLEXION_SIGN, JointAngleEstimator, JointSettings

__all__ = [
    "CALIBRATION_FORMAT",
    "CALIBRATION_VERSION",
    "POSES",
    "CalibrationSettings",
    "HingeAxes",
    "Pose",
    "PoseMismatchError",
    "SegmentCalibration",
    "calibrate_joint",
    "detect_still",
    "relative_hinge_axes",
]


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
    InputError
        The still pose's accelerometer in g or mg, or gyroscope in deg/s: the message of
        :mod:`motiontrack.checks` after ``still pose, <proximal|distal> sensor: ``.

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
    _check_arguments(joint, pose, mode, fs)
    ap, gp, ad, gd, qp, qd = _arrays(
        acc_proximal, gyr_proximal, acc_distal, gyr_distal, q_proximal, q_distal
    )
    if motion is None:
        motion = slice(still.stop, ap.shape[0])
    # 1. still pose: up directions and gyroscope biases
    st = _still_pose(ap[still], gp[still], ad[still], gd[still], s)
    notes: list[str] = []
    up_axis_p, _, flex_nominal = POSES[pose]
    flex_pose = flex_nominal if pose_flexion_deg is None else float(pose_flexion_deg)
    fsign = FLEXION_SIGN[joint]

    # 2. swap check on the rates (seated)
    gpm = gp[motion] - st.bias_p
    gdm = gd[motion] - st.bias_d
    rms_p = float(np.sqrt(np.nanmean(np.sum(gpm**2, axis=1))))
    rms_d = float(np.sqrt(np.nanmean(np.sum(gdm**2, axis=1))))
    _check_rates_not_swapped(gpm, gdm, rms_p, rms_d, pose, s)
    # 3. 6D: offline re-fusion of the motion window, when the heading is observable
    qpi, qdi = qp[motion], qd[motion]
    if mode == "6d":
        qpi, qdi = _motion_orientations(
            ap, gp, ad, gd, qp, qd, fs=fs, motion=motion, gpm=gpm, gdm=gdm,
            rms_p=rms_p, rms_d=rms_d, min_rate=s.min_rate,
        )
    hint = None
    if mode == "6d" and mag_proximal is not None and mag_distal is not None:
        hint = _magnetic_hint(qpi, qdi, mag_proximal, mag_distal, motion)
    m = _Motion(ap[motion], gpm, ad[motion], gdm, qpi, qdi, fs, s.min_rate)
    # 4. hinge axes and relative heading
    fit = m.axes(shared_heading=(mode == "9d"), heading_hint=hint)
    ax, _, contrast, delta_t = fit
    if mode == "9d" and rms_p < 0.6 * rms_d and s.track_6d_heading:
        # 5. 9D, a nearly still proximal segment: the tracked 6D heading where observable
        ax = _nine_d_tracked_axes(ax, m, rms_p, rms_d)
    if mode == "6d":
        # 6. 6D: the heading branch and a constant offset from the joint centre; the motion
        # observes the proximal axis only if that segment turned about it
        ax, _, contrast, delta_t = _joint_centre_heading(m, s, fit, hint, notes)
        ax, contrast = _proximal_observability(ax, qpi, contrast, s, notes)
    if contrast < 3.0:
        notes.append(_ambiguous_heading_note(hint))
    j1, j2, std = _observable_axes(ax, st, notes)
    rom = _hinge_rom(gpm, gdm, j1, j2, fs)
    _check_flexion(rom, std, s)

    # 7. hinge axes horizontal in the still pose
    up_seg_p = np.eye(3)[up_axis_p]
    up_seg_d = _pose_up_distal(up_seg_p, flex_pose, fsign)
    _check_axis_tilt(j1, j2, st, up_seg_p, up_seg_d, pose, s)
    # 8. global sign: anatomical rules 1 and 2
    sgn, cp, cd = _anatomical_sign(
        j1, j2, st, up_seg_p, up_seg_d, qp[motion], qd[motion], joint=joint, mode=mode,
        fs=fs, s=s, notes=notes,
    )
    j1, j2 = sgn * j1, sgn * j2

    # 9. joint centre from each sensor: distal of the proximal sensor, proximal of the distal one
    o1, o2, cov, _ = m.joint_centre(delta_t).solve()
    _check_joint_centre_not_swapped(o1, o2, cov, cp, cd, s)
    _check_pose_posture(o2, cov[3:, 3:], j2, st.up_d, up_seg_d, pose, s)
    # 10. mounting
    if expected_mounting is not None:
        _check_mounting(cp, cd, expected_mounting, st, mode, max_mounting_deviation_deg)

    # 11. confidence
    confidence = _confidence(rom, std, contrast, hint, s, notes)
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


def _check_arguments(joint: str, pose: str, mode: str, fs: float) -> None:
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


def _arrays(
    acc_proximal: npt.ArrayLike,
    gyr_proximal: npt.ArrayLike,
    acc_distal: npt.ArrayLike,
    gyr_distal: npt.ArrayLike,
    q_proximal: npt.ArrayLike,
    q_distal: npt.ArrayLike,
) -> tuple[np.ndarray, ...]:
    """The six inputs as contiguous float64 (N, 3) and (N, 4) arrays of one length."""
    ap, gp = _rows(acc_proximal, "acc_proximal"), _rows(gyr_proximal, "gyr_proximal")
    ad, gd = _rows(acc_distal, "acc_distal"), _rows(gyr_distal, "gyr_distal")
    qp, qd = _rows(q_proximal, "q_proximal", 4), _rows(q_distal, "q_distal", 4)
    n = ap.shape[0]
    for a in (gp, ad, gd, qp, qd):
        if a.shape[0] != n:
            raise InputError("all calibration arrays must have the same length")
    return ap, gp, ad, gd, qp, qd


def _ambiguous_heading_note(hint: float | None) -> str:
    return (
        "relative heading ambiguous (the proximal segment hardly rotated off the hinge axis)"
        + (
            "; branch chosen by the magnetometers"
            if hint is not None
            else "; a wrong branch costs about twice the proximal segment's pitch change in flexion"
        )
    )


def _proximal_observability(
    ax: HingeAxes, qpi: np.ndarray, contrast: float, s: CalibrationSettings, notes: list[str]
) -> tuple[HingeAxes, float]:
    """6D: the proximal axis's direction about the vertical, so the relative heading, is only
    observed where the proximal segment turned about the hinge against gravity (its pitch).
    Rotations about the vertical (whole-body turns) leave the up direction still in the sensor
    frame and tell nothing; without a pitch the heading fit follows the distal axis, and the
    spread of the proximal axis over the motion's chunks (0.1-0.2°) says nothing about its
    error (11-25° for a thigh resting on the bed through short arc quads). Below
    ``s.min_proximal_pitch_deg`` the proximal axis is reported undetermined (std 90°) and
    the relative heading ambiguous (contrast 0), whatever the heading fit's contrast."""
    if ax.std_deg[0] >= 90.0:
        return ax, contrast
    pitch = _pitch_range_deg(qpi, ax.proximal)
    if pitch >= s.min_proximal_pitch_deg:
        return ax, contrast
    notes.append(
        f"proximal segment turned {pitch:.1f}° about the hinge against gravity "
        f"(< {s.min_proximal_pitch_deg:g}°): its axis is not observable from this motion in 6D"
    )
    std = np.array([90.0, float(ax.std_deg[1])])
    return replace(ax, std_deg=std), min(contrast, 0.0)


def _observable_axes(
    ax: HingeAxes, st: _Still, notes: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hinge axes (copies) and their uncertainty; a proximal axis whose direction about
    the vertical the motion left open (std 90°) takes the distal axis's still-pose tilt."""
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
    return j1, j2, std


def _hinge_rom(gpm: np.ndarray, gdm: np.ndarray, j1: np.ndarray, j2: np.ndarray, fs: float) -> float:
    """Range (deg) of the relative rotation about the hinge (detrended against residual bias)."""
    rate = np.empty(gpm.shape[0])
    gq1 = np.ascontiguousarray(_fill_nan(gpm))
    gq2 = np.ascontiguousarray(_fill_nan(gdm))
    _k.hinge_rate(gq1, gq2, np.ascontiguousarray(j1), np.ascontiguousarray(j2), rate)
    ang = np.degrees(np.cumsum(rate) / fs)
    if ang.size > 2:
        tt = np.arange(ang.size)
        ang = ang - np.polyval(np.polyfit(tt, ang, 1), tt)
    return float(np.percentile(ang, 99) - np.percentile(ang, 1)) if ang.size else 0.0


def _check_flexion(rom: float, std: np.ndarray, s: CalibrationSettings) -> None:
    """Raise when the motion had no flexion (too small a range, or no determined axis)."""
    if rom < s.min_rom_deg:
        raise CalibrationError(
            f"motion with no flexion: the joint moved {rom:.1f}° about its axis (< {s.min_rom_deg}°); "
            "do a few full flexion/extension repetitions"
        )
    if std[1] > 30.0:
        raise CalibrationError(
            "motion with no flexion: the hinge axis is not determined by the motion"
        )


def _anatomical_sign(
    j1: np.ndarray,
    j2: np.ndarray,
    st: _Still,
    up_seg_p: np.ndarray,
    up_seg_d: np.ndarray,
    qpm: np.ndarray,
    qdm: np.ndarray,
    *,
    joint: str,
    mode: str,
    fs: float,
    s: CalibrationSettings,
    notes: list[str],
) -> tuple[float, np.ndarray, np.ndarray]:
    """The global sign of the axes by anatomical rules 1 and 2 (the pair's relative sign is
    already consistent), with the two mountings it gives; ``qpm``, ``qdm``: the given
    orientations of the motion window."""
    js = JointSettings(mode=mode)
    best = None
    for sgn in (1.0, -1.0):
        cp = _frame(sgn * j1, st.up_p, up_seg_p)
        cd = _frame(sgn * j2, st.up_d, up_seg_d)
        est = JointAngleEstimator(_Cand(cp, cd), joint=joint, fs=fs, settings=js)
        res = est.update_batch(qpm, qdm)
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
    return sgn, cp, cd


def _confidence(
    rom: float,
    std: np.ndarray,
    contrast: float,
    hint: float | None,
    s: CalibrationSettings,
    notes: list[str],
) -> float:
    """0..1 from the motion range, the distal axis uncertainty and an open heading branch;
    says why in ``notes``."""
    f_rom = min(1.0, rom / (2.0 * s.warn_rom_deg))
    f_axis = 1.0 / (1.0 + (std[1] / s.warn_axis_std_deg) ** 2)
    confidence = float(f_rom * f_axis * (0.8 if (contrast < 3.0 and hint is None) else 1.0))
    if rom < s.warn_rom_deg:
        notes.append(
            f"small calibration motion: {rom:.0f}° about the hinge (< {s.warn_rom_deg:.0f}°)"
        )
    if std[1] > s.warn_axis_std_deg:
        notes.append(f"distal hinge axis uncertain: ±{std[1]:.1f}°")
    return confidence
