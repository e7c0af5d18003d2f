"""The hinge angle of a motion-calibrated generic hinge (:class:`HingeCalibration`): gyroscope
rate about the hinge with bias and drift corrected by the specific force at the joint centre
(or the fused up direction) and, 9D, the magnetic field, :mod:`motiontrack._kernels.hinge_angle`. Used by :class:`~.angles.JointAngleEstimator` for the
primary angle whenever its calibration is a :class:`HingeCalibration` and gyroscopes are given.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from .._kernels import hinge_angle as _h
from ..errors import InputError
from ._calib_model import HingeCalibration

__all__ = ["HingeAngleFilter", "HingeCalibration"]

#: Filter constants (rad, rad/s, s). Measurement sigma 3°: the fused inclination errs by
#: ~1° during brisk motion, slowly; the bias walk of consumer gyroscopes ~5e-5 rad/s/sqrt(s).
_R = math.radians(3.0) ** 2
_Q_TH = 1e-6
_Q_TH_REL = 1e-4
_Q_B = 1e-8
_W_MIN = 0.05
_MAG_TOL = 0.08
#: s; at the very start of the data the filter integrates the gyroscopes only (a seeded
#: filter trusts its seed; the backward pass coasts the last seconds into the first sample):
#: the first fused orientations are still converging (several degrees of tilt while the
#: gyroscope bias is unknown) and the angular acceleration needs a previous sample.
SETTLE_S = 2.0


def _coeffs(cal: HingeCalibration, fs: float, use_mag: bool) -> np.ndarray:
    c = np.zeros(_h.N_COEFFS)
    c[_h.C_J1 : _h.C_J1 + 3] = cal.hinge_axis_proximal
    c[_h.C_J2 : _h.C_J2 + 3] = cal.hinge_axis_distal
    c[_h.C_MP : _h.C_MP + 4] = cal.q_segment_sensor_proximal
    c[_h.C_MD : _h.C_MD + 4] = cal.q_segment_sensor_distal
    c[_h.C_DT] = 1.0 / fs
    c[_h.C_Q_TH] = _Q_TH
    c[_h.C_Q_TH_REL] = _Q_TH_REL
    c[_h.C_Q_B] = _Q_B
    c[_h.C_R] = _R
    c[_h.C_W_MIN] = _W_MIN
    c[_h.C_USE_MAG] = 1.0 if use_mag else 0.0
    c[_h.C_MAG_TOL] = _MAG_TOL
    o1, o2 = cal.joint_centre_proximal, cal.joint_centre_distal
    if np.all(np.isfinite(o1)) and np.all(np.isfinite(o2)) and (np.any(o1) or np.any(o2)):
        c[_h.C_O1 : _h.C_O1 + 3] = o1
        c[_h.C_O2 : _h.C_O2 + 3] = o2
        c[_h.C_USE_JC] = 1.0
    return c


def _rows(a: npt.ArrayLike | None, n: int, width: int, name: str) -> np.ndarray:
    if a is None:
        return np.full((n, width), np.nan)
    arr = np.ascontiguousarray(a, dtype=np.float64)
    if arr.shape != (n, width):
        raise InputError(f"{name} must have shape ({n}, {width}), got {arr.shape}")
    return arr


class HingeAngleFilter:
    """Streaming hinge angle (rad) of a :class:`HingeCalibration`; one by one or in batches
    with identical output.

    Parameters
    ----------
    calibration : HingeCalibration
    fs : float
        Hz.
    use_mag : bool
        9D: the magnetometers' field directions are measurements too.
    seeded : bool
        Start from the calibration's start angle and bias (the data it was calibrated on,
        from its first sample); otherwise from the first informative sample.
    hold_s : float
        Seeded only: for this long the filter integrates the gyroscopes and takes no
        measurement (:data:`SETTLE_S`).
    """

    def __init__(
        self,
        calibration: HingeCalibration,
        *,
        fs: float,
        use_mag: bool,
        seeded: bool = True,
        hold_s: float = SETTLE_S,
    ) -> None:
        self._c = _coeffs(calibration, fs, use_mag)
        self._w_min = self._c[_h.C_W_MIN]
        self.hold = round(hold_s * fs) if seeded else 0  # samples left without measurements
        self.state = np.zeros(_h.N_STATE)
        if seeded:
            s = self.state
            s[_h.S_TH] = math.radians(calibration.start_angle_deg)
            s[_h.S_B] = math.radians(calibration.start_bias_dps)
            s[_h.S_P00] = math.radians(1.0) ** 2
            s[_h.S_P11] = math.radians(0.2) ** 2
            s[_h.S_INIT] = 1.0

    def update_batch(
        self,
        q_proximal: np.ndarray,
        q_distal: np.ndarray,
        gyr_proximal: npt.ArrayLike,
        gyr_distal: npt.ArrayLike,
        mag_proximal: npt.ArrayLike | None = None,
        mag_distal: npt.ArrayLike | None = None,
        acc_proximal: npt.ArrayLike | None = None,
        acc_distal: npt.ArrayLike | None = None,
    ) -> np.ndarray:
        """(N, 3): angle (rad, NaN until known or in gaps), informativeness 0..1, rate bias
        (rad/s). Accelerometers (m/s²) give the specific force at the joint centre when the
        calibration has one; without them the fused up direction is used."""
        n = q_proximal.shape[0]
        out = np.empty((n, 3))
        args = (
            np.ascontiguousarray(q_proximal, dtype=np.float64),
            np.ascontiguousarray(q_distal, dtype=np.float64),
            _rows(gyr_proximal, n, 3, "gyr_proximal"),
            _rows(gyr_distal, n, 3, "gyr_distal"),
            _rows(acc_proximal, n, 3, "acc_proximal"),
            _rows(acc_distal, n, 3, "acc_distal"),
            _rows(mag_proximal, n, 3, "mag_proximal"),
            _rows(mag_distal, n, 3, "mag_distal"),
        )
        k = min(self.hold, n)
        if k:
            self._c[_h.C_W_MIN] = 2.0  # above any informativeness: no measurement
            _h.run(self.state, self._c, *(np.ascontiguousarray(a[:k]) for a in args), out[:k])
            self._c[_h.C_W_MIN] = self._w_min
            self.hold -= k
        if k < n:
            _h.run(self.state, self._c, *(np.ascontiguousarray(a[k:]) for a in args), out[k:])
        return out
