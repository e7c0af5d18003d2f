"""Rest detection and the gyroscope-bias Kalman filter of the VQF kernel (paper § rest, § bias).

D. Laidig, T. Seel, Information Fusion 91 (2023) 187-204, doi:10.1016/j.inffus.2022.10.014.

* Rest (§ rest): the gyroscope and the accelerometer each stay close to their own low-pass
  (time constant ``rest_filter_tau``), and the low-passed rate is a plausible bias, for
  ``rest_min_time`` seconds.
* Bias (§ bias): a Kalman filter on the bias b with a random-walk model. At rest the
  low-passed gyroscope measures b directly; in motion the inclination correction rate (what
  the accelerometer had to undo) plus the low-passed R b is a pseudo-measurement of
  (low-passed R) b, whose vertical component is unobservable and only kept from drifting.
  P is in (0.01 deg/s)^2.
* Extension (not in the paper, ``C_REST_BIAS_GATE``, 0 = off): a rest update whose innovation
  is improbable under the estimate's own covariance gets a proportionally larger measurement
  variance (:func:`rest_gate`): slow rotation passes the rest thresholds and would be learnt
  as bias.

Each section is a helper that ``vqf_step.step`` calls once per sample; every helper is
compiled with IEEE-exact arithmetic (``fusion_common.exact``) and the sections are inlined
into their caller (``fusion_common.always_inline``), so the compiled code is one body.
"""

from __future__ import annotations

import math

from ._jit import inline
from .fusion_common import always_inline, exact
from .quaternion import qmul
from .vqf_layout import (
    C_BIAS_CLIP,
    C_BIAS_FORGET,
    C_BIAS_P0,
    C_BIAS_PM,
    C_BIAS_PR,
    C_BIAS_V,
    C_BIAS_VFF,
    C_BIAS_WM,
    C_BIAS_WR,
    C_BIAS_WV,
    C_DT,
    C_MOTION_BIAS,
    C_REST_BIAS,
    C_REST_BIAS_GATE,
    C_REST_MIN_T,
    C_REST_TAU,
    C_REST_TH_ACC2,
    C_REST_TH_GYR2,
    C_TAU_ACC,
    F_BR,
    F_R,
    F_RA,
    F_RG,
    S_BIAS,
    S_BIAS_SETTLED,
    S_GYR_LP,
    S_P,
    S_QACC,
    S_QGYR,
    S_REST,
    S_REST_T,
    bias_meas_var,
    bias_noise,
)
from .vqf_math import clip, lp_begin, lp_comp, lp_end, m3adj_sym, m3mul, m3mul_sym, m3t, m3v

# ---------------------------------------------------------------------------------------
# rest detection (§ rest)


@inline
def rest_gyr(state, c, gx, gy, gz, h, tr):
    """Rest detection, gyroscope part: low-pass the rate (taps ``tr``), end rest on a large
    deviation from it or a low-passed rate beyond the bias clip; keeps the low-passed rate."""
    t_rb0, t_rb1, t_rb2, t_ra1, t_ra2 = tr
    mode = lp_begin(state, F_RG, h)
    lx = lp_comp(state, F_RG, 3, 0, gx, mode, t_rb0, t_rb1, t_rb2, t_ra1, t_ra2)
    ly = lp_comp(state, F_RG, 3, 1, gy, mode, t_rb0, t_rb1, t_rb2, t_ra1, t_ra2)
    lz = lp_comp(state, F_RG, 3, 2, gz, mode, t_rb0, t_rb1, t_rb2, t_ra1, t_ra2)
    lp_end(state, F_RG, 3, c[C_REST_TAU], t_rb0, t_rb2, t_ra2)
    dev2 = (gx - lx) ** 2 + (gy - ly) ** 2 + (gz - lz) ** 2
    clip_ = c[C_BIAS_CLIP]
    # rest needs a small deviation from the low-passed rate and a low-passed rate that
    # could be a plausible bias
    if dev2 >= c[C_REST_TH_GYR2] or abs(lx) > clip_ or abs(ly) > clip_ or abs(lz) > clip_:
        state[S_REST_T] = 0.0
        state[S_REST] = 0.0
    state[S_GYR_LP], state[S_GYR_LP + 1], state[S_GYR_LP + 2] = lx, ly, lz


@inline
def rest_acc(state, c, ax, ay, az, h, tr):
    """Rest detection, accelerometer part: rest once both parts have held for rest_min_time."""
    t_rb0, t_rb1, t_rb2, t_ra1, t_ra2 = tr
    mode = lp_begin(state, F_RA, h)
    lx = lp_comp(state, F_RA, 3, 0, ax, mode, t_rb0, t_rb1, t_rb2, t_ra1, t_ra2)
    ly = lp_comp(state, F_RA, 3, 1, ay, mode, t_rb0, t_rb1, t_rb2, t_ra1, t_ra2)
    lz = lp_comp(state, F_RA, 3, 2, az, mode, t_rb0, t_rb1, t_rb2, t_ra1, t_ra2)
    lp_end(state, F_RA, 3, c[C_REST_TAU], t_rb0, t_rb2, t_ra2)
    if (ax - lx) ** 2 + (ay - ly) ** 2 + (az - lz) ** 2 >= c[C_REST_TH_ACC2]:
        state[S_REST_T] = 0.0
        state[S_REST] = 0.0
    else:
        state[S_REST_T] += h
        if state[S_REST_T] >= c[C_REST_MIN_T]:
            state[S_REST] = 1.0


# ---------------------------------------------------------------------------------------
# gyroscope bias (§ bias)


@inline
def bias_update(state, c, h, ex, ey, ta):
    """One sample of the bias Kalman filter, after the inclination correction of this sample.

    ``ex, ey``: the horizontal part of the normalised low-passed specific force in E_i (the
    inclination error the correction undid); ``ta``: the accelerometer low-pass taps at this
    sample's period. Returns R(q6) (9-tuple, row-major) of the corrected q6 = q_acc ⊗ q_gyr,
    which the magnetometer section reuses.
    """
    rest_on = c[C_REST_BIAS] != 0.0
    motion_on = c[C_MOTION_BIAS] != 0.0
    bx, by, bz = state[S_BIAS], state[S_BIAS + 1], state[S_BIAS + 2]
    # R = R(q6), q6 = q_acc ⊗ q_gyr: maps sensor-frame vectors into E_i
    qw, qx, qy, qz = qmul(
        state[S_QACC], state[S_QACC + 1], state[S_QACC + 2], state[S_QACC + 3],
        state[S_QGYR], state[S_QGYR + 1], state[S_QGYR + 2], state[S_QGYR + 3],
    )  # fmt: skip
    r0 = 1.0 - 2.0 * (qy * qy + qz * qz)
    r1 = 2.0 * (qx * qy - qw * qz)
    r2 = 2.0 * (qx * qz + qw * qy)
    r3 = 2.0 * (qx * qy + qw * qz)
    r4 = 1.0 - 2.0 * (qx * qx + qz * qz)
    r5 = 2.0 * (qy * qz - qw * qx)
    r6 = 2.0 * (qx * qz - qw * qy)
    r7 = 2.0 * (qy * qz + qw * qx)
    r8 = 1.0 - 2.0 * (qx * qx + qy * qy)
    rbx = r0 * bx + r1 * by + r2 * bz
    rby = r3 * bx + r4 * by + r5 * bz
    t_ab0, t_ab1, t_ab2, t_aa1, t_aa2 = ta
    # the inclination correction acts through the acc low-pass, so it sees the bias error
    # delayed by that filter: compare it with the equally filtered R and R b (§ bias)
    mode = lp_begin(state, F_R, h)
    l0 = lp_comp(state, F_R, 9, 0, r0, mode, t_ab0, t_ab1, t_ab2, t_aa1, t_aa2)
    l1 = lp_comp(state, F_R, 9, 1, r1, mode, t_ab0, t_ab1, t_ab2, t_aa1, t_aa2)
    l2 = lp_comp(state, F_R, 9, 2, r2, mode, t_ab0, t_ab1, t_ab2, t_aa1, t_aa2)
    l3 = lp_comp(state, F_R, 9, 3, r3, mode, t_ab0, t_ab1, t_ab2, t_aa1, t_aa2)
    l4 = lp_comp(state, F_R, 9, 4, r4, mode, t_ab0, t_ab1, t_ab2, t_aa1, t_aa2)
    l5 = lp_comp(state, F_R, 9, 5, r5, mode, t_ab0, t_ab1, t_ab2, t_aa1, t_aa2)
    l6 = lp_comp(state, F_R, 9, 6, r6, mode, t_ab0, t_ab1, t_ab2, t_aa1, t_aa2)
    l7 = lp_comp(state, F_R, 9, 7, r7, mode, t_ab0, t_ab1, t_ab2, t_aa1, t_aa2)
    l8 = lp_comp(state, F_R, 9, 8, r8, mode, t_ab0, t_ab1, t_ab2, t_aa1, t_aa2)
    lp_end(state, F_R, 9, c[C_TAU_ACC], t_ab0, t_ab2, t_aa2)
    mode = lp_begin(state, F_BR, h)
    lbx = lp_comp(state, F_BR, 2, 0, rbx, mode, t_ab0, t_ab1, t_ab2, t_aa1, t_aa2)
    lby = lp_comp(state, F_BR, 2, 1, rby, mode, t_ab0, t_ab1, t_ab2, t_aa1, t_aa2)
    lp_end(state, F_BR, 2, c[C_TAU_ACC], t_ab0, t_ab2, t_aa2)

    if h == c[C_DT]:
        v, wm, wv, wr = c[C_BIAS_V], c[C_BIAS_WM], c[C_BIAS_WV], c[C_BIAS_WR]
    else:
        v = bias_noise(h, c[C_BIAS_FORGET])
        wm = bias_meas_var(c[C_BIAS_PM], v)
        wv = wm / max(c[C_BIAS_VFF], 1e-10)
        wr = bias_meas_var(c[C_BIAS_PR], v)

    # Kalman prediction: random walk, P <- P + V on the diagonal, capped at the initial P0
    p0 = c[C_BIAS_P0]
    for d in range(3):
        if state[S_P + 4 * d] < p0:
            state[S_P + 4 * d] += v

    P = (
        state[S_P], state[S_P + 1], state[S_P + 2],
        state[S_P + 3], state[S_P + 4], state[S_P + 5],
        state[S_P + 6], state[S_P + 7], state[S_P + 8],
    )  # fmt: skip
    measure = True
    if state[S_REST] != 0.0 and rest_on:
        # at rest the low-passed gyroscope measures the bias directly: H = I
        e0, e1, e2 = (
            state[S_GYR_LP] - bx,
            state[S_GYR_LP + 1] - by,
            state[S_GYR_LP + 2] - bz,
        )
        PHT = P
        wr = rest_gate(state, c, P, e0, e1, e2, wr)
        S = (P[0] + wr, P[1], P[2], P[3], P[4] + wr, P[5], P[6], P[7], P[8] + wr)
    else:
        # in motion the inclination correction rate (what the acc had to undo) plus the
        # filtered R b is a pseudo-measurement of (filtered R) b; the vertical component
        # is unobservable from acc and only kept from drifting (huge variance wv)
        rh = 1.0 / h
        e0 = -ey * rh + lbx - (l0 * bx + l1 * by + l2 * bz)
        e1 = ex * rh + lby - (l3 * bx + l4 * by + l5 * bz)
        e2 = -(l6 * bx + l7 * by + l8 * bz)
        H = (l0, l1, l2, l3, l4, l5, l6, l7, l8)
        PHT = m3mul(P, m3t(H))
        S = m3mul_sym(H, PHT)  # H P H^T is symmetric: 6 entries
        S = (S[0] + wm, S[1], S[2], S[3], S[4] + wm, S[5], S[6], S[7], S[8] + wv)
        measure = motion_on
    if measure:
        kalman_correct(state, c, P, PHT, S, e0, e1, e2, bx, by, bz)
    return r0, r1, r2, r3, r4, r5, r6, r7, r8


@inline
def rest_gate(state, c, P, e0, e1, e2, wr):
    """The rest measurement variance ``wr``, raised for an improbable rest innovation ``e``.

    Extension (not in the paper): slow rotation passes the rest thresholds and looks like
    bias. A rest innovation improbable under the estimate's own uncertainty,
    d^2 = e^T (P + pr I)^-1 e > g^2 (P in (0.01 deg/s)^2, pr its rest floor), gets its
    measurement variance scaled by d^2 / g^2 (robust Kalman update: a k-sigma outlier counts
    as a g-sigma one); a settled estimate is then barely pulled by a pause that still sways,
    and P shrinks only as much as the weakened update justifies. Only once the estimate has
    settled (trace(P) down to 3 pm: on average within the motion steady state); before, P is
    the tuning prior P0, which a real bias (up to the clip, 10 sigma of the default P0) may
    well violate, and the first rest must learn freely.
    """
    g = c[C_REST_BIAS_GATE]
    if state[S_BIAS_SETTLED] == 0.0 and P[0] + P[4] + P[8] <= 3.0 * c[C_BIAS_PM]:
        state[S_BIAS_SETTLED] = 1.0
    if g > 0.0 and state[S_BIAS_SETTLED] != 0.0:
        u = 18000.0 / math.pi  # rad/s -> 0.01 deg/s
        pr = c[C_BIAS_PR]
        G = (P[0] + pr, P[1], P[2], P[3], P[4] + pr, P[5], P[6], P[7], P[8] + pr)
        AG = m3adj_sym(G)
        dg = G[0] * AG[0] + G[1] * AG[3] + G[2] * AG[6]
        f0, f1, f2 = e0 * u, e1 * u, e2 * u
        m0, m1, m2_ = m3v(AG, f0, f1, f2)
        d2 = f0 * m0 + f1 * m1 + f2 * m2_
        if dg > 0.0 and d2 > g * g * dg:
            wr = wr * d2 / (g * g * dg)
    return wr


@inline
def kalman_correct(state, c, P, PHT, S, e0, e1, e2, bx, by, bz):
    """The measurement update of the bias b and its covariance P (innovation ``e``,
    innovation covariance ``S``, ``PHT`` = P H^T), skipped when S is not invertible."""
    A = m3adj_sym(S)  # S^-1 = A / det
    det = S[0] * A[0] + S[1] * A[3] + S[2] * A[6]
    # absurd sample periods (~1e-300 s) overflow the variances: no measurement update then
    if det > 0.0 and math.isfinite(det):
        clip_ = c[C_BIAS_CLIP]
        # a bounded innovation also bounds the damage of the first, large inclination step
        e0, e1, e2 = clip(e0, clip_), clip(e1, clip_), clip(e2, clip_)
        # K = P H^T S^-1; b <- b + K e; P <- P - K H P = P - K (P H^T)^T (P symmetric);
        # the 1/det scale is applied last, so the division overlaps the products
        r = 1.0 / det
        Ku = m3mul(PHT, A)  # det * K
        d0, d1, d2 = m3v(Ku, e0, e1, e2)
        state[S_BIAS] = clip(bx + d0 * r, clip_)
        state[S_BIAS + 1] = clip(by + d1 * r, clip_)
        state[S_BIAS + 2] = clip(bz + d2 * r, clip_)
        KHP = m3mul_sym(Ku, m3t(PHT))  # det * K H P, symmetric
        for j in range(9):
            state[S_P + j] = P[j] - KHP[j] * r


@inline
def bias_sigma(state, p0):
    """Worst-direction bias std, rad/s: Gershgorin bound of P's largest eigenvalue, capped at P0."""
    p = 0.0
    for r in range(3):
        s = abs(state[S_P + 3 * r]) + abs(state[S_P + 3 * r + 1]) + abs(state[S_P + 3 * r + 2])
        p = max(p, s)
    return math.sqrt(min(p, p0)) * math.pi / 180.0 / 100.0


# the per-sample arithmetic rounds the same in every kernel that calls it (fusion_common.exact);
# the sections are inlined into ``step`` (no call with array arguments per sample)
exact(rest_gyr, rest_acc, bias_update, rest_gate, kalman_correct, bias_sigma)
always_inline(rest_gyr, rest_acc, bias_update, rest_gate, kalman_correct)
