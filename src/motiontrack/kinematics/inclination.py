"""Segment angles from one sensor against gravity and its start heading: the inclinometer
and compass of clinical goniometry, written once.

Every body region of :mod:`motiontrack.exercise.regions` measures its angles with these
three functions (conventions: :mod:`motiontrack.conventions`, "Body regions"):

* :func:`tilt_deg`: the rotation of a segment about a *body-fixed* axis ``h`` that is
  horizontal in the calibration pose (flexion about the mediolateral axis, abduction or
  lateral flexion about the anteroposterior axis), read from the direction of gravity in the
  sensor frame alone. It needs no heading, so it is exact in 6D (no magnetometer) and immune
  to heading drift, like an inclinometer strapped on the segment.
* :func:`twist_deg`: the rotation of a segment about the *earth vertical* since the
  calibration pose (trunk or cervical rotation, shoulder rotation with the arm at the side),
  read from the fused heading, like a compass: with a magnetometer (9D) it is referenced to
  magnetic north; without (6D) it is the gyroscope's integral and drifts with its residual
  bias.
* :func:`learn_axis`: the body-fixed axis of a single-plane motion (the first movement of the
  exercise after the calibration pose), so the sensor may sit at any orientation on its
  segment: the axis is found in the sensor frame, and its sign makes the first movement
  positive.

Two sensors (a segment relative to the one above it) subtract the proximal segment's angle
about the same anatomical axis from the distal one's: the clinical dual-inclinometer method
(e.g. lumbar flexion = T12 inclinometer - sacral inclinometer), equal to the ISB joint angle
for motion in one plane.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from .. import quaternion as quat
from ..errors import CalibrationError

__all__ = ["gyro_heading_deg", "learn_axis", "tilt_deg", "twist_deg", "up_in_sensor"]

_UP = np.array([0.0, 0.0, 1.0])


def up_in_sensor(q: npt.ArrayLike) -> np.ndarray:
    """The earth's up direction in the sensor frame, (N, 3) unit vectors, from
    ``q_earth_sensor`` (N, 4). Heading-free: 6D and 9D give the same. NaN rows stay NaN."""
    q = np.atleast_2d(np.asarray(q, dtype=np.float64))
    ok = np.isfinite(q).all(axis=1)
    out = np.full((q.shape[0], 3), np.nan)
    if ok.any():
        out[ok] = quat.rotate(q[ok], _UP, inverse=True)
    return out


def tilt_deg(u: np.ndarray, u0: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Rotation of the segment about the body-fixed unit axis ``h`` (sensor frame) since the
    pose in which the earth's up direction in the sensor frame was ``u0``, degrees.

    Right-hand rule about ``h``; the segment rotating by +θ about ``h`` turns the up
    direction seen from the sensor by -θ. Motion about other axes changes the result only by
    its second-order coupling (it is the angle of ``u`` projected on the plane normal to ``h``).

    Parameters
    ----------
    u : ndarray, shape (N, 3)
        Up direction in the sensor frame (:func:`up_in_sensor`).
    u0 : ndarray, shape (3,)
        Up direction in the calibration pose (unit).
    h : ndarray, shape (3,)
        Unit axis in the sensor frame, normal to ``u0``.
    """
    up = u - (u @ h)[:, None] * h
    s = np.cross(up, u0) @ h
    c = up @ u0
    return np.degrees(np.arctan2(s, c))


def twist_deg(q: np.ndarray, q0: np.ndarray) -> np.ndarray:
    """Rotation about the earth vertical since the orientation ``q0`` (swing-twist
    decomposition of ``q ⊗ q0*``), degrees, right-hand rule about up (counter-clockwise seen
    from above), continuous (no ±180° wrap). NaN rows stay NaN."""
    q = np.atleast_2d(np.asarray(q, dtype=np.float64))
    out = np.full(q.shape[0], np.nan)
    ok = np.isfinite(q).all(axis=1)
    if not ok.any():
        return out
    rel = quat.multiply(q[ok], quat.conjugate(q0))
    ang = np.degrees(2.0 * np.arctan2(rel[:, 3], rel[:, 0]))
    out[ok] = np.unwrap(ang, period=360.0)
    return out


def gyro_heading_deg(u: np.ndarray, gyr: np.ndarray, bias: np.ndarray, fs: float,
                     start_deg: float = 0.0) -> np.ndarray:
    """Rotation about the axis ``u``, degrees, integrated from the gyroscope: the component
    ``u · (gyr - bias)`` of the angular rate, from ``start_deg``. ``u`` the up direction in the
    sensor frame (:func:`up_in_sensor`): rotation about the earth vertical; ``u`` a fixed
    sensor-frame axis (a segment's long axis): axial rotation of the segment.

    This is the compass of :func:`twist_deg` without a fusion filter's heading: the bias
    measured in the still calibration pose is removed first, so a gyroscope biased beyond a
    filter's rest threshold (a few °/s) does not turn into a heading drift of bias x its
    time constant. Rows with a NaN add nothing and read NaN.

    Parameters
    ----------
    u : ndarray, shape (N, 3)
        Unit axis in the sensor frame, per row.
    gyr : ndarray, shape (N, 3)
        rad/s, sensor frame (mean rate over the preceding sample period).
    bias : ndarray, shape (3,)
        rad/s.
    fs : float
        Hz.
    start_deg : float
        Heading before the first row, degrees.
    """
    rate = np.einsum("ij,ij->i", u, gyr - bias)
    ok = np.isfinite(rate)
    out = start_deg + np.degrees(np.cumsum(np.where(ok, rate, 0.0)) / fs)
    return np.where(ok, out, np.nan)


def learn_axis(u: np.ndarray, u0: np.ndarray, min_deg: float) -> tuple[np.ndarray, float, float]:
    """The body-fixed axis of the tilt in ``u`` (up direction in the sensor frame, (N, 3))
    away from ``u0``, signed so that the first movement beyond ``min_deg`` is positive.

    Returns
    -------
    h : ndarray, shape (3,)
        Unit axis in the sensor frame, normal to ``u0``.
    planarity : float
        Second over first singular value of the tilt vectors (0 = one plane; 1 = no plane).
    peak_deg : float
        Largest tilt seen, degrees.

    Raises
    ------
    CalibrationError
        No tilt of at least ``min_deg``.
    """
    ok = np.isfinite(u).all(axis=1)
    v = np.cross(u[ok], u0)  # ~ +sin(θ) h for a segment rotation θ about h
    mag = np.linalg.norm(v, axis=1)
    big = mag > math.sin(math.radians(min_deg))
    if not big.any():
        peak = math.degrees(math.asin(min(1.0, float(mag.max(initial=0.0)))))
        raise CalibrationError(
            f"the segment tilted by at most {peak:.1f}° after the calibration pose; the "
            f"exercise's first movement (at least {min_deg:g}°) sets the axis of its angle"
        )
    vb = v[big]
    _, sv, vt = np.linalg.svd(vb, full_matrices=False)
    h = vt[0] - (vt[0] @ u0) * u0
    h /= np.linalg.norm(h)
    first = int(np.flatnonzero(big)[0])
    if v[first] @ h < 0:
        h = -h
    planarity = float(sv[1] / sv[0]) if sv.size > 1 and sv[0] > 0 else 0.0
    return h, planarity, math.degrees(math.asin(min(1.0, float(mag.max()))))
