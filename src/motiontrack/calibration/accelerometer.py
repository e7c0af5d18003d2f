"""Accelerometer six-face calibration: offset, scale and misalignment.

Model (applied by :meth:`SensorCalibration.apply`)::

    a = M · S · (r − o)

=========  =======================================================================
``r``      raw reading, m/s² (counts already scaled by the nominal full-scale range)
``o``      offset (zero-g bias), m/s², shape (3,)
``S``      diag(scale): per-axis sensitivity correction, dimensionless (1 = nominal)
``M``      misalignment, 3×3, ones on the diagonal: axis non-orthogonality and the small
           rotation between the sensing axes and the enclosure faces
``a``      calibrated specific force, m/s², in the enclosure (face) frame
=========  =======================================================================

Procedure: the sensor rests still on each of its six faces in turn (+x up, −x up, +y up, −y up,
+z up, −z up), on a level table. On face ``k`` with sign ``s`` the calibrated reading must be
``s·g·e_k``. With ``K = M·S``:
Opposite faces give the offset directly, ``o = (r₊ₖ + r₋ₖ)/2`` (exact for any ``K``); only the
on-axis component ``k`` of each pair is used, because it is insensitive to a tilted table (error
``g·(1 − cos tilt)``) while the off-axis components carry ``g·sin(tilt)``. Then
``K·(r_i − o) = s_i·g·e_k(i)``, 18 equations for 9 unknowns, by least squares;
``S = diag(K)`` (so that ``M`` has a unit diagonal) and ``M = K·S⁻¹``. A table tilted by 1°
moves the offsets by < 0.03 % of g this way (0.6 % if all 18 equations also solved for ``o``);
the misalignment cannot be told apart from the tilt of each pose (about 1e-2 per degree).
The same "misalignment × sensitivity × (raw − offset)" model is the one of the x-io Fusion
library (README, "Sensor calibration");
the six-position method is described by Tedaldi et al., ICRA 2014, doi:10.1109/ICRA.2014.6907297
(which needs no faces but more poses).
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..conventions import GRAVITY
from ..errors import CalibrationError, CalibrationWarning, InputError
from .still import StillnessSettings, find_still_segments

__all__ = ["FACES", "SixFaceResult", "calibrate_six_face", "fit_six_face"]

#: Face names in the order used by the result arrays: the sensor axis pointing up.
FACES: tuple[str, ...] = ("+x", "-x", "+y", "-y", "+z", "-z")

#: A still pose whose dominant axis is more than this from vertical is not a face (degrees).
_MAX_FACE_TILT_DEG = 25.0


@dataclass(frozen=True, slots=True)
class SixFaceResult:
    """Result of a six-face calibration (see the module docstring for the model)."""

    offset: np.ndarray  # (3,) m/s²
    scale: np.ndarray  # (3,) dimensionless
    misalignment: np.ndarray  # (3, 3), unit diagonal
    face_means: np.ndarray  # (6, 3) m/s², raw mean per face in FACES order
    residual: float  # m/s², RMS of the fit over the 18 equations
    gravity: float  # m/s², the g assumed
    face_durations_s: np.ndarray  # (6,) s of still data per face

    @property
    def matrix(self) -> np.ndarray:
        """``K = M · S`` (3, 3)."""
        return self.misalignment * self.scale[None, :]


def _face_of(mean: np.ndarray) -> tuple[int | None, float]:
    k = int(np.argmax(np.abs(mean)))
    tilt = np.degrees(np.arccos(min(1.0, abs(mean[k]) / np.linalg.norm(mean))))
    if tilt > _MAX_FACE_TILT_DEG:
        return None, tilt
    return 2 * k + (0 if mean[k] > 0 else 1), tilt


def fit_six_face(face_means: npt.ArrayLike, *, gravity: float = GRAVITY) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Solve the six-face model from the raw means of the six faces (rows in FACES order).

    Returns ``(offset (3,), scale (3,), misalignment (3, 3), residual m/s²)``.
    """
    r = np.asarray(face_means, dtype=np.float64)
    if r.shape != (6, 3) or not np.all(np.isfinite(r)):
        raise InputError(f"face_means must be finite with shape (6, 3), got {r.shape}")
    target = np.zeros((6, 3))
    for i in range(6):
        target[i, i // 2] = gravity if i % 2 == 0 else -gravity
    # Offsets first, from each axis's own pair of faces: r(+k) + r(-k) = 2·o exactly whatever K,
    # and the on-axis component is insensitive to a tilted table (error g·(1 - cos tilt)),
    # whereas the off-axis components carry g·sin(tilt).
    offset = np.array([0.5 * (r[2 * k, k] + r[2 * k + 1, k]) for k in range(3)])
    x = r - offset
    if np.any(np.abs(np.array([x[2 * k, k] - x[2 * k + 1, k] for k in range(3)])) < 0.1 * gravity):
        raise CalibrationError("six-face fit is singular: opposite faces read the same on their axis")
    # then K = M·S by least squares: K·(r_i - o) = ±g·e_k, 18 equations, 9 unknowns
    sol, *_ = np.linalg.lstsq(x, target, rcond=None)
    k_mat = sol.T
    resid = x @ sol - target
    if abs(np.linalg.det(k_mat)) < 1e-9:
        raise CalibrationError("six-face fit is singular: the faces are not distinct poses")
    scale = np.diag(k_mat).copy()
    if np.any(scale <= 0):
        raise CalibrationError(
            "six-face fit gives a negative scale: the faces were mislabelled or an axis is inverted"
        )
    misalignment = k_mat / scale[None, :]
    return offset, scale, misalignment, float(np.sqrt(np.mean(resid**2)))


def calibrate_six_face(
    acc: npt.ArrayLike,
    gyr: npt.ArrayLike | None = None,
    *,
    fs: float,
    gravity: float = GRAVITY,
    min_face_s: float = 2.0,
    settings: StillnessSettings | None = None,
) -> SixFaceResult:
    """Six-face accelerometer calibration from one recording of the whole procedure.

    Parameters
    ----------
    acc : ndarray, shape (N, 3)
        Raw specific force, m/s² (nominally scaled), sensor frame; NaN rows are ignored.
    gyr : ndarray, shape (N, 3), optional
        Angular rate, rad/s; makes the detection of still poses stricter.
    fs : float
        Sample rate, Hz.
    gravity : float
        Local gravity, m/s² (default standard gravity; the local value differs by < 0.3 %).
    min_face_s : float
        Least still time per pose, s.

    Returns
    -------
    SixFaceResult

    Raises
    ------
    CalibrationError
        A face is missing (the message lists which), or the fit is degenerate.

    Warns
    -----
    CalibrationWarning
        Still poses that are not on a face (tilted > 25°) were ignored, or the fit residual is
        above 1 % of g (the sensor moved or the table is not level).
    """
    a = np.asarray(acc, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 3:
        raise InputError(f"acc must have shape (N, 3), got {a.shape}")
    cfg = dataclasses.replace(settings or StillnessSettings(), min_duration_s=min_face_s)
    g_for_still = np.zeros_like(a) if gyr is None else np.asarray(gyr, dtype=np.float64)
    if gyr is None:
        g_for_still[~np.all(np.isfinite(a), axis=1)] = np.nan
    segments = find_still_segments(g_for_still, a, fs=fs, settings=cfg)
    sums = np.zeros((6, 3))
    counts = np.zeros(6)
    ignored = []
    for seg in segments:
        mean = a[seg.slice].mean(axis=0)
        face, tilt = _face_of(mean)
        if face is None:
            ignored.append(f"{seg.start / fs:.1f}-{seg.stop / fs:.1f} s (tilted {tilt:.0f}°)")
            continue
        n = seg.stop - seg.start
        sums[face] += mean * n
        counts[face] += n
    missing = [FACES[i] for i in range(6) if counts[i] == 0]
    if missing:
        found = [FACES[i] for i in range(6) if counts[i] > 0]
        raise CalibrationError(
            f"six-face calibration needs the sensor still for {min_face_s:.0f} s on each of its six "
            f"faces; missing: {', '.join(missing)} up (found: {', '.join(found) or 'none'}"
            f"{'; ignored tilted poses at ' + ', '.join(ignored) if ignored else ''})"
        )
    if ignored:
        warnings.warn(
            f"ignored still poses that are not on a face: {', '.join(ignored)}",
            CalibrationWarning,
            stacklevel=2,
        )
    means = sums / counts[:, None]
    offset, scale, mis, resid = fit_six_face(means, gravity=gravity)
    if resid > 0.01 * gravity:
        warnings.warn(
            f"six-face fit residual {resid:.3f} m/s² ({100 * resid / gravity:.1f} % of g): the "
            "sensor moved during a pose or the surface is not level",
            CalibrationWarning,
            stacklevel=2,
        )
    return SixFaceResult(
        offset=offset,
        scale=scale,
        misalignment=mis,
        face_means=means,
        residual=resid,
        gravity=gravity,
        face_durations_s=counts / fs,
    )
