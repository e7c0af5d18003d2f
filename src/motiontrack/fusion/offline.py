"""Offline (smoothing) orientation for recordings: method ``"vqf-offline"`` (batch only).

When latency does not matter, every sample can use the past *and* the future:

1. the real-time :class:`~motiontrack.fusion.VQF` runs forward and on the time-reversed
   recording (gyroscope negated); the two gyroscope-bias estimates are fused per sample by
   their information (inverse covariance), the two-filter smoother;
2. the gyroscope, minus that bias, is integrated from the identity (almost-inertial frame I);
3. the specific force, rotated into I, is smoothed with a zero-phase low-pass: in I gravity
   is constant up to slow drift while linear acceleration averages out, and zero phase
   removes the lag a causal filter has; the tilt follows from it sample by sample;
4. the magnetometer heading offset of that 6D frame is smoothed by a first-order filter run
   forward and backward (weights 0 where either pass saw a magnetic disturbance) and the
   two directions averaged, which cancels their opposite lags.

Outputs: ``quaternion`` (9D with a magnetometer, else 6D) and extras ``quaternion_6d``,
``gyr_bias``, ``rest``, ``mag_disturbed``, ``delta``, as for the real-time filter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .._kernels import fusion_common as _fc
from .._kernels import vqf as _k
from .._kernels import vqf_layout as _kl
from .._kernels import vqf_offline as _ko
from ..quaternion import multiply
from ._base import _FLAG_NAMES, FusionDiagnostics, FusionResult, make_settings
from .vqf import VQFSettings, _py, vqf_coefficients, vqf_initial_state


@dataclass(frozen=True, kw_only=True, slots=True)
class OfflineVQFSettings(VQFSettings):
    """Settings of the offline mode: every :class:`VQFSettings` field (used by the two
    real-time passes) plus the smoothing time constants.

    Attributes
    ----------
    smoothing_tau_acc : float
        s; time constant of the zero-phase low-pass of the specific force in the
        almost-inertial frame (tilt).
    smoothing_tau_mag : float
        s; time constant of the forward and backward heading-offset filters. Longer than
        the real-time ``tau_mag`` (9 s): averaging the two directions cancels their lags,
        so more smoothing costs less; 15 s was the best round value on the shared BROAD
        trials (9 s: 1.15°, 15 s: 1.04°, 30 s: 1.06° mean 9D total RMSE).
    mag_rest_reference : bool
        As in :class:`VQFSettings`, but off by default here: the backward pass already
        brings a field reference to the start of the recording, and a sample counts as
        disturbed only when both passes flag it (on the shared BROAD trials: 1.035° with,
        1.050° without this default).
    """

    smoothing_tau_acc: float = 3.0
    smoothing_tau_mag: float = 15.0
    mag_rest_reference: bool = False

    def __post_init__(self) -> None:
        VQFSettings.__post_init__(self)
        self._check_positive("smoothing_tau_acc", "smoothing_tau_mag")


def _realtime_settings(s: OfflineVQFSettings) -> VQFSettings:
    names = {f.name for f in fields(VQFSettings)}
    return VQFSettings(**{n: getattr(s, n) for n in names})


def _pass(s: VQFSettings, dt_nominal: float, acc, gyr, mag, dt):
    n = acc.shape[0]
    state = vqf_initial_state(s)
    coeffs = vqf_coefficients(s, dt_nominal)
    q = np.empty((n, 4))
    fl = np.empty(n, dtype=np.uint16)
    counts = np.zeros(_fc.N_FLAGS, dtype=np.int64)
    ex = np.empty((n, _kl.EXTRA_SIZE_COV))  # the long layout: bias covariance per sample too
    _k.run(state, coeffs, acc, gyr, mag, dt, q, fl, counts, ex)
    return fl, counts, ex, np.ascontiguousarray(ex[:, _kl.E_P : _kl.E_P + 9])


def _fill_gaps(x: np.ndarray) -> None:
    """Linear interpolation over non-finite rows, in place (edges: nearest finite row)."""
    ok = np.all(np.isfinite(x), axis=1)
    if ok.all() or not ok.any():
        if not ok.any():
            x[:] = [0.0, 0.0, 1.0]
        return
    idx = np.flatnonzero(ok)
    for j in range(x.shape[1]):
        x[~ok, j] = np.interp(np.flatnonzero(~ok), idx, x[idx, j])


def vqf_offline(
    acc: np.ndarray,
    gyr: np.ndarray,
    mag: np.ndarray | None,
    dt: np.ndarray,
    fs: float,
    overrides: dict[str, Any],
) -> FusionResult:
    """Batch entry registered as ``"vqf-offline"`` (see the module docstring).

    Parameters
    ----------
    acc, gyr : ndarray, shape (N, 3)
        float64, C-contiguous (``fuse`` checks them): m/s², rad/s, sensor frame.
    mag : ndarray, shape (N, 3), or None
        µT, sensor frame.
    dt : ndarray, shape (N,)
        Sample periods, s (non-positive or non-finite: sample skipped).
    fs : float
        Nominal rate, Hz.
    overrides : dict
        :class:`OfflineVQFSettings` fields by name.
    """
    s = make_settings(OfflineVQFSettings, None, overrides)
    rt = _realtime_settings(s)
    n = acc.shape[0]
    m = mag if mag is not None else np.empty((0, 3))
    dt0 = 1.0 / fs
    if n == 0:
        return FusionResult(
            np.empty((0, 4)),
            np.empty(0, np.uint16),
            FusionDiagnostics(0, dict.fromkeys(_FLAG_NAMES, 0)),
        )

    # 1. forward and backward real-time passes; fuse the bias estimates
    fl_f, counts, ex_f, p_f = _pass(rt, dt0, acc, gyr, m, dt)
    rev = slice(None, None, -1)
    # reversed time: the period before reversed sample k is the one after original sample
    dt_b = np.empty(n)
    dt_b[1:] = dt[1:][rev]
    dt_b[0] = dt0
    acc_b = np.ascontiguousarray(acc[rev])
    gyr_b = np.ascontiguousarray(-gyr[rev])
    m_b = np.ascontiguousarray(m[rev]) if m.shape[0] else m
    fl_b, _, ex_b, p_b = _pass(rt, dt0, acc_b, gyr_b, m_b, dt_b)
    ex_b, p_b, fl_b = ex_b[rev], p_b[rev], fl_b[rev]
    bias = np.empty((n, 3))
    _ko.fuse_bias(
        np.ascontiguousarray(ex_f[:, _kl.E_BIAS : _kl.E_BIAS + 3]), p_f,
        # the backward pass sees -gyr, so it estimates -bias
        np.ascontiguousarray(-ex_b[:, _kl.E_BIAS : _kl.E_BIAS + 3]), np.ascontiguousarray(p_b), bias,
    )  # fmt: skip

    # 2. strapdown integration with the smoothed bias
    use = (fl_f & (_fc.GYR_GAP | _fc.DT_INVALID)) == 0
    dt_use = np.where(use, dt, 0.0)
    q_gyr = np.empty((n, 4))
    _ko.strapdown(gyr, bias, dt_use, use, q_gyr)

    # 3. zero-phase low-pass of the specific force in I, then the tilt chain
    acc_i = np.empty((n, 3))
    a = acc.copy()
    bad = ~np.all(np.isfinite(a), axis=1) | (np.abs(a).sum(axis=1) == 0.0)
    a[bad] = np.nan
    _ko.rotate_rows(q_gyr, a, acc_i)
    _fill_gaps(acc_i)
    b0, b1, b2, a1, a2 = _py(_kl.butter2)(s.smoothing_tau_acc, dt0)
    _ko.butter_filtfilt(acc_i, b0, b1, b2, a1, a2)
    q6 = np.empty((n, 4))
    _ko.tilt_chain(q_gyr, acc_i, q6)

    # 4. heading offset from the magnetometer, smoothed forward and backward
    delta = np.zeros(n)
    dist = np.zeros(n, dtype=bool)
    if m.shape[0]:
        m_e = np.empty((n, 3))
        _ko.rotate_rows(q6, m, m_e)
        meas = np.arctan2(m_e[:, 0], m_e[:, 1])
        dist = (fl_f & _fc.MAG_DISTURBED).astype(bool) & (fl_b & _fc.MAG_DISTURBED).astype(bool)
        if s.mag_disturbance_rejection:
            weight = np.where(dist, 0.0, 1.0)
        else:
            weight = np.ones(n)
        usable = np.isfinite(meas) & ((fl_f & _fc.MAG_GAP) == 0)
        if not np.any(weight[usable] > 0.0):
            # no sample was ever trusted (the reference is accepted only after enough rotation
            # or rest, e.g. a thigh that barely moves in a seated exercise): use the field as
            # measured, as the real-time filter does from its first sample, rather than
            # dropping the magnetometer altogether
            weight = np.ones(n)
        weight[~usable] = 0.0
        k = 1.0 - math.exp(-dt0 / s.smoothing_tau_mag)
        d_f = np.empty(n)
        d_b = np.empty(n)
        _ko.heading_filter(meas, weight, k, False, d_f)
        _ko.heading_filter(meas, weight, k, True, d_b)
        delta = np.arctan2(np.sin(d_f) + np.sin(d_b), np.cos(d_f) + np.cos(d_b))
        h = 0.5 * delta
        qz = np.stack([np.cos(h), np.zeros(n), np.zeros(n), np.sin(h)], axis=1)
        q = multiply(qz, q6)
    else:
        q = q6

    rest = ((fl_f & _fc.REST) != 0) | ((fl_b & _fc.REST) != 0)
    flags = (fl_f & ~np.uint16(_fc.REST | _fc.MAG_DISTURBED)) | np.where(rest, _fc.REST, 0).astype(
        np.uint16
    )
    if m.shape[0]:
        flags |= np.where(dist, _fc.MAG_DISTURBED, 0).astype(np.uint16)
    counts = np.array([int(np.count_nonzero(flags & (1 << b))) for b in range(_fc.N_FLAGS)])
    extras = {
        "quaternion_6d": q6,
        "gyr_bias": bias,
        "rest": rest.astype(np.float64)[:, None],
        "mag_disturbed": dist.astype(np.float64)[:, None],
        "delta": delta[:, None],
    }
    diag = FusionDiagnostics(n, dict(zip(_FLAG_NAMES, counts.tolist(), strict=True)))
    return FusionResult(np.ascontiguousarray(q), flags.astype(np.uint16), diag, extras)
