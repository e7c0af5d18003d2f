"""Vectorised numpy quaternion helpers for the simulator (private).

Scalar-first ``(w, x, y, z)``, Hamilton product, as in :mod:`motiontrack.conventions`.
The simulator builds whole trajectories at once; these helpers broadcast over leading
axes and never call a compiled kernel, so generating a session compiles nothing.
"""

from __future__ import annotations

import numpy as np


def qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a ⊗ b`` with broadcasting over leading axes."""
    aw, ax, ay, az = np.moveaxis(np.asarray(a, dtype=np.float64), -1, 0)
    bw, bx, by, bz = np.moveaxis(np.asarray(b, dtype=np.float64), -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def qconj(q: np.ndarray) -> np.ndarray:
    return np.asarray(q, dtype=np.float64) * np.array([1.0, -1.0, -1.0, -1.0])


def qrot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` by ``q``: ``q ⊗ v ⊗ q*`` (sensor -> earth for q_earth_sensor)."""
    q = np.asarray(q, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    w = q[..., :1]
    u = q[..., 1:]
    # v' = v + 2 w (u x v) + 2 u x (u x v)
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def qrot_inv(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors by ``q*`` (earth -> sensor for q_earth_sensor)."""
    return qrot(qconj(q), v)


def from_rotvec(r: np.ndarray) -> np.ndarray:
    r = np.asarray(r, dtype=np.float64)
    angle = np.linalg.norm(r, axis=-1, keepdims=True)
    half = 0.5 * angle
    # sin(x/2)/x, with its Taylor series near zero
    small = angle < 1e-6
    safe = np.where(small, 1.0, angle)
    k = np.where(small, 0.5 - angle**2 / 48.0, np.sin(half) / safe)
    return np.concatenate([np.cos(half), r * k], axis=-1)


def to_rotvec(q: np.ndarray) -> np.ndarray:
    """Rotation vector (rad) of each quaternion, angle in [0, π] (sign of q ignored)."""
    q = np.asarray(q, dtype=np.float64)
    q = np.where(q[..., :1] < 0.0, -q, q)
    w = np.clip(q[..., :1], -1.0, 1.0)
    u = q[..., 1:]
    s = np.linalg.norm(u, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, w)
    small = s < 1e-9
    k = np.where(small, 2.0 / np.where(small, w, 1.0), angle / np.where(small, 1.0, s))
    return u * k


def about_axis(axis: int, angle: np.ndarray) -> np.ndarray:
    """Quaternions of rotations by ``angle`` (rad, any shape) about basis axis 0, 1 or 2."""
    angle = np.asarray(angle, dtype=np.float64)
    out = np.zeros(angle.shape + (4,))
    out[..., 0] = np.cos(0.5 * angle)
    out[..., 1 + axis] = np.sin(0.5 * angle)
    return out


def from_matrix(m: np.ndarray) -> np.ndarray:
    """Quaternion (w >= 0) of one rotation matrix (3, 3)."""
    m = np.asarray(m, dtype=np.float64)
    tr = np.trace(m)
    if tr > 0:
        s = 2.0 * np.sqrt(tr + 1.0)
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    out = np.array(q)
    out /= np.linalg.norm(out)
    return out if out[0] >= 0 else -out


def random_rotation(rng: np.random.Generator, max_angle_rad: float) -> np.ndarray:
    """A rotation about a uniformly random axis by an angle uniform in [0, max_angle_rad].

    ``max_angle_rad >= π`` gives a uniformly distributed rotation (Shoemake's method).
    """
    if max_angle_rad >= np.pi:
        u1, u2, u3 = rng.random(3)
        q = np.array(
            [
                np.sqrt(1 - u1) * np.sin(2 * np.pi * u2),
                np.sqrt(1 - u1) * np.cos(2 * np.pi * u2),
                np.sqrt(u1) * np.sin(2 * np.pi * u3),
                np.sqrt(u1) * np.cos(2 * np.pi * u3),
            ]
        )
        return q if q[0] >= 0 else -q
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = rng.uniform(0.0, max_angle_rad)
    return from_rotvec(axis * angle)
