"""A re-strapped sensor: its rotation relative to the template, estimated from the session.

A sensor strapped again (another orientation on the same segment) sees every vector of the
template rotated by one constant rotation ``R``: its "up" and its angular rate alike. The
sensor-frame features (:attr:`TemplateSettings.frame` ``"sensor"``) then no longer match,
while the mounting-invariant ones (``"invariant"``) throw away the direction of the motion.
With ``frame="aligned"`` the session's rotation to the template's sensor frame is estimated
per sensor from the start of the session, and the full sensor-frame features are used.

The estimate (:func:`estimate_mounting`), per sensor, on the feature grid:

1. The **window**: the session's first rest (every sensor turning slower than
   :data:`STILL_RAD_S` with its "up" within :data:`REST_DEG` of where the rest began, for
   :data:`REST_S` at least; its last :data:`MAX_REST_S` at most), then
   :data:`WINDOW_EXAMPLES` times the longest example: it holds at least one whole rep.
   Without such a rest at the start, the start is taken as the rest. Live, the window is
   first tried as soon as the first rep is over (every sensor still and back within
   :data:`RETURN_FRAC` of its largest tilt, at least :data:`MIN_TILT_DEG`, from the starting
   pose, for :data:`REST_S`): that fit is kept if its cost is at most
   :data:`EARLY_MAX_COST`, so the first rep is reported as promptly as the others.
2. **Gravity**: the rotation taking "up" at the start of the window (the rest) to "up" at
   the start of the examples (the template's rest pose), leaving the heading free.
3. **Heading**: every :data:`N_HEADINGS`-th of a turn about the vertical is tried; the best
   few (local minima of the mean subsequence-DTW cost of the window against the examples,
   :func:`motiontrack._kernels.template_frame.subsequence_dtw`) are refined.
4. **Wahba fit**: the pairs of feature vectors ("up" and angular rate) that DTW matched are
   fitted by the rotation that best maps the session's onto the template's (Kabsch 1976,
   Acta Cryst A32:922, the SVD solution of Wahba's problem), with the rest pair weighted in
   (:data:`REST_WEIGHT`: the rest pose tells the way out from the way back of a rep);
   matched again, fitted again (:data:`ITERATIONS`). The fit with the lowest cost wins.

This is functional sensor-to-segment calibration (gravity plus the movement) done against
the template instead of against a joint model. Templates of several exercises (the labels'
part before ``/``) are each fitted on the same window: each exercise gets its own rotation
(:attr:`Aligner.mountings`; a free rotation fits another exercise's movement better than the
session's one rotation fits the right exercise's, so one rotation cannot serve them all), and
the counter matches each exercise's templates on the session rotated by that exercise's fit.
The exercise that fits best is :attr:`Aligner.mounting`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._kernels import template_frame as _kf
from .._kernels import template_match as _k
from ._template_typing import exercise_of

__all__ = ["Aligner", "Mounting", "alignment_window", "estimate_mounting", "estimate_mountings",
           "exercise_groups"]

STILL_RAD_S = 0.2  #: rad/s; every sensor slower than this is at rest (gyroscope only: an
#                     accelerometer may be off)
REST_S = 0.25  #: s; a rest this long starts the window
WINDOW_EXAMPLES = 2.5  #: the window lasts this many times the longest example
N_HEADINGS = 24  #: headings tried about the vertical
N_STARTS = 3  #: best headings refined
ITERATIONS = 3  #: match-and-fit rounds per heading
REST_DEG = 3.0  #: deg; ... and every sensor's "up" within this of its direction at the
#                  rest's start (a slow movement turns below STILL_RAD_S but moves)
EARLY_MAX_COST = 0.5  #: a fit on the first rep alone is kept up to this cost (a share of
#                        the examples' variance; good fits on the PT data: 0.2-0.45)
MIN_TILT_DEG = 10.0  #: deg; the first rep tilts a sensor at least this much ...
RETURN_FRAC = 0.3  #: ... and is over once every sensor is back within this share of it
MAX_REST_S = 3.0  #: s; at most this much of the rest is in the window
REST_WEIGHT = 0.2  #: weight of the rest pose pair, as a share of the matched pairs
KEEP_RATIO = 7.0  #: templates of several exercises: the sensors are taken as they are (no
#                   re-strap) when that fits at most this many times worse than the re-strap
#                   fit (PT data, 24 sessions each: 1.1-4.9 as strapped, 11-210 re-strapped)


@dataclass(frozen=True, slots=True)
class Mounting:
    """The estimated re-strap of each sensor.

    ``rotations[i]`` (3, 3) takes sensor ``i``'s session frame to its template frame
    (``v_template = R @ v_session``); ``window`` the feature samples (start, stop) it was
    estimated on; ``exercise`` the template group fitted best; ``cost`` its DTW cost as a
    share of the examples' variance."""

    rotations: np.ndarray
    window: tuple[int, int]
    exercise: str
    cost: float
    identity_cost: float = float("nan")  #: the same cost without rotating the sensors

    def angles_deg(self) -> np.ndarray:
        """Rotation angle of each sensor's estimate, degrees."""
        tr = np.trace(self.rotations, axis1=1, axis2=2)
        return np.degrees(np.arccos(np.clip((tr - 1.0) / 2.0, -1.0, 1.0)))


def _speed(F: np.ndarray, n_imu: int, tau_s: float) -> np.ndarray:
    return np.max([np.linalg.norm(F[:, 6 * u + 3:6 * u + 6], axis=1) for u in range(n_imu)],
                  axis=0) / tau_s


def alignment_window(F: np.ndarray, n_imu: int, fr: float, tau_s: float, longest: int,
                     final: bool = False, early: bool = False) -> tuple[int, int] | None:
    """(start, stop) feature samples of the estimation window in sensor-frame features ``F``
    (K, 6 * n_imu), or None while it is not complete (``final``: the stream ended, use what
    there is). ``early``: the window that ends with the first rep instead (the sensors back
    near the starting pose and still), None until seen. Causal: the same samples give the
    same window, in a stream or in one call."""
    hold = max(1, round(REST_S * fr))
    span = int(WINDOW_EXAMPLES * longest)
    if F.shape[0] == 0:
        return None
    still = np.nan_to_num(_speed(F, n_imu, tau_s), nan=np.inf) < STILL_RAD_S
    edges = np.flatnonzero(np.diff(np.r_[0, still.astype(np.int8), 0]))
    runs = edges.reshape(-1, 2)
    rest_end = None
    for a, b in runs:
        b = _pose_kept(F, n_imu, int(a), int(b))
        if b - a >= hold and b < F.shape[0]:  # a rest that has ended
            rest_start, rest_end = int(a), int(b)
            break
    if rest_end is None:
        if F.shape[0] >= hold + span:  # no rest at the start: the start is the rest
            rest_start, rest_end = 0, hold
        elif not final:
            return None
        else:
            rest_start, rest_end = 0, min(hold, F.shape[0])
    start = max(rest_start, rest_end - round(MAX_REST_S * fr))
    stop = rest_end + span
    if early:
        back = _returned(F, n_imu, runs, rest_start, rest_end, hold, stop)
        return None if back is None else (start, back)
    if stop > F.shape[0]:
        if not final:
            return None
        stop = F.shape[0]
    return start, stop


def _tilt_from(F: np.ndarray, n_imu: int, ref: int, a: int, b: int) -> np.ndarray:
    """Largest angle over the sensors between "up" at samples a:b and at ``ref``, rad."""
    dev = np.zeros(b - a)
    for u in range(n_imu):
        up, u0 = F[a:b, 6 * u:6 * u + 3], F[ref, 6 * u:6 * u + 3]
        c = up @ u0 / np.maximum(np.linalg.norm(up, axis=1) * np.linalg.norm(u0), 1e-12)
        dev = np.maximum(dev, np.nan_to_num(np.arccos(np.clip(c, -1.0, 1.0)), nan=np.pi))
    return dev


def _returned(F: np.ndarray, n_imu: int, runs: np.ndarray, rest_start: int, rest_end: int,
              hold: int, limit: int) -> int | None:
    """End of the first rep: the first ``hold`` samples after ``rest_end`` (before ``limit``)
    still and back near the starting pose (within RETURN_FRAC of the largest tilt since, which
    is at least MIN_TILT_DEG); None if not (yet) seen."""
    end = min(limit, F.shape[0])
    for a, b in runs:
        a, b = int(a), min(int(b), end)
        if a <= rest_end:
            continue
        if a + hold > end:
            return None
        exc = float(_tilt_from(F, n_imu, rest_start, rest_end, a).max())
        if exc < math.radians(MIN_TILT_DEG):
            continue
        near = _tilt_from(F, n_imu, rest_start, a, b) < RETURN_FRAC * exc
        for k in np.flatnonzero(near):  # still and near the start for ``hold`` samples
            if k + hold > near.size:
                break
            if near[k:k + hold].all():
                return a + int(k) + hold
    return None


def _pose_kept(F: np.ndarray, n_imu: int, a: int, b: int) -> int:
    """End of the still run ``a:b`` where every sensor's "up" stays within :data:`REST_DEG`
    of its direction at ``a`` (a slow movement turns below the rate threshold, but moves)."""
    dev = np.zeros(b - a)
    for u in range(n_imu):
        up = F[a:b, 6 * u:6 * u + 3]
        c = up @ up[0] / np.maximum(np.linalg.norm(up, axis=1) * np.linalg.norm(up[0]), 1e-12)
        dev = np.maximum(dev, np.nan_to_num(np.arccos(np.clip(c, -1.0, 1.0)), nan=np.pi))
    out = np.flatnonzero(dev > math.radians(REST_DEG))
    return a + int(out[0]) if out.size else b


def _rot_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation taking unit vector ``a`` to ``b``."""
    v = np.cross(a, b)
    s, c = float(np.linalg.norm(v)), float(a @ b)
    if s < 1e-9:
        if c > 0:
            return np.eye(3)
        p = np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0])
        return _axis_rot(p / np.linalg.norm(p), math.pi)
    return _axis_rot(v / s, math.atan2(s, c))


def _axis_rot(k: np.ndarray, angle: float) -> np.ndarray:
    K = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + math.sin(angle) * K + (1.0 - math.cos(angle)) * K @ K


def _kabsch(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The rotation R minimising sum |R a - b|^2 over the rows of A and B."""
    U, _, Vt = np.linalg.svd(A.T @ B)
    d = np.sign(np.linalg.det(Vt.T @ U.T)) or 1.0
    return Vt.T @ np.diag([1.0, 1.0, d]) @ U.T


class _Fit:
    """One sensor's window against one exercise's examples (that sensor's 6 columns)."""

    def __init__(self, seg: np.ndarray, ys: list[np.ndarray]) -> None:
        self.seg, self.ys = seg, ys
        n, m = seg.shape[0], max(y.shape[0] for y in ys)
        self._D = np.empty((n, m))
        self._pi = np.empty(n + m, np.int64)
        self._pj = np.empty(n + m, np.int64)

    def rotated(self, M: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.hstack([self.seg[:, :3] @ M.T, self.seg[:, 3:] @ M.T]))

    def cost(self, M: np.ndarray) -> float:
        x = self.rotated(M)
        return float(np.mean([_kf.subsequence_dtw(x, y, self._D, self._pi, self._pj)[0]
                              for y in self.ys]))

    def pairs(self, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self.rotated(M)
        A, B = [], []
        for y in self.ys:
            _, k = _kf.subsequence_dtw(x, y, self._D, self._pi, self._pj)
            A.append(self.seg[self._pi[:k]])
            B.append(y[self._pj[:k]])
        A, B = np.vstack(A), np.vstack(B)
        return np.vstack([A[:, :3], A[:, 3:]]), np.vstack([B[:, :3], B[:, 3:]])


def _fit_sensor(seg: np.ndarray, ys: list[np.ndarray], hold: int
                ) -> tuple[np.ndarray, float, float]:
    """(rotation session -> template, cost, cost of no rotation) of one sensor."""
    ut = np.mean([y[0, :3] / np.linalg.norm(y[0, :3]) for y in ys], axis=0)
    ut /= np.linalg.norm(ut)
    us = seg[:hold, :3].mean(axis=0)
    us /= np.linalg.norm(us)
    R0 = _rot_between(us, ut)
    fit = _Fit(seg, ys)
    grid = [_axis_rot(ut, 2 * math.pi * k / N_HEADINGS) @ R0 for k in range(N_HEADINGS)]
    cg = np.array([fit.cost(M) for M in grid])
    minima = [k for k in range(N_HEADINGS)
              if cg[k] <= cg[k - 1] and cg[k] <= cg[(k + 1) % N_HEADINGS]]
    best = (np.inf, np.eye(3))
    for k in sorted(minima, key=lambda k: cg[k])[:N_STARTS]:
        M = grid[k]
        for _ in range(ITERATIONS):
            A, B = fit.pairs(M)
            nr = max(1, int(REST_WEIGHT * A.shape[0]))
            M = _kabsch(np.vstack([A, np.tile(us, (nr, 1))]), np.vstack([B, np.tile(ut, (nr, 1))]))
        c = fit.cost(M) + REST_WEIGHT * float(np.sum((M @ us - ut) ** 2))
        if c < best[0]:
            best = (c, M)
    c_id = fit.cost(np.eye(3)) + REST_WEIGHT * float(np.sum((us - ut) ** 2))
    return best[1], best[0], c_id


def estimate_mounting(groups: dict[str, list[np.ndarray]], F: np.ndarray, n_imu: int,
                      fr: float, window: tuple[int, int]) -> Mounting | None:
    """Fit each sensor's rotation in ``F[window]`` (sensor-frame features) to the examples of
    each exercise (``groups``: name -> examples (m, 6 * n_imu)); the best exercise's fit.
    None if the window holds no finite stretch to fit."""
    fits = estimate_mountings(groups, F, n_imu, fr, window)
    return None if fits is None else _best(fits)


def _best(fits: dict[str, Mounting]) -> Mounting:
    """The exercise that fits best (the first of equals, in the groups' order)."""
    out = None
    for m in fits.values():
        if out is None or m.cost < out.cost:
            out = m
    return out


def _kept(fits: dict[str, Mounting]) -> dict[str, Mounting]:
    """Several exercises: every exercise's fit without rotation if the sensors as they are fit
    (their best exercise) within :data:`KEEP_RATIO` of the best re-strap fit. A free rotation
    per exercise also turns another exercise's movement (and its rest pose) onto the
    session's, so each one is assumed only where the session needs it."""
    if len(fits) < 2:
        return fits
    fitted = min(m.cost for m in fits.values())
    kept = min(m.identity_cost for m in fits.values())
    if not kept <= KEEP_RATIO * fitted:
        return fits
    eye = np.repeat(np.eye(3)[None], next(iter(fits.values())).rotations.shape[0], 0)
    return {k: dataclasses.replace(m, rotations=eye, cost=m.identity_cost) for k, m in fits.items()}


def estimate_mountings(groups: dict[str, list[np.ndarray]], F: np.ndarray, n_imu: int,
                       fr: float, window: tuple[int, int]) -> dict[str, Mounting] | None:
    """As :func:`estimate_mounting`, every exercise's own fit: name -> :class:`Mounting`
    (in the order of ``groups``)."""
    a, b = window
    seg_all = F[a:b]
    if seg_all.shape[0] < 3 or not np.isfinite(seg_all).all():
        ok = np.isfinite(seg_all).all(axis=1)
        if ok.sum() < 3:
            return None
        seg_all = seg_all[ok]  # a gap in the window: fit what is there
    hold = max(1, round(REST_S * fr))
    out: dict[str, Mounting] = {}
    for name, exs in groups.items():
        rots, cost, var, c_id = [], 0.0, 0.0, 0.0
        for u in range(n_imu):
            cols = slice(6 * u, 6 * u + 6)
            ys = [np.ascontiguousarray(e[:, cols]) for e in exs]
            R, c, ci = _fit_sensor(np.ascontiguousarray(seg_all[:, cols]), ys, hold)
            rots.append(R)
            cost += c
            c_id += ci
            var += float(np.mean([np.var(y, axis=0).sum() for y in ys]))
        out[name] = Mounting(rotations=np.array(rots), window=(int(a), int(b)), exercise=name,
                             cost=cost / max(var, 1e-12), identity_cost=c_id / max(var, 1e-12))
    return out


def exercise_groups(labels: Sequence[str], examples: Sequence[list[np.ndarray]]
                    ) -> dict[str, list[np.ndarray]]:
    """Templates' examples grouped by exercise (the label's part before ``/``)."""
    out: dict[str, list[np.ndarray]] = {}
    for lab, exs in zip(labels, examples):
        out.setdefault(exercise_of(lab), []).extend(exs)
    return out


class Aligner:
    """A stream's re-strap, for :class:`TemplateCounter <motiontrack.reps.TemplateCounter>`:
    holds the raw input and its sensor-frame features (the template kernel with no template
    rows, ``coefficients`` of the counter) until the window closes, then estimates the
    mounting once (each exercise's fit); :meth:`rotate` takes input into the templates'
    frames from then on."""

    def __init__(self, groups: dict[str, list[np.ndarray]], n_imu: int, fs: float, t0: float,
                 coefficients: np.ndarray, fr: float, tau_s: float) -> None:
        self.groups, self.n_imu, self.fs, self.t0 = groups, n_imu, fs, t0
        self.c, self.fr, self.tau_s = coefficients, fr, tau_s
        self.longest = max(e.shape[0] for exs in groups.values() for e in exs)
        self.n_dim = 6 * n_imu
        self.mounting: Mounting | None = None  #: the exercise that fits best
        self.mountings: dict[str, Mounting] = {}  #: every exercise's own fit
        self._held: list[np.ndarray] = []
        self._fstate = np.zeros((n_imu, _k.F_SIZE))
        self._rs = np.zeros(_k.RS_F + self.n_dim)
        self._rs[_k.RS_T_PREV] = np.nan
        self._feat = np.empty((0, self.n_dim))
        self._n = 0
        self._early_tried = False

    def hold(self, X: np.ndarray, final: bool) -> np.ndarray | None:
        """Hold ``X`` (n, 6 * n_imu); once the mounting is estimated (or ``final``: the stream
        ended), every sample held so far, as it came (:meth:`rotate` it); else None."""
        if X.shape[0]:
            self._held.append(X)
            n = X.shape[0]
            t = self.t0 + (self._n + np.arange(n)) / self.fs
            self._n += n
            fout = np.empty((int(n * self.fr / self.fs) + 4, self.n_dim))
            k = _k.features(self._fstate, X, self.n_imu, self.c, self._rs, t, fout)
            self._feat = np.vstack([self._feat, fout[:k]])
        args = (self._feat, self.n_imu, self.fr, self.tau_s, self.longest)
        fits = None
        if not self._early_tried:  # the first rep alone, if it fits well enough
            win = alignment_window(*args, early=True)
            if win is not None:
                self._early_tried = True
                fits = estimate_mountings(self.groups, self._feat, self.n_imu, self.fr, win)
                if fits is not None and not _best(fits).cost <= EARLY_MAX_COST:
                    fits = None
        if fits is None:
            win = alignment_window(*args, final=final)
            if win is None:
                return None
            fits = estimate_mountings(self.groups, self._feat, self.n_imu, self.fr, win)
        if fits is None:  # no finite stretch to fit: the sensors as they are
            eye = Mounting(np.repeat(np.eye(3)[None], self.n_imu, 0), win, "", float("nan"))
            fits = {name: dataclasses.replace(eye, exercise=name) for name in self.groups}
            self.mounting = eye
        else:
            fits = _kept(fits)
            self.mounting = _best(fits)
        self.mountings = fits
        held = np.vstack(self._held) if self._held else np.empty((0, self.n_dim))
        self._held, self._feat = [], np.empty((0, self.n_dim))
        return held

    def rotate(self, X: np.ndarray, exercise: str | None = None) -> np.ndarray:
        """Each sensor's gyroscope and accelerometer into its template frame, by the fit of
        ``exercise`` (default: the best fit, :attr:`mounting`)."""
        m = self.mounting if exercise is None else self.mountings[exercise]
        X = X.copy()
        for i, R in enumerate(m.rotations):
            for c0 in (6 * i, 6 * i + 3):
                X[:, c0:c0 + 3] = X[:, c0:c0 + 3] @ R.T
        return np.ascontiguousarray(X)
