"""Execution type of a template rep: which variant of its exercise it is.

Templates labelled ``exercise/variant`` (``"knee_extension/correct"``, ``".../fast"``,
``".../low_amplitude"``) are variants of one exercise. The matcher (subsequence DTW) finds a
rep and its exercise, but tells variants that differ in tempo and amplitude apart poorly: a
short example ("fast") matches the first part of a slower rep as well as the slow example
matches the whole of it. The variant is therefore chosen here, after detection, from two
measures of the *whole* rep compared with the same measures of each variant's examples:

* **duration**: how long the rep's pose excursion stays above half its peak (full width at
  half maximum, s), whatever part of the rep a match covered;
* **amplitude**: the peak of that excursion, rad.

Both are taken on the pose features only (angles: the direction of "up" per sensor, the
inclination change, or a joint angle; never the angular rates, which scale with tempo), in a
window of :data:`PAD_S` around the match; the excursion is measured from the rest pose before
or after the rep (:func:`excursion_measures`).

The examples come from another session, and a patient's reps in a later session are often
faster, slower, bigger or smaller as a whole (physical-therapy dataset, subject 2, knee
extension: correct reps of 3.5 s against a correct example of 5.0 s; low-amplitude reps at
0.8 of the correct ones' amplitude against 0.62 in the examples). So the comparison is
*session-adaptive*: the variants' (ln duration, ln amplitude), shifted by one offset common
to the session and with the amplitude differences between the variants allowed to be less
pronounced than in the examples (ln amplitude differences from the largest variant times a
factor ``gamma`` in [:data:`GAMMA_MIN`, 1]), are fitted to all the session's reps of that
exercise at once, k-medians with shared centres: the sum over reps of the L1 distance in
(ln duration, :data:`AMP_WEIGHT` x ln amplitude) to the nearest centre, plus
:data:`SHIFT_COST` x the shift's own L1 size and :data:`GAMMA_COST` x the amplitude
contraction (a session that looks like the examples keeps them as they are; one rep alone
is labelled by its nearest example). Each rep gets its nearest centre. The examples fix the
structure (which variant is shorter, which smaller); the session fixes where it lies.

The constants were chosen on the physical-therapy dataset (``benchmarks/templates_pt.py``,
sensor frame: 97.9 % of reps typed right; 98.1 % with GAMMA_MIN 0.2, which is less safe in
sessions that hold only some of the variants, e.g. correct and fast reps only: 93.2 % against
96.5 %); it stays within 97.1-98.1 % for AMP_WEIGHT 1.5-3, SHIFT_COST 0.3-3, GAMMA_COST
2-8 and PAD_S 2-4 s; without the session fit (nearest example) it is 92.7 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

__all__ = ["AMP_WEIGHT", "GAMMA_COST", "GAMMA_MIN", "PAD_S", "SHIFT_COST", "VariantFit",
           "excursion_measures", "exercise_of", "fit_variants", "nearest_variant"]

#: s; a rep's measures are taken within this much before its match's start and after its end
PAD_S = 3.0
#: weight of ln amplitude against ln duration in the distance
AMP_WEIGHT = 2.0
#: cost of the session-wide shift, per unit of its L1 size (a shift must pay for itself)
SHIFT_COST = 1.0
#: cost of contracting the variants' amplitude differences, per unit of ln amplitude moved
GAMMA_COST = 4.0
#: the variants' ln-amplitude differences shrink at most to this share
GAMMA_MIN = 0.5
_SHIFT_MAX = 0.8  # |ln| of the largest session shift searched (x 2.2)


def exercise_of(label: str) -> str:
    """The exercise a template label names: the part before the first "/" (the whole label
    without one)."""
    return label.split("/", 1)[0]


def _walk(d: np.ndarray, tol: float) -> int:
    """How far ``d`` can be followed from its first sample while it does not fall more than
    ``tol`` below its running maximum (away from the top, up to the rest before a neighbour
    rep rises towards the top again); returns the index of its largest value on the way."""
    if d.size == 0:
        return 0
    run = np.maximum.accumulate(d)
    stop = np.flatnonzero(d < run - tol)
    n = int(stop[0]) if stop.size else d.size
    return int(np.argmax(d[:n]))


def excursion_measures(pose: np.ndarray, a: int, b: int, fr: float) -> tuple[float, float]:
    """(duration s, amplitude rad) of the rep whose match spans ``a..b`` of ``pose`` (K, P),
    a window around the match (the caller's). The top is the point of the match farthest from
    its first sample; the rest is the point farthest from the top, in the match or on the way
    out of it on either side as long as the distance to the top keeps growing (within a tenth
    of the match's range: noise), so a neighbouring rep is never the rest. The amplitude is
    the excursion from the rest at its peak within the match, the duration the time around
    that peak that it stays above half of it."""
    if pose.shape[0] == 0 or b < a:
        return 1.0 / fr, 0.0
    b = min(b, pose.shape[0] - 1)
    m = pose[a:b + 1]
    top = m[int(np.argmax(np.linalg.norm(m - m[0], axis=1)))]
    d = np.linalg.norm(pose - top, axis=1)
    tol = 0.1 * float(d[a:b + 1].max())
    cand = [a + int(np.argmax(d[a:b + 1])), a - _walk(d[a::-1], tol), b + _walk(d[b:], tol)]
    rest = pose[max(cand, key=lambda k: d[k])]
    e = np.linalg.norm(pose - rest, axis=1)
    ipk = a + int(np.argmax(e[a:b + 1]))
    low = e <= 0.5 * e[ipk]
    before = np.flatnonzero(low[:ipk])
    after = np.flatnonzero(low[ipk + 1:])
    lo = int(before[-1]) + 1 if before.size else 0
    hi = ipk + int(after[0]) if after.size else e.size - 1
    return max(hi - lo + 1, 1) / fr, float(e[ipk])


class VariantFit(NamedTuple):
    """The session's offset from the examples and the amplitude contraction."""

    shift_ln_duration: float
    shift_ln_amplitude: float
    gamma: float


def _centres(c: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """Variant centres (G, K) of ln amplitude for each contraction ``gamma`` (G,)."""
    top = c[:, 1].max()
    return top + gamma[:, None] * (c[None, :, 1] - top)


def _cost(x: np.ndarray, c: np.ndarray, dd: np.ndarray, da: np.ndarray,
          gamma: np.ndarray) -> np.ndarray:
    """Objective on the grid (G, A, B): gamma x duration shift x amplitude shift."""
    ca = _centres(c, gamma)  # (G, K)
    span = float(c[:, 1].max() - c[:, 1].min())
    ddist = np.abs(x[:, None, None, 0] - c[None, :, None, 0] - dd[None, None, :])  # (n, K, A)
    adist = AMP_WEIGHT * np.abs(x[:, None, None, None, 1] - ca.T[None, :, :, None]
                                - da[None, None, None, :])  # (n, K, G, B)
    d = ddist[:, :, None, :, None] + adist[:, :, :, None, :]  # (n,K,G,A,B)
    tot = d.min(axis=1).sum(axis=0)  # (G, A, B)
    # the shift's and the contraction's own cost (+ a hair of |shift| to break ties at 0)
    size = np.abs(dd)[None, :, None] + AMP_WEIGHT * np.abs(da)[None, None, :]
    tot += SHIFT_COST * (1.0 + 1e-9) * size
    tot += GAMMA_COST * (1.0 - gamma)[:, None, None] * span
    return tot


def fit_variants(x: np.ndarray, centres: np.ndarray) -> VariantFit:
    """Fit the session offset and contraction to reps ``x`` (n, 2) = (ln duration, ln
    amplitude) given the variants' ``centres`` (K, 2), by a coarse then a fine grid search."""
    x = np.asarray(x, float).reshape(-1, 2)
    c = np.asarray(centres, float).reshape(-1, 2)
    if x.shape[0] == 0 or c.shape[0] < 2:
        return VariantFit(0.0, 0.0, 1.0)
    dd = np.linspace(-_SHIFT_MAX, _SHIFT_MAX, 33)
    g = np.linspace(1.0, GAMMA_MIN, 9)
    tot = _cost(x, c, dd, dd, g)
    i, j, k = np.unravel_index(int(np.argmin(tot)), tot.shape)
    step = dd[1] - dd[0]
    fd = dd[j] + np.linspace(-step, step, 11)
    fa = dd[k] + np.linspace(-step, step, 11)
    gs = g[0] - g[1]
    fg = np.clip(g[i] + np.linspace(-gs, gs, 9), GAMMA_MIN, 1.0)
    tot = _cost(x, c, fd, fa, fg)
    i, j, k = np.unravel_index(int(np.argmin(tot)), tot.shape)
    return VariantFit(float(fd[j]), float(fa[k]), float(fg[i]))


def nearest_variant(x: np.ndarray, centres: np.ndarray, fit: VariantFit) -> np.ndarray:
    """Index of the nearest fitted centre for each rep of ``x`` (n, 2)."""
    x = np.asarray(x, float).reshape(-1, 2)
    c = np.asarray(centres, float).reshape(-1, 2)
    ca = _centres(c, np.array([fit.gamma]))[0]
    d = (np.abs(x[:, None, 0] - c[None, :, 0] - fit.shift_ln_duration)
         + AMP_WEIGHT * np.abs(x[:, None, 1] - ca[None, :] - fit.shift_ln_amplitude))
    return np.argmin(d, axis=1)


def log_measures(measures: Sequence[tuple[float, float]]) -> np.ndarray:
    """(ln duration, ln amplitude) of (duration s, amplitude rad) pairs, (n, 2)."""
    m = np.asarray(measures, float).reshape(-1, 2)
    return np.log(np.maximum(m, 1e-6))
