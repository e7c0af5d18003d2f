"""Single-sensor repetition signal: the angle about one IMU's dominant rotation axis.

``axis_step`` turns one IMU's gyroscope (and accelerometer) into an angle-like signal
(radians) about its dominant rotation axis.

* The axis is the principal eigenvector of an exponentially weighted covariance of the
  angular rate, ``C <- (1 - lam) C + lam w w^T``: during hinge-like exercise the rate is
  concentrated along the joint axis, the observation behind gyroscope-based axis
  identification (Seel, Raisch & Schauer 2014, Sensors 14(4):6891,
  doi:10.3390/s140406891, sec. 3.1, fit a kinematic constraint; one segment's dominant
  direction only needs a running PCA). Rotation about the vertical (a body turn) enters
  ``C`` with a reduced weight, so a turn cannot steal the axis. One power-iteration step
  per sample (Golub & Van Loan, Matrix Computations, 4th ed., sec. 7.3.1) tracks the
  eigenvector; since ``C`` is positive semi-definite, ``a^T C a >= 0``, so the step never
  flips the sign of ``a``: the sign ambiguity of PCA is resolved by continuity.
* The angle integrates ``w . a`` and is pulled towards the inclination of gravity in the
  plane perpendicular to ``a``, measured from the posture at the first sample (a
  complementary filter, Mahony, Hamel & Pflimlin 2008, doi:10.1109/TAC.2008.923738,
  reduced to one axis), weighted by how much of gravity lies in that plane; without usable
  gravity the integral leaks to zero (a first-order high-pass), so it never drifts.

The streaming ``RepCounter`` and the batch ``count_reps`` both reach ``axis_step`` through
``run_imu`` in :mod:`motiontrack._kernels.reps`, which feeds its angle to the repetition
state machine sample by sample. ``axis_step`` is a numba per-sample step kernel: it stays one
function (exempt from the 120-line limit on functions), so the whole step reads in order.

Kernels validate nothing and raise nothing; NaN samples are skipped (a gap).
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit

# axis_step: state and coefficient layout
#: covariance of the angular rate (xx, yy, zz, xy, xz, yz), (rad/s)^2
A_CXX, A_CYY, A_CZZ, A_CXY, A_CXZ, A_CYZ = 0, 1, 2, 3, 4, 5
#: dominant axis (unit vector, sensor frame)
A_AX, A_AY, A_AZ = 6, 7, 8
#: in-plane reference direction u (perpendicular to a), sensor frame
A_UX, A_UY, A_UZ = 9, 10, 11
#: the angle about a, rad
A_THETA = 12
#: 1 once the axis has been seeded from a first moving sample
A_SEEDED = 13
#: weight of gravity used on the last sample (diagnostic, 0..1)
A_GWEIGHT = 14
#: slow mean of the specific force (sensor frame), m/s^2: the zero of the angle
A_GMX, A_GMY, A_GMZ = 15, 16, 17
#: 1 once the mean of the specific force has been initialised
A_GM_INIT = 18
#: offset subtracted from the output so that it stays continuous when the axis is seeded, rad
A_OFFSET = 19
#: low-passed specific force (sensor frame), m/s^2: the current direction of "up"
A_GLX, A_GLY, A_GLZ = 20, 21, 22
#: rate about the axis at the last valid sample, rad/s, and samples missing since then
A_WPREV = 23
A_NMISS = 24
A_SIZE = 25

AK_LAM = 0  #: covariance forgetting factor per sample, dt / tau_axis
AK_KACC = 1  #: complementary gain per sample, dt / tau_acc
AK_KLEAK = 2  #: leak per sample without gravity, dt / tau_leak
AK_DT = 3  #: sample period, s
AK_G = 4  #: gravity magnitude, m/s^2
AK_SEED_RATE = 5  #: angular rate that seeds the axis, rad/s
AK_KGM = 6  #: forgetting factor of the mean specific force per sample, dt / tau_ref
AK_KGL = 7  #: low-pass gain of the current "up" direction per sample
AK_VWEIGHT = 8  #: weight of rotation about the vertical in the axis covariance (0..1)
AK_SIZE = 9


@jit
def axis_init(state: np.ndarray) -> None:
    """Reset the single-sensor angle state in place."""
    for i in range(A_SIZE):
        state[i] = 0.0
    state[A_AX] = 1.0
    state[A_UY] = 1.0


@jit
def axis_step(state: np.ndarray, coeffs: np.ndarray, gx: float, gy: float, gz: float,
              ax: float, ay: float, az: float) -> float:
    """Advance the dominant-axis angle by one sample; return the angle in rad (NaN on a gap)."""
    if not (math.isfinite(gx) and math.isfinite(gy) and math.isfinite(gz)):
        state[A_NMISS] += 1.0
        return math.nan
    lam = coeffs[AK_LAM]
    dt = coeffs[AK_DT]
    # rotation about the vertical (a body turn) is down-weighted in the axis estimate: it does
    # not change the inclination the angle is anchored to, and a turn must not steal the axis
    hx = gx
    hy = gy
    hz = gz
    if math.isfinite(ax) and math.isfinite(ay) and math.isfinite(az):
        kl = coeffs[AK_KGL]
        if state[A_GLX] == 0.0 and state[A_GLY] == 0.0 and state[A_GLZ] == 0.0:
            kl = 1.0
        state[A_GLX] += kl * (ax - state[A_GLX])
        state[A_GLY] += kl * (ay - state[A_GLY])
        state[A_GLZ] += kl * (az - state[A_GLZ])
    ln = math.sqrt(state[A_GLX] ** 2 + state[A_GLY] ** 2 + state[A_GLZ] ** 2)
    if ln > 1e-6:
        e0 = state[A_GLX] / ln
        e1 = state[A_GLY] / ln
        e2 = state[A_GLZ] / ln
        wv = (1.0 - coeffs[AK_VWEIGHT]) * (gx * e0 + gy * e1 + gz * e2)
        hx = gx - wv * e0
        hy = gy - wv * e1
        hz = gz - wv * e2
    # exponentially weighted covariance of the angular rate (PCA of the gyroscope)
    state[A_CXX] += lam * (hx * hx - state[A_CXX])
    state[A_CYY] += lam * (hy * hy - state[A_CYY])
    state[A_CZZ] += lam * (hz * hz - state[A_CZZ])
    state[A_CXY] += lam * (hx * hy - state[A_CXY])
    state[A_CXZ] += lam * (hx * hz - state[A_CXZ])
    state[A_CYZ] += lam * (hy * hz - state[A_CYZ])
    a0 = state[A_AX]
    a1 = state[A_AY]
    a2 = state[A_AZ]
    wn = math.sqrt(gx * gx + gy * gy + gz * gz)
    if state[A_SEEDED] == 0.0:
        if wn >= coeffs[AK_SEED_RATE]:
            # seed the axis with the first clearly moving sample
            a0 = gx / wn
            a1 = gy / wn
            a2 = gz / wn
            state[A_SEEDED] = 1.0
    else:
        # one power-iteration step: a <- C a / |C a| (sign kept: a^T C a >= 0)
        b0 = state[A_CXX] * a0 + state[A_CXY] * a1 + state[A_CXZ] * a2
        b1 = state[A_CXY] * a0 + state[A_CYY] * a1 + state[A_CYZ] * a2
        b2 = state[A_CXZ] * a0 + state[A_CYZ] * a1 + state[A_CZZ] * a2
        bn = math.sqrt(b0 * b0 + b1 * b1 + b2 * b2)
        if bn > 1e-30:
            a0 = b0 / bn
            a1 = b1 / bn
            a2 = b2 / bn
    state[A_AX] = a0
    state[A_AY] = a1
    state[A_AZ] = a2
    # zero of the angle: u = the slow mean of gravity projected on the plane perpendicular to a
    # (so the angle is the inclination relative to the mean posture, independent of how the
    # axis estimate wanders); Gram-Schmidt on the previous u when that projection vanishes
    acc_ok = math.isfinite(ax) and math.isfinite(ay) and math.isfinite(az)
    if acc_ok:
        if state[A_GM_INIT] == 0.0:
            state[A_GMX] = ax
            state[A_GMY] = ay
            state[A_GMZ] = az
            state[A_GM_INIT] = 1.0
        else:
            kg = coeffs[AK_KGM]
            state[A_GMX] += kg * (ax - state[A_GMX])
            state[A_GMY] += kg * (ay - state[A_GMY])
            state[A_GMZ] += kg * (az - state[A_GMZ])
    m0 = state[A_GMX]
    m1 = state[A_GMY]
    m2 = state[A_GMZ]
    mn = math.sqrt(m0 * m0 + m1 * m1 + m2 * m2)
    d = m0 * a0 + m1 * a1 + m2 * a2
    u0 = m0 - d * a0
    u1 = m1 - d * a1
    u2 = m2 - d * a2
    un = math.sqrt(u0 * u0 + u1 * u1 + u2 * u2)
    if state[A_GM_INIT] == 0.0 or un < 0.2 * mn:
        u0 = state[A_UX]
        u1 = state[A_UY]
        u2 = state[A_UZ]
        d = u0 * a0 + u1 * a1 + u2 * a2
        u0 -= d * a0
        u1 -= d * a1
        u2 -= d * a2
        un = math.sqrt(u0 * u0 + u1 * u1 + u2 * u2)
    if un < 1e-3:
        # u became parallel to a: restart it from the sensor axis least aligned with a
        if abs(a0) <= abs(a1) and abs(a0) <= abs(a2):
            u0, u1, u2 = 1.0 - a0 * a0, -a0 * a1, -a0 * a2
        elif abs(a1) <= abs(a2):
            u0, u1, u2 = -a1 * a0, 1.0 - a1 * a1, -a1 * a2
        else:
            u0, u1, u2 = -a2 * a0, -a2 * a1, 1.0 - a2 * a2
        un = math.sqrt(u0 * u0 + u1 * u1 + u2 * u2)
    u0 /= un
    u1 /= un
    u2 /= un
    state[A_UX] = u0
    state[A_UY] = u1
    state[A_UZ] = u2
    # gyro integration about a
    w_a = gx * a0 + gy * a1 + gz * a2
    theta = state[A_THETA] + w_a * dt
    if state[A_NMISS] > 0.0:
        # bridge dropped samples (up to 1 s) with the mean of the rates on either side
        theta += 0.5 * (state[A_WPREV] + w_a) * min(state[A_NMISS] * dt, 1.0)
        state[A_NMISS] = 0.0
    state[A_WPREV] = w_a
    # gravity in the plane perpendicular to a: v = a x u
    weight = 0.0
    if acc_ok:
        g = coeffs[AK_G]
        pa = ax * a0 + ay * a1 + az * a2
        p0 = ax - pa * a0
        p1 = ay - pa * a1
        p2 = az - pa * a2
        pn = math.sqrt(p0 * p0 + p1 * p1 + p2 * p2)
        an = math.sqrt(ax * ax + ay * ay + az * az)
        # trust: in-plane share of gravity (0 below 0.3 g, 1 above 0.6 g) and |acc| close to g
        weight = min(max((pn / g - 0.3) / 0.3, 0.0), 1.0)
        weight *= max(1.0 - abs(an - g) / (0.5 * g), 0.0)
        if weight > 0.0:
            v0 = a1 * u2 - a2 * u1
            v1 = a2 * u0 - a0 * u2
            v2 = a0 * u1 - a1 * u0
            # a sensor turning by +phi about a sees gravity turn by -phi about a
            phi_acc = -math.atan2(p0 * v0 + p1 * v1 + p2 * v2, p0 * u0 + p1 * u1 + p2 * u2)
            err = phi_acc - theta
            err = err - 2.0 * math.pi * math.floor((err + math.pi) / (2.0 * math.pi))
            if state[A_SEEDED] < 2.0:
                # before motion, and on the sample that seeds the axis: take the inclination
                theta = theta + err
            else:
                theta = theta + coeffs[AK_KACC] * weight * err
    theta -= coeffs[AK_KLEAK] * (1.0 - weight) * theta
    if state[A_SEEDED] == 1.0:
        # the axis was just seeded: the output continues from its previous value (0)
        state[A_SEEDED] = 2.0
        state[A_OFFSET] = theta
    state[A_THETA] = theta
    state[A_GWEIGHT] = weight
    if state[A_SEEDED] == 0.0:
        return 0.0  # no rotation seen yet: no axis, no angle
    return theta - state[A_OFFSET]
