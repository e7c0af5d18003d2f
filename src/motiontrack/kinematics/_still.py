"""The still pose: finding a still window (:func:`detect_still`) and reading the up direction
and the gyroscope bias of both sensors from it, after checking that it is still.

Method: :mod:`motiontrack.kinematics.calibration`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..checks import check_imu
from ..errors import CalibrationError, ConfigurationError, InputError
from ._calib_math import _rows, _unit
from ._calib_model import CalibrationSettings


@dataclass(frozen=True)
class _Still:
    up_p: np.ndarray
    up_d: np.ndarray
    bias_p: np.ndarray
    bias_d: np.ndarray


def _still_pose(acc_p, gyr_p, acc_d, gyr_d, s: CalibrationSettings) -> _Still:
    out = []
    for name, acc, gyr in (("proximal", acc_p, gyr_p), ("distal", acc_d, gyr_d)):
        ok = np.all(np.isfinite(acc), axis=1) & np.all(np.isfinite(gyr), axis=1)
        if ok.sum() < 10:
            raise CalibrationError(f"still pose: fewer than 10 valid samples for the {name} sensor")
        a, g = acc[ok], gyr[ok]
        # acc in g or mg, gyr in deg/s: the unit checks' message (motiontrack.checks), the
        # one fuse and the file readers give
        check_imu(a, g, where=f"still pose, {name} sensor")
        gstd = float(np.sqrt(np.sum(np.var(g, axis=0))))
        gmean = float(np.linalg.norm(g.mean(axis=0)))
        astd = float(np.sqrt(np.sum(np.var(a, axis=0))))
        anorm = float(np.linalg.norm(a.mean(axis=0)))
        if gstd > s.still_max_gyr_std or gmean > s.still_max_gyr_mean or astd > s.still_max_acc_std:
            raise CalibrationError(
                f"still pose is not still ({name} sensor: gyroscope spread {gstd:.3f} rad/s, "
                f"mean {gmean:.3f} rad/s, accelerometer spread {astd:.2f} m/s²; limits "
                f"{s.still_max_gyr_std}, {s.still_max_gyr_mean}, {s.still_max_acc_std})"
            )
        if abs(anorm - 9.80665) > s.still_acc_tolerance:
            raise CalibrationError(
                f"still pose: {name} accelerometer reads {anorm:.2f} m/s², not ~9.81 "
                "(not at rest, or a badly calibrated accelerometer)"
            )
        out.append((_unit(a.mean(axis=0)), g.mean(axis=0)))
    return _Still(up_p=out[0][0], up_d=out[1][0], bias_p=out[0][1], bias_d=out[1][1])



def detect_still(
    gyr_proximal: npt.ArrayLike,
    gyr_distal: npt.ArrayLike,
    *,
    fs: float,
    min_duration: float = 1.0,
    max_rate: float = 0.1,
) -> slice | None:
    """First window in which both segments are still, for the ``still`` argument of
    :func:`calibrate_joint`.

    Parameters
    ----------
    gyr_proximal, gyr_distal : array_like, shape (N, 3)
        Angular rate, rad/s. NaN rows break a window.
    fs : float
        Sample rate, Hz.
    min_duration : float
        s; shortest window accepted.
    max_rate : float
        rad/s; both gyroscope norms must stay below this (it includes the gyroscope bias).

    Returns
    -------
    slice or None
        The whole first still stretch of at least ``min_duration``; ``None`` if there is none.
    """
    if not (math.isfinite(fs) and fs > 0):
        raise ConfigurationError(f"fs must be > 0 Hz, got {fs!r}")
    gp = _rows(gyr_proximal, "gyr_proximal")
    gd = _rows(gyr_distal, "gyr_distal")
    if gp.shape != gd.shape:
        raise InputError("gyr_proximal and gyr_distal must have the same shape")
    with np.errstate(invalid="ignore"):
        quiet = (np.linalg.norm(gp, axis=1) < max_rate) & (np.linalg.norm(gd, axis=1) < max_rate)
    n = max(1, round(min_duration * fs))
    i = 0
    while i < quiet.size:
        if quiet[i]:
            j = i
            while j < quiet.size and quiet[j]:
                j += 1
            if j - i >= n:
                return slice(i, j)
            i = j
        else:
            i += 1
    return None

