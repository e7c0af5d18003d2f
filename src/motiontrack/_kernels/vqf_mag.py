"""The magnetometer of the VQF kernel: disturbance detection (paper § magdist) and heading (§ heading).

D. Laidig, T. Seel, Information Fusion 91 (2023) 187-204, doi:10.1016/j.inffus.2022.10.014.

The field is taken into the 6D earth frame E_i (R(q6) m). Its norm and dip angle, low-passed
over ``mag_current_tau``, are compared with an accepted reference: outside a band around it
the field is disturbed and the heading correction is rejected for at most
``mag_max_rejection_time``, then applied with a reduced gain. A new homogeneous field becomes
the reference once it was seen consistently while the sensor rotated (:func:`mag_candidate`).
The heading correction turns only the heading offset delta (a rotation about z) towards the
horizontal field's direction; the inclination is never touched.

Extension (not in the paper, ``C_MAG_REST_REF``, switched off by that coefficient): before any
reference exists, a field steady at rest for ``mag_new_first_time`` also becomes the reference.

Each section is a helper that ``vqf_step.step`` calls once per sample; every helper is
compiled with IEEE-exact arithmetic (``fusion_common.exact``) and inlined into its caller
(``fusion_common.always_inline``).
"""

from __future__ import annotations

import math

from ._jit import inline
from .fusion_common import always_inline, exact
from .quaternion import qmul, qrot
from .vqf_layout import (
    C_MAG_CUR_TAU,
    C_MAG_DIP_TH,
    C_MAG_MAX_REJ_T,
    C_MAG_MIN_UNDIST_T,
    C_MAG_NEW_FIRST_T,
    C_MAG_NEW_MIN_GYR,
    C_MAG_NEW_T,
    C_MAG_NORM_TH,
    C_MAG_REJ_FACTOR,
    C_MAG_REJECTION,
    C_MAG_REST_REF,
    C_TAU_MAG,
    F_MND,
    S_DELTA,
    S_GYR_LP,
    S_HEAD,
    S_KMAGINIT,
    S_MAG_CAND_DIP,
    S_MAG_CAND_NORM,
    S_MAG_CAND_T,
    S_MAG_REF_DIP,
    S_MAG_REF_NORM,
    S_MAG_REJECT_T,
    S_MAG_REST_T,
    S_MAG_UNDIST_T,
    S_MAGDIST,
    S_QACC,
    S_QGYR,
    S_REST,
)
from .vqf_math import SMALL_ANGLE2, cos_sinc_small, lp_begin, lp_comp, lp_end, wrap_pi


@inline
def mag_update(state, c, mx, my, mz, h, have_r, rm, tm, t_kmag, t_kref):
    """One magnetometer sample: disturbance detection, then the heading correction.

    ``rm``: R(q6) of this sample when the bias section computed it (``have_r``), else q6 is
    taken from the state; ``tm``: the norm/dip low-pass taps, ``t_kmag``/``t_kref``: the
    heading and reference gains, all at this sample's period ``h``.
    """
    # field in E_i: R(q6) m, with the bias section's R when it computed one
    if have_r:
        r0, r1, r2, r3, r4, r5, r6, r7, r8 = rm
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
        mag_disturbance(state, c, ex, ey, ez, h, tm, t_kref)
    heading_update(state, c, ex, ey, h, t_kmag)


@inline
def mag_disturbance(state, c, ex, ey, ez, h, tm, t_kref):
    """Disturbance detection (§ magdist) on the field ``e`` in E_i: norm and dip against the
    accepted reference, which follows slow changes while undisturbed."""
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
        t_mb0, t_mb1, t_mb2, t_ma1, t_ma2 = tm
        mode = lp_begin(state, F_MND, h)
        norm_f = lp_comp(state, F_MND, 2, 0, norm, mode, t_mb0, t_mb1, t_mb2, t_ma1, t_ma2)
        dip_f = lp_comp(state, F_MND, 2, 1, dip, mode, t_mb0, t_mb1, t_mb2, t_ma1, t_ma2)
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
    mag_candidate(state, c, norm, dip, h, t_kref)


@inline
def mag_candidate(state, c, norm, dip, h, t_kref):
    """A new homogeneous field is accepted as reference after it was seen consistently
    while the sensor rotated (rotation proves it is not a sensor-fixed disturbance)."""
    norm_th = c[C_MAG_NORM_TH]
    dip_th = c[C_MAG_DIP_TH]
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


@inline
def heading_update(state, c, ex, ey, h, t_kmag):
    """The heading correction (§ heading): turn delta towards the horizontal field ``(ex, ey)``
    in E_i with gain ``t_kmag`` (zero or reduced while disturbed; at least 1/N for the N-th
    sample during the fast start)."""
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


# the per-sample arithmetic rounds the same in every kernel that calls it (fusion_common.exact);
# the sections are inlined into ``step`` (no call with array arguments per sample)
exact(mag_update, mag_disturbance, mag_candidate, heading_update)
always_inline(mag_update, mag_disturbance, mag_candidate, heading_update)
