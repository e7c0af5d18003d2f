"""Quaternion maths on arrays, scalar first ``(w, x, y, z)`` (see :mod:`motiontrack.conventions`).

Every function accepts a single quaternion ``(4,)`` or a stack ``(N, 4)`` (vectors ``(3,)`` or
``(N, 3)``) and broadcasts a single one against a stack. Results are float64.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._kernels import quaternion as _k
from .errors import InputError

__all__ = [
    "angle_between",
    "conjugate",
    "from_matrix",
    "from_rotvec",
    "from_two_vectors",
    "identity",
    "multiply",
    "normalize",
    "rotate",
    "to_euler_zyx",
    "to_matrix",
    "to_rotvec",
]


def _as_rows(a: npt.ArrayLike, width: int, name: str) -> tuple[np.ndarray, bool]:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == width:
        return np.ascontiguousarray(arr[None, :]), True
    if arr.ndim == 2 and arr.shape[1] == width:
        return np.ascontiguousarray(arr), False
    raise InputError(f"{name} must have shape ({width},) or (N, {width}), got {arr.shape}")


def _out_len(a: np.ndarray, b: np.ndarray, names: str) -> int:
    if a.shape[0] != b.shape[0] and 1 not in (a.shape[0], b.shape[0]):
        raise InputError(f"{names}: lengths {a.shape[0]} and {b.shape[0]} do not broadcast")
    return max(a.shape[0], b.shape[0])


def identity(n: int | None = None) -> np.ndarray:
    """The identity quaternion, ``(4,)`` or ``(n, 4)``."""
    if n is None:
        return np.array([1.0, 0.0, 0.0, 0.0])
    out = np.zeros((n, 4))
    out[:, 0] = 1.0
    return out


def multiply(a: npt.ArrayLike, b: npt.ArrayLike) -> np.ndarray:
    """Hamilton product ``a ⊗ b`` (apply ``b`` first, then ``a``)."""
    ra, sa = _as_rows(a, 4, "a")
    rb, sb = _as_rows(b, 4, "b")
    out = np.empty((_out_len(ra, rb, "multiply"), 4))
    _k.multiply_n(ra, rb, out)
    return out[0] if (sa and sb) else out


def conjugate(q: npt.ArrayLike) -> np.ndarray:
    """``q*``: the inverse rotation of a unit quaternion."""
    return np.asarray(q, dtype=np.float64) * np.array([1.0, -1.0, -1.0, -1.0])


def normalize(q: npt.ArrayLike) -> np.ndarray:
    """Unit-norm quaternions; rows of zero norm raise :class:`InputError`."""
    arr = np.asarray(q, dtype=np.float64)
    # scale by the largest component first: tiny or huge inputs would under/overflow the norm
    scale = np.max(np.abs(arr), axis=-1, keepdims=True)
    if np.any(~(scale > 0)) or not np.all(np.isfinite(scale)):
        raise InputError("cannot normalise a quaternion of zero, infinite or NaN norm")
    scaled = arr / scale
    return scaled / np.linalg.norm(scaled, axis=-1, keepdims=True)


def rotate(q: npt.ArrayLike, v: npt.ArrayLike, *, inverse: bool = False) -> np.ndarray:
    """Rotate vectors: ``q ⊗ v ⊗ q*`` (sensor → earth for ``q_earth_sensor``); ``inverse`` uses ``q*``."""
    rq, sq = _as_rows(q, 4, "q")
    rv, sv = _as_rows(v, 3, "v")
    out = np.empty((_out_len(rq, rv, "rotate"), 3))
    _k.rotate_n(rq, rv, out, inverse)
    return out[0] if (sq and sv) else out


def from_rotvec(r: npt.ArrayLike) -> np.ndarray:
    """Quaternion of a rotation vector (axis × angle, rad)."""
    rr, s = _as_rows(r, 3, "rotvec")
    out = np.empty((rr.shape[0], 4))
    _k.from_rotvec_n(rr, out)
    return out[0] if s else out


def to_rotvec(q: npt.ArrayLike) -> np.ndarray:
    """Rotation vector (rad) of each quaternion, angle in [0, π]."""
    rq, s = _as_rows(q, 4, "q")
    out = np.empty((rq.shape[0], 3))
    _k.to_rotvec_n(rq, out)
    return out[0] if s else out


def to_matrix(q: npt.ArrayLike) -> np.ndarray:
    """Rotation matrices ``(3, 3)`` or ``(N, 3, 3)``; ``R @ v_sensor = v_earth``."""
    rq, s = _as_rows(q, 4, "q")
    out = np.empty((rq.shape[0], 3, 3))
    _k.to_matrix_n(rq, out)
    return out[0] if s else out


def from_matrix(m: npt.ArrayLike) -> np.ndarray:
    """Quaternions (w ≥ 0) of rotation matrices ``(3, 3)`` or ``(N, 3, 3)``."""
    arr = np.asarray(m, dtype=np.float64)
    single = arr.ndim == 2
    if arr.shape[-2:] != (3, 3) or arr.ndim not in (2, 3):
        raise InputError(f"matrices must have shape (3, 3) or (N, 3, 3), got {arr.shape}")
    arr = np.ascontiguousarray(arr[None] if single else arr)
    out = np.empty((arr.shape[0], 4))
    _k.from_matrix_n(arr, out)
    return out[0] if single else out


def angle_between(a: npt.ArrayLike, b: npt.ArrayLike) -> np.ndarray | float:
    """Angle (rad, 0..π) of the rotation taking ``a`` to ``b``; ``q`` and ``-q`` are equal."""
    ra, sa = _as_rows(a, 4, "a")
    rb, sb = _as_rows(b, 4, "b")
    out = np.empty(_out_len(ra, rb, "angle_between"))
    _k.angle_between_n(ra, rb, out)
    return float(out[0]) if (sa and sb) else out


def from_two_vectors(u: npt.ArrayLike, v: npt.ArrayLike) -> np.ndarray:
    """Shortest rotation taking direction ``u`` onto direction ``v`` (``rotate(q, u) ∥ v``).

    Antiparallel vectors get an explicit 180° rotation about an axis perpendicular to ``u``.
    """
    ru, su = _as_rows(u, 3, "u")
    rv, sv = _as_rows(v, 3, "v")
    n = _out_len(ru, rv, "from_two_vectors")
    ru = np.broadcast_to(ru, (n, 3))
    rv = np.broadcast_to(rv, (n, 3))
    nu = np.linalg.norm(ru, axis=1, keepdims=True)
    nv = np.linalg.norm(rv, axis=1, keepdims=True)
    if np.any(~(nu > 0)) or np.any(~(nv > 0)):
        raise InputError("from_two_vectors needs non-zero, finite vectors")
    a, b = ru / nu, rv / nv
    dot = np.sum(a * b, axis=1)
    out = np.empty((n, 4))
    out[:, 0] = 1.0 + dot
    out[:, 1:] = np.cross(a, b)
    anti = dot < -1.0 + 1e-12
    if np.any(anti):
        # any axis perpendicular to a: cross with the least aligned basis vector
        basis = np.eye(3)[np.argmin(np.abs(a[anti]), axis=1)]
        axis = np.cross(a[anti], basis)
        out[anti, 0] = 0.0
        out[anti, 1:] = axis / np.linalg.norm(axis, axis=1, keepdims=True)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out[0] if (su and sv) else out


def to_euler_zyx(q: npt.ArrayLike) -> np.ndarray:
    """Intrinsic z-y'-x'' angles (yaw, pitch, roll) in **degrees**, for display only."""
    rq, s = _as_rows(q, 4, "q")
    w, x, y, z = rq.T
    yaw = np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    pitch = np.arcsin(np.clip(2 * (w * y - z * x), -1.0, 1.0))
    roll = np.arctan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    out = np.degrees(np.stack([yaw, pitch, roll], axis=1))
    return out[0] if s else out
