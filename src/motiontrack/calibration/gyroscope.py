"""Gyroscope bias at rest.

With the sensor still, the gyroscope reads its bias plus white noise, so the bias is the mean
reading and its standard error is ``std / sqrt(n)`` (0.1 °/s noise over 10 s at 100 Hz: 0.003 °/s).
The estimate is only as good as the stillness: a slow rotation of 0.05 °/s is invisible in the
noise, so the recording must be made with the sensor resting on a table, not held in the hand.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..errors import CalibrationError, CalibrationWarning, InputError
from .still import StillnessSettings, find_still_segments, still_mask

__all__ = ["GyroBiasResult", "estimate_gyro_bias"]

#: A bias above this (rad/s, 5 °/s) is implausible for a MEMS gyroscope at rest.
_MAX_PLAUSIBLE_BIAS = np.radians(5.0)


@dataclass(frozen=True, slots=True)
class GyroBiasResult:
    """Result of :func:`estimate_gyro_bias`."""

    bias: np.ndarray  # (3,) rad/s, subtract from readings
    noise_std: np.ndarray  # (3,) rad/s, white noise per sample
    uncertainty: np.ndarray  # (3,) rad/s, standard error of the bias
    duration_s: float  # s of still data used
    n_samples: int
    used: slice  # samples used, indices into the arrays given


def estimate_gyro_bias(
    gyr: npt.ArrayLike,
    acc: npt.ArrayLike | None = None,
    *,
    fs: float,
    min_duration_s: float = 3.0,
    settings: StillnessSettings | None = None,
) -> GyroBiasResult:
    """Estimate the gyroscope bias from a recording of the sensor at rest.

    Parameters
    ----------
    gyr : ndarray, shape (N, 3)
        Angular rate, rad/s, sensor frame (NaN rows are ignored).
    acc : ndarray, shape (N, 3), optional
        Specific force, m/s²; makes the stillness check stricter (tilting, tapping).
    fs : float
        Sample rate, Hz.
    min_duration_s : float
        Least still time needed, s.
    settings : StillnessSettings, optional
        Stillness thresholds.

    Returns
    -------
    GyroBiasResult

    Raises
    ------
    CalibrationError
        No still stretch of ``min_duration_s``: the sensor moved (the message says how much).

    Warns
    -----
    CalibrationWarning
        Only part of the recording was still (the longest still stretch was used), or the
        bias is implausibly large (> 5 °/s).
    """
    g = np.asarray(gyr, dtype=np.float64)
    if g.ndim != 2 or g.shape[1] != 3 or g.shape[0] < 2:
        raise InputError(f"gyr must have shape (N, 3) with N >= 2, got {g.shape}")
    cfg = settings or StillnessSettings()
    min_duration_s = max(min_duration_s, cfg.min_duration_s)
    seg_cfg = dataclasses.replace(cfg, min_duration_s=min_duration_s)
    finite = np.all(np.isfinite(g), axis=1)
    total_s = finite.sum() / fs
    if total_s < min_duration_s:
        raise CalibrationError(
            f"gyroscope bias needs at least {min_duration_s:.1f} s of data at rest; "
            f"the recording has {total_s:.1f} s"
        )
    segments = find_still_segments(g, acc, fs=fs, settings=seg_cfg)
    if not segments:
        mask = still_mask(g, acc, fs=fs, settings=cfg)
        edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
        runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
        longest = (runs.max() / fs) if runs.size else 0.0
        raise CalibrationError(
            "the sensor was not still: no stretch of "
            f"{min_duration_s:.1f} s at rest (the longest was {longest:.1f} s; still "
            f"{100 * mask.mean():.0f} % of the time in all). "
            "Put the sensor on a table, do not touch it, and record again."
        )
    best = max(segments, key=lambda s: s.stop - s.start)
    still_s = sum(s.duration_s for s in segments)
    if best.duration_s < 0.8 * total_s - 2 * cfg.margin_s:
        warnings.warn(
            f"the sensor moved during the gyroscope bias recording: used the longest still "
            f"stretch, {best.duration_s:.1f} s of {total_s:.1f} s ({still_s:.1f} s still in total)",
            CalibrationWarning,
            stacklevel=2,
        )
    x = g[best.slice]
    bias = x.mean(axis=0)
    std = x.std(axis=0, ddof=1)
    if np.any(np.abs(bias) > _MAX_PLAUSIBLE_BIAS):
        warnings.warn(
            f"gyroscope bias {np.degrees(bias).round(2)} °/s is implausibly large for a sensor at "
            "rest: check that it was not on a turning surface and that the units are rad/s",
            CalibrationWarning,
            stacklevel=2,
        )
    return GyroBiasResult(
        bias=bias,
        noise_std=std,
        uncertainty=std / np.sqrt(x.shape[0]),
        duration_s=best.duration_s,
        n_samples=int(x.shape[0]),
        used=best.slice,
    )
