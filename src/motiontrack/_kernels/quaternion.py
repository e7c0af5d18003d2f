"""Quaternion kernels: scalar-first (w, x, y, z), Hamilton product.

Two levels:

* scalar helpers (``qmul``, ``qrot``, ...) take and return plain floats/tuples; they are
  inlined into filter steps and never allocate;
* array kernels (``multiply_n``, ...) loop the helpers over ``(N, 4)`` arrays for the
  public :mod:`motiontrack.quaternion` functions.
"""

from __future__ import annotations

import math


from ._jit import inline, jit


@inline
def qmul(aw, ax, ay, az, bw, bx, by, bz):
    """Hamilton product a ⊗ b."""
    return (
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    )


@inline
def qnormalize(w, x, y, z):
    """Unit quaternion; the identity for a zero or non-finite input."""
    n = math.sqrt(w * w + x * x + y * y + z * z)
    if not (n > 0.0) or not math.isfinite(n):
        return 1.0, 0.0, 0.0, 0.0
    return w / n, x / n, y / n, z / n


@inline
def qrot(w, x, y, z, vx, vy, vz):
    """Rotate vector v by q: q ⊗ v ⊗ q* (v in the frame q maps *from*)."""
    # t = 2 (q_vec × v); v' = v + w t + q_vec × t
    tx = 2.0 * (y * vz - z * vy)
    ty = 2.0 * (z * vx - x * vz)
    tz = 2.0 * (x * vy - y * vx)
    return (
        vx + w * tx + (y * tz - z * ty),
        vy + w * ty + (z * tx - x * tz),
        vz + w * tz + (x * ty - y * tx),
    )


@inline
def qrot_inv(w, x, y, z, vx, vy, vz):
    """Rotate vector v by q*: q* ⊗ v ⊗ q (v into the frame q maps *from*)."""
    return qrot(w, -x, -y, -z, vx, vy, vz)


@inline
def qexp_rotvec(rx, ry, rz):
    """Quaternion of the rotation vector r (axis * angle, rad)."""
    angle = math.sqrt(rx * rx + ry * ry + rz * rz)
    if angle < 1e-8:
        # second-order Taylor expansion keeps unit norm to ~1e-16 near zero
        return qnormalize(1.0 - angle * angle / 8.0, 0.5 * rx, 0.5 * ry, 0.5 * rz)
    s = math.sin(0.5 * angle) / angle
    return math.cos(0.5 * angle), rx * s, ry * s, rz * s


@inline
def qlog_rotvec(w, x, y, z):
    """Rotation vector (rad) of a unit quaternion, shortest way (|angle| <= pi)."""
    if w < 0.0:
        w, x, y, z = -w, -x, -y, -z
    vn = math.sqrt(x * x + y * y + z * z)
    if vn < 1e-12:
        return 2.0 * x, 2.0 * y, 2.0 * z
    angle = 2.0 * math.atan2(vn, w)
    s = angle / vn
    return x * s, y * s, z * s


@jit
def multiply_n(a, b, out):
    for i in range(out.shape[0]):
        ia = i if a.shape[0] > 1 else 0
        ib = i if b.shape[0] > 1 else 0
        r = qmul(a[ia, 0], a[ia, 1], a[ia, 2], a[ia, 3], b[ib, 0], b[ib, 1], b[ib, 2], b[ib, 3])
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = r


@jit
def rotate_n(q, v, out, inverse):
    for i in range(out.shape[0]):
        iq = i if q.shape[0] > 1 else 0
        iv = i if v.shape[0] > 1 else 0
        w = q[iq, 0]
        s = -1.0 if inverse else 1.0
        r = qrot(w, s * q[iq, 1], s * q[iq, 2], s * q[iq, 3], v[iv, 0], v[iv, 1], v[iv, 2])
        out[i, 0], out[i, 1], out[i, 2] = r


@jit
def from_rotvec_n(r, out):
    for i in range(out.shape[0]):
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = qexp_rotvec(r[i, 0], r[i, 1], r[i, 2])


@jit
def to_rotvec_n(q, out):
    for i in range(out.shape[0]):
        w, x, y, z = qnormalize(q[i, 0], q[i, 1], q[i, 2], q[i, 3])
        out[i, 0], out[i, 1], out[i, 2] = qlog_rotvec(w, x, y, z)


@jit
def to_matrix_n(q, out):
    for i in range(out.shape[0]):
        w, x, y, z = q[i, 0], q[i, 1], q[i, 2], q[i, 3]
        out[i, 0, 0] = 1.0 - 2.0 * (y * y + z * z)
        out[i, 0, 1] = 2.0 * (x * y - w * z)
        out[i, 0, 2] = 2.0 * (x * z + w * y)
        out[i, 1, 0] = 2.0 * (x * y + w * z)
        out[i, 1, 1] = 1.0 - 2.0 * (x * x + z * z)
        out[i, 1, 2] = 2.0 * (y * z - w * x)
        out[i, 2, 0] = 2.0 * (x * z - w * y)
        out[i, 2, 1] = 2.0 * (y * z + w * x)
        out[i, 2, 2] = 1.0 - 2.0 * (x * x + y * y)


@jit
def from_matrix_n(m, out):
    # Shepperd's method: pick the largest of w, x, y, z to divide by (numerically stable).
    for i in range(out.shape[0]):
        tr = m[i, 0, 0] + m[i, 1, 1] + m[i, 2, 2]
        if tr > m[i, 0, 0] and tr > m[i, 1, 1] and tr > m[i, 2, 2]:
            s = 2.0 * math.sqrt(max(1.0 + tr, 0.0))
            w = 0.25 * s
            x = (m[i, 2, 1] - m[i, 1, 2]) / s
            y = (m[i, 0, 2] - m[i, 2, 0]) / s
            z = (m[i, 1, 0] - m[i, 0, 1]) / s
        elif m[i, 0, 0] > m[i, 1, 1] and m[i, 0, 0] > m[i, 2, 2]:
            s = 2.0 * math.sqrt(max(1.0 + m[i, 0, 0] - m[i, 1, 1] - m[i, 2, 2], 0.0))
            w = (m[i, 2, 1] - m[i, 1, 2]) / s
            x = 0.25 * s
            y = (m[i, 0, 1] + m[i, 1, 0]) / s
            z = (m[i, 0, 2] + m[i, 2, 0]) / s
        elif m[i, 1, 1] > m[i, 2, 2]:
            s = 2.0 * math.sqrt(max(1.0 + m[i, 1, 1] - m[i, 0, 0] - m[i, 2, 2], 0.0))
            w = (m[i, 0, 2] - m[i, 2, 0]) / s
            x = (m[i, 0, 1] + m[i, 1, 0]) / s
            y = 0.25 * s
            z = (m[i, 1, 2] + m[i, 2, 1]) / s
        else:
            s = 2.0 * math.sqrt(max(1.0 + m[i, 2, 2] - m[i, 0, 0] - m[i, 1, 1], 0.0))
            w = (m[i, 1, 0] - m[i, 0, 1]) / s
            x = (m[i, 0, 2] + m[i, 2, 0]) / s
            y = (m[i, 1, 2] + m[i, 2, 1]) / s
            z = 0.25 * s
        if w < 0.0:
            w, x, y, z = -w, -x, -y, -z
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = qnormalize(w, x, y, z)


@jit
def angle_between_n(a, b, out):
    """Rotation angle (rad, 0..pi) of a* ⊗ b for each row (atan2 form: exact near 0)."""
    for i in range(out.shape[0]):
        ia = i if a.shape[0] > 1 else 0
        ib = i if b.shape[0] > 1 else 0
        w, x, y, z = qmul(a[ia, 0], -a[ia, 1], -a[ia, 2], -a[ia, 3], b[ib, 0], b[ib, 1], b[ib, 2], b[ib, 3])
        out[i] = 2.0 * math.atan2(math.sqrt(x * x + y * y + z * z), abs(w))
