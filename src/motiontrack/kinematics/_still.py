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



#: deg; a still window ends where either sensor's gravity direction has turned this far from
#: its direction at the window's start (accelerometers given): a slow change of posture (a
#: standing knee bend's weight shift onto the other leg, the knee settling 0 -> 4° in about a
#: second) stays below the gyroscope threshold, and a still pose spanning both postures reads
#: the zero halfway between them (measured: 2.1° of constant flexion error). The real seated
#: and standing sessions of benchmarks/pt_knee_real.py and regions_real.py keep their still
#: poses (the same counts and angles; only a faulty accelerometer's sessions change).
MAX_STILL_TILT_DEG = 1.0
#: s; the accelerometers are averaged over this (centred) before their direction is
#: compared; a still pose ending within this of the last row is not ended yet (the rows that
#: decide where it ends have not come), so live and offline cut it at the same row.
_TILT_SMOOTH_S = 0.2


def detect_still(
    gyr_proximal: npt.ArrayLike,
    gyr_distal: npt.ArrayLike,
    *,
    fs: float,
    min_duration: float = 1.0,
    max_rate: float = 0.1,
    acc_proximal: npt.ArrayLike | None = None,
    acc_distal: npt.ArrayLike | None = None,
    max_tilt_deg: float = MAX_STILL_TILT_DEG,
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
    acc_proximal, acc_distal : array_like, shape (N, 3), optional
        Accelerometers, m/s². Given, a window also ends where either sensor's gravity
        direction (averaged over 0.2 s) has turned more than ``max_tilt_deg`` from its
        direction at the window's start: one posture, not two joined by a change slower than
        ``max_rate``; the rest of the quiet stretch is searched on as a new window.
    max_tilt_deg : float
        deg; see ``acc_proximal``.

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
    dirs = []
    k = max(1, round(_TILT_SMOOTH_S * fs))
    for name, acc in (("acc_proximal", acc_proximal), ("acc_distal", acc_distal)):
        if acc is not None:
            a = _rows(acc, name)
            if a.shape != gp.shape:
                raise InputError(f"{name} must have the gyroscopes' shape {gp.shape}")
            dirs.append(_smoothed_direction(a, k))
    cos_max = math.cos(math.radians(max_tilt_deg))
    i = 0
    while i < quiet.size:
        if quiet[i]:
            j = i
            while j < quiet.size and quiet[j]:
                j += 1
            j = min([j] + [_turned(d, i, j, cos_max, k) for d in dirs])
            if j - i >= n:
                if dirs and j < quiet.size and quiet.size - j <= k:
                    # a turn just before j may not show yet: the pose has not ended (yet)
                    return slice(i, quiet.size)
                return slice(i, j)
            i = max(j, i + 1)
        else:
            i += 1
    return None


def _smoothed_direction(acc: np.ndarray, k: int) -> np.ndarray:
    """Unit direction of ``acc`` (N, 3) averaged over ``k`` rows centred on each row; NaN
    where the window runs past the last row (not known yet: a stream decides there once the
    rows have come, as the whole recording does) or holds only NaN rows."""
    ok = np.isfinite(acc).all(axis=1)
    c = np.vstack([np.zeros((1, 3)), np.cumsum(np.where(ok[:, None], acc, 0.0), axis=0)])
    n = acc.shape[0]
    lo = np.clip(np.arange(n) - k // 2, 0, n)
    hi = lo + k
    out = np.full((n, 3), np.nan)
    full = hi <= n
    s = c[hi[full]] - c[lo[full]]
    with np.errstate(invalid="ignore", divide="ignore"):
        out[full] = s / np.linalg.norm(s, axis=1, keepdims=True)
    return out


def _turned(d: np.ndarray, i: int, j: int, cos_max: float, k: int) -> int:
    """First row in ``[i, j)`` whose direction is more than acos(cos_max) from the window's
    start direction (its first ``k`` rows' average; ``j`` if none); a row of unknown
    direction (NaN) never counts as turned."""
    ref = d[min(i + k // 2, j - 1)]
    if not np.isfinite(ref).all():
        return j
    with np.errstate(invalid="ignore"):
        far = np.flatnonzero(d[i:j] @ ref < cos_max)
    return i + int(far[0]) if far.size else j
