"""Hinge angle of a motion-calibrated generic hinge: the gyroscope rate about the hinge,
integrated, with its bias and drift corrected by the directions a hinge rotates about its axis.

For a hinge the relative rotation of the two segment frames (z = hinge in both) is ``Rz(θ)``:
any vector ``v`` common to both segments, seen in the two segment frames, obeys
``v_P = Rz(θ) v_D``. The specific force at the joint centre (each accelerometer moved to the
joint centre with its gyroscope: ``a + dw x o + w x (w x o)``, Seel et al. 2014 §3.2-3.3), or
else gravity (the up direction of each fused orientation), and in 9D the magnetic field (each
sensor's own magnetometer) are such vectors; no heading is needed; the angle between the
horizontal-to-the-hinge parts of ``v_D`` and ``v_P`` measures θ, informative as much as the
direction is off the hinge axis (Seel, Raisch & Schauer 2014, Sensors 14(4):6891, §3.3: the
accelerometer-based hinge angle fused with the integrated rate ``g2·j2 - g1·j1``, eq. 5).

A two-state Kalman filter (θ, relative rate bias b) integrates the rate and takes each
measurement with variance ``r / w`` (``w`` in (0, 1]: the informativeness), so a hinge that
is vertical for a while (no gravity information in 6D) coasts on the gyroscopes with the bias
estimated before, instead of the hinge constraint's held heading.
"""

from __future__ import annotations

import math

from ._jit import inline, jit
from .quaternion import qrot, qrot_inv

# coefficients
C_J1 = 0  # 3: hinge axis, proximal sensor frame
C_J2 = 3  # 3: hinge axis, distal sensor frame
C_MP = 6  # 4: q_segment_sensor of the proximal sensor
C_MD = 10  # 4: q_segment_sensor of the distal sensor
C_DT = 14  # s
C_Q_TH = 15  # rad²/s: rate noise (white) of the integrated angle
C_Q_TH_REL = 16  # s: axis errors (squared) times their correlation time; times |g_p|² + |g_d|²
C_Q_B = 17  # (rad/s)²/s: bias random walk
C_R = 18  # rad²: measurement variance at full informativeness
C_W_MIN = 19  # informativeness below which a measurement is not used
C_USE_MAG = 20  # 1: magnetometer directions too
C_MAG_TOL = 21  # relative norm difference of the two fields above which mag is not used
C_O1 = 22  # 3: joint centre seen from the proximal sensor, m, proximal sensor frame
C_O2 = 25  # 3: joint centre seen from the distal sensor, m, distal sensor frame
C_USE_JC = 28  # 1: the specific force at the joint centre replaces the fused up direction
N_COEFFS = 29

# state
S_TH = 0  # rad
S_B = 1  # rad/s
S_P00 = 2
S_P01 = 3
S_P11 = 4
S_INIT = 5  # 1 once θ is known (a first informative measurement, or a seed)
S_GP = 6  # 3: previous proximal gyroscope sample (angular acceleration)
S_GD = 9  # 3: previous distal gyroscope sample
S_GINIT = 12  # 1 once a previous gyroscope sample is stored
N_STATE = 13


@inline
def _wrap(a):
    return math.atan2(math.sin(a), math.cos(a))


@inline
def _measure(cw, cx, cy, cz, vpx, vpy, vpz, dw, dx, dy, dz, vdx, vdy, vdz):
    """(θ, weight) from one direction seen in both sensor frames (vp, vd), rotated into the
    segment frames by the mountings c (proximal) and d (distal)."""
    a = qrot(cw, cx, cy, cz, vpx, vpy, vpz)
    b = qrot(dw, dx, dy, dz, vdx, vdy, vdz)
    na = math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2])
    nb = math.sqrt(b[0] * b[0] + b[1] * b[1] + b[2] * b[2])
    if not (na > 0.0 and nb > 0.0):
        return 0.0, 0.0
    hp = math.sqrt(a[0] * a[0] + a[1] * a[1]) / na
    hd = math.sqrt(b[0] * b[0] + b[1] * b[1]) / nb
    de = (a[2] / na - b[2] / nb) / 0.15
    w = hp * hd * math.exp(-de * de)
    th = math.atan2(b[0] * a[1] - b[1] * a[0], b[0] * a[0] + b[1] * a[1])
    return th, w


P_B0 = 0.0025  # (rad/s)²: prior variance of the rate bias (±2.9 °/s, 1 sigma)


@inline
def _init(state, th, r):
    state[S_TH] = th
    state[S_B] = 0.0
    state[S_P00] = r
    state[S_P01] = 0.0
    state[S_P11] = P_B0
    state[S_INIT] = 1.0


@inline
def _update(state, th_m, w, r):
    nu = _wrap(th_m - state[S_TH])
    s = state[S_P00] + r / w
    k0 = state[S_P00] / s
    k1 = state[S_P01] / s
    state[S_TH] += k0 * nu
    state[S_B] += k1 * nu
    p00, p01, p11 = state[S_P00], state[S_P01], state[S_P11]
    state[S_P00] = (1.0 - k0) * p00
    state[S_P01] = (1.0 - k0) * p01
    state[S_P11] = p11 - k1 * p01


@inline
def _at_joint(a, g, gprev, o0, o1, o2, dt):
    """Specific force at the joint centre o (sensor frame): a + dw x o + w x (w x o)."""
    dw0 = (g[0] - gprev[0]) / dt
    dw1 = (g[1] - gprev[1]) / dt
    dw2 = (g[2] - gprev[2]) / dt
    c0 = g[1] * o2 - g[2] * o1
    c1 = g[2] * o0 - g[0] * o2
    c2 = g[0] * o1 - g[1] * o0
    return (
        a[0] + dw1 * o2 - dw2 * o1 + g[1] * c2 - g[2] * c1,
        a[1] + dw2 * o0 - dw0 * o2 + g[2] * c0 - g[0] * c2,
        a[2] + dw0 * o1 - dw1 * o0 + g[0] * c1 - g[1] * c0,
    )


@jit
def step(state, coeffs, q_p, q_d, g_p, g_d, a_p, a_d, m_p, m_d, out):
    """One sample: ``out`` (3,) receives θ (rad, NaN until known), the informativeness of the
    sample and the rate bias estimate (rad/s)."""
    ok = True
    for i in range(4):
        ok = ok and math.isfinite(q_p[i]) and math.isfinite(q_d[i])
    for i in range(3):
        ok = ok and math.isfinite(g_p[i]) and math.isfinite(g_d[i])
    if not ok:
        out[0] = math.nan
        out[1] = 0.0
        out[2] = state[S_B]
        state[S_GINIT] = 0.0
        return
    dt = coeffs[C_DT]
    rate = (
        g_d[0] * coeffs[C_J2]
        + g_d[1] * coeffs[C_J2 + 1]
        + g_d[2] * coeffs[C_J2 + 2]
        - g_p[0] * coeffs[C_J1]
        - g_p[1] * coeffs[C_J1 + 1]
        - g_p[2] * coeffs[C_J1 + 2]
    )
    if state[S_INIT] > 0.0:
        state[S_TH] = _wrap(state[S_TH] + (rate - state[S_B]) * dt)
        p00, p01, p11 = state[S_P00], state[S_P01], state[S_P11]
        # rate noise, plus the leak of each segment's whole rotation through axis errors
        g2 = (
            g_p[0] * g_p[0]
            + g_p[1] * g_p[1]
            + g_p[2] * g_p[2]
            + g_d[0] * g_d[0]
            + g_d[1] * g_d[1]
            + g_d[2] * g_d[2]
        )
        q_th = coeffs[C_Q_TH] + coeffs[C_Q_TH_REL] * g2
        state[S_P00] = p00 - 2.0 * dt * p01 + dt * dt * p11 + q_th * dt
        state[S_P01] = p01 - dt * p11
        state[S_P11] = p11 + coeffs[C_Q_B] * dt
    # a direction both segments see: the specific force at the joint centre (Seel et al. 2014
    # §3.3, free of the centripetal and tangential terms that bias a fused "up" in brisk
    # motion), else the fused up direction of each sensor
    jc_ok = coeffs[C_USE_JC] > 0.0 and state[S_GINIT] > 0.0
    for i in range(3):
        jc_ok = jc_ok and math.isfinite(a_p[i]) and math.isfinite(a_d[i])
    if jc_ok:
        up_p = _at_joint(
            a_p, g_p, state[S_GP : S_GP + 3], coeffs[C_O1], coeffs[C_O1 + 1], coeffs[C_O1 + 2], dt
        )
        up_d = _at_joint(
            a_d, g_d, state[S_GD : S_GD + 3], coeffs[C_O2], coeffs[C_O2 + 1], coeffs[C_O2 + 2], dt
        )
    else:
        up_p = qrot_inv(q_p[0], q_p[1], q_p[2], q_p[3], 0.0, 0.0, 1.0)
        up_d = qrot_inv(q_d[0], q_d[1], q_d[2], q_d[3], 0.0, 0.0, 1.0)
    for i in range(3):
        state[S_GP + i] = g_p[i]
        state[S_GD + i] = g_d[i]
    state[S_GINIT] = 1.0
    mp0, mp1, mp2, mp3 = coeffs[C_MP], coeffs[C_MP + 1], coeffs[C_MP + 2], coeffs[C_MP + 3]
    md0, md1, md2, md3 = coeffs[C_MD], coeffs[C_MD + 1], coeffs[C_MD + 2], coeffs[C_MD + 3]
    th_g, w_g = _measure(
        mp0, mp1, mp2, mp3, up_p[0], up_p[1], up_p[2], md0, md1, md2, md3, up_d[0], up_d[1], up_d[2]
    )
    w_best = w_g
    r = coeffs[C_R]
    wmin = coeffs[C_W_MIN]
    if state[S_INIT] == 0.0:
        if w_g >= 0.3:
            _init(state, th_g, r)
    elif w_g >= wmin:
        _update(state, th_g, w_g, r)
    if coeffs[C_USE_MAG] > 0.0:
        fin = True
        for i in range(3):
            fin = fin and math.isfinite(m_p[i]) and math.isfinite(m_d[i])
        if fin:
            a1 = math.sqrt(m_p[0] * m_p[0] + m_p[1] * m_p[1] + m_p[2] * m_p[2])
            a2 = math.sqrt(m_d[0] * m_d[0] + m_d[1] * m_d[1] + m_d[2] * m_d[2])
            if a1 > 0.0 and a2 > 0.0 and abs(a1 - a2) / (0.5 * (a1 + a2)) < coeffs[C_MAG_TOL]:
                th_m, w_m = _measure(
                    mp0,
                    mp1,
                    mp2,
                    mp3,
                    m_p[0],
                    m_p[1],
                    m_p[2],
                    md0,
                    md1,
                    md2,
                    md3,
                    m_d[0],
                    m_d[1],
                    m_d[2],
                )
                if state[S_INIT] == 0.0:
                    if w_m >= 0.3:
                        _init(state, th_m, r)
                elif w_m >= wmin:
                    _update(state, th_m, w_m, r)
                w_best = max(w_best, w_m)
    out[0] = state[S_TH] if state[S_INIT] > 0.0 else math.nan
    out[1] = w_best
    out[2] = state[S_B]


@jit
def run(state, coeffs, q_p, q_d, g_p, g_d, a_p, a_d, m_p, m_d, out):
    """``step`` over N rows (``q_*`` (N, 4); ``g_*``, ``a_*``, ``m_*`` (N, 3), NaN when absent)."""
    for i in range(q_p.shape[0]):
        step(state, coeffs, q_p[i], q_d[i], g_p[i], g_d[i], a_p[i], a_d[i], m_p[i], m_d[i], out[i])
