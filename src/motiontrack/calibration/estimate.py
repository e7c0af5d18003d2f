"""One call from a recording's arrays to a :class:`SensorCalibration`."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..errors import CalibrationError
from .accelerometer import calibrate_six_face
from .gyroscope import estimate_gyro_bias
from .magnetometer import calibrate_magnetometer
from .model import SensorCalibration
from .still import StillnessSettings

__all__ = ["calibrate_sensor"]


def calibrate_sensor(
    acc: npt.ArrayLike,
    gyr: npt.ArrayLike,
    mag: npt.ArrayLike | None = None,
    *,
    fs: float,
    gyroscope: bool = True,
    six_face: bool = False,
    magnetometer: bool = False,
    field_ut: float | None = None,
    sensor: str = "",
    settings: StillnessSettings | None = None,
) -> SensorCalibration:
    """Estimate the chosen parts of a sensor calibration from one recording of one sensor.

    Parameters
    ----------
    acc, gyr : ndarray, shape (N, 3)
        Raw readings, m/s² and rad/s.
    mag : ndarray, shape (N, 3), optional
        Raw magnetometer readings, µT (needed for ``magnetometer``).
    fs : float
        Sample rate, Hz.
    gyroscope : bool
        Gyroscope bias from the still part(s) of the recording (the longest still stretch).
    six_face : bool
        Accelerometer six-face calibration (the recording holds the six-face procedure).
    magnetometer : bool
        Hard/soft iron from the rotations in the recording.
    field_ut : float, optional
        Local field magnitude for the magnetometer, µT.
    sensor : str
        Name stored in the calibration.

    Raises
    ------
    CalibrationError
        From the chosen procedures (not still, missing faces, degenerate rotation).
    """
    if not (gyroscope or six_face or magnetometer):
        raise CalibrationError("nothing to calibrate: choose the gyroscope, six-face and/or magnetometer")
    a = np.asarray(acc, dtype=np.float64)
    g = np.asarray(gyr, dtype=np.float64)
    kw: dict = {"sensor": sensor, "quality": {}}
    if gyroscope:
        res = estimate_gyro_bias(g, a, fs=fs, settings=settings)
        kw["gyr_bias"] = res.bias
        kw["quality"]["gyr_bias_uncertainty_dps"] = float(np.degrees(res.uncertainty.max()))
        kw["quality"]["gyr_still_s"] = res.duration_s
    if six_face:
        res6 = calibrate_six_face(a, g, fs=fs, settings=settings)
        kw.update(acc_offset=res6.offset, acc_scale=res6.scale, acc_misalignment=res6.misalignment)
        kw["quality"]["acc_residual_ms2"] = res6.residual
    if magnetometer:
        if mag is None:
            raise CalibrationError("magnetometer calibration needs magnetometer data; the recording has none")
        resm = calibrate_magnetometer(mag, field_ut=field_ut)
        kw.update(mag_hard_iron=resm.hard_iron, mag_soft_iron=resm.soft_iron, mag_field_ut=resm.field_ut)
        kw["quality"].update(mag_residual=resm.residual, mag_coverage=resm.coverage, mag_spread=resm.spread)
    return SensorCalibration(**kw)
