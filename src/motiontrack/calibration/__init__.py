"""Sensor calibration: gyroscope bias, accelerometer six-face, magnetometer hard/soft iron.

Estimate from recordings (:func:`calibrate_sensor`, or one procedure at a time:
:func:`estimate_gyro_bias`, :func:`calibrate_six_face`, :func:`calibrate_magnetometer`) or live
with the guided procedures (:class:`GyroBiasProcedure`, :class:`SixFaceProcedure`,
:class:`MagnetometerProcedure`); store as versioned JSON (:class:`SensorCalibration`,
:func:`save_calibrations`, :func:`load_calibrations`); apply with
:meth:`SensorCalibration.apply` (or :func:`apply_to_recording` for a whole recording). The models::

    gyr = r_gyr − b
    acc = M · S · (r_acc − o)
    mag = C · (r_mag − h)

are described symbol by symbol in :mod:`.accelerometer` and :mod:`.magnetometer`, and the
procedures users follow in the repository's ``calibration/`` folder.

This is *sensor* calibration; sensor-to-segment alignment lives in :mod:`motiontrack.kinematics`.
"""

from __future__ import annotations

from .accelerometer import FACES, SixFaceResult, calibrate_six_face, fit_six_face
from .apply import RECORD_KIND, apply_to_recording, calibration_from_record, calibration_record
from .estimate import calibrate_sensor
from .gyroscope import GyroBiasResult, estimate_gyro_bias
from .magnetometer import MagnetometerResult, calibrate_magnetometer, sphere_coverage
from .model import FILE_FORMAT, FILE_VERSION, SensorCalibration, load_calibrations, save_calibrations
from .procedures import (
    CalibrationProcedure,
    GyroBiasProcedure,
    MagnetometerProcedure,
    Prompt,
    SixFaceProcedure,
    StepStatus,
)
from .still import StillnessSettings, StillSegment, find_still_segments, still_mask

__all__ = [
    "FACES",
    "FILE_FORMAT",
    "FILE_VERSION",
    "RECORD_KIND",
    "CalibrationProcedure",
    "GyroBiasProcedure",
    "GyroBiasResult",
    "MagnetometerProcedure",
    "MagnetometerResult",
    "Prompt",
    "SensorCalibration",
    "SixFaceProcedure",
    "SixFaceResult",
    "StepStatus",
    "StillSegment",
    "StillnessSettings",
    "apply_to_recording",
    "calibrate_magnetometer",
    "calibrate_sensor",
    "calibrate_six_face",
    "calibration_from_record",
    "calibration_record",
    "estimate_gyro_bias",
    "find_still_segments",
    "fit_six_face",
    "load_calibrations",
    "save_calibrations",
    "sphere_coverage",
    "still_mask",
]
