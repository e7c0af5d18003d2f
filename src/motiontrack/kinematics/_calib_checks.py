"""The checks of :func:`~motiontrack.kinematics.calibration.calibrate_joint` that raise
:class:`~motiontrack.errors.CalibrationError`: swapped sensors (from the rates in a seated
pose, and from the joint centre), a hinge axis that is not horizontal in the still pose, a
still pose in another posture than the declared one (:class:`PoseMismatchError`), and a
mounting far from the expected one. What each can and cannot detect:
:mod:`motiontrack.kinematics.calibration`.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from .. import quaternion as mq
from ..errors import CalibrationError
from ._calib_math import _angle_deg, _conj, _inclination_deg, _sagittal, _unit
from ._calib_model import CalibrationSettings, PoseMismatchError
from ._still import _Still


def _check_rates_not_swapped(
    gpm: np.ndarray, gdm: np.ndarray, rms_p: float, rms_d: float, pose: str, s: CalibrationSettings
) -> None:
    """Seated (or wherever ``s.quiet_proximal`` says): the thigh stays still while the shank
    moves; raise if the proximal sensor rotates more. Compared on the median rate of the moving samples, not the RMS: a motion
    window that starts with sitting down (the documented protocol's standing start) has the
    thigh turn 90° once."""
    with np.errstate(invalid="ignore"):
        np_, nd_ = np.linalg.norm(gpm, axis=1), np.linalg.norm(gdm, axis=1)
        mv = (np_ > s.min_rate) | (nd_ > s.min_rate)
    med_p = float(np.median(np_[mv])) if mv.any() else 0.0
    med_d = float(np.median(nd_[mv])) if mv.any() else 0.0
    check = pose == "seated" if s.quiet_proximal is None else s.quiet_proximal
    # an exercise that keeps the thigh still throughout (quiet_proximal=True) is judged on the
    # RMS too: its median sees the moving samples of the shank only
    more = med_p > 2.0 * med_d or (s.quiet_proximal is True and rms_p > 2.0 * rms_d)
    if check and more and rms_p > 0.3:
        where = "In the seated pose" if pose == "seated" else "In this exercise"
        raise CalibrationError(
            f"swapped sensors? {where} the proximal (thigh) sensor rotates more "
            f"(median {med_p:.2f} rad/s while moving, RMS {rms_p:.2f}) than the distal one "
            f"({med_d:.2f}, {rms_d:.2f} rad/s)"
        )


def _check_axis_tilt(
    j1: np.ndarray,
    j2: np.ndarray,
    st: _Still,
    up_seg_p: np.ndarray,
    up_seg_d: np.ndarray,
    pose: str,
    s: CalibrationSettings,
) -> None:
    """Raise when a hinge axis is far from horizontal in the still pose."""
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


def _check_joint_centre_not_swapped(
    o1: np.ndarray,
    o2: np.ndarray,
    cov: np.ndarray,
    cp: np.ndarray,
    cd: np.ndarray,
    s: CalibrationSettings,
) -> None:
    """Raise when the joint centre lies above the proximal sensor and below the distal one
    along their segments (``o1``, ``o2``: joint centre in each sensor frame, m)."""
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


def _check_mounting(
    cp: np.ndarray,
    cd: np.ndarray,
    expected_mounting: tuple[npt.ArrayLike, npt.ArrayLike],
    st: _Still,
    mode: str,
    max_mounting_deviation_deg: float,
) -> None:
    """Raise when an estimated mounting is far from the expected one."""
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
