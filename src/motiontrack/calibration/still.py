"""Finding still periods in IMU data (the basis of every sensor calibration).

A sample is *still* when, in the window centred on it, the standard deviation of every
gyroscope axis and of every accelerometer axis is below a threshold. The thresholds sit a few
times above the white noise of MEMS IMUs (0.05-0.35 °/s; 2-9 mg rms at 100-300 Hz, e.g. the BROAD IMU) and
far below what a hand-held or strapped-on sensor shows (several °/s, > 0.1 m/s²).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..errors import ConfigurationError, InputError

__all__ = ["StillnessSettings", "StillSegment", "find_still_segments", "still_mask"]


@dataclass(frozen=True, kw_only=True, slots=True)
class StillnessSettings:
    """When IMU data counts as still."""

    window_s: float = 0.5  # s, length of the moving window
    gyr_std_max: float = 0.015  # rad/s (0.86 °/s), per-axis std of the gyroscope in a window
    acc_std_max: float = 0.2  # m/s², per-axis std of the accelerometer in a window
    min_duration_s: float = 2.0  # s, shortest still segment that is used
    margin_s: float = 0.25  # s, trimmed from both ends of a segment (settling)

    def __post_init__(self) -> None:
        for name in ("window_s", "gyr_std_max", "acc_std_max", "min_duration_s"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ConfigurationError(f"StillnessSettings.{name} must be > 0, got {v!r}")
        if not (np.isfinite(self.margin_s) and self.margin_s >= 0):
            raise ConfigurationError(f"StillnessSettings.margin_s must be >= 0, got {self.margin_s!r}")


@dataclass(frozen=True, slots=True)
class StillSegment:
    """Samples ``[start, stop)`` (indices into the arrays given) that are still."""

    start: int
    stop: int
    duration_s: float

    @property
    def slice(self) -> slice:
        return slice(self.start, self.stop)


def _rows(a: npt.ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise InputError(f"{name} must have shape (N, 3), got {arr.shape}")
    return arr


def _moving_std(x: np.ndarray, win: int) -> np.ndarray:
    """Per-axis standard deviation in a centred window of ``win`` samples (edges: shrunk)."""
    n = x.shape[0]
    c1 = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    c2 = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x * x, axis=0)])
    half = win // 2
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) - half + win, 0, n)
    cnt = (hi - lo)[:, None]
    mean = (c1[hi] - c1[lo]) / cnt
    var = (c2[hi] - c2[lo]) / cnt - mean * mean
    return np.sqrt(np.maximum(var, 0.0))


def still_mask(
    gyr: npt.ArrayLike,
    acc: npt.ArrayLike | None = None,
    *,
    fs: float,
    settings: StillnessSettings | None = None,
) -> np.ndarray:
    """Boolean (N,) mask of still samples. Non-finite rows are never still."""
    cfg = settings or StillnessSettings()
    g = _rows(gyr, "gyr")
    if not (np.isfinite(fs) and fs > 0):
        raise InputError(f"fs must be a positive sample rate, got {fs!r}")
    finite = np.all(np.isfinite(g), axis=1)
    a = None
    if acc is not None:
        a = _rows(acc, "acc")
        if a.shape[0] != g.shape[0]:
            raise InputError(f"acc and gyr lengths differ: {a.shape[0]} vs {g.shape[0]}")
        finite &= np.all(np.isfinite(a), axis=1)
    win = max(3, int(round(cfg.window_s * fs)))
    # centre the data before the cumulative sums (keeps the variance numerically exact)
    gz = np.where(finite[:, None], g - np.nanmedian(g[finite], axis=0) if finite.any() else g, 0.0)
    mask = np.all(_moving_std(gz, win) < cfg.gyr_std_max, axis=1)
    if a is not None:
        az = np.where(finite[:, None], a - np.nanmedian(a[finite], axis=0) if finite.any() else a, 0.0)
        mask &= np.all(_moving_std(az, win) < cfg.acc_std_max, axis=1)
    # a window that contains a gap is not trusted either
    bad = (~finite).astype(np.float64)
    if bad.any():
        near_gap = np.convolve(bad, np.ones(win), mode="same") > 0
        mask &= ~near_gap
    return mask & finite


def find_still_segments(
    gyr: npt.ArrayLike,
    acc: npt.ArrayLike | None = None,
    *,
    fs: float,
    settings: StillnessSettings | None = None,
) -> list[StillSegment]:
    """Still segments at least ``settings.min_duration_s`` long (after trimming the margins)."""
    cfg = settings or StillnessSettings()
    mask = still_mask(gyr, acc, fs=fs, settings=cfg)
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    margin = int(round(cfg.margin_s * fs))
    out = []
    for s0, s1 in zip(starts, stops):
        a, b = s0 + margin, s1 - margin
        if b - a >= cfg.min_duration_s * fs:
            out.append(StillSegment(int(a), int(b), (b - a) / fs))
    return out
