"""Applying sensor calibrations to whole recordings, and storing them in ``.mtrec`` files."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import CalibrationError
from .model import FILE_VERSION, SensorCalibration, load_calibrations

if TYPE_CHECKING:  # pragma: no cover
    from ..recording import Recording

__all__ = ["RECORD_KIND", "apply_to_recording", "calibration_from_record", "calibration_record"]

#: ``"kind"`` of sensor-calibration records in a recording's calibration list.
RECORD_KIND = "sensor_calibration"


def calibration_record(name: str, calibration: SensorCalibration) -> dict[str, Any]:
    """A JSON-serialisable record for ``RecordingWriter.write_calibration`` (``.mtrec``)."""
    return {"kind": RECORD_KIND, "sensor": name, "version": FILE_VERSION, **calibration.to_dict()}


def calibration_from_record(record: Mapping[str, Any]) -> SensorCalibration:
    """Inverse of :func:`calibration_record`; refuses other kinds and unknown versions."""
    if record.get("kind") != RECORD_KIND:
        raise CalibrationError(f"not a sensor calibration record (kind {record.get('kind')!r})")
    if record.get("version") != FILE_VERSION:
        raise CalibrationError(
            f"sensor calibration record of version {record.get('version')!r}; this motiontrack reads "
            f"version {FILE_VERSION}"
        )
    body = {k: v for k, v in record.items() if k not in ("kind", "sensor", "version")}
    return SensorCalibration.from_dict(body, sensor=str(record.get("sensor", "")))


def apply_to_recording(
    recording: Recording,
    calibrations: Mapping[str, SensorCalibration] | str | os.PathLike[str],
) -> Recording:
    """A copy of ``recording`` with each sensor's samples calibrated.

    Parameters
    ----------
    recording : Recording
        As read by :func:`motiontrack.io.load`.
    calibrations : mapping or path
        Sensor name -> :class:`SensorCalibration`, or a calibration JSON file.

    Returns
    -------
    Recording
        Sensors without a calibration are unchanged; the applied calibrations are appended to
        ``calibration`` as records (:func:`calibration_record`).

    Raises
    ------
    CalibrationError
        None of the calibrated sensor names is in the recording (a mix-up of files).
    """
    cals = dict(calibrations) if isinstance(calibrations, Mapping) else load_calibrations(calibrations)
    used = [n for n in cals if n in recording.sensors]
    if cals and not used:
        raise CalibrationError(
            f"the calibrations are for {sorted(cals)}, the recording has sensors {sorted(recording.sensors)}"
        )
    sensors = dict(recording.sensors)
    for name in used:
        s = sensors[name]
        acc, gyr, mag = cals[name].apply(s.acc, s.gyr, s.mag)
        sensors[name] = dataclasses.replace(s, acc=acc, gyr=gyr, mag=mag)
    records = list(recording.calibration) + [calibration_record(n, cals[n]) for n in used]
    return dataclasses.replace(recording, sensors=sensors, calibration=records)
