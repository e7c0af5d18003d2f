"""Template matching: mounting-invariant features and streaming subsequence DTW (SPRING).

One kernel, :func:`run`, serves the streaming ``TemplateCounter.update`` and the batch
``detect_template_reps``: a batch is one call over the whole recording, a stream is the same
call block by block with the state carried over, and both give the same events.

Three stages per input sample:

1. **Features** (input rate). Per IMU two angles that do not depend on how the sensor is
   strapped to its segment (a re-strap is a constant rotation ``R`` of the sensor frame;
   every feature below is a dot product or a norm of vectors taken in that same frame, so
   ``R`` cancels):

   * ``theta``: the inclination change of the sensor since its last rest, rad: the angle
     between the current direction of "up" (the low-passed specific force, unit vector) and
     the direction it had at the last rest (the *anchor*, refreshed while the sensor stays
     still for ``CF_ANCHOR_S``);
   * the rate of rotation about the vertical, ``gyr . up``, times ``CF_VTAU`` (rad): turns
     and circles that do not tilt the segment.

   The anchor is the first rest (still for ``CF_REST_S``), follows later rests that lie
   within ``CF_DRIFT`` of it, and moves anywhere after ``CF_ANCHOR_S`` of stillness (a hold
   at the top of a rep is shorter).

   A joint-angle input (rad) is a feature as it is. When the anchor is refreshed after a
   change of posture (a tilt above ``CF_JUMP``), the feature trace jumps: the matcher is
   broken there, like at a gap, so a posture change can never complete a rep.
2. **Resampling** to a fixed feature rate ``CF_FR`` (linear interpolation, a NaN on either
   side gives NaN): templates and sessions recorded at different sample rates meet on one
   grid.
3. **Subsequence DTW** of the feature stream against every template row at once, by SPRING
   (Sakurai, Faloutsos & Yamamuro, "Stream monitoring under the time warping distance",
   ICDE 2007, doi:10.1109/ICDE.2007.368963, sec. 4, Algorithm SPRING): the star-padded
   time-warping matrix is kept one column per template (``D``, accumulated cost; ``S``, start
   of the best path), updated in O(m) per sample; a match whose cost is below the row's
   threshold becomes a candidate, and is reported once no live path that overlaps it can
   beat it (sec. 4.2, the disjoint-query condition), or at the latest ``CF_MAX_DELAY``
   feature samples after its end (bounded latency for live sessions). Cells whose path
   starts inside a reported match are reset (disjoint matches); a report forced by the
   latency bound keeps the paths that may still beat it, and the counter's arbiter
   chooses among overlapping matches. The local cost is the
   weighted squared Euclidean distance of feature vectors (``W``: each feature by
   its share of the template's variance, so features that do not move in the example, such
   as a resting sensor's pose, weigh little) (Mueller, "Information Retrieval for Music
   and Motion", Springer 2007, ch. 4, eq. 4.1 and subsequence DTW sec. 4.4). Matches whose
   length is outside ``[CF_RMIN, CF_RMAX]`` times the template's are not candidates
   (tempo 0.5-2x and margin).

   Sensor-frame features are compared from where a match starts (``col``): the direction of
   "up" after removing the offset of the match's first sample from the row's first sample,
   up to ``CF_POSE_TOL`` per component (a rep done from a slightly different posture or
   seat, which counts most for small reps; larger offsets still cost), and the angular rates
   as their leaky integral (rad, time constant ``CF_LEAK_S``: a rotation angle, which scales
   with the amplitude like "up" does, where a rate also scales with the tempo) minus its
   value at the match's first sample. The start is that of the path the cell continues (its
   (1,1) predecessor's), read from the feature history ``H`` (a ring buffer, state carried
   between calls like ``P``).

A NaN feature sample (a gap) or a posture change reports the candidates that ended before
it and kills every path: a rep is never counted across a gap.

Kernels validate nothing and raise nothing.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit

# per-IMU feature state (rows of ``fstate``)
#: low-passed specific force, sensor frame, m/s^2
F_GX, F_GY, F_GZ = 0, 1, 2
#: anchor: unit "up" at the last rest, sensor frame
F_AX, F_AY, F_AZ = 3, 4, 5
#: 1 once initialised (first valid sample seen)
F_INIT = 6
#: time the sensor has been still, s
F_STILL = 7
#: (reserved)
F_PSI = 8
#: 1 once the current still period has been checked for a posture change
F_CHECKED = 9
F_SIZE = 10

# coefficients
CF_DT = 0  #: input sample period, s
CF_KLP = 1  #: low-pass gain of the specific force (per sample)
CF_W_STILL = 2  #: rate below which the sensor is still, rad/s
CF_A_STILL = 3  #: | |acc| - g | below which the sensor is still, m/s^2
CF_ANCHOR_S = 4  #: still time after which the anchor follows "up", s
CF_JUMP = 5  #: anchor change that counts as a posture change, rad
CF_KLEAK = 6  #: (reserved)
CF_FR = 7  #: feature rate, Hz
CF_MAX_DELAY = 8  #: report a candidate at most this many feature samples after its end
CF_RMIN = 9  #: shortest match, times the template length
CF_RMAX = 10  #: longest match, times the template length
CF_G = 11  #: gravity, m/s^2
CF_REST_S = 12  #: still time that makes a rest (first anchor; small drifts followed), s
CF_DRIFT = 13  #: a rest this close to the anchor moves it, rad
CF_VTAU = 14  #: time scale turning the vertical rate into an angle-like feature, s
CF_NF = 15  #: features per IMU: 2 (mounting-invariant) or 6 (sensor frame)
CF_LEAK_S = 16  #: time constant of the leaky integral of COL_INT rates, s
CF_POSE_TOL = 17  #: COL_REL columns: largest offset of a match's start from the row's
CF_SIZE = 18

# resampler / stream state
RS_T_PREV = 0  #: time of the previous input sample, s (NaN before the first)
RS_T0 = 1  #: time of feature sample 0, s
RS_K = 2  #: index of the next feature sample
RS_BREAK = 3  #: 1 when a break (posture change) happened since the previous feature sample
RS_F = 4  #: features of the previous input sample start here (D values)

# per-row candidate state (rows of ``cand``)
C_DMIN, C_TS, C_TE = 0, 1, 2
C_SIZE = 3

# how a feature column is compared (``col``)
COL_ABS = 0  #: as it is
COL_REL = 1  #: a pose: the match's first sample may be up to CF_POSE_TOL off the row's
COL_INT = 2  #: a rate: its leaky integral (rad), compared as its change since the match's start

# event layout (rows of ``ev``)
E_ROW = 0  #: template row
E_TS = 1  #: first feature sample of the match (index on the feature grid)
E_TE = 2  #: last feature sample of the match
E_COST = 3  #: mean local DTW cost along the match's path, rad^2
E_EMIT = 4  #: feature sample at which the match was reported
E_SIZE = 5

_INF = np.inf


@jit
def _imu_features(fs, gyr, acc, c, out, j):
    """One IMU sample -> (theta, vertical rate * CF_VTAU) into ``out[j], out[j + 1]``; returns
    1 on a posture change (the anchor moved by more than CF_JUMP after a long still), else 0.
    NaN in, NaN out."""
    if not (math.isfinite(gyr[0]) and math.isfinite(gyr[1]) and math.isfinite(gyr[2])
            and math.isfinite(acc[0]) and math.isfinite(acc[1]) and math.isfinite(acc[2])):
        for q in range(int(c[CF_NF])):
            out[j + q] = np.nan
        fs[F_STILL] = 0.0
        return 0
    if fs[F_INIT] == 0.0:
        fs[F_GX], fs[F_GY], fs[F_GZ] = acc[0], acc[1], acc[2]
    k = c[CF_KLP]
    fs[F_GX] += k * (acc[0] - fs[F_GX])
    fs[F_GY] += k * (acc[1] - fs[F_GY])
    fs[F_GZ] += k * (acc[2] - fs[F_GZ])
    gn = math.sqrt(fs[F_GX] ** 2 + fs[F_GY] ** 2 + fs[F_GZ] ** 2)
    if gn < 1e-9:
        for q in range(int(c[CF_NF])):
            out[j + q] = np.nan
        return 0
    ux, uy, uz = fs[F_GX] / gn, fs[F_GY] / gn, fs[F_GZ] / gn
    brk = 0
    if fs[F_INIT] == 0.0:  # provisional anchor until the first rest
        fs[F_AX], fs[F_AY], fs[F_AZ] = ux, uy, uz
        fs[F_INIT] = 1.0
    wn = math.sqrt(gyr[0] ** 2 + gyr[1] ** 2 + gyr[2] ** 2)
    an = math.sqrt(acc[0] ** 2 + acc[1] ** 2 + acc[2] ** 2)
    if wn < c[CF_W_STILL] and abs(an - c[CF_G]) < c[CF_A_STILL]:
        fs[F_STILL] += c[CF_DT]
    else:
        fs[F_STILL] = 0.0
        fs[F_CHECKED] = 0.0
    dot = min(max(ux * fs[F_AX] + uy * fs[F_AY] + uz * fs[F_AZ], -1.0), 1.0)
    tilt = math.acos(dot)
    follow = False
    if fs[F_STILL] >= c[CF_REST_S]:
        if fs[F_INIT] == 1.0:  # the first rest: the anchor
            fs[F_INIT] = 2.0
            follow = True
        elif tilt < c[CF_DRIFT]:  # the rest pose creeps: follow it
            follow = True
    if fs[F_STILL] >= c[CF_ANCHOR_S]:  # a long still anywhere: a new rest pose
        if fs[F_CHECKED] == 0.0 and tilt > c[CF_JUMP]:
            brk = 1
        fs[F_CHECKED] = 1.0
        follow = True
    if follow:
        fs[F_AX], fs[F_AY], fs[F_AZ] = ux, uy, uz
        tilt = 0.0
    if c[CF_NF] == 6.0:  # sensor frame: "up" (unit vector) and the rate times CF_VTAU
        out[j], out[j + 1], out[j + 2] = ux, uy, uz
        out[j + 3] = c[CF_VTAU] * gyr[0]
        out[j + 4] = c[CF_VTAU] * gyr[1]
        out[j + 5] = c[CF_VTAU] * gyr[2]
        return brk
    out[j] = tilt
    out[j + 1] = c[CF_VTAU] * (gyr[0] * ux + gyr[1] * uy + gyr[2] * uz)
    return brk


# per-cell DP state (columns of ``P``): accumulated cost, start and path length of the best
# path ending in the cell, for the last three feature samples; the local cost of the last two
P_D1, P_D2, P_D3 = 0, 1, 2
P_S1, P_S2, P_S3 = 3, 4, 5
P_L1, P_L2, P_L3 = 6, 7, 8
P_C1, P_C2 = 9, 10
P_SIZE = 11


@jit
def _report(r, cand, P, off, m, kf, ev, n_ev, keep_below):
    """Emit row r's candidate and reset the cells whose path starts inside it, except those
    whose cost is still below ``keep_below`` (a report forced by the latency bound: a path
    that may still beat the candidate lives on, and the counter's arbiter chooses)."""
    ev[n_ev, E_ROW] = r
    ev[n_ev, E_TS] = cand[r, C_TS]
    ev[n_ev, E_TE] = cand[r, C_TE]
    ev[n_ev, E_COST] = cand[r, C_DMIN]
    ev[n_ev, E_EMIT] = kf
    te = cand[r, C_TE]
    for j in range(m):
        for a in range(3):
            if P[off + j, P_S1 + a] <= te and P[off + j, P_D1 + a] >= keep_below:
                P[off + j, P_D1 + a] = _INF
    cand[r, C_DMIN] = _INF
    return n_ev + 1


@jit
def _break(cand, P, row_off, kf, ev, n_ev):
    """A gap or a posture change: report the finished candidates, kill every path."""
    for r in range(row_off.shape[0] - 1):
        off = row_off[r]
        m = row_off[r + 1] - off
        if cand[r, C_DMIN] < _INF:
            n_ev = _report(r, cand, P, off, m, kf, ev, n_ev, 0.0)
        for j in range(m):
            P[off + j, P_D1] = _INF
            P[off + j, P_D2] = _INF
            P[off + j, P_D3] = _INF
    return n_ev


@jit
def spring_step(x, kf, Y, W, row_off, row_eps, P, cand, c, cost, dn, sn, ln, ev, n_ev, H, col):
    """One feature sample ``x`` (D,) at feature index ``kf`` through every template row;
    returns the new number of events.

    SPRING (Sakurai et al. 2007, sec. 4) with a slope-constrained step pattern: steps
    (stream, template) = (1,1), (1,2), (2,1), (1,3), (3,1), each adding the local costs of
    the cells it crosses (Sakoe & Chiba 1978, symmetric pattern with slope limits; Mueller
    2007 sec. 4.2.2): a match covers 1/3-3 times the template's length and cannot collapse a
    template into a few samples. The start of every path is free (star padding). A row's
    match is judged on the mean local cost along its path (``D / L``); ``cost``, ``dn``,
    ``sn`` and ``ln`` are scratch arrays of the longest row's length; ``H`` and ``col`` as in
    :func:`run` (``x`` already holds the COL_INT columns' integral).
    """
    nd = x.shape[0]
    nh = H.shape[0]
    tol = c[CF_POSE_TOL]
    for r in range(row_off.shape[0] - 1):
        off = row_off[r]
        m = row_off[r + 1] - off
        for j in range(m):
            # the start of the path the cell most likely continues (that of the (1,1)
            # predecessor, or here): COL_REL columns are compared after removing the offset of
            # its first sample from the row's (up to CF_POSE_TOL), COL_INT ones as changes since
            s = kf
            if j >= 1 and P[off + j - 1, P_D1] < _INF:
                s = P[off + j - 1, P_S1]
            h = int(s) % nh
            cj = 0.0
            for q in range(nd):
                if col[q] == COL_REL:
                    e = x[q] - min(max(H[h, q] - Y[off, q], -tol), tol) - Y[off + j, q]
                elif col[q] == COL_INT:
                    e = x[q] - H[h, q] - Y[off + j, q]
                else:
                    e = x[q] - Y[off + j, q]
                cj += W[r, q] * e * e
            cost[j] = cj
        for j in range(m):
            p = off + j
            # a path may start here (star padding), also with a fast first step
            if j == 0:
                best, bs, bl = cost[0], float(kf), 1.0
            elif j == 1:
                best, bs, bl = cost[0] + cost[1], float(kf), 2.0
            elif j == 2:
                best, bs, bl = cost[0] + cost[1] + cost[2], float(kf), 3.0
            else:
                best, bs, bl = _INF, float(kf), 1.0
            if j >= 1:
                v = P[p - 1, P_D1] + cost[j]  # (1,1)
                if v < best:
                    best, bs, bl = v, P[p - 1, P_S1], P[p - 1, P_L1] + 1.0
                v = P[p - 1, P_D2] + 0.5 * (P[p, P_C1] + cost[j])  # (2,1): slower
                if v < best:
                    best, bs, bl = v, P[p - 1, P_S2], P[p - 1, P_L2] + 2.0
                v = P[p - 1, P_D3] + (P[p, P_C2] + P[p, P_C1] + cost[j]) / 3.0  # (3,1)
                if v < best:
                    best, bs, bl = v, P[p - 1, P_S3], P[p - 1, P_L3] + 3.0
            if j >= 2:
                v = P[p - 2, P_D1] + cost[j - 1] + cost[j]  # (1,2): faster than the template
                if v < best:
                    best, bs, bl = v, P[p - 2, P_S1], P[p - 2, P_L1] + 2.0
            if j >= 3:
                v = P[p - 3, P_D1] + cost[j - 2] + cost[j - 1] + cost[j]  # (1,3)
                if v < best:
                    best, bs, bl = v, P[p - 3, P_S1], P[p - 3, P_L1] + 3.0
            dn[j] = best
            sn[j] = bs
            ln[j] = bl
        for j in range(m):  # shift the columns: t-2 -> t-3, t-1 -> t-2, new -> t-1
            p = off + j
            P[p, P_D3] = P[p, P_D2]
            P[p, P_S3] = P[p, P_S2]
            P[p, P_L3] = P[p, P_L2]
            P[p, P_D2] = P[p, P_D1]
            P[p, P_S2] = P[p, P_S1]
            P[p, P_L2] = P[p, P_L1]
            P[p, P_D1] = dn[j]
            P[p, P_S1] = sn[j]
            P[p, P_L1] = ln[j]
            P[p, P_C2] = P[p, P_C1]
            P[p, P_C1] = cost[j]
        last = off + m - 1
        mean = P[last, P_D1] / m  # mean local cost per template sample
        length = kf - P[last, P_S1] + 1.0
        if (mean <= row_eps[r] and mean < cand[r, C_DMIN]
                and c[CF_RMIN] * m <= length <= c[CF_RMAX] * m):
            cand[r, C_DMIN] = mean
            cand[r, C_TS] = P[last, P_S1]
            cand[r, C_TE] = kf
        if cand[r, C_DMIN] < _INF:
            forced = kf - cand[r, C_TE] >= c[CF_MAX_DELAY]
            done = True
            limit = cand[r, C_DMIN] * m
            for j in range(m):  # sec. 4.2: no live overlapping path can still beat it
                if P[off + j, P_D1] < limit and P[off + j, P_S1] <= cand[r, C_TE]:
                    done = False
                    break
            if done or forced:
                n_ev = _report(r, cand, P, off, m, kf, ev, n_ev, limit)
    return n_ev


@jit
def _leak_gains(c):
    """(gain of a COL_INT column's feature, the integral's leak per feature sample): the
    feature is the rate times CF_VTAU, its integral in rad with time constant CF_LEAK_S."""
    return 1.0 / (c[CF_VTAU] * c[CF_FR]), 1.0 / max(c[CF_LEAK_S] * c[CF_FR], 1.0)


@jit
def _leak_step(prev, x, k_int, leak):
    """One feature sample of a COL_INT column's running integral, rad."""
    return (1.0 - leak) * prev + k_int * x


@jit
def leaky_integral(x, c, out):
    """The running integral :func:`run` keeps of COL_INT columns, over a whole trace ``x``
    (N, D) from 0 (for the templates' examples: only its changes are compared)."""
    k_int, leak = _leak_gains(c)
    for q in range(x.shape[1]):
        y = 0.0
        for k in range(x.shape[0]):
            y = _leak_step(y, x[k, q], k_int, leak)
            out[k, q] = y


@jit
def run(fstate, X, n_imu, c, rs, t, Y, W, row_off, row_eps, P, cand, fout, ev, H, col):
    """Feed N input samples; returns (feature samples written to ``fout``, events in ``ev``).

    ``X`` (N, 6 * n_imu + n_angle): per IMU gyr (rad/s) then acc (m/s^2), then angles (rad);
    NaN marks a missing sample. ``t`` (N,) input times, s. ``fout`` needs room for
    ``N * CF_FR * CF_DT + 2`` rows, ``ev`` for one event per template row and feature sample.
    ``H`` (K, D): feature history (ring buffer over feature samples, K at least the longest
    match; COL_INT columns hold the leaky integral), ``col`` (D,) int: COL_* per column.
    """
    n = X.shape[0]
    nd = fout.shape[1]
    cur = np.empty(nd)
    x = np.empty(nd)
    xm = np.empty(nd)
    nh = H.shape[0]
    k_int, leak = _leak_gains(c)
    n_out = 0
    n_ev = 0
    nf = int(c[CF_NF])
    n_ang = nd - nf * n_imu
    mmax = 1
    for r in range(row_off.shape[0] - 1):
        mmax = max(mmax, row_off[r + 1] - row_off[r])
    cost = np.empty(mmax)
    dn = np.empty(mmax)
    sn = np.empty(mmax)
    ln = np.empty(mmax)
    for i in range(n):
        brk = 0
        for k in range(n_imu):
            brk |= _imu_features(fstate[k], X[i, 6 * k:6 * k + 3], X[i, 6 * k + 3:6 * k + 6], c,
                                 cur, nf * k)
        for a in range(n_ang):
            cur[nf * n_imu + a] = X[i, 6 * n_imu + a]
        if brk:
            rs[RS_BREAK] = 1.0
        tp = rs[RS_T_PREV]
        if not math.isfinite(tp):  # first sample: the feature grid starts here
            rs[RS_T0] = t[i]
            tp = t[i]
            for q in range(nd):
                rs[RS_F + q] = cur[q]
        while rs[RS_T0] + rs[RS_K] / c[CF_FR] <= t[i] + 1e-9:
            span = t[i] - tp
            w = (rs[RS_T0] + rs[RS_K] / c[CF_FR] - tp) / span if span > 0 else 1.0
            valid = True
            for q in range(nd):
                x[q] = rs[RS_F + q] + w * (cur[q] - rs[RS_F + q])
                if not math.isfinite(x[q]):
                    valid = False
            kf = rs[RS_K]
            if not valid or rs[RS_BREAK] != 0.0:
                n_ev = _break(cand, P, row_off, kf, ev, n_ev)
                rs[RS_BREAK] = 0.0
            if valid:
                h = int(kf) % nh
                hp = (int(kf) + nh - 1) % nh
                for q in range(nd):
                    if col[q] == COL_INT:  # the rate's running integral, rad
                        xm[q] = _leak_step(H[hp, q], x[q], k_int, leak)
                    else:
                        xm[q] = x[q]
                    H[h, q] = xm[q]
                n_ev = spring_step(xm, kf, Y, W, row_off, row_eps, P, cand, c, cost, dn, sn, ln, ev,
                                   n_ev, H, col)
            for q in range(nd):
                fout[n_out, q] = x[q]
            n_out += 1
            rs[RS_K] = kf + 1.0
        rs[RS_T_PREV] = t[i]
        for q in range(nd):
            rs[RS_F + q] = cur[q]
    return n_out, n_ev


def features(fstate, X, n_imu, c, rs, t, fout):
    """:func:`run` with no template rows: the feature traces of ``X`` only, into ``fout``;
    returns the feature samples written."""
    nd = fout.shape[1]
    k, _ = run(fstate, X, n_imu, c, rs, t, np.zeros((0, nd)), np.zeros((0, nd)),
               np.zeros(1, np.int64), np.zeros(0), np.zeros((0, P_SIZE)), np.zeros((0, C_SIZE)),
               fout, np.zeros((1, E_SIZE)), np.zeros((1, nd)), np.zeros(nd, np.int64))
    return k


@jit
def flush(rs, row_off, P, cand, ev):
    """End of the stream: report every pending candidate; returns the number of events."""
    return _break(cand, P, row_off, rs[RS_K], ev, 0)
