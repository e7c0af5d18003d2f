"""Array and geometry helpers of the sensor-to-segment calibration (offline, plain numpy).

Input checks, gap filling and the zero-phase low-pass applied before fitting, unit vectors
and angles, and the segment frame built from a hinge axis and an up direction. Method:
:mod:`motiontrack.kinematics.calibration`.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, sosfiltfilt

from .. import quaternion as mq
from ..errors import InputError


def _rows(a: npt.ArrayLike, name: str, width: int = 3) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != width:
        raise InputError(f"{name} must have shape (N, {width}), got {arr.shape}")
    return np.ascontiguousarray(arr)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _angle_deg(u: np.ndarray, v: np.ndarray) -> float:
    return math.degrees(math.atan2(np.linalg.norm(np.cross(u, v)), float(np.dot(u, v))))


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
    if cutoff >= 0.45 * fs or x.shape[0] < 30:
        return x
    sos = butter(2, cutoff, fs=fs, output="sos")
    return sosfiltfilt(sos, x, axis=0)


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
