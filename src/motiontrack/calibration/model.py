"""The sensor calibration of one IMU, applied by the library and stored as versioned JSON.

Models (each symbol is described in :mod:`~motiontrack.calibration.accelerometer` and
:mod:`~motiontrack.calibration.magnetometer`)::

    gyr = r_gyr − b                      b: gyroscope bias, rad/s
    acc = M · S · (r_acc − o)            o: offset m/s², S = diag(scale), M: misalignment
    mag = C · (r_mag − h)                h: hard iron µT, C: soft-iron correction

A part that was never calibrated is ``None`` and passes readings through unchanged.

File format (JSON, UTF-8), version 1::

    {
      "format": "motiontrack-sensor-calibration",
      "version": 1,
      "sensors": {
        "<name>": {
          "created": "2026-11-22T17:00:00Z",
          "gyroscope": {"model": "gyr = raw - bias", "bias": [bx, by, bz], "bias_unit": "rad/s"},
          "accelerometer": {"model": "acc = misalignment @ diag(scale) @ (raw - offset)",
                            "offset": [..], "offset_unit": "m/s^2", "scale": [..],
                            "misalignment": [[..], [..], [..]]},
          "magnetometer": {"model": "mag = soft_iron @ (raw - hard_iron)", "hard_iron": [..],
                           "hard_iron_unit": "uT", "soft_iron": [[..], [..], [..]],
                           "field_ut": 49.0},
          "quality": {"gyr_bias_uncertainty_dps": 0.003, ...}
        }
      }
    }

Sections may be absent (not calibrated). A reader refuses a file of another ``format`` or of a
newer ``version`` than it knows, and any unit other than the ones above.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import CalibrationError, InputError
from ..recording._files import open_private

__all__ = [
    "FILE_FORMAT",
    "FILE_VERSION",
    "SensorCalibration",
    "load_calibrations",
    "save_calibrations",
]

FILE_FORMAT = "motiontrack-sensor-calibration"
FILE_VERSION = 1
_UNITS = {"bias_unit": "rad/s", "offset_unit": "m/s^2", "hard_iron_unit": "uT"}


def _vec(x: Any, name: str) -> np.ndarray | None:
    if x is None:
        return None
    a = np.array(x, dtype=np.float64)
    if a.shape != (3,) or not np.all(np.isfinite(a)):
        raise CalibrationError(f"{name} must be 3 finite numbers, got {x!r}")
    a.setflags(write=False)
    return a


def _mat(x: Any, name: str) -> np.ndarray | None:
    if x is None:
        return None
    a = np.array(x, dtype=np.float64)
    if a.shape != (3, 3) or not np.all(np.isfinite(a)):
        raise CalibrationError(f"{name} must be a finite 3x3 matrix, got {x!r}")
    if abs(np.linalg.det(a)) < 1e-9:
        raise CalibrationError(f"{name} is singular")
    a.setflags(write=False)
    return a


@dataclass(frozen=True, kw_only=True, eq=False)
class SensorCalibration:
    """Calibration of one IMU (gyroscope bias, accelerometer six-face, magnetometer iron).

    ``None`` fields mean "not calibrated": the reading passes through unchanged.
    """

    sensor: str = ""  # name (as in recordings) or serial number
    gyr_bias: np.ndarray | None = None  # (3,) rad/s
    acc_offset: np.ndarray | None = None  # (3,) m/s²
    acc_scale: np.ndarray | None = None  # (3,) dimensionless
    acc_misalignment: np.ndarray | None = None  # (3, 3) dimensionless, unit diagonal
    mag_hard_iron: np.ndarray | None = None  # (3,) µT
    mag_soft_iron: np.ndarray | None = None  # (3, 3) dimensionless
    mag_field_ut: float | None = None  # µT, field magnitude after calibration
    created: str = ""  # ISO 8601 UTC
    quality: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "gyr_bias", _vec(self.gyr_bias, "gyr_bias"))
        object.__setattr__(self, "acc_offset", _vec(self.acc_offset, "acc_offset"))
        object.__setattr__(self, "acc_scale", _vec(self.acc_scale, "acc_scale"))
        object.__setattr__(self, "acc_misalignment", _mat(self.acc_misalignment, "acc_misalignment"))
        object.__setattr__(self, "mag_hard_iron", _vec(self.mag_hard_iron, "mag_hard_iron"))
        object.__setattr__(self, "mag_soft_iron", _mat(self.mag_soft_iron, "mag_soft_iron"))
        if self.acc_scale is not None and np.any(self.acc_scale <= 0):
            raise CalibrationError(f"acc_scale must be positive, got {self.acc_scale}")
        if not self.created:
            now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
            object.__setattr__(self, "created", now.isoformat().replace("+00:00", "Z"))

    # ---- what is calibrated -----------------------------------------------------------------
    @property
    def has_gyroscope(self) -> bool:
        return self.gyr_bias is not None

    @property
    def has_accelerometer(self) -> bool:
        return any(x is not None for x in (self.acc_offset, self.acc_scale, self.acc_misalignment))

    @property
    def has_magnetometer(self) -> bool:
        return self.mag_hard_iron is not None or self.mag_soft_iron is not None

    @property
    def acc_matrix(self) -> np.ndarray:
        """``M · diag(scale)`` (identity when not calibrated)."""
        m = np.eye(3) if self.acc_misalignment is None else np.asarray(self.acc_misalignment)
        s = np.ones(3) if self.acc_scale is None else np.asarray(self.acc_scale)
        return m * s[None, :]

    def merged(self, other: SensorCalibration) -> SensorCalibration:
        """This calibration with every part that ``other`` calibrated replaced by ``other``'s."""
        changes: dict[str, Any] = {"quality": {**self.quality, **other.quality}, "created": other.created}
        if other.has_gyroscope:
            changes["gyr_bias"] = other.gyr_bias
        if other.has_accelerometer:
            changes.update(acc_offset=other.acc_offset, acc_scale=other.acc_scale,
                           acc_misalignment=other.acc_misalignment)
        if other.has_magnetometer:
            changes.update(mag_hard_iron=other.mag_hard_iron, mag_soft_iron=other.mag_soft_iron,
                           mag_field_ut=other.mag_field_ut)
        return replace(self, **changes)

    # ---- applying ---------------------------------------------------------------------------
    def apply(
        self,
        acc: npt.ArrayLike | None = None,
        gyr: npt.ArrayLike | None = None,
        mag: npt.ArrayLike | None = None,
    ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        """Calibrated ``(acc, gyr, mag)``; each ``(3,)`` or ``(N, 3)``, None passes through as None.

        NaN rows stay NaN. Units: m/s², rad/s, µT in and out.
        """
        return (
            None if acc is None else self.apply_accelerometer(acc),
            None if gyr is None else self.apply_gyroscope(gyr),
            None if mag is None else self.apply_magnetometer(mag),
        )

    @staticmethod
    def _arr(x: npt.ArrayLike, name: str) -> np.ndarray:
        a = np.asarray(x, dtype=np.float64)
        if a.shape[-1:] != (3,) or a.ndim > 2:
            raise InputError(f"{name} must have shape (3,) or (N, 3), got {a.shape}")
        return a

    def apply_gyroscope(self, gyr: npt.ArrayLike) -> np.ndarray:
        g = self._arr(gyr, "gyr")
        return g - self.gyr_bias if self.gyr_bias is not None else g.copy()

    def apply_accelerometer(self, acc: npt.ArrayLike) -> np.ndarray:
        a = self._arr(acc, "acc")
        if not self.has_accelerometer:
            return a.copy()
        off = np.zeros(3) if self.acc_offset is None else self.acc_offset
        return (a - off) @ self.acc_matrix.T

    def apply_magnetometer(self, mag: npt.ArrayLike) -> np.ndarray:
        m = self._arr(mag, "mag")
        if not self.has_magnetometer:
            return m.copy()
        h = np.zeros(3) if self.mag_hard_iron is None else self.mag_hard_iron
        c = np.eye(3) if self.mag_soft_iron is None else self.mag_soft_iron
        return (m - h) @ np.asarray(c).T

    # ---- JSON -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"created": self.created}
        if self.has_gyroscope:
            out["gyroscope"] = {
                "model": "gyr = raw - bias",
                "bias": np.asarray(self.gyr_bias).tolist(),
                "bias_unit": "rad/s",
            }
        if self.has_accelerometer:
            out["accelerometer"] = {
                "model": "acc = misalignment @ diag(scale) @ (raw - offset)",
                "offset": (np.zeros(3) if self.acc_offset is None else self.acc_offset).tolist(),
                "offset_unit": "m/s^2",
                "scale": (np.ones(3) if self.acc_scale is None else self.acc_scale).tolist(),
                "misalignment": (np.eye(3) if self.acc_misalignment is None else self.acc_misalignment).tolist(),
            }
        if self.has_magnetometer:
            out["magnetometer"] = {
                "model": "mag = soft_iron @ (raw - hard_iron)",
                "hard_iron": (np.zeros(3) if self.mag_hard_iron is None else self.mag_hard_iron).tolist(),
                "hard_iron_unit": "uT",
                "soft_iron": (np.eye(3) if self.mag_soft_iron is None else self.mag_soft_iron).tolist(),
                "field_ut": self.mag_field_ut,
            }
        if self.quality:
            out["quality"] = {k: float(v) for k, v in self.quality.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, sensor: str = "") -> SensorCalibration:
        if not isinstance(data, dict):
            raise CalibrationError(f"calibration of sensor {sensor!r} must be a JSON object")
        for section in ("gyroscope", "accelerometer", "magnetometer"):
            sec = data.get(section)
            if sec is None:
                continue
            if not isinstance(sec, dict):
                raise CalibrationError(f"{section} calibration of sensor {sensor!r} must be a JSON object")
            for key, unit in _UNITS.items():
                if key in sec and sec[key] != unit:
                    raise CalibrationError(
                        f"{section}.{key} of sensor {sensor!r} is {sec[key]!r}; only {unit!r} is supported"
                    )
        g = data.get("gyroscope") or {}
        a = data.get("accelerometer") or {}
        m = data.get("magnetometer") or {}
        try:
            return cls(
                sensor=sensor,
                gyr_bias=g.get("bias"),
                acc_offset=a.get("offset"),
                acc_scale=a.get("scale"),
                acc_misalignment=a.get("misalignment"),
                mag_hard_iron=m.get("hard_iron"),
                mag_soft_iron=m.get("soft_iron"),
                mag_field_ut=None if m.get("field_ut") is None else float(m["field_ut"]),
                created=str(data.get("created", "")),
                quality={str(k): float(v) for k, v in (data.get("quality") or {}).items()},
            )
        except (TypeError, ValueError) as exc:
            raise CalibrationError(f"calibration of sensor {sensor!r} is malformed: {exc}") from None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write this calibration alone to a JSON file (see :func:`save_calibrations`)."""
        save_calibrations(path, {self.sensor or "sensor": self})

    @classmethod
    def load(cls, path: str | os.PathLike[str], sensor: str | None = None) -> SensorCalibration:
        """Read one sensor's calibration; ``sensor`` may be omitted when the file holds one."""
        cals = load_calibrations(path)
        if sensor is None:
            if len(cals) != 1:
                raise CalibrationError(f"{path} holds calibrations of {sorted(cals)}; say which sensor")
            return next(iter(cals.values()))
        if sensor not in cals:
            raise CalibrationError(f"{path} has no calibration of sensor {sensor!r} (it has {sorted(cals)})")
        return cals[sensor]


def save_calibrations(path: str | os.PathLike[str], calibrations: dict[str, SensorCalibration]) -> None:
    """Write calibrations of several sensors (name -> calibration) to one JSON file, atomically."""
    doc = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "sensors": {name: cal.to_dict() for name, cal in calibrations.items()},
    }
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    with open_private(tmp, "w", encoding="utf-8") as f:  # owner-only (0600): health data
        f.write(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, p)


def load_calibrations(path: str | os.PathLike[str]) -> dict[str, SensorCalibration]:
    """Read a calibration JSON file: sensor name -> :class:`SensorCalibration`.

    Raises
    ------
    CalibrationError
        Not a motiontrack calibration file, an unsupported version, units or values.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CalibrationError(f"{p}: no such calibration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"cannot read calibration file {p}: {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CalibrationError(f"{p} is not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FILE_FORMAT:
        raise CalibrationError(f"{p} is not a motiontrack sensor calibration file (format {FILE_FORMAT!r} expected)")
    version = doc.get("version")
    if isinstance(version, bool) or version != FILE_VERSION:
        raise CalibrationError(
            f"{p} is a sensor calibration file of version {version!r}; this motiontrack reads "
            f"version {FILE_VERSION} only" + (" (upgrade motiontrack)" if isinstance(version, int) and version > FILE_VERSION else "")
        )
    sensors = doc.get("sensors")
    if not isinstance(sensors, dict) or not sensors:
        raise CalibrationError(f"{p} holds no sensor calibrations")
    return {str(name): SensorCalibration.from_dict(d, sensor=str(name)) for name, d in sensors.items()}
