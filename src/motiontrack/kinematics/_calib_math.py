"""Array and geometry helpers of the sensor-to-segment calibration (offline, plain numpy).

Input checks, gap filling and the zero-phase low-pass applied before fitting, unit vectors
and angles, and the segment frame built from a hinge axis and an up direction. Method:
:mod:`motiontrack.kinematics.calibration`.

The low-pass is ``scipy.signal.sosfiltfilt(scipy.signal.butter(2, cutoff, fs=fs,
output="sos"), x, axis=0)`` written out in numpy and Python floats, step for step as scipy
computes it, so that its output is the same to the last bit (tests/test_kinematics_lowpass.py
compares the two): importing ``scipy.signal`` took about 1 s of every ``motiontrack analyze``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

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
    """Zero-phase 2nd-order Butterworth low-pass of the columns of ``x`` (N, k) (offline
    calibration only); ``x`` itself when the cutoff is near Nyquist or N < 30."""
    if cutoff >= 0.45 * fs or x.shape[0] < 30:
        return x
    return _sosfiltfilt(_butter2_sos(cutoff, fs), x)


#: Poles of the analog 2nd-order Butterworth prototype (``scipy.signal.buttap(2)``).
_BUTTAP2 = -np.exp(1j * np.pi * np.arange(-1, 2, 2, dtype=np.float64) / (2 * 2))


def _butter2_sos(cutoff: float, fs: float) -> np.ndarray:
    """``scipy.signal.butter(2, cutoff, fs=fs, output="sos")[0]``: the same operations in the
    same order (iirfilter, lp2lp_zpk, bilinear_zpk, zpk2sos with its conjugate-pair averaging,
    zpk2tf), for the same bits."""
    wn = np.asarray(cutoff, dtype=np.float64) / (float(fs) / 2)
    wo = float(2 * 2.0 * np.tan(np.pi * wn / 2.0))  # pre-warped, on iirfilter's fs = 2
    p = wo * _BUTTAP2
    k = 1.0 * wo**2
    fs2 = 2.0 * 2.0
    p_z = (fs2 + p) / (fs2 - p)
    k_z = k * np.real(np.prod(np.zeros(0)) / np.prod(fs2 - p))
    p1 = ((p_z[p_z.imag > 0] + p_z[p_z.imag < 0].conj()) / 2)[0]
    a = np.ones(1, dtype=np.complex128)
    one = np.ones_like(p1)
    for r in (p1, p1.conj()):
        a = np.convolve(a, np.stack((one, -r)), mode="full")
    sos = np.concatenate((np.array([1.0, 2.0, 1.0]), np.real(a)))
    sos[:3] *= np.asarray(k_z).real
    return sos


def _sosfiltfilt(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``scipy.signal.sosfiltfilt(sos[None], x, axis=0)`` for one section (defaults: odd
    padding of 9 samples, each pass started in the step-response steady state of its first
    sample). N >= 10."""
    # lfilter_zi: solve zi = A zi + B
    i_minus_a = np.eye(2) - np.array([[-sos[4], -sos[5]], [1.0, 0.0]]).T
    zi = np.linalg.solve(i_minus_a, sos[1:3] - sos[4:6] * sos[0])
    edge = 9
    ext = np.concatenate(
        (2 * x[0:1] - x[edge:0:-1], x, 2 * x[-1:] - x[-2 : -(edge + 2) : -1]), axis=0
    )
    out = np.empty(ext.shape, dtype=np.float64)
    for c in range(ext.shape[1]):
        col = _sosfilt_reversed(sos, float(zi[0]), float(zi[1]), ext[:, c].tolist())
        out[:, c] = _sosfilt_reversed(sos, float(zi[0]), float(zi[1]), col)
    return out[edge:-edge]


def _sosfilt_reversed(sos: np.ndarray, zi0: float, zi1: float, x: list[float]) -> list[float]:
    """One pass of scipy's ``sosfilt`` (transposed direct form II, initial state ``zi * x[0]``),
    its output reversed. Python floats: the same IEEE operations in the same order as scipy's
    compiled loop (no fused multiply-add)."""
    b0, b1, b2, a1, a2 = float(sos[0]), float(sos[1]), float(sos[2]), float(sos[4]), float(sos[5])
    s0, s1 = zi0 * x[0], zi1 * x[0]
    y: list[float] = []
    put = y.append
    for u in x:
        v = b0 * u + s0
        s0 = b1 * u - a1 * v + s1
        s1 = b2 * u - a2 * v
        put(v)
    y.reverse()
    return y


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


def _pitch_range_deg(q: np.ndarray, axis: np.ndarray) -> float:
    """Range (deg, 1st to 99th percentile) of a segment's rotation about ``axis`` (its sensor
    frame) against the vertical: the turn of the up direction, seen in the sensor frame,
    about that axis. A rotation about the vertical (a whole-body turn) leaves it at 0."""
    q = np.asarray(q, dtype=np.float64)
    ok = np.all(np.isfinite(q), axis=1)
    if ok.sum() < 2:
        return 0.0
    up = mq.rotate(q[ok], np.array([0.0, 0.0, 1.0]), inverse=True)
    j = _unit(np.asarray(axis, dtype=np.float64))
    a = _unit(np.cross(j, np.eye(3)[int(np.argmin(np.abs(j)))]))
    b = np.cross(j, a)
    ang = np.degrees(np.unwrap(np.arctan2(up @ b, up @ a)))
    return float(np.percentile(ang, 99) - np.percentile(ang, 1))
