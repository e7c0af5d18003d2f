"""Allocation-free arithmetic of the VQF kernel: low-pass blocks, 3x3 matrices, small angles.

* Second-order low-pass filter blocks kept inside the state array (layout ``LP_*`` in
  :mod:`.vqf_layout`): an averaging start for the first tau seconds, then the Butterworth
  filter from the steady state of that mean (or primed with a known constant input).
* 3x3 matrices as 9-tuples (row-major), for the bias Kalman filter (:mod:`.vqf_bias`).
* (cos x, sin(x) / x) by their Taylor series for small angles, clipping and angle wrapping.

Every helper is compiled with IEEE-exact arithmetic (``fusion_common.exact``), so that each
kernel's inlined copy rounds alike.
"""

from __future__ import annotations

import math

from ._jit import inline
from .fusion_common import exact
from .vqf_layout import LP_MODE, LP_N, LP_S, LP_T

#: below this squared half angle of one strapdown step (|x| < 0.05 rad: 10 rad/s at 100 Hz)
#: cos x and sin(x)/x are evaluated by their Taylor series (first omitted terms < 3e-20)
SMALL_ANGLE2 = 0.0025

# ---------------------------------------------------------------------------------------
# low-pass filter blocks


@inline
def lp_begin(state, off, dt):
    """Start one sample of a filter block; returns its mode before this sample."""
    mode = state[off + LP_MODE]
    if mode == 0.0:
        state[off + LP_N] += 1.0
        state[off + LP_T] += dt
    return mode


@inline
def lp_comp(state, off, k, j, x, mode, b0, b1, b2, a1, a2):
    """One component j of a k-vector: direct form II transposed, or the start-up mean."""
    i0 = off + LP_S + j
    i1 = off + LP_S + k + j
    # (one exit: early returns in inlined helpers leave numba reference-count calls behind)
    if mode == 0.0:
        state[i1] += x  # running sum
        y = state[i1] / state[off + LP_N]
    else:
        y = b0 * x + state[i0]
        state[i0] = b1 * x - a1 * y + state[i1]
        state[i1] = b2 * x - a2 * y
    return y


@inline
def lp_end(state, off, k, tau, b0, b2, a2):
    """After tau seconds of averaging, start filtering from the steady state of the mean."""
    # (a summed time falls short of n * dt by round-off: 300 x 0.01 s sums to 2.9999999999999996 s)
    if state[off + LP_MODE] == 0.0 and state[off + LP_T] >= tau - 1e-9:
        n = state[off + LP_N]
        for j in range(k):
            m = state[off + LP_S + k + j] / n
            state[off + LP_S + j] = m * (1.0 - b0)
            state[off + LP_S + k + j] = m * (b2 - a2)
        state[off + LP_MODE] = 1.0


@inline
def lp_prime(state, off, k, j, x, b0, b2, a2):
    """Steady state for a constant input x (component j)."""
    state[off + LP_S + j] = x * (1.0 - b0)
    state[off + LP_S + k + j] = x * (b2 - a2)


# ---------------------------------------------------------------------------------------
# 3x3 matrices as 9-tuples (row-major), allocation-free


@inline
def m3mul(a, b):
    return (
        a[0] * b[0] + a[1] * b[3] + a[2] * b[6],
        a[0] * b[1] + a[1] * b[4] + a[2] * b[7],
        a[0] * b[2] + a[1] * b[5] + a[2] * b[8],
        a[3] * b[0] + a[4] * b[3] + a[5] * b[6],
        a[3] * b[1] + a[4] * b[4] + a[5] * b[7],
        a[3] * b[2] + a[4] * b[5] + a[5] * b[8],
        a[6] * b[0] + a[7] * b[3] + a[8] * b[6],
        a[6] * b[1] + a[7] * b[4] + a[8] * b[7],
        a[6] * b[2] + a[7] * b[5] + a[8] * b[8],
    )


@inline
def m3mul_sym(a, b):
    """a b for a product known to be symmetric (H P H^T, K H P): the upper triangle, mirrored."""
    s0 = a[0] * b[0] + a[1] * b[3] + a[2] * b[6]
    s1 = a[0] * b[1] + a[1] * b[4] + a[2] * b[7]
    s2 = a[0] * b[2] + a[1] * b[5] + a[2] * b[8]
    s4 = a[3] * b[1] + a[4] * b[4] + a[5] * b[7]
    s5 = a[3] * b[2] + a[4] * b[5] + a[5] * b[8]
    s8 = a[6] * b[2] + a[7] * b[5] + a[8] * b[8]
    return (s0, s1, s2, s1, s4, s5, s2, s5, s8)


@inline
def m3adj_sym(a):
    """Adjugate of a symmetric 3x3 matrix (inverse = adjugate / det), symmetric itself."""
    c0 = a[4] * a[8] - a[5] * a[5]
    c1 = a[2] * a[5] - a[1] * a[8]
    c2 = a[1] * a[5] - a[2] * a[4]
    c4 = a[0] * a[8] - a[2] * a[2]
    c5 = a[1] * a[2] - a[0] * a[5]
    c8 = a[0] * a[4] - a[1] * a[1]
    return (c0, c1, c2, c1, c4, c5, c2, c5, c8)


@inline
def m3t(a):
    return (a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8])




@inline
def m3v(a, x, y, z):
    return (
        a[0] * x + a[1] * y + a[2] * z,
        a[3] * x + a[4] * y + a[5] * z,
        a[6] * x + a[7] * y + a[8] * z,
    )


@inline
def cos_sinc_small(x2):
    """(cos x, sin(x) / x) from x^2 < SMALL_ANGLE2 by their Taylor series, exact to round-off.

    The first omitted terms (x^10 / 10!, x^10 / 11!) are below 3e-20: no square root, division
    or trigonometric call.
    """
    c = 1.0 - x2 * (1.0 / 2.0 - x2 * (1.0 / 24.0 - x2 * (1.0 / 720.0 - x2 * (1.0 / 40320.0))))
    s = 1.0 - x2 * (1.0 / 6.0 - x2 * (1.0 / 120.0 - x2 * (1.0 / 5040.0 - x2 * (1.0 / 362880.0))))
    return c, s


@inline
def clip(x, lim):
    return min(max(x, -lim), lim)


@inline
def wrap_pi(a):
    if a > math.pi:
        return a - 2.0 * math.pi
    if a < -math.pi:
        return a + 2.0 * math.pi
    return a


# the per-sample arithmetic rounds the same in every kernel that calls it (fusion_common.exact)
exact(lp_begin, lp_comp, lp_end, lp_prime, m3mul, m3mul_sym, m3adj_sym, m3t, m3v, cos_sinc_small, clip, wrap_pi)
