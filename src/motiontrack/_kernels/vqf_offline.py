"""Kernels of the offline (smoothing) VQF mode: two-pass bias, strapdown, tilt chain, smoothing.

The offline mode (``motiontrack.fusion.offline``) runs the real-time VQF kernel forward and
on the time-reversed recording, fuses the two gyroscope-bias estimates by their
information (the two-filter smoother of Fraser & Potter, IEEE TAC 14(4) 1969,
doi:10.1109/TAC.1969.1099196), integrates the gyroscope with the fused bias, and then uses
zero-phase smoothing where the real-time filter must use causal low-passes: the specific
force in the almost-inertial frame (tilt) and the magnetometer heading offset.
"""

from __future__ import annotations

import math

from ._jit import inline, jit
from .quaternion import qmul, qrot


@inline
def _inv3(p):
    return _inv3t((p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8]))


@inline
def _inv3t(a):
    c0 = a[4] * a[8] - a[5] * a[7]
    c1 = a[5] * a[6] - a[3] * a[8]
    c2 = a[3] * a[7] - a[4] * a[6]
    r = 1.0 / (a[0] * c0 + a[1] * c1 + a[2] * c2)
    return (
        c0 * r, (a[2] * a[7] - a[1] * a[8]) * r, (a[1] * a[5] - a[2] * a[4]) * r,
        c1 * r, (a[0] * a[8] - a[2] * a[6]) * r, (a[2] * a[3] - a[0] * a[5]) * r,
        c2 * r, (a[1] * a[6] - a[0] * a[7]) * r, (a[0] * a[4] - a[1] * a[3]) * r,
    )  # fmt: skip


@jit
def fuse_bias(b1, p1, b2, p2, out):
    """Information-weighted mean of two independent estimates: (P1^-1 + P2^-1)^-1 (P1^-1 b1 + P2^-1 b2)."""
    for i in range(out.shape[0]):
        a = _inv3(p1[i])
        b = _inv3(p2[i])
        s = (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4], a[5] + b[5], a[6] + b[6],
             a[7] + b[7], a[8] + b[8])  # fmt: skip
        y0 = (
            a[0] * b1[i, 0]
            + a[1] * b1[i, 1]
            + a[2] * b1[i, 2]
            + b[0] * b2[i, 0]
            + b[1] * b2[i, 1]
            + b[2] * b2[i, 2]
        )
        y1 = (
            a[3] * b1[i, 0]
            + a[4] * b1[i, 1]
            + a[5] * b1[i, 2]
            + b[3] * b2[i, 0]
            + b[4] * b2[i, 1]
            + b[5] * b2[i, 2]
        )
        y2 = (
            a[6] * b1[i, 0]
            + a[7] * b1[i, 1]
            + a[8] * b1[i, 2]
            + b[6] * b2[i, 0]
            + b[7] * b2[i, 1]
            + b[8] * b2[i, 2]
        )
        si = _inv3t(s)
        out[i, 0] = si[0] * y0 + si[1] * y1 + si[2] * y2
        out[i, 1] = si[3] * y0 + si[4] * y1 + si[5] * y2
        out[i, 2] = si[6] * y0 + si[7] * y1 + si[8] * y2


@jit
def strapdown(gyr, bias, dt, use, q_out):
    """q_{I S}: integrate gyr - bias from the identity; rows with use[i] == False hold."""
    qw, qx, qy, qz = 1.0, 0.0, 0.0, 0.0
    for i in range(gyr.shape[0]):
        if use[i]:
            wx = gyr[i, 0] - bias[i, 0]
            wy = gyr[i, 1] - bias[i, 1]
            wz = gyr[i, 2] - bias[i, 2]
            wn = math.sqrt(wx * wx + wy * wy + wz * wz)
            if wn > 2.220446049250313e-16:
                half = 0.5 * wn * dt[i]
                s = math.sin(half) / wn
                qw, qx, qy, qz = qmul(qw, qx, qy, qz, math.cos(half), s * wx, s * wy, s * wz)
                n = math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz)
                qw, qx, qy, qz = qw / n, qx / n, qy / n, qz / n
        q_out[i, 0], q_out[i, 1], q_out[i, 2], q_out[i, 3] = qw, qx, qy, qz


@jit
def rotate_rows(q, v, out):
    for i in range(q.shape[0]):
        out[i, 0], out[i, 1], out[i, 2] = qrot(
            q[i, 0], q[i, 1], q[i, 2], q[i, 3], v[i, 0], v[i, 1], v[i, 2]
        )


@jit
def tilt_chain(q_gyr, acc_i, q6_out):
    """6D orientation: for each sample, the smallest horizontal-axis correction of the previous
    inclination quaternion that makes the smoothed specific force in I point up (as the
    real-time filter's inclination step, with the smoothing done beforehand)."""
    cw, cx, cy, cz = 1.0, 0.0, 0.0, 0.0
    for i in range(q_gyr.shape[0]):
        ex, ey, ez = qrot(cw, cx, cy, cz, acc_i[i, 0], acc_i[i, 1], acc_i[i, 2])
        en = math.sqrt(ex * ex + ey * ey + ez * ez)
        if en > 0.0 and math.isfinite(en):
            ex, ey, ez = ex / en, ey / en, ez / en
            w = math.sqrt(0.5 * (ez + 1.0))
            if w > 1e-6:
                cw, cx, cy, cz = qmul(w, 0.5 * ey / w, -0.5 * ex / w, 0.0, cw, cx, cy, cz)
            else:
                cw, cx, cy, cz = qmul(0.0, 1.0, 0.0, 0.0, cw, cx, cy, cz)
            n = math.sqrt(cw * cw + cx * cx + cy * cy + cz * cz)
            cw, cx, cy, cz = cw / n, cx / n, cy / n, cz / n
        q6_out[i, 0], q6_out[i, 1], q6_out[i, 2], q6_out[i, 3] = qmul(
            cw, cx, cy, cz, q_gyr[i, 0], q_gyr[i, 1], q_gyr[i, 2], q_gyr[i, 3]
        )


@jit
def butter_filtfilt(x, b0, b1, b2, a1, a2):
    """Zero-phase second-order filter of each column, in place: forward then backward, each
    started in the steady state of the first (last) finite sample; NaN rows must be filled."""
    n, k = x.shape
    if n == 0:
        return
    for j in range(k):
        x0 = x[0, j]
        s0 = x0 * (1.0 - b0)
        s1 = x0 * (b2 - a2)
        for i in range(n):
            u = x[i, j]
            y = b0 * u + s0
            s0 = b1 * u - a1 * y + s1
            s1 = b2 * u - a2 * y
            x[i, j] = y
        x0 = x[n - 1, j]
        s0 = x0 * (1.0 - b0)
        s1 = x0 * (b2 - a2)
        for i in range(n - 1, -1, -1):
            u = x[i, j]
            y = b0 * u + s0
            s0 = b1 * u - a1 * y + s1
            s1 = b2 * u - a2 * y
            x[i, j] = y


@jit
def heading_filter(meas, weight, k_fwd, backward, out):
    """First-order heading filter over angles ``meas`` (rad) with per-sample gains k*weight
    (weight 0 = rejected sample), wrapped to [-pi, pi]; forward or backward in time.
    Starts from the first sample with weight > 0 (a running mean during the first samples)."""
    n = meas.shape[0]
    d = 0.0
    kinit = 1.0
    for step in range(n):
        i = n - 1 - step if backward else step
        k = k_fwd * weight[i]
        if weight[i] > 0.0 and math.isfinite(meas[i]):
            if kinit > 0.0:
                k = max(k, kinit)
                kinit = kinit / (kinit + 1.0)
                if kinit < k_fwd:
                    kinit = 0.0
            e = meas[i] - d
            if e > math.pi:
                e -= 2.0 * math.pi
            elif e < -math.pi:
                e += 2.0 * math.pi
            d += k * e
            if d > math.pi:
                d -= 2.0 * math.pi
            elif d < -math.pi:
                d += 2.0 * math.pi
        out[i] = d
