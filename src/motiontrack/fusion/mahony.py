"""Mahony's explicit complementary filter with gyroscope-bias integral (IMU and MARG)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._kernels import mahony as _k
from ._base import FilterSettings, OrientationFilter


@dataclass(frozen=True, kw_only=True, slots=True)
class MahonySettings(FilterSettings):
    """Settings of :class:`Mahony`.

    Attributes
    ----------
    kp : float
        Proportional gain k_P, rad/s per unit of the (dimensionless) vector error: how fast
        the estimate is pulled towards the accelerometer/magnetometer. 0 = no proportional
        correction (with ``ki = 0``: pure gyroscope integration). Default 1.0 (Mahony 2008).
    ki : float
        Integral gain k_I, rad/s² per unit error: how fast the gyroscope-bias estimate
        adapts. 0 = no bias estimation. Default 0.3 (Mahony 2008).
    """

    kp: float = 1.0
    ki: float = 0.3

    def __post_init__(self) -> None:
        FilterSettings.__post_init__(self)
        self._check_positive("kp", "ki", allow_zero=True)


class Mahony(OrientationFilter):
    """Mahony's nonlinear complementary filter on SO(3), ENU (see ``_kernels/mahony.py``).

    Parameters
    ----------
    settings : MahonySettings, optional
    fs : float
        Nominal sample rate, Hz (``dt = 1 / fs`` unless ``update`` is given ``dt``).
    **overrides
        Any :class:`MahonySettings` field by name (unknown names raise).

    Notes
    -----
    R. Mahony, T. Hamel, J.-M. Pflimlin, IEEE TAC 53(5) 2008, doi:10.1109/TAC.2008.923738,
    eq. (32)/(48). Matches the ``ahrs`` package's ``Mahony`` to round-off on identical
    inputs, except that a gyroscope reading of exactly zero still gets its correction here
    (``ahrs`` returns the previous orientation unchanged) and the bias estimate is
    subtracted even when the accelerometer sample is missing.

    Examples
    --------
    >>> f = Mahony(fs=100.0, kp=1.0, ki=0.3)
    >>> f.update([0.0, 0.0, 9.81], [0.0, 0.0, 0.0]).round(6)
    array([1., 0., 0., 0.])
    """

    method = "mahony"
    Settings = MahonySettings
    _kernel = _k
    _run = _k.run

    def _method_coefficients(self, c: np.ndarray, settings: MahonySettings, dt: float) -> None:
        c[_k.C_KP] = settings.kp
        c[_k.C_KI] = settings.ki

    @property
    def gyr_bias(self) -> np.ndarray:
        """Current gyroscope-bias estimate b, rad/s, sensor frame, shape (3,)."""
        return self._state[_k.S_BX : _k.S_BZ + 1].copy()
