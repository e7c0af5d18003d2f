"""Hinge axes of a two-segment joint from the *relative* angular rate of the segments
(:func:`relative_hinge_axes`), and the relative heading of two 6D orientations: a 1-D
search at the start of the motion, then tracked with the streaming hinge-constraint
estimator. Method: :mod:`motiontrack.kinematics.calibration`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .. import quaternion as mq
from .._kernels import joint as _k
from ..errors import CalibrationError
from ._calib_math import _angle_deg, _fill_nan, _frame, _lowpass, _perp, _rows, _unit
from ._calib_model import HingeAxes, _Cand
from .angles import JointAngleEstimator, JointSettings

_Weight = Callable[[np.ndarray], np.ndarray]


def _relative_rate_terms(gp: np.ndarray, gd: np.ndarray, qp: np.ndarray, qd: np.ndarray):
    """Terms of the relative angular rate in the distal sensor frame as a function of the
    relative heading delta: w_rel(delta) = g2 - R2^T Rz(-delta) R1 g1 = G - c B - s C."""
    w1 = mq.rotate(qp, gp)  # proximal rate in the proximal sensor's earth frame
    zero = np.zeros(w1.shape[0])
    a = mq.rotate(qd, np.stack([zero, zero, w1[:, 2]], axis=1), inverse=True)
    b = mq.rotate(qd, np.stack([w1[:, 0], w1[:, 1], zero], axis=1), inverse=True)
    c = mq.rotate(qd, np.stack([w1[:, 1], -w1[:, 0], zero], axis=1), inverse=True)
    return gd - a, b, c


def _scatter(g: np.ndarray, b: np.ndarray, c: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Scatter matrices sum(w w^T) of w = g - cos(d) b - sin(d) c, one per delta: (K, 3, 3)."""
    gg, gb, gc = g.T @ g, g.T @ b, g.T @ c
    bb, bc, cc = b.T @ b, b.T @ c, c.T @ c
    co = np.cos(delta)[:, None, None]
    si = np.sin(delta)[:, None, None]
    return (
        gg
        - co * (gb + gb.T)
        - si * (gc + gc.T)
        + co * co * bb
        + co * si * (bc + bc.T)
        + si * si * cc
    )


def _off_axis_ratio(m: np.ndarray) -> np.ndarray:
    ev = np.linalg.eigvalsh(m)
    return (ev[..., 0] + ev[..., 1]) / np.maximum(ev[..., 2], 1e-300)


def relative_hinge_axes(
    gyr_proximal: npt.ArrayLike,
    gyr_distal: npt.ArrayLike,
    q_proximal: npt.ArrayLike,
    q_distal: npt.ArrayLike,
    *,
    fs: float,
    shared_heading: bool = False,
    cutoff_hz: float = 2.5,
    min_rate: float = 0.15,
    heading_hint: float | None = None,
    init_window_s: float = 30.0,
) -> tuple[HingeAxes, float, float]:
    """Hinge axes from the *relative* angular rate of the two segments.

    The relative rate ``w_rel = g2 - R2^T R_z(-delta) R1 g1`` (distal sensor frame) of a hinge
    points along the hinge, whatever each segment does on its own (hip rotation, body turns,
    proportional thigh/shank motion that makes eq. (1) of Seel 2012 ambiguous). Its principal
    direction gives the distal axis; the proximal axis is the same direction carried through
    the relative orientation. With 6D orientations the relative heading ``delta`` is unknown:
    it is found by a 1-D search minimising the off-axis part of ``w_rel`` (resolving the
    180° ambiguity of the axis signs whenever the proximal segment rotates about the hinge).

    Parameters
    ----------
    gyr_proximal, gyr_distal : array_like, shape (N, 3)
        Bias-corrected angular rate, rad/s.
    q_proximal, q_distal : array_like, shape (N, 4)
        Fused ``q_earth_sensor``.
    fs : float
        Hz.
    shared_heading : bool
        True for 9D orientations (delta = 0 is used, not searched).
    cutoff_hz : float
        Low-pass applied to the rates first (soft-tissue wobble lives above ~5 Hz).
    min_rate : float
        rad/s; samples where neither segment rotates faster are not used.
    heading_hint : float, optional
        Coarse relative heading (rad, e.g. from magnetometers too disturbed for 9D), used
        only to choose between two near-equal branches of the heading search.
    init_window_s : float
        s; the constant-heading search uses the first this-many seconds of motion; the
        heading is then tracked over the whole window (6D headings drift apart).
    Returns
    -------
    axes : HingeAxes
        Axes with consistent signs (same physical direction).
    delta : float
        Relative heading at the start of the motion, rad.
    delta_contrast : float
        Off-axis ratio of the best other branch (>= 90° away) divided by the optimum's
        (>= 1); below ~3 the relative heading (so the proximal axis direction about the
        vertical) is ambiguous.
    """
    axes, delta, contrast, _ = _relative_hinge_axes_core(
        gyr_proximal,
        gyr_distal,
        q_proximal,
        q_distal,
        fs=fs,
        shared_heading=shared_heading,
        cutoff_hz=cutoff_hz,
        min_rate=min_rate,
        heading_hint=heading_hint,
        init_window_s=init_window_s,
    )
    return axes, delta, contrast


def _relative_hinge_axes_core(
    gyr_proximal: npt.ArrayLike,
    gyr_distal: npt.ArrayLike,
    q_proximal: npt.ArrayLike,
    q_distal: npt.ArrayLike,
    *,
    fs: float,
    shared_heading: bool = False,
    cutoff_hz: float = 2.5,
    min_rate: float = 0.15,
    heading_hint: float | None = None,
    init_window_s: float = 30.0,
    delta_near: float | None = None,
    delta_given: np.ndarray | None = None,
) -> tuple[HingeAxes, float, float, np.ndarray]:
    """:func:`relative_hinge_axes`, plus the relative heading of every sample (rad, (N,)).

    ``delta_near`` (rad) restricts the heading search to the branch within 45° of it;
    ``delta_given`` ((N,), rad) skips the search and the tracking and uses that heading.
    """
    gp = _lowpass(_fill_nan(_rows(gyr_proximal, "gyr_proximal")), fs, cutoff_hz)
    gd = _lowpass(_fill_nan(_rows(gyr_distal, "gyr_distal")), fs, cutoff_hz)
    qp = _rows(q_proximal, "q_proximal", 4)
    qd = _rows(q_distal, "q_distal", 4)
    idx = _moving_samples(gp, gd, qp, qd, min_rate)
    g, b, c = _relative_rate_terms(gp[idx], gd[idx], qp[idx], qd[idx])
    n_all = qp.shape[0]
    fixed = shared_heading or delta_given is not None
    if delta_given is not None:
        delta_t = np.asarray(delta_given, dtype=np.float64)
        contrast = np.inf
        delta = float(delta_t[idx[0]])
    elif shared_heading:
        delta_t = np.zeros(n_all)
        contrast = np.inf
        delta = 0.0
    else:
        delta, contrast = _search_heading(
            g, b, c, idx, fs, init_window_s, delta_near, heading_hint
        )
        delta_t = np.full(n_all, delta)
    info = _proximal_evidence(shared_heading or contrast < 3.0, qp[idx], gp[idx])
    fit = _fit_axes(g, b, c, qp, qd, idx, delta_t, delta, fs, fixed, info)
    std1, std2 = _axis_std(fit, idx.size)
    if not fixed and contrast < 3.0:
        std1 = 90.0
    residual = float(np.sqrt(fit.ev[0] + fit.ev[1]) / math.sqrt(idx.size))
    axes = HingeAxes(
        proximal=fit.j1,
        distal=fit.j2,
        std_deg=np.array([std1, std2]),
        residual=residual,
        n_used=int(idx.size),
    )
    return axes, delta, contrast, fit.delta_t


def _moving_samples(
    gp: np.ndarray, gd: np.ndarray, qp: np.ndarray, qd: np.ndarray, min_rate: float
) -> np.ndarray:
    """Indices of the samples with both orientations and either segment rotating."""
    ok = np.all(np.isfinite(qp), axis=1) & np.all(np.isfinite(qd), axis=1)
    moving = ok & (
        (np.linalg.norm(gp, axis=1) > min_rate) | (np.linalg.norm(gd, axis=1) > min_rate)
    )
    idx = np.flatnonzero(moving)
    if idx.size < 20:
        raise CalibrationError(
            f"motion with no flexion: only {idx.size} samples rotate faster than {min_rate} rad/s"
        )
    return idx


def _search_heading(
    g: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    idx: np.ndarray,
    fs: float,
    init_window_s: float,
    delta_near: float | None,
    heading_hint: float | None,
) -> tuple[float, float]:
    """6D: the constant relative heading (rad) of the start of the motion, and the contrast
    of its branch against the best other one (see :func:`relative_hinge_axes`)."""
    # 1) constant-heading search on the first `init_window_s` of motion (6D headings
    #    drift apart, up to degrees per second with a poorly compensated gyro bias)
    first = idx < idx[0] + init_window_s * fs
    if first.sum() < 0.25 * idx.size:
        first = np.arange(idx.size) < max(int(0.25 * idx.size), 20)
    gi, bi, ci = g[first], b[first], c[first]
    grid = np.radians(np.arange(-180.0, 180.0, 1.0))
    r = _off_axis_ratio(_scatter(gi, bi, ci, grid))
    if delta_near is not None:
        # restrict the search to one branch (chosen by other evidence)
        near = np.abs(
            np.remainder(grid - delta_near + math.pi, 2.0 * math.pi) - math.pi
        ) <= math.radians(45.0)
        r = np.where(near, r, np.inf)
    k = int(np.argmin(r))
    # the best local minimum at least 90° away: a second branch (the 180° ambiguity of a
    # proximal segment that only rotates about axes parallel to the hinge)
    far = np.abs(((np.arange(360) - k + 180) % 360) - 180) >= 90
    local = (r <= np.roll(r, 1)) & (r <= np.roll(r, -1)) & far & np.isfinite(r)
    k2 = int(np.flatnonzero(local)[np.argmin(r[local])]) if local.any() else (k + 180) % 360
    contrast = float(r[k2] / max(r[k], 1e-300)) if np.isfinite(r[k2]) else np.inf
    if heading_hint is not None and contrast < 3.0:
        # ambiguous: take the branch nearer the (coarse) magnetometer heading
        def dist(i: int) -> float:
            return abs(math.remainder(float(grid[i]) - heading_hint, 2.0 * math.pi))

        if dist(k2) < dist(k):
            k = k2
    fine = grid[k] + np.radians(np.arange(-1.0, 1.0001, 0.05))
    rf = _off_axis_ratio(_scatter(gi, bi, ci, fine))
    delta = float(fine[int(np.argmin(rf))])
    return delta, contrast


def _proximal_evidence(plain: bool, qp: np.ndarray, gp: np.ndarray) -> _Weight:
    """Weight of each moving sample's evidence for the proximal axis, a function of the
    relative rate ``w`` (moving samples, distal frame); ``qp``, ``gp``: moving samples."""
    if plain:

        def info(w: np.ndarray) -> np.ndarray:
            return np.ones(w.shape[0])

        return info

    # 6D, heading determined by the motion: the relative heading, and so the proximal
    # axis carried through it, is only observed where the proximal segment rotates about
    # a horizontal axis (a thigh that stays still through seated extensions after sitting
    # down leaves the tracked heading free to follow any proximal axis): weight each
    # sample's evidence for the proximal axis by that share. (An ambiguous heading, a
    # proximal segment that never rotated, keeps the plain rate weighting.)
    h1 = np.linalg.norm(mq.rotate(qp, gp)[:, :2], axis=1)

    def info(w: np.ndarray) -> np.ndarray:
        return (h1 / (h1 + np.linalg.norm(w, axis=1) + 1e-9)) ** 2

    return info


@dataclass(frozen=True)
class _AxisFit:
    """The hinge axes fitted to the relative rate, with what their uncertainty needs."""

    j1: np.ndarray  # proximal axis, proximal sensor frame
    j2: np.ndarray  # distal axis, distal sensor frame
    ev: np.ndarray  # eigenvalues of the relative rate's scatter matrix, ascending
    w_rel: np.ndarray  # relative rate of the moving samples, distal frame
    j1s: np.ndarray  # the distal axis carried into the proximal frame, per moving sample
    wt: np.ndarray  # rate weight of each moving sample
    delta_t: np.ndarray  # relative heading of every sample, rad


def _fit_axes(
    g: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    qp: np.ndarray,
    qd: np.ndarray,
    idx: np.ndarray,
    delta_t: np.ndarray,
    delta: float,
    fs: float,
    fixed: bool,
    info: _Weight,
) -> _AxisFit:
    """Principal axes of the relative rate; in 6D alternated with tracking the heading."""
    j1 = j2 = np.zeros(3)
    w_rel = g
    for it in range(1 if fixed else 4):
        if it > 0:
            # 2) follow the drifting relative heading with the streaming hinge-constraint
            #    estimator (same kernel as the joint angles), then re-estimate the axes
            delta_t = _track_heading(qp, qd, j1, j2, fs, delta)
        dt = delta_t[idx]
        w_rel = g - np.cos(dt)[:, None] * b - np.sin(dt)[:, None] * c
        ev, vec = np.linalg.eigh(w_rel.T @ w_rel)
        j2 = vec[:, 2] if it == 0 else vec[:, 2] * np.sign(vec[:, 2] @ j2)
        # proximal axis: the same direction through the relative orientation, rate-weighted
        qz = np.stack(
            [np.cos(0.5 * dt), np.zeros_like(dt), np.zeros_like(dt), np.sin(0.5 * dt)], axis=1
        )
        q12 = mq.multiply(
            mq.conjugate(qp[idx]), mq.multiply(qz, qd[idx])
        )  # distal -> proximal sensor
        j1s = mq.rotate(q12, j2)
        wt = np.abs(w_rel @ j2)
        j1 = _unit((j1s * (wt * info(w_rel))[:, None]).sum(axis=0))
    if fixed:
        # the functional axis of the proximal segment: the principal direction of the same
        # relative rate expressed in the proximal frame (it differs from the carried distal
        # axis by the coupled ab/adduction and axial rotation of a real knee)
        w_rel_p = mq.rotate(q12, w_rel) * np.sqrt(info(w_rel))[:, None]
        v1 = np.linalg.eigh(w_rel_p.T @ w_rel_p)[1][:, 2]
        j1 = v1 * np.sign(v1 @ j1)
    return _AxisFit(j1=j1, j2=j2, ev=ev, w_rel=w_rel, j1s=j1s, wt=wt, delta_t=delta_t)


def _axis_std(fit: _AxisFit, n_used: int) -> tuple[float, float]:
    """1-sigma uncertainty (deg) of the proximal and the distal axis."""
    w_rel, j1, j2, j1s, wt = fit.w_rel, fit.j1, fit.j2, fit.j1s, fit.wt
    # uncertainty of j2: spread of the estimate over 5 consecutive chunks
    chunks = np.array_split(np.arange(n_used), 5)
    ests = []
    for ch in chunks:
        if ch.size < 10:
            continue
        _, v = np.linalg.eigh(w_rel[ch].T @ w_rel[ch])
        ests.append(v[:, 2] * np.sign(v[:, 2] @ j2))
    spread = [_angle_deg(e_, j2) for e_ in ests]
    std2 = float(np.sqrt(np.mean(np.square(spread)) / max(len(spread) - 1, 1))) if spread else 180.0
    disp1 = np.degrees(
        np.sqrt(np.average(np.sum(np.cross(j1s, j1) ** 2, axis=1), weights=wt + 1e-12))
    )
    std1 = float(max(std2, disp1 / math.sqrt(max(len(spread) - 1, 1))))
    return std1, std2


def _track_heading(
    qp: np.ndarray, qd: np.ndarray, j1: np.ndarray, j2: np.ndarray, fs: float, delta0: float
) -> np.ndarray:
    """Relative heading (rad, per sample) that keeps the two hinge axes aligned (6D kernel)."""
    cp = _frame(j1, _perp(j1), np.array([0.0, 1.0, 0.0]))
    cd = _frame(j2, _perp(j2), np.array([0.0, 1.0, 0.0]))
    est = JointAngleEstimator(
        _Cand(cp, cd), joint="hinge", fs=fs, settings=JointSettings(mode="6d", heading_tau=2.0)
    )
    st = est.state
    st[_k.S_PX], st[_k.S_PY], st[_k.S_INIT] = math.cos(delta0), math.sin(delta0), 1.0
    est.state = st
    res = est.update_batch(qp, qd)
    d = np.radians(res.heading_offset_deg)
    # samples where the hinge was vertical keep the held estimate; NaN rows keep it too
    return np.where(np.isfinite(d), d, delta0)


def refine_axes_norm_constraint(
    gyr_proximal: np.ndarray,
    gyr_distal: np.ndarray,
    j1: np.ndarray,
    j2: np.ndarray,
    *,
    fs: float,
    cutoff_hz: float = 2.5,
    min_rate: float = 0.15,
    max_samples: int = 6000,
    iterations: int = 15,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Hinge axes refined on the gyroscopes alone: Gauss-Newton on the norm constraint
    ``|(g1 - b1) x j1| - |(g2 - b2) x j2| = 0`` (Seel, Raisch & Schauer 2014, Sensors
    14(4):6891, eq. 1), with the two gyroscope biases ``b1``, ``b2`` as unknowns too, started
    from ``j1``, ``j2`` (which fix the signs and the branch) and zero biases.

    The relative-rate fit carries the proximal axis through the fused relative orientation, so
    it inherits the orientations' errors (1-3° in brisk 6D motion); the norm constraint needs
    no orientation and is well conditioned when both segments rotate in 3D (a freely moved
    mechanism). Returns the axes, the biases (rad/s; components along the axes are not
    observable and stay near 0) and the RMS residual, rad/s.
    """
    gp = _lowpass(_fill_nan(gyr_proximal), fs, cutoff_hz)
    gd = _lowpass(_fill_nan(gyr_distal), fs, cutoff_hz)
    moving = (np.linalg.norm(gp, axis=1) > min_rate) | (np.linalg.norm(gd, axis=1) > min_rate)
    idx = np.flatnonzero(moving)
    if idx.size > max_samples:
        idx = idx[np.linspace(0, idx.size - 1, max_samples).astype(int)]
    a, b = _unit(np.asarray(j1, dtype=np.float64)), _unit(np.asarray(j2, dtype=np.float64))
    b1, b2 = np.zeros(3), np.zeros(3)
    res = np.zeros(0)
    for _ in range(iterations):
        g1, g2 = gp[idx] - b1, gd[idx] - b2
        l1 = np.maximum(np.linalg.norm(np.cross(g1, a), axis=1), 1e-9)
        l2 = np.maximum(np.linalg.norm(np.cross(g2, b), axis=1), 1e-9)
        res = l1 - l2
        # d|g x j|/dj = (|g|^2 j - (g.j) g) / |g x j|; d|g x j|/dg = (g - (g.j) j) / |g x j|
        d1 = (np.sum(g1 * g1, axis=1)[:, None] * a - (g1 @ a)[:, None] * g1) / l1[:, None]
        d2 = (np.sum(g2 * g2, axis=1)[:, None] * b - (g2 @ b)[:, None] * g2) / l2[:, None]
        e1 = (g1 - (g1 @ a)[:, None] * a) / l1[:, None]
        e2 = (g2 - (g2 @ b)[:, None] * b) / l2[:, None]
        t1, u1 = _perp(a), _perp(b)
        t2, u2 = np.cross(a, t1), np.cross(b, u1)
        jac = np.column_stack([d1 @ t1, d1 @ t2, -(d2 @ u1), -(d2 @ u2), -e1, e2])
        step, *_ = np.linalg.lstsq(jac, -res, rcond=None)
        a = _unit(a + step[0] * t1 + step[1] * t2)
        b = _unit(b + step[2] * u1 + step[3] * u2)
        b1, b2 = b1 + step[4:7], b2 + step[7:10]
        if np.linalg.norm(step) < 1e-8:
            break
    return a, b, b1, b2, float(np.sqrt(np.mean(res**2))) if res.size else math.nan
