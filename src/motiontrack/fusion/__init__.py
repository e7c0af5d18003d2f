"""Orientation fusion: numba-compiled filters behind one API.

Batch: :func:`fuse`. Streaming: one class per method (``Madgwick``, ...), each with
``update`` (one sample or a block), ``quaternion``, ``state`` (get/set), ``reset``,
``flags`` and ``diagnostics``. Conventions: :mod:`motiontrack.conventions`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

from .. import checks
from .._kernels import _jit
from ..errors import ConfigurationError, InputError
from ._base import (
    FilterSettings,
    FloatArray,
    FusionDiagnostics,
    FusionFlag,
    FusionResult,
    OrientationFilter,
    _as_samples,
    as_periods,
    check_rate,
)
from .complementary import Complementary, ComplementarySettings
from .ekf import EKF, EKFSettings
from .madgwick import Madgwick, MadgwickSettings
from .mahony import Mahony, MahonySettings
from .offline import OfflineVQFSettings, vqf_offline
from .vqf import VQF, VQFSettings

#: The default method of :func:`fuse`: motiontrack's VQF-class filter.
DEFAULT_METHOD = "vqf"

#: Streaming filter classes by method name.
FILTERS: dict[str, type[OrientationFilter]] = {}
#: Batch-only methods (offline smoothing) by name: ``fn(acc, gyr, mag, dt, fs, overrides)``.
BATCH_METHODS: dict[str, Callable[..., FusionResult]] = {}


def register_filter(cls: type[OrientationFilter]) -> type[OrientationFilter]:
    FILTERS[cls.method] = cls
    return cls


def register_batch_method(name: str, fn: Callable[..., FusionResult]) -> None:
    BATCH_METHODS[name] = fn


register_filter(Madgwick)
register_filter(Mahony)
register_filter(Complementary)
register_filter(EKF)
register_filter(VQF)
register_batch_method("vqf-offline", vqf_offline)


def methods() -> list[str]:
    """Names accepted by :func:`fuse`'s ``method``."""
    return sorted({*FILTERS, *BATCH_METHODS})


def sample_periods(n: int, fs: float | None, timestamps: npt.ArrayLike | None) -> tuple[np.ndarray, float]:
    """Per-sample periods ``dt`` (N,) and the nominal rate, from ``fs`` and/or timestamps (s).

    The first sample's period is the nominal one. Non-increasing timestamps give a
    non-positive dt, which the kernels flag ``DT_INVALID`` and skip (a clock jump back).
    """
    if timestamps is None:
        if fs is None:
            raise InputError("give the sample rate fs (Hz) or per-sample timestamps (s)")
        rate = check_rate(fs)
        return np.full(n, 1.0 / rate), rate
    t = as_periods(timestamps, "timestamps")
    if t.shape != (n,):
        raise InputError(f"timestamps must have shape ({n},), got {t.shape}")
    d = np.diff(t)
    good = d[np.isfinite(d) & (d > 0)]
    if fs is not None:
        rate = check_rate(fs)
    elif good.size:
        rate = check_rate(1.0 / float(np.median(good)))
    else:
        raise InputError("timestamps give no positive sample period; pass fs as well")
    dt = np.empty(n)
    dt[0] = 1.0 / rate
    dt[1:] = d
    return dt, rate


@overload
def fuse(
    acc: npt.ArrayLike,
    gyr: npt.ArrayLike,
    mag: npt.ArrayLike | None = ...,
    *,
    fs: float | None = ...,
    timestamps: npt.ArrayLike | None = ...,
    method: str = ...,
    full_output: Literal[False] = ...,
    check_input: bool = ...,
    **settings: Any,
) -> FloatArray: ...


@overload
def fuse(
    acc: npt.ArrayLike,
    gyr: npt.ArrayLike,
    mag: npt.ArrayLike | None = ...,
    *,
    fs: float | None = ...,
    timestamps: npt.ArrayLike | None = ...,
    method: str = ...,
    full_output: Literal[True],
    check_input: bool = ...,
    **settings: Any,
) -> FusionResult: ...


@overload
def fuse(
    acc: npt.ArrayLike,
    gyr: npt.ArrayLike,
    mag: npt.ArrayLike | None = ...,
    *,
    fs: float | None = ...,
    timestamps: npt.ArrayLike | None = ...,
    method: str = ...,
    full_output: bool,
    check_input: bool = ...,
    **settings: Any,
) -> FloatArray | FusionResult: ...


def fuse(
    acc: npt.ArrayLike,
    gyr: npt.ArrayLike,
    mag: npt.ArrayLike | None = None,
    *,
    fs: float | None = None,
    timestamps: npt.ArrayLike | None = None,
    method: str = DEFAULT_METHOD,
    full_output: bool = False,
    check_input: bool = True,
    **settings: Any,
) -> FloatArray | FusionResult:
    """Orientation of a recording, batch.

    Parameters
    ----------
    acc, gyr : array_like, shape (N, 3)
        Specific force (m/s²) and angular rate (rad/s), sensor frame.
    mag : array_like, shape (N, 3), optional
        Magnetic field, µT, sensor frame; None for 6D.
    fs : float, optional
        Sample rate, Hz. Required unless ``timestamps`` are given.
    timestamps : array_like, shape (N,), optional
        Sample times, s, for variable sample periods (gaps, jitter).
    method : str
        One of :func:`methods` (default :data:`DEFAULT_METHOD`).
    full_output : bool
        Return a :class:`FusionResult` (flags, diagnostics, method extras) instead of
        only the quaternions.
    check_input : bool
        Run :func:`motiontrack.checks.check_imu` first: g/mg accelerometers, deg/s
        gyroscopes, nT/gauss magnetometers and ms/µs timestamps raise
        :class:`~motiontrack.errors.InputError` (the message the file readers and
        ``motiontrack analyze`` give for the same arrays). False skips it (data far from
        a body-worn sensor's, e.g. a centrifuge). Non-increasing and NaN timestamps are
        not an error here: each is a skipped sample, flagged ``DT_INVALID``.
    **settings
        Fields of the method's settings dataclass; unknown names raise
        :class:`~motiontrack.errors.ConfigurationError`.

    Returns
    -------
    ndarray, shape (N, 4), or FusionResult
        q_earth_sensor (w, x, y, z), ENU, float64; a :class:`FusionResult` when
        ``full_output=True`` (type checkers see which from the argument).

    Raises
    ------
    InputError
        Wrong shapes or dtypes, no usable rate, data in the wrong unit (``check_input``).

    .. versionchanged:: 0.1
       Checks the units (``check_input``).
    """
    a = _as_samples(acc, "acc")
    g = _as_samples(gyr, "gyr")
    if np.ndim(acc) != 2 or np.ndim(gyr) != 2:
        raise InputError("fuse takes (N, 3) arrays; for one sample use a streaming filter's update")
    n = a.shape[0]
    if g.shape[0] != n:
        raise InputError(f"acc has {n} samples but gyr has {g.shape[0]}")
    m = None
    if mag is not None:
        m = _as_samples(mag, "mag")
        if m.shape[0] != n or np.ndim(mag) != 2:
            raise InputError(f"mag must have shape ({n}, 3), got {np.shape(mag)}")
    if check_input and timestamps is not None:  # before the rate they imply is judged
        t = as_periods(timestamps, "timestamps")
        if t.shape == (n,):
            checks.check_timestamps(t, None if fs is None else check_rate(fs))
    dt, rate = sample_periods(n, fs, timestamps)
    if check_input:
        checks.check_imu(a, g, m)
    if method in BATCH_METHODS:
        result = BATCH_METHODS[method](a, g, m, dt, rate, settings)
    elif method in FILTERS:
        f = FILTERS[method](fs=rate, **settings)
        # a few samples in a process without numba loaded run as Python (_jit.small_call)
        with _jit.small_call(n):
            q = f.update(a, g, m, dt=dt) if n else np.empty((0, 4))
            result = FusionResult(q, f.flags if n else np.empty(0, np.uint16), f.diagnostics,
                                  f.extras if n else {})
    else:
        raise ConfigurationError(f"unknown fusion method {method!r}; choose one of {', '.join(methods())}")
    return result if full_output else result.quaternion


def warmup(methods: Iterable[str] | None = None, *, streaming: bool = True, batch: bool = True) -> float:
    """Compile (or load from the cache) fusion kernels; returns the seconds it took.

    ``methods``: the methods to compile (default: every one). ``streaming``: the one-sample
    and block entries a live session calls as samples arrive; ``batch``: the general entry
    (blocks of more than 64 rows, :func:`fuse`) and the batch-only methods.
    """
    t0 = time.perf_counter()
    with _jit.compiled():  # (not the interpreted kernels of a first run: compile them)
        _warmup(methods, streaming, batch)
    return time.perf_counter() - t0


def _warmup(methods: Iterable[str] | None, streaming: bool, batch: bool) -> None:
    chosen = set(methods) if methods is not None else set(FILTERS) | set(BATCH_METHODS)
    rng = np.random.default_rng(0)
    acc = rng.normal([0, 0, 9.81], 0.1, (2, 3))
    gyr = rng.normal(0, 0.1, (2, 3))
    mag = rng.normal([0, 20, -40], 1.0, (2, 3))
    n = 65  # more rows than the fast block entries take: the batch kernel (general path)
    big = [np.repeat(x, (n + 1) // 2, axis=0)[:n] for x in (acc, gyr, mag)]
    for name, cls in FILTERS.items():
        if name not in chosen:
            continue
        f = cls(fs=100.0)
        if batch:
            f.update(*big, dt=np.full(n, 0.01))
        if not streaming:
            continue
        for m in (mag, None):  # the fast block and one-sample entries, 9D and 6D, and their extras
            f.update(acc, gyr, m)
            f.extras  # noqa: B018
            f.update(acc[0], gyr[0], None if m is None else m[0])
            f.extras  # noqa: B018
    for name, fn in BATCH_METHODS.items():
        if batch and name in chosen:
            fn(acc, gyr, mag, np.full(2, 0.01), 100.0, {})


__all__ = [
    "BATCH_METHODS",
    "DEFAULT_METHOD",
    "EKF",
    "FILTERS",
    "VQF",
    "Complementary",
    "ComplementarySettings",
    "EKFSettings",
    "FilterSettings",
    "FusionDiagnostics",
    "FusionFlag",
    "FusionResult",
    "Madgwick",
    "MadgwickSettings",
    "Mahony",
    "MahonySettings",
    "OfflineVQFSettings",
    "OrientationFilter",
    "VQFSettings",
    "fuse",
    "methods",
    "register_batch_method",
    "register_filter",
    "sample_periods",
    "warmup",
]

del math
