"""VQF-class orientation filter: 6D and 9D at once, rest detection, gyro bias, magnetic rejection.

D. Laidig, T. Seel, "VQF: Highly accurate IMU orientation estimation with bias estimation
and magnetic disturbance rejection", Information Fusion 91 (2023) 187-204,
doi:10.1016/j.inffus.2022.10.014 (accepted manuscript arXiv:2203.17024). Section names
below refer to that paper ("§ strapdown", "§ inclination", "§ heading", "§ rest",
"§ bias", "§ magdist").

Frames (the paper's notation): S sensor, I_i the almost-inertial frame of pure gyroscope
strapdown integration, E_i the 6D earth frame (z up, heading arbitrary), E the 9D earth
frame (ENU, y = magnetic north). The filter keeps

* ``q_gyr``  = q_{I_i S}     strapdown integration of the bias-corrected gyroscope;
* ``q_acc``  = q_{E_i I_i}   the inclination correction, changed only about horizontal axes;
* ``delta``                  heading offset of E_i against E (a rotation about z),

so that q6 = q_acc ⊗ q_gyr and q9 = q_z(delta) ⊗ q6 ("decoupled" heading correction: the
magnetometer never touches the inclination).

``step`` advances one sample on scalars, in sections (gyroscope, accelerometer + bias,
magnetometer, outputs); ``run`` (batch), the one-sample entries ``run1``/``run1m`` and the
block entries ``runb``/``runbm`` (``fusion_common``) all call it, so their outputs are
identical by construction; ``step`` and its helpers use IEEE-exact arithmetic
(``fusion_common.exact``) so that every compiled copy rounds alike. It is one body rather
than calls to large helpers: numba increfs/decrefs every array argument of a call LLVM does
not inline, with atomic operations, which cost ~25 % of the time; ``step`` itself is
inlined into every entry (``fusion_common.always_inline``), its arithmetic flags unchanged.
The per-sample work is one long dependency chain (bias -> strapdown -> inclination -> bias filter -> bias), so the order
of operations keeps divisions, square roots and trigonometry off it where an exact cheaper
form exists: the strapdown rotation and the heading increment use the Taylor series of cos x
and sin(x)/x below |x| = 0.05 rad (exact to round-off), the output's heading rotation
(cos, sin)(delta / 2) is kept in the state next to delta, and the dip and the heading
disagreement are angles by atan of a ratio (cheaper than asin and atan2).

The streaming entries write no extras: ``fill_extras1`` computes them from the state, and
``fill_block_extras`` by running ``step`` again over the inputs and the state that the block
entries keep in the work buffer, when (and if) the wrapper is asked for them.

Variable sample periods: the coefficients for the nominal period are precomputed in
``coeffs``; a sample whose ``dt`` differs recomputes the few dt-dependent gains (filter
taps, exponential gains, bias-filter variances) in scalars, without allocation.

Dropped gyroscope samples (a NaN row on a uniform grid): their time is kept in
``state[S_CARRY]`` and the next valid sample integrates over its own period plus the carried
one (every dt-dependent gain too), exactly as if the rows were absent from a timestamped
stream; a run of gaps longer than ``fusion_common.MAX_GAP_CARRY_S`` (0.5 s) is a real gap and
its time is dropped.

The implementation is ours; parameter names and defaults follow the paper's tuning
parameters so results can be compared with the reference implementation. Two extensions,
each switched off by one coefficient (both off: the filter is the paper's algorithm):
``C_MAG_REST_REF`` (magnetometer section of ``step``): a field steady at rest may become the
first magnetic reference; ``C_REST_BIAS_GATE`` (bias section): a rest update whose innovation
is improbable under the bias covariance P gets a proportionally larger measurement variance
(slow rotation passes the rest thresholds of § rest and would be learnt as bias).
"""

from __future__ import annotations

import math

from ._jit import inline, jit
from .fusion_common import (
    ACC_GAP,
    BLOCK,
    DT_INVALID,
    GYR_GAP,
    INITIALIZING,
    IO_DT,
    IO_HAS_MAG,
    IO_LAST,
    IO_STATE,
    MAG_DISTURBED,
    MAG_GAP,
    REST,
    always_inline,
    carry_gap,
    count,
    end1,
    end_row,
    endb,
    exact,
    fast_entry,
    screen_values,
    with_carry,
)
from .quaternion import qmul, qrot

EPS = 2.220446049250313e-16
#: below this squared half angle of one strapdown step (|x| < 0.05 rad: 10 rad/s at 100 Hz)
#: cos x and sin(x)/x are evaluated by their Taylor series (first omitted terms < 3e-20)
SMALL_ANGLE2 = 0.0025
#: m/s²; a low-passed specific force below this has no usable direction (its squares
#: underflow): no inclination correction
EN_MIN = 1e-100

# ---------------------------------------------------------------------------------------
# state layout (float64); state[0:4] is the output (9D, or 6D without magnetometer)
S_Q = 0  # 0..3  q9 output
S_QGYR = 4  # 4..7  q_gyr = q_{I_i S}
S_QACC = 8  # 8..11 q_acc = q_{E_i I_i}
S_DELTA = 12  # heading offset delta, rad
S_REST = 13  # 1.0 while rest is detected
S_MAGDIST = 14  # 1.0 while a magnetic disturbance is detected
S_STARTED = 15  # 1.0 once an accelerometer sample was used
S_BIAS = 16  # 16..18 gyroscope bias estimate, rad/s
S_P = 19  # 19..27 bias covariance, 3x3 row-major, units (0.01 deg/s)^2
S_KMAGINIT = 28  # 1/N gain of the heading fast start (0 = off)
S_REST_T = 29  # time the rest conditions have held, s
S_GYR_LP = 30  # 30..32 low-passed gyroscope of rest detection, rad/s
S_MAG_REF_NORM = 33  # accepted field norm (0 = none yet)
S_MAG_REF_DIP = 34  # accepted dip angle, rad
S_MAG_UNDIST_T = 35  # time the field has matched the reference, s
S_MAG_REJECT_T = 36  # rejection time budget used, s
S_MAG_CAND_NORM = 37  # candidate norm (-1 = none)
S_MAG_CAND_DIP = 38  # candidate dip, rad
S_MAG_CAND_T = 39  # time the candidate has held while moving, s
S_MAG_REST_T = 40  # time the candidate has held at rest before any reference, s (extension)
# second-order low-pass filter blocks: [mode, time, count, s0[k], s1[k]]
# mode 0: averaging start (output = running mean for tau seconds, then steady state)
# mode 1: running; mode 2 (acc filter only): prime with the current estimate's gravity
LP_MODE, LP_T, LP_N, LP_S = 0, 1, 2, 3
F_ACC = 41  # k=3: acc in I_i, tau_acc            (§ inclination)
F_R = F_ACC + 3 + 6  # k=9: R(q6), tau_acc        (§ bias, motion)
F_BR = F_R + 3 + 18  # k=2: (R b)_xy, tau_acc     (§ bias, motion)
F_RG = F_BR + 3 + 4  # k=3: gyr, rest_filter_tau  (§ rest)
F_RA = F_RG + 3 + 6  # k=3: acc, rest_filter_tau  (§ rest)
F_MND = F_RA + 3 + 6  # k=2: field norm and dip, mag_current_tau (§ magdist)
S_CARRY = F_MND + 3 + 4  # time of skipped gyroscope samples to integrate next, s (-1: gap too long)
S_HEAD = S_CARRY + 1  # cos(delta / 2), sin(delta / 2): the output's heading rotation, kept with delta
S_BIAS_SETTLED = S_HEAD + 2  # 1.0 once trace(P) fell to 3 (bias_sigma_motion)^2 (rest bias gate)
STATE_SIZE = S_BIAS_SETTLED + 1

# ---------------------------------------------------------------------------------------
# coefficient layout
C_DT = 0  # nominal sample period, s
C_TAU_ACC, C_TAU_MAG, C_REST_TAU, C_MAG_CUR_TAU, C_MAG_REF_TAU = 1, 2, 3, 4, 5
C_ACC_LP = 6  # 6..10 b0 b1 b2 a1 a2 at the nominal dt
C_REST_LP = 11  # 11..15
C_MND_LP = 16  # 16..20
C_KMAG, C_KMAGREF = 21, 22
C_BIAS_P0, C_BIAS_V, C_BIAS_WM, C_BIAS_WV, C_BIAS_WR = 23, 24, 25, 26, 27
C_BIAS_PM, C_BIAS_PR, C_BIAS_FORGET, C_BIAS_VFF = 28, 29, 30, 31
C_BIAS_CLIP = 32  # rad/s
C_REST_TH_GYR2, C_REST_TH_ACC2, C_REST_MIN_T = 33, 34, 35  # (rad/s)^2, (m/s^2)^2, s
C_MAG_NORM_TH, C_MAG_DIP_TH, C_MAG_NEW_T, C_MAG_NEW_FIRST_T = 36, 37, 38, 39
C_MAG_NEW_MIN_GYR, C_MAG_MIN_UNDIST_T, C_MAG_MAX_REJ_T, C_MAG_REJ_FACTOR = 40, 41, 42, 43
C_MOTION_BIAS, C_REST_BIAS, C_MAG_REJECTION = 44, 45, 46  # 1.0 = enabled
C_ACC_RANGE, C_GYR_RANGE = 47, 48
C_MAG_REST_REF = 49  # 1.0: a field steady at rest becomes the first reference (extension)
C_REST_BIAS_GATE = 50  # distance beyond which a rest update is down-weighted (0 = off; extension)
COEFF_SIZE = 51
# the state and coefficients inside the fast entries' work buffer (fusion_common.IO_STATE)
BUF_C0 = IO_STATE + STATE_SIZE
BUF_C1 = BUF_C0 + COEFF_SIZE

# extra per-sample outputs
E_Q6 = 0  # 0..3 6D quaternion
E_BIAS = 4  # 4..6 gyroscope bias, rad/s
E_BIAS_SIGMA = 7  # bias uncertainty (worst direction), rad/s
E_REST = 8
E_MAGDIST = 9
E_DELTA = 10  # heading offset 9D vs 6D, rad
EXTRA_SIZE = 11
# optional, when extra_out has EXTRA_SIZE_COV columns (the offline mode's passes):
E_P = 11  # 11..19 bias covariance P after the sample, (0.01 deg/s)^2, row-major
EXTRA_SIZE_COV = 20

# after the block flags and extras (fusion_common layout), what the block entries keep so that
# the extras of a block are computed only when asked for (fill_block_extras): the state before
# the block, a scratch state, the block's inputs (acc, gyr, mag, dt: 10 per row) and whether the extras are filled
BUF_FL = BUF_C1  # block flags
BUF_EX = BUF_FL + BLOCK  # block extras, EXTRA_SIZE per row
BUF_SNAP = BUF_EX + BLOCK * EXTRA_SIZE
BUF_SCRATCH = BUF_SNAP + STATE_SIZE
BUF_IN = BUF_SCRATCH + STATE_SIZE
BUF_READY = BUF_IN + 10 * BLOCK
BUF_EXTRA = 2 * STATE_SIZE + 10 * BLOCK + 1  # values the wrapper adds to the common layout
#: the one-sample entries write their output into a fresh (4,) array the wrapper passes
#: (``fusion_common``: cheaper than copying it out of the work buffer)
ONE_OUT = True


# ---------------------------------------------------------------------------------------
# helpers (plain Python-callable too, for the coefficient set-up)


@inline
def butter2(tau, ts):
    """Second-order Butterworth low-pass taps (b0, b1, b2, a1, a2) for time constant ``tau``.

    The cutoff is f_c = sqrt(2) / (2 pi tau) (paper § inclination: the acc low-pass is
    parametrised by the time constant of its non-oscillating step-response part), by the
    bilinear transform with pre-warping. When tau < ts/2 (f_c above ~90 % of Nyquist) the
    filter degenerates to a pass-through to stay stable.
    """
    if not (tau >= 0.5 * ts):
        return 1.0, 0.0, 0.0, 0.0, 0.0
    fc = math.sqrt(2.0) / (2.0 * math.pi * tau)
    w = math.tan(math.pi * fc * ts)
    den = w * w + math.sqrt(2.0) * w + 1.0
    b0 = w * w / den
    a1 = 2.0 * (w * w - 1.0) / den
    a2 = (w * w - math.sqrt(2.0) * w + 1.0) / den
    return b0, 2.0 * b0, b0, a1, a2


@inline
def exp_gain(tau, ts):
    """First-order low-pass gain k = 1 - exp(-ts/tau); tau < 0 disables (0), tau = 0 passes (1)."""
    if tau < 0.0:
        return 0.0
    if tau == 0.0:
        return 1.0
    return 1.0 - math.exp(-ts / tau)


@inline
def bias_noise(ts, forget_time):
    """Process noise V of the bias random walk per sample, (0.01 deg/s)^2 (§ bias).

    The variance grows from 0 to (0.1 deg/s)^2 in ``forget_time`` seconds.
    """
    return (0.1 * 100.0) ** 2 * ts / forget_time


@inline
def bias_meas_var(p, v):
    """Measurement variance W making p the steady-state covariance of P <- P + V, update (§ bias).

    For a scalar Kalman filter with random-walk noise V, P_ss = p requires W = p^2 / V + p.
    """
    return p * p / v + p


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
def m3inv(a):
    """Inverse by the adjugate (the matrices here are symmetric positive definite)."""
    c0 = a[4] * a[8] - a[5] * a[7]
    c1 = a[5] * a[6] - a[3] * a[8]
    c2 = a[3] * a[7] - a[4] * a[6]
    det = a[0] * c0 + a[1] * c1 + a[2] * c2
    r = 1.0 / det
    return (
        c0 * r,
        (a[2] * a[7] - a[1] * a[8]) * r,
        (a[1] * a[5] - a[2] * a[4]) * r,
        c1 * r,
        (a[0] * a[8] - a[2] * a[6]) * r,
        (a[2] * a[3] - a[0] * a[5]) * r,
        c2 * r,
        (a[1] * a[6] - a[0] * a[7]) * r,
        (a[0] * a[4] - a[1] * a[3]) * r,
    )


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


@inline
def bias_sigma(state, p0):
    """Worst-direction bias std, rad/s: Gershgorin bound of P's largest eigenvalue, capped at P0."""
    p = 0.0
    for r in range(3):
        s = abs(state[S_P + 3 * r]) + abs(state[S_P + 3 * r + 1]) + abs(state[S_P + 3 * r + 2])
        p = max(p, s)
    return math.sqrt(min(p, p0)) * math.pi / 180.0 / 100.0


# ---------------------------------------------------------------------------------------
# one sample


@inline
def step(state, c, ax, ay, az, gx, gy, gz, mx, my, mz, has_mag, h):
    """Advance the state by one sample (in place; ``state[0:4]`` is the output); returns its flags.

    ``run`` and ``run1`` both call this on scalars, so one-by-one and batch runs are identical.
    """
    ts0 = c[C_DT]
    ab0, ab1, ab2, aa1, aa2 = (
        c[C_ACC_LP],
        c[C_ACC_LP + 1],
        c[C_ACC_LP + 2],
        c[C_ACC_LP + 3],
        c[C_ACC_LP + 4],
    )
    rb0, rb1, rb2, ra1, ra2 = (
        c[C_REST_LP],
        c[C_REST_LP + 1],
        c[C_REST_LP + 2],
        c[C_REST_LP + 3],
        c[C_REST_LP + 4],
    )
    mb0, mb1, mb2, ma1, ma2 = (
        c[C_MND_LP],
        c[C_MND_LP + 1],
        c[C_MND_LP + 2],
        c[C_MND_LP + 3],
        c[C_MND_LP + 4],
    )
    kmag, kref = c[C_KMAG], c[C_KMAGREF]
    # (rows whose squared norm is not finite, |x| > 1e154 included, are gaps: no sensor reads
    # that, and the normalisations below would turn them into NaN)
    f = screen_values(ax, ay, az, gx, gy, gz, mx, my, mz, has_mag, h, c[C_ACC_RANGE], c[C_GYR_RANGE])
    a2 = ax * ax + ay * ay + az * az
    m2 = mx * mx + my * my + mz * mz
    carry = state[S_CARRY]
    state[S_CARRY] = carry_gap(carry, f, h)
    if not (f & (DT_INVALID | GYR_GAP)):
        # dropped gyroscope samples (up to MAX_GAP_CARRY_S): the sample covers their time
        # too, exactly as if the rows were absent from a timestamped stream
        h = with_carry(carry, h)
        state[S_CARRY] = 0.0
        if h == ts0:
            t_ab0, t_ab1, t_ab2, t_aa1, t_aa2 = ab0, ab1, ab2, aa1, aa2
            t_rb0, t_rb1, t_rb2, t_ra1, t_ra2 = rb0, rb1, rb2, ra1, ra2
            t_mb0, t_mb1, t_mb2, t_ma1, t_ma2 = mb0, mb1, mb2, ma1, ma2
            t_kmag, t_kref = kmag, kref
        else:  # a different period: recompute the dt-dependent taps and gains
            t_ab0, t_ab1, t_ab2, t_aa1, t_aa2 = butter2(c[C_TAU_ACC], h)
            t_rb0, t_rb1, t_rb2, t_ra1, t_ra2 = butter2(c[C_REST_TAU], h)
            t_mb0, t_mb1, t_mb2, t_ma1, t_ma2 = butter2(c[C_MAG_CUR_TAU], h)
            t_kmag, t_kref = exp_gain(c[C_TAU_MAG], h), exp_gain(c[C_MAG_REF_TAU], h)
        # ---- gyroscope: rest detection (gyro part, § rest), strapdown (§ strapdown)
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

        # strapdown: q_gyr <- q_gyr ⊗ exp((gyr - b) h / 2), exact for a constant rate over h
        wx = gx - state[S_BIAS]
        wy = gy - state[S_BIAS + 1]
        wz = gz - state[S_BIAS + 2]
        wn2 = wx * wx + wy * wy + wz * wz
        x2 = 0.25 * wn2 * h * h  # (half angle)^2
        if wn2 > EPS * EPS and math.isfinite(x2):
            if x2 < SMALL_ANGLE2:  # the usual case: no sqrt, division or trigonometry
                ch, s = cos_sinc_small(x2)
                s *= 0.5 * h  # sin(x) / |w| = sinc(x) h / 2
            else:
                wn = math.sqrt(wn2)
                half = 0.5 * wn * h
                ch = math.cos(half)
                s = math.sin(half) / wn
            qw, qx, qy, qz = qmul(
                state[S_QGYR], state[S_QGYR + 1], state[S_QGYR + 2], state[S_QGYR + 3],
                ch, s * wx, s * wy, s * wz,
            )  # fmt: skip
            # the product of unit quaternions is unit up to round-off: one Newton step for
            # 1/sqrt(n2) near 1 renormalises it to the last bit without a sqrt and a division
            # on the per-sample dependency chain
            r = 1.5 - 0.5 * (qw * qw + qx * qx + qy * qy + qz * qz)
            state[S_QGYR], state[S_QGYR + 1], state[S_QGYR + 2], state[S_QGYR + 3] = (
                qw * r,
                qx * r,
                qy * r,
                qz * r,
            )
        # R(q6) of this sample once the bias section computed it (the magnetometer reuses it)
        have_r = False
        r0 = r1 = r2 = r3 = r4 = r5 = r6 = r7 = r8 = 0.0
        # ---- accelerometer: rest detection (acc part), inclination (§ inclination), bias
        if (
            not (f & ACC_GAP) and a2 > 0.0
        ):  # an all-zero (or underflowing) row: no tilt information
            # -- rest detection, accelerometer part (§ rest)
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

            # -- inclination correction (§ inclination)
            gw, gx_, gy_, gz_ = (
                state[S_QGYR],
                state[S_QGYR + 1],
                state[S_QGYR + 2],
                state[S_QGYR + 3],
            )
            cw, cx, cy, cz = (
                state[S_QACC],
                state[S_QACC + 1],
                state[S_QACC + 2],
                state[S_QACC + 3],
            )
            # acc in the almost-inertial frame I_i: there, gravity is constant up to the slow
            # strapdown drift, so a low-pass removes the (zero-mean) linear acceleration
            ix, iy, iz = qrot(gw, gx_, gy_, gz_, ax, ay, az)
            mode = state[F_ACC + LP_MODE]
            if mode == 2.0:
                # no averaging start: prime the filter with the gravity the current estimate expects
                an = math.sqrt(ax * ax + ay * ay + az * az)
                px, py, pz = qrot(cw, -cx, -cy, -cz, 0.0, 0.0, an)
                lp_prime(state, F_ACC, 3, 0, px, t_ab0, t_ab2, t_aa2)
                lp_prime(state, F_ACC, 3, 1, py, t_ab0, t_ab2, t_aa2)
                lp_prime(state, F_ACC, 3, 2, pz, t_ab0, t_ab2, t_aa2)
                state[F_ACC + LP_MODE] = 1.0
            mode = lp_begin(state, F_ACC, h)
            fx = lp_comp(state, F_ACC, 3, 0, ix, mode, t_ab0, t_ab1, t_ab2, t_aa1, t_aa2)
            fy = lp_comp(state, F_ACC, 3, 1, iy, mode, t_ab0, t_ab1, t_ab2, t_aa1, t_aa2)
            fz = lp_comp(state, F_ACC, 3, 2, iz, mode, t_ab0, t_ab1, t_ab2, t_aa1, t_aa2)
            lp_end(state, F_ACC, 3, c[C_TAU_ACC], t_ab0, t_ab2, t_aa2)
            # filtered acc in E_i, normalised
            ux, uy, uz = qrot(cw, cx, cy, cz, fx, fy, fz)
            en = math.sqrt(ux * ux + uy * uy + uz * uz)
            # shortest rotation about a horizontal axis taking u onto +z: q_c = [cos(a/2),
            # sin(a/2) (uy, -ux, 0) / |u_xy|] with cos a = uz / |u|; by the half-angle identities
            # it is proportional to (|u| + uz, uy, -ux, 0) (no trig), and normalising the product
            # q_c ⊗ q_acc once normalises both (one sqrt and division on the dependency chain)
            # (no filtered acc, or one below EN_MIN whose squares underflow: q_c = 1)
            if en > EN_MIN:
                if en + uz > 2e-12 * en:
                    cw, cx, cy, cz = qmul(en + uz, uy, -ux, 0.0, cw, cx, cy, cz)
                else:  # upside down: any horizontal axis, take x
                    cw, cx, cy, cz = qmul(0.0, 1.0, 0.0, 0.0, cw, cx, cy, cz)
            n = math.sqrt(cw * cw + cx * cx + cy * cy + cz * cz)
            rn = 1.0 / n  # (one division, four products)
            cw, cx, cy, cz = cw * rn, cx * rn, cy * rn, cz * rn
            # the normalised filtered acc direction (off the chain: only the bias uses it)
            if en > EN_MIN:
                ren = 1.0 / en
                ex, ey = ux * ren, uy * ren
            else:
                ex, ey = 0.0, 0.0
            state[S_QACC], state[S_QACC + 1], state[S_QACC + 2], state[S_QACC + 3] = (
                cw,
                cx,
                cy,
                cz,
            )

            # -- gyroscope bias estimation (§ bias): a Kalman filter on the bias
            if c[C_REST_BIAS] != 0.0 or c[C_MOTION_BIAS] != 0.0:
                rest_on = c[C_REST_BIAS] != 0.0
                motion_on = c[C_MOTION_BIAS] != 0.0
                bx, by, bz = state[S_BIAS], state[S_BIAS + 1], state[S_BIAS + 2]
                # R = R(q6), q6 = q_acc ⊗ q_gyr: maps sensor-frame vectors into E_i
                qw, qx, qy, qz = qmul(cw, cx, cy, cz, gw, gx_, gy_, gz_)
                r0 = 1.0 - 2.0 * (qy * qy + qz * qz)
                r1 = 2.0 * (qx * qy - qw * qz)
                r2 = 2.0 * (qx * qz + qw * qy)
                r3 = 2.0 * (qx * qy + qw * qz)
                r4 = 1.0 - 2.0 * (qx * qx + qz * qz)
                r5 = 2.0 * (qy * qz - qw * qx)
                r6 = 2.0 * (qx * qz - qw * qy)
                r7 = 2.0 * (qy * qz + qw * qx)
                r8 = 1.0 - 2.0 * (qx * qx + qy * qy)
                have_r = True
                rbx = r0 * bx + r1 * by + r2 * bz
                rby = r3 * bx + r4 * by + r5 * bz
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
                clip_ = c[C_BIAS_CLIP]
                measure = True
                if state[S_REST] != 0.0 and rest_on:
                    # at rest the low-passed gyroscope measures the bias directly: H = I
                    e0, e1, e2 = (
                        state[S_GYR_LP] - bx,
                        state[S_GYR_LP + 1] - by,
                        state[S_GYR_LP + 2] - bz,
                    )
                    PHT = P
                    # extension (not in the paper): slow rotation passes the rest thresholds and
                    # looks like bias. A rest innovation improbable under the estimate's own
                    # uncertainty, d^2 = e^T (P + pr I)^-1 e > g^2 (P in (0.01 deg/s)^2, pr its
                    # rest floor), gets its measurement variance scaled by d^2 / g^2 (robust
                    # Kalman update: a k-sigma outlier counts as a g-sigma one); a settled estimate
                    # is then barely pulled by a pause that still sways, and P shrinks only as
                    # much as the weakened update justifies. Only once the estimate has settled
                    # (trace(P) down to 3 pm: on average within the motion steady state);
                    # before, P is the tuning prior P0, which a real bias (up to the clip, 10 sigma
                    # of the default P0) may well violate, and the first rest must learn freely
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
                A = m3adj_sym(S)  # S^-1 = A / det
                det = S[0] * A[0] + S[1] * A[3] + S[2] * A[6]
                # absurd sample periods (~1e-300 s) overflow the variances: no measurement update then
                if measure and det > 0.0 and math.isfinite(det):
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
            state[S_STARTED] = 1.0
        # ---- magnetometer: disturbance detection (§ magdist), heading correction (§ heading)
        if has_mag and not (f & MAG_GAP) and m2 > 0.0 and state[S_STARTED] != 0.0:
            # field in E_i: R(q6) m, with the bias section's R when it computed one
            if have_r:
                ex = r0 * mx + r1 * my + r2 * mz
                ey = r3 * mx + r4 * my + r5 * mz
                ez = r6 * mx + r7 * my + r8 * mz
            else:
                q6w, q6x, q6y, q6z = qmul(
                    state[S_QACC], state[S_QACC + 1], state[S_QACC + 2], state[S_QACC + 3],
                    state[S_QGYR], state[S_QGYR + 1], state[S_QGYR + 2], state[S_QGYR + 3],
                )  # fmt: skip
                ex, ey, ez = qrot(q6w, q6x, q6y, q6z, mx, my, mz)

            if c[C_MAG_REJECTION] != 0.0:
                # field norm and dip angle, low-passed over mag_current_tau
                hn2 = ex * ex + ey * ey
                norm = math.sqrt(hn2 + ez * ez)
                # dip = -asin(ez / norm), as the angle of the (horizontal, vertical) components:
                # atan(ez / |horizontal|) is the same angle without asin's clamp, at a fifth of
                # its cost (a vertical field: -+90°)
                hn = math.sqrt(hn2)
                if hn > 0.0:
                    dip = -math.atan(ez / hn)
                else:
                    dip = -0.5 * math.pi if ez > 0.0 else 0.5 * math.pi
                if c[C_MAG_CUR_TAU] > 0.0:
                    mode = lp_begin(state, F_MND, h)
                    norm_f = lp_comp(
                        state, F_MND, 2, 0, norm, mode, t_mb0, t_mb1, t_mb2, t_ma1, t_ma2
                    )
                    dip_f = lp_comp(
                        state, F_MND, 2, 1, dip, mode, t_mb0, t_mb1, t_mb2, t_ma1, t_ma2
                    )
                    lp_end(state, F_MND, 2, c[C_MAG_CUR_TAU], t_mb0, t_mb2, t_ma2)
                    norm, dip = norm_f, dip_f
                norm_th = c[C_MAG_NORM_TH]
                dip_th = c[C_MAG_DIP_TH]
                ref_n = state[S_MAG_REF_NORM]
                ref_d = state[S_MAG_REF_DIP]
                # disturbed when norm or dip leave a band around the accepted reference; the
                # reference follows slow changes only while undisturbed
                if abs(norm - ref_n) < norm_th * ref_n and abs(dip - ref_d) < dip_th:
                    state[S_MAG_UNDIST_T] += h
                    if state[S_MAG_UNDIST_T] >= c[C_MAG_MIN_UNDIST_T]:
                        state[S_MAGDIST] = 0.0
                        state[S_MAG_REF_NORM] = ref_n + t_kref * (norm - ref_n)
                        state[S_MAG_REF_DIP] = ref_d + t_kref * (dip - ref_d)
                else:
                    state[S_MAG_UNDIST_T] = 0.0
                    state[S_MAGDIST] = 1.0
                # a new homogeneous field is accepted as reference after it was seen consistently
                # while the sensor rotated (rotation proves it is not a sensor-fixed disturbance)
                cn = state[S_MAG_CAND_NORM]
                cd = state[S_MAG_CAND_DIP]
                if abs(norm - cn) < norm_th * cn and abs(dip - cd) < dip_th:
                    gl2 = (
                        state[S_GYR_LP] ** 2
                        + state[S_GYR_LP + 1] ** 2
                        + state[S_GYR_LP + 2] ** 2
                    )
                    if gl2 >= c[C_MAG_NEW_MIN_GYR] ** 2:
                        state[S_MAG_CAND_T] += h
                    cn = cn + t_kref * (norm - cn)
                    cd = cd + t_kref * (dip - cd)
                    state[S_MAG_CAND_NORM] = cn
                    state[S_MAG_CAND_DIP] = cd
                    ct = state[S_MAG_CAND_T]
                    # extension (not in the paper): before any reference exists, a field that stays
                    # consistent at rest for mag_new_first_time also becomes the reference. Rest cannot
                    # tell a sensor-fixed field from the earth's, but this is the field the heading
                    # converges to anyway; having it as a reference lets a disturbance that arrives
                    # before the first rotation (a magnet brought close) be detected and rejected
                    first_at_rest = False
                    if c[C_MAG_REST_REF] != 0.0 and state[S_MAG_REF_NORM] == 0.0:
                        if state[S_REST] != 0.0:
                            state[S_MAG_REST_T] += h
                            first_at_rest = state[S_MAG_REST_T] >= c[C_MAG_NEW_FIRST_T]
                        else:
                            state[S_MAG_REST_T] = 0.0
                    if state[S_MAGDIST] != 0.0 and (
                        ct >= c[C_MAG_NEW_T]
                        or (
                            state[S_MAG_REF_NORM] == 0.0
                            and (ct >= c[C_MAG_NEW_FIRST_T] or first_at_rest)
                        )
                    ):
                        state[S_MAG_REF_NORM] = cn
                        state[S_MAG_REF_DIP] = cd
                        state[S_MAGDIST] = 0.0
                        state[S_MAG_UNDIST_T] = c[C_MAG_MIN_UNDIST_T]
                else:
                    state[S_MAG_CAND_T] = 0.0
                    state[S_MAG_REST_T] = 0.0
                    state[S_MAG_CAND_NORM] = norm
                    state[S_MAG_CAND_DIP] = dip

            # heading disagreement: horizontal field direction in E_i against +y (magnetic north),
            # independent of the dip and of the inclination (only the heading is corrected)
            # = wrap_pi(atan2(ex, ey) - delta): the field's angle in the frame turned by delta,
            # whose (cos, sin) follow from those of delta / 2; it is small while the heading is
            # tracked, and atan costs two thirds of atan2
            hc, hs = state[S_HEAD], state[S_HEAD + 1]
            cdl, sdl = hc * hc - hs * hs, 2.0 * hc * hs
            u = ex * cdl - ey * sdl
            v = ey * cdl + ex * sdl
            dis = math.atan(u / v) if v > 0.0 else math.atan2(u, v)
            k = t_kmag
            if c[C_MAG_REJECTION] != 0.0:
                if state[S_MAGDIST] != 0.0:
                    # reject for at most mag_max_rejection_time, then trust a reduced gain
                    if state[S_MAG_REJECT_T] <= c[C_MAG_MAX_REJ_T]:
                        state[S_MAG_REJECT_T] += h
                        k = 0.0
                    else:
                        k = k / c[C_MAG_REJ_FACTOR]
                else:
                    state[S_MAG_REJECT_T] = max(
                        state[S_MAG_REJECT_T] - c[C_MAG_REJ_FACTOR] * h, 0.0
                    )
            # fast start: gain at least 1/N for the N-th sample (a running mean) during tau_mag
            ki = state[S_KMAGINIT]
            if ki != 0.0:
                k = max(k, ki)
                ki = ki / (ki + 1.0)
                if ki * c[C_TAU_MAG] < h:
                    ki = 0.0
                state[S_KMAGINIT] = ki
            # delta and, for the output, (cos, sin)(delta / 2) turned by the same increment d
            d = k * dis
            x2 = 0.25 * d * d
            if x2 < SMALL_ANGLE2:
                cd, sd = cos_sinc_small(x2)
                sd *= 0.5 * d
            else:
                cd, sd = math.cos(0.5 * d), math.sin(0.5 * d)
            hc, hs = state[S_HEAD], state[S_HEAD + 1]
            hc, hs = hc * cd - hs * sd, hs * cd + hc * sd
            dn = state[S_DELTA] + d
            if dn > math.pi or dn < -math.pi:  # delta wraps by 2 pi: delta / 2 by pi
                hc, hs = -hc, -hs
            r = 1.5 - 0.5 * (hc * hc + hs * hs)  # renormalise (one Newton step; |.| = 1 to round-off)
            state[S_HEAD], state[S_HEAD + 1] = hc * r, hs * r
            state[S_DELTA] = wrap_pi(dn)
    if state[S_STARTED] == 0.0:
        f |= INITIALIZING
    if state[S_REST] != 0.0:
        f |= REST
    if has_mag and state[S_MAGDIST] != 0.0:
        f |= MAG_DISTURBED
    # ---- outputs
    q6w, q6x, q6y, q6z = qmul(
        state[S_QACC], state[S_QACC + 1], state[S_QACC + 2], state[S_QACC + 3],
        state[S_QGYR], state[S_QGYR + 1], state[S_QGYR + 2], state[S_QGYR + 3],
    )  # fmt: skip
    if has_mag:
        q9w, q9x, q9y, q9z = qmul(state[S_HEAD], 0.0, 0.0, state[S_HEAD + 1], q6w, q6x, q6y, q6z)
    else:
        q9w, q9x, q9y, q9z = q6w, q6x, q6y, q6z
    state[S_Q], state[S_Q + 1], state[S_Q + 2], state[S_Q + 3] = q9w, q9x, q9y, q9z
    return f


@inline
def extras_values(state, c, has_mag):
    """The ``extra_out`` row (E_* layout, EXTRA_SIZE values) of the current state."""
    q6w, q6x, q6y, q6z = qmul(
        state[S_QACC], state[S_QACC + 1], state[S_QACC + 2], state[S_QACC + 3],
        state[S_QGYR], state[S_QGYR + 1], state[S_QGYR + 2], state[S_QGYR + 3],
    )  # fmt: skip
    return (
        q6w, q6x, q6y, q6z,
        state[S_BIAS], state[S_BIAS + 1], state[S_BIAS + 2],
        bias_sigma(state, c[C_BIAS_P0]),
        state[S_REST],
        state[S_MAGDIST] if has_mag else 0.0,
        state[S_DELTA] if has_mag else 0.0,
    )  # fmt: skip


# the per-sample arithmetic rounds the same in every kernel that calls it (fusion_common.exact)
exact(
    butter2, exp_gain, bias_noise, bias_meas_var, lp_begin, lp_comp, lp_end, lp_prime, m3mul, m3mul_sym,
    m3adj_sym, m3t, m3inv, m3v, cos_sinc_small, clip, wrap_pi, bias_sigma, step, extras_values,
)
# one step per sample inlined into each entry (no ~25-argument call per sample)
always_inline(step)


@jit
def run(state, coeffs, acc, gyr, mag, dt, q_out, flags_out, counts, extra_out):
    """Advance over N samples (kernel contract of ``fusion_common``)."""
    has_mag = mag.shape[0] > 0
    n_extra = extra_out.shape[1]
    mx = my = mz = 0.0
    for i in range(acc.shape[0]):
        if has_mag:
            mx, my, mz = mag[i, 0], mag[i, 1], mag[i, 2]
        f = step(state, coeffs, acc[i, 0], acc[i, 1], acc[i, 2], gyr[i, 0], gyr[i, 1], gyr[i, 2],
                 mx, my, mz, has_mag, dt[i])  # fmt: skip
        q_out[i, 0], q_out[i, 1], q_out[i, 2], q_out[i, 3] = state[S_Q], state[S_Q + 1], state[S_Q + 2], state[S_Q + 3]
        if n_extra >= EXTRA_SIZE:
            e = extras_values(state, coeffs, has_mag)
            for j in range(EXTRA_SIZE):
                extra_out[i, j] = e[j]
            if n_extra >= EXTRA_SIZE_COV:
                for j in range(9):
                    extra_out[i, E_P + j] = state[S_P + j]
        flags_out[i] = f
        count(counts, f)


@fast_entry
@jit
def run1(acc, gyr, buf, q):
    """One 6D sample (3,) into ``q`` (4,): the same ``step`` as :func:`run` (``fusion_common``).

    Returns False, doing nothing, unless both inputs hold 3 values and ``q`` 4. The wrapper
    passes a fresh ``q`` (``ONE_OUT``): cheaper than copying the work buffer's output.

    The extras are not written: they are a function of the state (:func:`extras_values`), and
    :func:`fill_extras1` writes them when the wrapper is asked for them.
    """
    if acc.shape[0] != 3 or gyr.shape[0] != 3 or q.shape[0] != 4:
        return False  # not one sample: the wrapper's general path reports it
    has_mag = gyr.shape[0] == 0  # False, typed as a run-time bool: ``step`` has one signature
    state, coeffs = buf[IO_STATE:BUF_C0], buf[BUF_C0:BUF_C1]  # (fusion_common layout)
    f = step(state, coeffs, acc[0], acc[1], acc[2], gyr[0], gyr[1], gyr[2], 0.0, 0.0, 0.0, has_mag, buf[IO_DT])
    end1(buf, state, f, has_mag)
    q[0], q[1], q[2], q[3] = state[0], state[1], state[2], state[3]
    return True


@fast_entry
@jit
def run1m(acc, gyr, mag, buf, q):
    """One 9D sample (3,) into ``q`` (4,): as :func:`run1`, with the magnetometer."""
    if acc.shape[0] != 3 or gyr.shape[0] != 3 or mag.shape[0] != 3 or q.shape[0] != 4:
        return False
    has_mag = mag.shape[0] == 3
    state, coeffs = buf[IO_STATE:BUF_C0], buf[BUF_C0:BUF_C1]  # (fusion_common layout)
    f = step(state, coeffs, acc[0], acc[1], acc[2], gyr[0], gyr[1], gyr[2], mag[0], mag[1], mag[2], has_mag,
             buf[IO_DT])
    end1(buf, state, f, has_mag)
    q[0], q[1], q[2], q[3] = state[0], state[1], state[2], state[3]
    return True


@inline
def begin_block(buf, acc, gyr, mag, dt, n, has_mag):
    """Keep the state before a block and the block's inputs, for :func:`fill_block_extras`."""
    for j in range(STATE_SIZE):
        buf[BUF_SNAP + j] = buf[IO_STATE + j]
    for i in range(n):
        r = BUF_IN + 10 * i
        buf[r + 9] = dt[i]
        buf[r], buf[r + 1], buf[r + 2] = acc[i, 0], acc[i, 1], acc[i, 2]
        buf[r + 3], buf[r + 4], buf[r + 5] = gyr[i, 0], gyr[i, 1], gyr[i, 2]
        if has_mag:
            buf[r + 6], buf[r + 7], buf[r + 8] = mag[i, 0], mag[i, 1], mag[i, 2]
    buf[BUF_READY] = 0.0


@fast_entry
@jit
def runb(acc, gyr, dt, buf, q_out):
    """A 6D block of n <= BLOCK samples (n, 3) with periods ``dt`` (n,), s (``fusion_common``).

    Returns False, doing nothing, unless the inputs are such a block. The extras are computed
    when asked for (:func:`fill_block_extras`).
    """
    n = acc.shape[0]
    if acc.shape[1] != 3 or gyr.shape != acc.shape or dt.shape[0] != n or n > BLOCK:
        return False  # not a small block of samples: the wrapper's general path handles it
    has_mag = gyr.shape[1] == 0  # False, typed as a run-time bool: ``step`` has one signature
    begin_block(buf, acc, gyr, gyr, dt, n, has_mag)
    state, coeffs = buf[IO_STATE:BUF_C0], buf[BUF_C0:BUF_C1]  # (fusion_common layout)
    fl0 = IO_STATE + STATE_SIZE + COEFF_SIZE  # = BUF_FL (computed: end_row keeps one signature)
    for i in range(n):
        f = step(state, coeffs, acc[i, 0], acc[i, 1], acc[i, 2], gyr[i, 0], gyr[i, 1], gyr[i, 2], 0.0, 0.0, 0.0,
                 has_mag, dt[i])
        end_row(buf, state, f, q_out, i, fl0)
    endb(buf, n, has_mag)
    return True


@fast_entry
@jit
def runbm(acc, gyr, mag, dt, buf, q_out):
    """A 9D block: as :func:`runb`, with the magnetometer."""
    n = acc.shape[0]
    if acc.shape[1] != 3 or gyr.shape != acc.shape or mag.shape != acc.shape or dt.shape[0] != n or n > BLOCK:
        return False
    has_mag = mag.shape[1] == 3
    begin_block(buf, acc, gyr, mag, dt, n, has_mag)
    state, coeffs = buf[IO_STATE:BUF_C0], buf[BUF_C0:BUF_C1]  # (fusion_common layout)
    fl0 = IO_STATE + STATE_SIZE + COEFF_SIZE  # = BUF_FL (computed: end_row keeps one signature)
    for i in range(n):
        f = step(state, coeffs, acc[i, 0], acc[i, 1], acc[i, 2], gyr[i, 0], gyr[i, 1], gyr[i, 2],
                 mag[i, 0], mag[i, 1], mag[i, 2], has_mag, dt[i])
        end_row(buf, state, f, q_out, i, fl0)
    endb(buf, n, has_mag)
    return True


@fast_entry
@jit
def fill_block_extras(buf):
    """The extras of the last block of ``runb``/``runbm``, rows 0..n-1 of the block extras.

    Runs the same ``step`` again over the kept inputs from the kept state (in a scratch state),
    so the rows are exactly those a per-sample computation would have written.
    """
    n = int(buf[IO_LAST]) - 1
    if buf[BUF_READY] != 0.0 or n < 1:
        return
    has_mag = buf[IO_HAS_MAG] != 0.0
    for j in range(STATE_SIZE):
        buf[BUF_SCRATCH + j] = buf[BUF_SNAP + j]
    state, coeffs = buf[BUF_SCRATCH : BUF_SCRATCH + STATE_SIZE], buf[BUF_C0:BUF_C1]
    for i in range(n):
        r = BUF_IN + 10 * i
        if has_mag:
            mx, my, mz = buf[r + 6], buf[r + 7], buf[r + 8]
        else:
            mx = my = mz = 0.0
        step(state, coeffs, buf[r], buf[r + 1], buf[r + 2], buf[r + 3], buf[r + 4], buf[r + 5], mx, my, mz,
             has_mag, buf[r + 9])
        e = extras_values(state, coeffs, has_mag)
        for j in range(EXTRA_SIZE):
            buf[BUF_EX + EXTRA_SIZE * i + j] = e[j]
    buf[BUF_READY] = 1.0


@fast_entry
@jit
def fill_extras1(buf):
    """The extras row of the current state into the work buffer's first extras row."""
    state, coeffs = buf[IO_STATE:BUF_C0], buf[BUF_C0:BUF_C1]  # (fusion_common layout)
    e = extras_values(state, coeffs, buf[IO_HAS_MAG] != 0.0)
    for j in range(EXTRA_SIZE):
        buf[BUF_EX + j] = e[j]
