"""Madgwick's gradient-descent filter (IMU and MARG)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._kernels import madgwick as _k
from ._base import FilterSettings, OrientationFilter


@dataclass(frozen=True, kw_only=True, slots=True)
class MadgwickSettings(FilterSettings):
    """Settings of :class:`Madgwick`.

    Attributes
    ----------
    beta : float
        Gradient-descent gain, rad/s (Madgwick's β, the rate at which the estimate is
        pulled towards the accelerometer/magnetometer reference). 0 = pure gyroscope
        integration. Typical 0.033 (IMU) to 0.1; larger converges faster but lets linear
        acceleration disturb the tilt.
    """

    beta: float = 0.041

    def __post_init__(self) -> None:
        FilterSettings.__post_init__(self)
        self._check_positive("beta", allow_zero=True)


class Madgwick(OrientationFilter):
    """Madgwick's gradient-descent orientation filter, ENU (see ``_kernels/madgwick.py``).

    Parameters
    ----------
    settings : MadgwickSettings, optional
    fs : float
        Nominal sample rate, Hz (``dt = 1 / fs`` unless ``update`` is given ``dt``).
    **overrides
        Any :class:`MadgwickSettings` field by name (unknown names raise).

    Notes
    -----
    S. O. H. Madgwick et al., IEEE ICORR 2011, doi:10.1109/ICORR.2011.5975346. Matches the
    ``ahrs`` package's ``Madgwick`` to round-off after the NWU → ENU frame change.

    Examples
    --------
    >>> import numpy as np
    >>> f = Madgwick(fs=100.0, beta=0.05)
    >>> f.update([0.0, 0.0, 9.81], [0.0, 0.0, 0.0]).round(6)
    array([1., 0., 0., 0.])
    """

    method = "madgwick"
    Settings = MadgwickSettings
    _kernel = _k
    _run = _k.run

    def _method_coefficients(self, c: np.ndarray, settings: MadgwickSettings, dt: float) -> None:
        c[_k.C_BETA] = settings.beta
