"""One sample of the VQF-class filter: strapdown, inclination, then bias and magnetometer.

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

:func:`step` advances one sample on scalars, in sections: rest detection and the bias filter
(:mod:`.vqf_bias`), strapdown and inclination (here), magnetometer (:mod:`.vqf_mag`),
outputs. Every entry of :mod:`.vqf` calls it, and it and its helpers use IEEE-exact
arithmetic (``fusion_common.exact``) so that every compiled copy rounds alike. The sections
are helpers inlined into ``step`` and ``step`` into every entry
(``fusion_common.always_inline``, arithmetic flags unchanged), so the compiled per-sample
code is one body: numba increfs/decrefs every array argument of a call LLVM does not inline,
with atomic operations, which would cost ~25 % of the time.
The per-sample work is one long dependency chain (bias -> strapdown -> inclination -> bias
filter -> bias), so the order of operations keeps divisions, square roots and trigonometry
off it where an exact cheaper form exists: the strapdown rotation and the heading increment
use the Taylor series of cos x and sin(x)/x below |x| = 0.05 rad (exact to round-off), the
output's heading rotation (cos, sin)(delta / 2) is kept in the state next to delta, and the
dip and the heading disagreement are angles by atan of a ratio (cheaper than asin and atan2).

Variable sample periods: the coefficients for the nominal period are precomputed in
``coeffs``; a sample whose ``dt`` differs recomputes the few dt-dependent gains (filter
taps, exponential gains, bias-filter variances) in scalars, without allocation.

Dropped gyroscope samples (a NaN row on a uniform grid): their time is kept in
``state[S_CARRY]`` and the next valid sample integrates over its own period plus the carried
one (every dt-dependent gain too), exactly as if the rows were absent from a timestamped
stream; a run of gaps longer than ``fusion_common.MAX_GAP_CARRY_S`` (0.5 s) is a real gap and
its time is dropped.
"""

from __future__ import annotations

import math

from ._jit import inline
from .fusion_common import (
    ACC_GAP,
    DT_INVALID,
    GYR_GAP,
    INITIALIZING,
    MAG_DISTURBED,
    MAG_GAP,
    REST,
    always_inline,
    carry_gap,
    exact,
    screen_values,
    with_carry,
)
from .quaternion import qmul, qrot
from .vqf_bias import bias_sigma, bias_update, rest_acc, rest_gyr
from .vqf_layout import (
    C_ACC_LP,
    C_ACC_RANGE,
    C_BIAS_P0,
    C_DT,
    C_GYR_RANGE,
    C_KMAG,
    C_KMAGREF,
    C_MAG_CUR_TAU,
    C_MAG_REF_TAU,
    C_MND_LP,
    C_MOTION_BIAS,
    C_REST_BIAS,
    C_REST_LP,
    C_REST_TAU,
    C_TAU_ACC,
    C_TAU_MAG,
    F_ACC,
    LP_MODE,
    S_BIAS,
    S_CARRY,
    S_DELTA,
    S_HEAD,
    S_MAGDIST,
    S_Q,
    S_QACC,
    S_QGYR,
    S_REST,
    S_STARTED,
    butter2,
    exp_gain,
)
from .vqf_mag import mag_update
from .vqf_math import SMALL_ANGLE2, cos_sinc_small, lp_begin, lp_comp, lp_end, lp_prime

EPS = 2.220446049250313e-16
#: m/s²; a low-passed specific force below this has no usable direction (its squares
#: underflow): no inclination correction
EN_MIN = 1e-100


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
            ta = (ab0, ab1, ab2, aa1, aa2)
            tr = (rb0, rb1, rb2, ra1, ra2)
            tm = (mb0, mb1, mb2, ma1, ma2)
            t_kmag, t_kref = kmag, kref
        else:  # a different period: recompute the dt-dependent taps and gains
            ta = butter2(c[C_TAU_ACC], h)
            tr = butter2(c[C_REST_TAU], h)
            tm = butter2(c[C_MAG_CUR_TAU], h)
            t_kmag, t_kref = exp_gain(c[C_TAU_MAG], h), exp_gain(c[C_MAG_REF_TAU], h)
        # ---- gyroscope: rest detection (gyro part, § rest), strapdown (§ strapdown)
        rest_gyr(state, c, gx, gy, gz, h, tr)
        strapdown(state, gx, gy, gz, h)
        # R(q6) of this sample once the bias section computed it (the magnetometer reuses it)
        have_r = False
        rm = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        # ---- accelerometer: rest detection (acc part), inclination (§ inclination), bias
        if not (f & ACC_GAP) and a2 > 0.0:  # an all-zero (or underflowing) row: no tilt information
            rest_acc(state, c, ax, ay, az, h, tr)
            ex, ey = inclination(state, c, ax, ay, az, h, ta)
            # -- gyroscope bias estimation (§ bias): a Kalman filter on the bias
            if c[C_REST_BIAS] != 0.0 or c[C_MOTION_BIAS] != 0.0:
                rm = bias_update(state, c, h, ex, ey, ta)
                have_r = True
            state[S_STARTED] = 1.0
        # ---- magnetometer: disturbance detection (§ magdist), heading correction (§ heading)
        if has_mag and not (f & MAG_GAP) and m2 > 0.0 and state[S_STARTED] != 0.0:
            mag_update(state, c, mx, my, mz, h, have_r, rm, tm, t_kmag, t_kref)
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
def strapdown(state, gx, gy, gz, h):
    """§ strapdown: q_gyr <- q_gyr ⊗ exp((gyr - b) h / 2), exact for a constant rate over h."""
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


@inline
def inclination(state, c, ax, ay, az, h, ta):
    """§ inclination: low-pass the specific force in I_i (taps ``ta``, time constant tau_acc)
    and turn q_acc about a horizontal axis so that the low-passed force points up in E_i.

    Returns the horizontal part (ex, ey) of the normalised low-passed specific force in E_i
    before the correction (what the correction undid; (0, 0) when it has no direction).
    """
    t_ab0, t_ab1, t_ab2, t_aa1, t_aa2 = ta
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
    return ex, ey


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
exact(step, strapdown, inclination, extras_values)
# one step per sample inlined into each entry (no ~25-argument call per sample), and its
# sections into it
always_inline(step, strapdown, inclination)
