"""A multiplicative extended Kalman filter: orientation and gyroscope bias (IMU and MARG)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._kernels import ekf as _k
from ..conventions import GRAVITY
from ._base import FilterSettings, OrientationFilter


@dataclass(frozen=True, kw_only=True, slots=True)
class EKFSettings(FilterSettings):
    """Settings of :class:`EKF` (noise figures as standard deviations).

    Attributes
    ----------
    gyr_noise : float
        Gyroscope white-noise density, rad/s/√Hz (angle random walk; process noise of the
        orientation, ``sigma² dt`` per sample). Larger trusts the gyroscope less.
    bias_noise : float
        Gyroscope-bias random walk, rad/s/√s (process noise of the bias, ``sigma² dt`` per
        sample). 0 = constant bias (still estimated from ``initial_bias_std``).
    acc_noise : float
        Accelerometer noise, m/s², including the linear acceleration of ordinary motion;
        the filter adds ``(|a| - 9.81)²`` to its variance sample by sample.
    mag_noise : float
        Magnetometer noise, µT (heading variance is ``mag_noise² / |m_horizontal|²``).
    initial_bias_std : float
        Prior standard deviation of the gyroscope bias, rad/s. 0 = bias fixed at zero.
    initial_attitude_std : float
        Prior standard deviation of each orientation-error angle after initialisation, rad.
    acc_rejection : float
        Skip the accelerometer update (flag ``ACC_REJECTED``) when ``||a| - 9.81|`` exceeds
        this, m/s². 0 = never reject.
    """

    gyr_noise: float = 0.005
    bias_noise: float = 1e-4
    acc_noise: float = 0.5
    mag_noise: float = 3.0
    initial_bias_std: float = 0.02
    initial_attitude_std: float = 0.1
    acc_rejection: float = 0.0

    def __post_init__(self) -> None:
        FilterSettings.__post_init__(self)
        self._check_positive("gyr_noise", "acc_noise", "mag_noise", "initial_attitude_std")
        self._check_positive("bias_noise", "initial_bias_std", "acc_rejection", allow_zero=True)


class EKF(OrientationFilter):
    """Multiplicative EKF with gyroscope-bias estimation, ENU (see ``_kernels/ekf.py``).

    Parameters
    ----------
    settings : EKFSettings, optional
    fs : float
        Nominal sample rate, Hz (``dt = 1 / fs`` unless ``update`` is given ``dt``).
    **overrides
        Any :class:`EKFSettings` field by name (unknown names raise).

    Notes
    -----
    Error-state (multiplicative) EKF after F. L. Markley, J. Guid. Control Dyn. 26(2) 2003,
    doi:10.2514/2.5102: 3 attitude-error angles + 3 gyroscope-bias errors. The accelerometer
    corrects inclination; the magnetometer enters as a heading-only measurement (the azimuth
    of the field's horizontal part), so a wrong dip does not bias the estimate. ``extras["gyr_bias"]``
    holds the bias estimate after each sample.

    Examples
    --------
    >>> f = EKF(fs=100.0)
    >>> f.update([0.0, 0.0, 9.81], [0.0, 0.0, 0.0]).round(6)
    array([1., 0., 0., 0.])
    """

    method = "ekf"
    Settings = EKFSettings
    _kernel = _k
    _run = _k.run
    extra_layout = {"gyr_bias": slice(0, 3)}

    def _method_coefficients(self, c: np.ndarray, settings: EKFSettings, dt: float) -> None:
        c[_k.C_VAR_GYR] = settings.gyr_noise**2
        c[_k.C_VAR_BIAS] = settings.bias_noise**2
        c[_k.C_VAR_ACC] = settings.acc_noise**2
        c[_k.C_VAR_MAG] = settings.mag_noise**2
        c[_k.C_VAR_ATT0] = settings.initial_attitude_std**2
        c[_k.C_VAR_BIAS0] = settings.initial_bias_std**2
        c[_k.C_ACC_REJ] = settings.acc_rejection
        c[_k.C_GRAVITY] = GRAVITY

    def _initial_state(self) -> np.ndarray:
        s = super()._initial_state()
        p = np.zeros((6, 6))
        p[[0, 1, 2], [0, 1, 2]] = self.settings.initial_attitude_std**2
        p[[3, 4, 5], [3, 4, 5]] = self.settings.initial_bias_std**2
        s[_k.S_P : _k.S_P + 36] = p.ravel()
        return s

    @property
    def gyr_bias(self) -> np.ndarray:
        """Current gyroscope-bias estimate, rad/s, sensor frame, shape (3,)."""
        return self._state[_k.S_BX : _k.S_BZ + 1].copy()

    @property
    def covariance(self) -> np.ndarray:
        """Error covariance P (6×6): attitude-error angles (rad²) then bias (rad²/s²)."""
        return self._state[_k.S_P : _k.S_P + 36].reshape(6, 6).copy()
