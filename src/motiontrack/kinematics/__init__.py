"""Joint kinematics: sensor-to-segment calibration and joint angles.

Segment frames: x anterior, y superior (long axis, pointing proximally), z to the right
(ISB-like, both sides; left limbs are mirrored before decomposition).

Typical knee pipeline (6D, no magnetometer)::

    q_thigh = motiontrack.fuse(acc_t, gyr_t, fs=fs)          # (N, 4) q_earth_sensor
    q_shank = motiontrack.fuse(acc_s, gyr_s, fs=fs)
    cal = calibrate_joint(acc_proximal=acc_t, gyr_proximal=gyr_t, acc_distal=acc_s,
                          gyr_distal=gyr_s, q_proximal=q_thigh, q_distal=q_shank, fs=fs,
                          still=slice(0, 200), pose="standing")
    ang = joint_angles(q_thigh, q_shank, joint="knee", calibration=cal, fs=fs)
    ang.flexion_deg       # (N,) degrees, 0 = straight, flexion positive

The joint table (axis order, signs, zero) is in :mod:`motiontrack.kinematics.angles`;
how the calibration works, what it detects and what it cannot, in
:mod:`motiontrack.kinematics.calibration`; the generic hinge calibrated from motion alone (no
pose, any orientation) in :mod:`motiontrack.kinematics.hinge_motion`.

Modes (:class:`JointSettings`): ``"6d"`` removes the drifting relative heading of two 6D
orientations with the hinge constraint (knee, elbow, hinge); ``"9d"`` trusts the shared
magnetic heading while both magnetometers agree and falls back to the constraint, flagging
the samples (``FLAG_MAG_DISTURBED``), when they do not; ``"raw"`` does neither.

Accuracy (``benchmarks/kinematics_accuracy.py``, 20 simulated sessions per exercise and
mode, sensors at random orientations, flexion at the still pose given): flexion RMSE
0.3-0.45° median, <= 1.6° worst; per-rep peak error <= 2.9°. The resting posture during
the still pose defines zero: an error in the assumed pose angle is a constant offset.
"""

from __future__ import annotations

import time

import numpy as np

from .._kernels import joint as _kernels
from ._calib_model import HingeCalibration
from .angles import (
    FLAG_CONSTRAINT,
    FLAG_GAP,
    FLAG_MAG_DISTURBED,
    FLAG_UNINFORMED,
    JOINTS,
    JointAngleEstimator,
    JointAngles,
    JointSettings,
    joint_angles,
)
from .calibration import (
    POSES,
    CalibrationSettings,
    HingeAxes,
    PoseMismatchError,
    SegmentCalibration,
    calibrate_joint,
    detect_still,
    relative_hinge_axes,
)
from .hinge_motion import HingeMotionSettings, calibrate_hinge_motion, hinge_axis_sign


def warmup() -> float:
    """Compile (or load from the on-disk cache) the kinematics kernels; returns seconds."""
    t0 = time.perf_counter()
    q = np.tile([1.0, 0.0, 0.0, 0.0], (2, 1))
    for mode in ("6d", "9d", "raw"):
        for joint in ("knee", "shoulder"):
            if mode == "6d" and joint == "shoulder":
                continue
            JointAngleEstimator(
                None, joint=joint, fs=100.0, settings=JointSettings(mode=mode)
            ).update_batch(q, q)
    g = np.zeros((2, 3))
    _kernels.hinge_rate(g, g, np.zeros(3), np.zeros(3), np.zeros(2))
    return time.perf_counter() - t0


__all__ = [
    "FLAG_CONSTRAINT",
    "FLAG_GAP",
    "FLAG_MAG_DISTURBED",
    "FLAG_UNINFORMED",
    "JOINTS",
    "POSES",
    "CalibrationSettings",
    "HingeAxes",
    "HingeCalibration",
    "HingeMotionSettings",
    "JointAngleEstimator",
    "JointAngles",
    "JointSettings",
    "PoseMismatchError",
    "SegmentCalibration",
    "calibrate_hinge_motion",
    "calibrate_joint",
    "detect_still",
    "hinge_axis_sign",
    "joint_angles",
    "relative_hinge_axes",
    "warmup",
]
