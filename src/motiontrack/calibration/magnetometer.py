"""Magnetometer hard- and soft-iron calibration by ellipsoid fitting.

Model (applied by :meth:`SensorCalibration.apply`)::

    m = C · (r − h)

=========  ======================================================================
``r``      raw reading, µT
``h``      hard iron: constant field of magnetised parts on the board, µT, shape (3,)
``C``      soft-iron correction, 3×3 symmetric positive definite, dimensionless
           (the inverse of the distortion ``W`` in ``r = W·B + h``)
``m``      calibrated field, µT; ``|m|`` equals the local field everywhere
=========  ======================================================================

Rotating the sensor through all orientations traces the ellipsoid ``|C·(r − h)| = F``.
It is fitted in two stages: the algebraic ellipsoid-specific least squares fit of
Li & Griffiths (2004, "Least squares ellipsoid specific fitting", GMP 2004, eq. 7-13,
doi:10.1109/GMAP.2004.1290055), then a geometric refinement (:func:`scipy.optimize.least_squares` on ``|C·(r − h)| − 1`` with a
soft-L1 loss of scale 2 % of the field), which removes the algebraic fit's bias at low coverage
and down-weights samples disturbed by nearby metal. ``C`` is symmetric: a rotation between the magnetometer and the other
axes is not observable from the magnetometer alone (it is part of the sensor-to-body alignment).

Quality: ``residual`` is the RMS of ``(|m| − F)/F``; ``coverage`` is the fraction of 60
evenly spread directions (a Fibonacci sphere) that have a calibrated sample within 25°; the
spread of the raw data (smallest/largest principal axis) catches rotation about a single axis,
which cannot determine an ellipsoid.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..errors import CalibrationError, CalibrationWarning, InputError

__all__ = ["MagnetometerResult", "calibrate_magnetometer", "sphere_coverage"]

_MIN_SAMPLES = 50
#: smallest/largest principal standard deviation below this: the data are (nearly) planar
_MIN_SPREAD = 0.15
#: the fit uses at most this many samples (the quality figures use all)
_MAX_FIT = 2000
#: coverage below this gives a CalibrationWarning (a 60°-tilt hemisphere covers ~50 %)
_WARN_COVERAGE = 0.7


@dataclass(frozen=True, slots=True)
class MagnetometerResult:
    """Result of :func:`calibrate_magnetometer` (model in the module docstring)."""

    hard_iron: np.ndarray  # (3,) µT
    soft_iron: np.ndarray  # (3, 3) dimensionless, symmetric positive definite
    field_ut: float  # µT, magnitude of the calibrated field
    residual: float  # RMS of (|m| - F)/F, dimensionless
    coverage: float  # 0..1, fraction of directions covered
    spread: float  # smallest/largest principal std of the raw data
    n_samples: int


def _fibonacci_sphere(n: int) -> np.ndarray:
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    theta = np.pi * (1 + 5**0.5) * i
    return np.stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], axis=1)


_DIRECTIONS = _fibonacci_sphere(60)


def sphere_coverage(vectors: npt.ArrayLike, *, radius_deg: float = 25.0) -> float:
    """Fraction of 60 evenly spread directions with a sample direction within ``radius_deg``."""
    v = np.asarray(vectors, dtype=np.float64)
    v = v[np.all(np.isfinite(v), axis=1)]
    if v.shape[0] == 0:
        return 0.0
    u = v / np.linalg.norm(v, axis=1, keepdims=True)
    cos_r = np.cos(np.radians(radius_deg))
    hit = np.zeros(len(_DIRECTIONS), dtype=bool)
    for chunk in np.array_split(u, max(1, u.shape[0] // 4096 + 1)):
        hit |= np.any(chunk @ _DIRECTIONS.T > cos_r, axis=0)
    return float(hit.mean())


def _li_griffiths(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Algebraic ellipsoid fit; returns (centre (3,), Q (3,3)) with (x-c)ᵀQ(x-c) = 1."""
    X, Y, Z = x.T
    D = np.stack([X * X, Y * Y, Z * Z, 2 * Y * Z, 2 * X * Z, 2 * X * Y, 2 * X, 2 * Y, 2 * Z, np.ones_like(X)])
    S = D @ D.T
    S11, S12, S22 = S[:6, :6], S[:6, 6:], S[6:, 6:]
    k = 4.0
    C1 = np.zeros((6, 6))
    C1[:3, :3] = k / 2 - 1
    np.fill_diagonal(C1[:3, :3], -1.0)
    C1[3:, 3:] = np.diag([-k, -k, -k])  # eq. 7: 4J - I² > 0 constraint matrix
    T = np.linalg.solve(S22, S12.T)
    M = np.linalg.solve(C1, S11 - S12 @ T)  # eq. 11
    w, v = np.linalg.eig(M)
    w = np.real(w)
    v = np.real(v)
    idx = int(np.argmax(w))
    # noise-free data make the scatter matrix singular: the solution's eigenvalue is then ~0
    if not (w[idx] > -1e-9 * np.max(np.abs(w))):
        raise CalibrationError("ellipsoid fit failed: no ellipsoid fits the magnetometer data")
    u1 = v[:, idx]
    u2 = -T @ u1  # eq. 12
    a, b, c, f, g, h = u1
    A = np.array([[a, h, g], [h, b, f], [g, f, c]])
    bvec = u2[:3]
    d = u2[3]
    if np.trace(A) < 0:
        A, bvec, d = -A, -bvec, -d
    centre = -np.linalg.solve(A, bvec)
    scale = centre @ A @ centre - d
    if not (scale > 0):
        raise CalibrationError("ellipsoid fit failed: degenerate quadric")
    Q = A / scale
    return centre, Q


def _sym_sqrt(Q: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(0.5 * (Q + Q.T))
    if np.any(w <= 0):
        raise CalibrationError("ellipsoid fit failed: the fitted surface is not an ellipsoid")
    return (v * np.sqrt(w)) @ v.T


def calibrate_magnetometer(
    mag: npt.ArrayLike,
    *,
    field_ut: float | None = None,
    refine: bool = True,
) -> MagnetometerResult:
    """Fit hard and soft iron to magnetometer data recorded while rotating the sensor.

    Parameters
    ----------
    mag : ndarray, shape (N, 3)
        Raw magnetometer readings, µT (NaN rows are ignored). Rotate the sensor slowly through
        as many orientations as possible (a figure-eight in every direction), away from metal.
    field_ut : float, optional
        Local field magnitude, µT (from a geomagnetic model, e.g. WMM/IGRF). Without it the
        calibrated magnitude is the geometric mean radius of the fitted ellipsoid (which keeps
        the volume; heading does not depend on the magnitude).
    refine : bool
        Geometric refinement after the algebraic fit.

    Raises
    ------
    CalibrationError
        Too few samples, or a degenerate motion (rotation about one axis only: the samples lie
        on a circle), or no ellipsoid fits.

    Warns
    -----
    CalibrationWarning
        Coverage below 70 % of directions, or a residual above 2 %.
    """
    m = np.asarray(mag, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] != 3:
        raise InputError(f"mag must have shape (N, 3), got {m.shape}")
    m = m[np.all(np.isfinite(m), axis=1)]
    if m.shape[0] < _MIN_SAMPLES:
        raise CalibrationError(
            f"magnetometer calibration needs at least {_MIN_SAMPLES} samples while rotating; got {m.shape[0]}"
        )
    if field_ut is not None and not (np.isfinite(field_ut) and field_ut > 0):
        raise InputError(f"field_ut must be a positive field magnitude in µT, got {field_ut!r}")
    mu = m.mean(axis=0)
    sd = np.linalg.svd(m - mu, compute_uv=False) / np.sqrt(m.shape[0])
    spread = float(sd[-1] / sd[0]) if sd[0] > 0 else 0.0
    if spread < _MIN_SPREAD:
        raise CalibrationError(
            "magnetometer data are degenerate: the readings lie near a plane "
            f"(principal spread {spread:.2f} < {_MIN_SPREAD}), as when the sensor turns about one "
            "axis only. Rotate it through all orientations (figure-eights, turn it over)."
        )
    # normalise for conditioning: centre on the mean, unit scale; fit on at most _MAX_FIT samples
    # (evenly spread in time: 9 parameters need far fewer, and the time stays bounded)
    s = float(sd[0]) * 2.0
    stride = max(1, m.shape[0] // _MAX_FIT)
    x = (m[::stride] - mu) / s
    centre_n, Q = _li_griffiths(x)
    C = _sym_sqrt(Q)
    if refine:
        from scipy.optimize import least_squares  # lazy: scipy.optimize takes ~0.5 s to import

        iu = np.triu_indices(3)

        def unpack(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            Cm = np.zeros((3, 3))
            Cm[iu] = p[3:]
            Cm = Cm + np.triu(Cm, 1).T
            return p[:3], Cm

        def resid(p: np.ndarray) -> np.ndarray:
            c, Cm = unpack(p)
            return np.linalg.norm((x - c) @ Cm.T, axis=1) - 1.0

        def jac(p: np.ndarray) -> np.ndarray:
            # r = |C (x - c)| - 1, n = C (x - c) / |C (x - c)|: dr/dc = -Cᵀn, dr/dC_ab = n_a d_b + n_b d_a
            c, Cm = unpack(p)
            d = x - c
            y = d @ Cm.T
            nrm = y / np.linalg.norm(y, axis=1, keepdims=True)
            out = np.empty((x.shape[0], 9))
            out[:, :3] = -nrm @ Cm
            for k, (a, b) in enumerate(zip(*iu)):
                out[:, 3 + k] = nrm[:, a] * d[:, b] + (nrm[:, b] * d[:, a] if a != b else 0.0)
            return out

        def plausible(p: np.ndarray) -> bool:
            """A refinement may polish the algebraic fit, not replace it by another surface:
            on partial coverage, least squares can run off to a huge ellipsoid whose small cap
            passes through the data (seen on BROAD trial 32, magnet attached to the IMU)."""
            if not np.all(np.isfinite(p)):
                return False
            c, Cm = unpack(p)
            w = np.linalg.eigvalsh(Cm)
            if np.any(w <= 0):
                return False
            r_new = np.prod(w) ** (-1.0 / 3.0)
            return 0.75 < r_new / r_alg < 1.33 and np.linalg.norm(c - centre_n) < 0.25 * r_alg

        r_alg = float(np.linalg.det(C) ** (-1.0 / 3.0))
        p_alg = np.concatenate([centre_n, C[iu]])
        # plain least squares first (fast, Levenberg-Marquardt), then a robust soft-L1 loss from
        # there: samples taken near a disturbance (a few % of the field off the ellipsoid) are
        # down-weighted, sensor noise (< 1 %) stays in the quadratic regime. The evaluation budget
        # bounds the time on ill-conditioned (partial-coverage) data.
        sol = least_squares(resid, p_alg, jac=jac, method="lm", x_scale="jac", max_nfev=200)
        p_best = sol.x if plausible(sol.x) else p_alg
        sol = least_squares(resid, p_best, jac=jac, method="trf", loss="soft_l1", f_scale=0.02, x_scale="jac",
                            max_nfev=30)
        if plausible(sol.x):
            p_best = sol.x
        centre_n, C = unpack(p_best)
    hard = mu + s * centre_n
    C = C / s  # |C (r - h)| = 1 in raw units
    radius = float(np.linalg.det(C) ** (-1.0 / 3.0))
    field = float(field_ut) if field_ut is not None else radius
    soft = C * field
    cal = (m - hard) @ soft.T
    mags = np.linalg.norm(cal, axis=1)
    residual = float(np.sqrt(np.mean((mags / field - 1.0) ** 2)))
    coverage = sphere_coverage(cal)
    if coverage < _WARN_COVERAGE:
        warnings.warn(
            f"magnetometer calibration covered only {100 * coverage:.0f} % of directions: rotate the "
            "sensor through more orientations for a reliable soft-iron estimate",
            CalibrationWarning,
            stacklevel=2,
        )
    if residual > 0.02:
        warnings.warn(
            f"magnetometer fit residual {100 * residual:.1f} % of the field: a magnetic disturbance "
            "nearby, or the sensor moved close to metal while rotating",
            CalibrationWarning,
            stacklevel=2,
        )
    return MagnetometerResult(
        hard_iron=hard,
        soft_iron=soft,
        field_ut=field,
        residual=residual,
        coverage=coverage,
        spread=spread,
        n_samples=int(m.shape[0]),
    )
