"""A complementary filter: gyroscope integration with decoupled tilt and heading corrections."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._kernels import complementary as _k
from ..conventions import GRAVITY
from ._base import FilterSettings, OrientationFilter


@dataclass(frozen=True, kw_only=True, slots=True)
class ComplementarySettings(FilterSettings):
    """Settings of :class:`Complementary`.

    Attributes
    ----------
    tau_acc : float
        Time constant of the tilt (inclination) correction towards the accelerometer, s.
        Smaller trusts the accelerometer more (and lets linear acceleration tilt the
        estimate). 0 = no tilt correction.
    tau_mag : float
        Time constant of the heading correction towards magnetic north, s (9D only). 0 = no
        heading correction.
    acc_rejection : float
        Skip the tilt correction (flag ``ACC_REJECTED``) when the accelerometer norm differs
        from 9.81 m/s² by more than this, m/s². 0 = never reject.
    """

    tau_acc: float = 2.0
    tau_mag: float = 5.0
    acc_rejection: float = 0.0

    def __post_init__(self) -> None:
        FilterSettings.__post_init__(self)
        self._check_positive("tau_acc", "tau_mag", "acc_rejection", allow_zero=True)


class Complementary(OrientationFilter):
    """Complementary filter, ENU (see ``_kernels/complementary.py`` for the equations).

    Parameters
    ----------
    settings : ComplementarySettings, optional
    fs : float
        Nominal sample rate, Hz (``dt = 1 / fs`` unless ``update`` is given ``dt``).
    **overrides
        Any :class:`ComplementarySettings` field by name (unknown names raise).

    Notes
    -----
    Tilt and heading are corrected separately, each by a first-order low-pass whose gain
    ``1 - exp(-dt / tau)`` follows the actual sample period, so irregular sampling keeps the
    time constants. The magnetometer only turns the estimate about the vertical.

    Examples
    --------
    >>> f = Complementary(fs=100.0, tau_acc=1.0)
    >>> f.update([0.0, 0.0, 9.81], [0.0, 0.0, 0.0]).round(6)
    array([1., 0., 0., 0.])
    """

    method = "complementary"
    Settings = ComplementarySettings
    _kernel = _k
    _run = _k.run

    def _method_coefficients(self, c: np.ndarray, settings: ComplementarySettings, dt: float) -> None:
        c[_k.C_TAU_ACC] = settings.tau_acc
        c[_k.C_TAU_MAG] = settings.tau_mag
        c[_k.C_DT] = dt
        c[_k.C_K_ACC] = -math.expm1(-dt / settings.tau_acc) if settings.tau_acc > 0 else 0.0
        c[_k.C_K_MAG] = -math.expm1(-dt / settings.tau_mag) if settings.tau_mag > 0 else 0.0
        c[_k.C_ACC_REJ] = settings.acc_rejection
        c[_k.C_GRAVITY] = GRAVITY
