"""Turn a sensor's true motion (orientation and position over time) into IMU readings.

Physics (frames and units as in :mod:`motiontrack.conventions`):

* gyroscope: body angular rate in the sensor frame. ``gyr[k]`` is the *mean* rate over
  ``(t[k-1], t[k]]``, the rotation vector of ``q[k-1]* ⊗ q[k]`` divided by the sample period,
  so that noise-free integration ``q[k] = q[k-1] ⊗ exp(gyr[k]·dt)`` reproduces the true
  orientation to rounding (this is what an integrating / low-passed MEMS gyroscope reports
  and what the filters' propagation step assumes);
* accelerometer: specific force in the sensor frame, ``acc = Rᵀ (a_lin + g_up)`` with
  ``g_up = (0, 0, 9.80665)`` m/s² (ENU), so a sensor at rest reads +9.81 on its up axis;
* magnetometer: ``mag = Rᵀ (B_earth + B_disturbance)`` in µT, B_earth with magnetic north
  along +y (ENU) and the inclination pointing down into the ground in the northern hemisphere.

Sensor errors (white noise, gyroscope bias with random-walk drift, accelerometer and
magnetometer offset/gain distortions, saturation, dropped samples) come from an
:class:`ImuErrorModel`; raw distorted readings follow the inverse of the calibration models in
:mod:`motiontrack.calibration` (``raw = gain · true + offset``).
"""

from __future__ import annotations

import csv
import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..conventions import GRAVITY
from ..errors import ConfigurationError, InputError
from ..recording.model import Recording, SensorSamples
from . import _rot

__all__ = [
    "EARTH_FIELD_INCLINATION_DEG",
    "EARTH_FIELD_UT",
    "ImuErrorModel",
    "SimulatedImu",
    "earth_field",
    "synthesize_imu",
    "to_recording",
    "write_long_csv",
]

#: Default local geomagnetic field magnitude, µT (mid-latitude Europe).
EARTH_FIELD_UT = 49.0
#: Default inclination (dip) of the field below the horizontal, degrees.
EARTH_FIELD_INCLINATION_DEG = 65.0


def earth_field(
    magnitude_ut: float = EARTH_FIELD_UT, inclination_deg: float = EARTH_FIELD_INCLINATION_DEG
) -> np.ndarray:
    """The earth magnetic field in ENU, µT: magnetic north along +y, dipping below the horizon."""
    inc = np.radians(inclination_deg)
    return magnitude_ut * np.array([0.0, np.cos(inc), -np.sin(inc)])


def _vec3(value: Any, name: str) -> tuple[float, float, float] | None:
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)):
        raise ConfigurationError(f"{name} must be 3 finite numbers, got {value!r}")
    return tuple(float(x) for x in arr)  # type: ignore[return-value]


def _mat3(value: Any, name: str) -> tuple[tuple[float, ...], ...] | None:
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (3, 3) or not np.all(np.isfinite(arr)):
        raise ConfigurationError(f"{name} must be a finite 3x3 matrix, got shape {arr.shape}")
    if abs(np.linalg.det(arr)) < 1e-6:
        raise ConfigurationError(f"{name} must be invertible")
    return tuple(tuple(float(x) for x in row) for row in arr)


@dataclass(frozen=True, kw_only=True, slots=True)
class ImuErrorModel:
    """Errors of a simulated IMU. Every noise/bias value of 0 turns that error off.

    Defaults are those of a typical consumer 9-axis MEMS IMU after factory trim
    (BMI270/ICM-42688-class gyroscope and accelerometer, BMM150-class magnetometer) at 100 Hz.
    Distortions follow ``raw = gain @ true + offset`` (the inverse of the calibration model).
    """

    gyr_noise: float = 0.0017  # rad/s, white-noise std per sample and axis (0.1 °/s)
    gyr_bias_std: float = 0.0087  # rad/s, std of the initial bias per axis (0.5 °/s)
    gyr_bias_walk: float = 5e-5  # rad/s/sqrt(s), bias random walk (slow drift); 0 = constant
    acc_noise: float = 0.015  # m/s², white-noise std per sample and axis
    mag_noise: float = 0.4  # µT, white-noise std per sample and axis
    acc_offset: tuple[float, float, float] | None = None  # m/s², raw = acc_gain @ a + acc_offset
    acc_gain: tuple[tuple[float, ...], ...] | None = None  # 3x3, dimensionless (None = identity)
    mag_hard_iron: tuple[float, float, float] | None = None  # µT, raw = mag_soft_iron @ B + hard
    mag_soft_iron: tuple[tuple[float, ...], ...] | None = None  # 3x3 (None = identity)
    acc_range: float = 16.0 * GRAVITY  # m/s², full scale used when saturation is on
    gyr_range: float = float(np.radians(2000.0))  # rad/s, full scale used when saturation is on
    mag_range: float = 1300.0  # µT, full scale used when saturation is on

    def __post_init__(self) -> None:
        for name in ("gyr_noise", "gyr_bias_std", "gyr_bias_walk", "acc_noise", "mag_noise"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise ConfigurationError(f"ImuErrorModel.{name} must be finite and >= 0, got {v!r}")
        for name in ("acc_range", "gyr_range", "mag_range"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ConfigurationError(f"ImuErrorModel.{name} must be finite and > 0, got {v!r}")
        object.__setattr__(self, "acc_offset", _vec3(self.acc_offset, "acc_offset"))
        object.__setattr__(self, "mag_hard_iron", _vec3(self.mag_hard_iron, "mag_hard_iron"))
        object.__setattr__(self, "acc_gain", _mat3(self.acc_gain, "acc_gain"))
        object.__setattr__(self, "mag_soft_iron", _mat3(self.mag_soft_iron, "mag_soft_iron"))

    @classmethod
    def ideal(cls) -> ImuErrorModel:
        """No noise, no bias, no distortion (saturation ranges kept)."""
        return cls(gyr_noise=0.0, gyr_bias_std=0.0, gyr_bias_walk=0.0, acc_noise=0.0, mag_noise=0.0)


@dataclass(frozen=True, slots=True)
class SimulatedImu:
    """Readings and truth of one simulated IMU; arrays have N rows, one per sample.

    Dropped samples (``valid`` False) are NaN rows in ``acc``, ``gyr`` and ``mag``; the truth
    arrays are complete.
    """

    acc: np.ndarray  # (N, 3) m/s², specific force, sensor frame
    gyr: np.ndarray  # (N, 3) rad/s, sensor frame (mean rate over the preceding sample period)
    mag: np.ndarray | None  # (N, 3) µT, sensor frame; None without a magnetometer
    q_earth_sensor: np.ndarray  # (N, 4) true orientation
    q_segment_sensor: np.ndarray  # (4,) nominal mounting on the segment (identity if none)
    valid: np.ndarray  # (N,) bool, False = dropped sample
    gyr_bias: np.ndarray  # (3,) rad/s, gyroscope bias at t[0]
    gyr_bias_series: np.ndarray  # (N, 3) rad/s, the bias at every sample (with drift)
    pos_earth: np.ndarray | None = None  # (N, 3) m, sensor position (None if not simulated)
    acc_linear_earth: np.ndarray | None = None  # (N, 3) m/s², linear acceleration, ENU
    saturated: np.ndarray | None = None  # (N,) bool, any axis clipped to full scale
    mag_disturbed: np.ndarray | None = None  # (N,) bool, disturbance > 1 µT present
    mag_field_earth: np.ndarray | None = None  # (N, 3) µT, true field (earth + disturbance), ENU
    errors: ImuErrorModel = field(default_factory=ImuErrorModel)


def _as_time(t: npt.ArrayLike) -> np.ndarray:
    arr = np.ascontiguousarray(t, dtype=np.float64)
    if arr.ndim != 1 or arr.size < 2:
        raise InputError(f"t must have shape (N,) with N >= 2, got {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(np.diff(arr) <= 0):
        raise InputError("t must be finite and strictly increasing")
    return arr


def _rows(a: npt.ArrayLike, n: int, width: int, name: str) -> np.ndarray:
    arr = np.ascontiguousarray(a, dtype=np.float64)
    if arr.shape != (n, width):
        raise InputError(f"{name} must have shape ({n}, {width}), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} must be finite")
    return arr


def _second_derivative(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Second derivative of positions on a (possibly non-uniform) grid, second order inside."""
    h0 = np.diff(t)[:-1, None]
    h1 = np.diff(t)[1:, None]
    inner = 2.0 * (h0 * p[2:] - (h0 + h1) * p[1:-1] + h1 * p[:-2]) / (h0 * h1 * (h0 + h1))
    return np.vstack([inner[:1], inner, inner[-1:]])


def _drops(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    """Valid mask with ``rate`` of the samples lost, in bursts of 1-5 (lost BLE packets)."""
    valid = np.ones(n, dtype=bool)
    if rate <= 0:
        return valid
    target = int(round(rate * n))  # noqa: RUF046 - numpy<2: round() of a float64 is a float
    lost = 0
    while lost < target:
        start = int(rng.integers(0, n))
        length = int(rng.integers(1, 6))
        seg = valid[start : start + length]
        lost += int(seg.sum())
        seg[:] = False
    return valid


def _synthesize(
    t: np.ndarray,
    q: np.ndarray,
    q_before: np.ndarray | None,
    acc_lin: np.ndarray,
    *,
    rng: np.random.Generator,
    errors: ImuErrorModel,
    with_mag: bool,
    mag_field: np.ndarray,
    mag_disturbance: np.ndarray | None,
    drop_rate: float,
    saturation: bool,
    q_segment_sensor: np.ndarray,
    pos: np.ndarray | None,
) -> SimulatedImu:
    n = t.size
    dt = np.diff(t)
    # gyr[k]: rotation vector of q[k-1]* ⊗ q[k] over dt (exact for discrete integration)
    if q_before is None:
        rel = _rot.qmul(_rot.qconj(q[:-1]), q[1:])
        gyr_true = _rot.to_rotvec(rel) / dt[:, None]
        gyr_true = np.vstack([gyr_true[:1], gyr_true])
    else:
        q_ext = np.vstack([q_before[None, :], q])
        rel = _rot.qmul(_rot.qconj(q_ext[:-1]), q_ext[1:])
        dt_ext = np.concatenate([[dt[0]], dt])
        gyr_true = _rot.to_rotvec(rel) / dt_ext[:, None]

    up = np.array([0.0, 0.0, GRAVITY])
    acc_true = _rot.qrot_inv(q, acc_lin + up)

    bias0 = rng.normal(0.0, errors.gyr_bias_std, 3) if errors.gyr_bias_std > 0 else np.zeros(3)
    if errors.gyr_bias_walk > 0:
        steps = rng.normal(0.0, 1.0, (n, 3)) * errors.gyr_bias_walk * np.sqrt(
            np.concatenate([[0.0], dt])
        )[:, None]
        bias = bias0 + np.cumsum(steps, axis=0)
    else:
        bias = np.broadcast_to(bias0, (n, 3)).copy()

    gyr = gyr_true + bias
    if errors.gyr_noise > 0:
        gyr = gyr + rng.normal(0.0, errors.gyr_noise, (n, 3))
    acc = acc_true
    if errors.acc_gain is not None:
        acc = acc @ np.asarray(errors.acc_gain).T
    if errors.acc_offset is not None:
        acc = acc + np.asarray(errors.acc_offset)
    if errors.acc_noise > 0:
        acc = acc + rng.normal(0.0, errors.acc_noise, (n, 3))

    mag = None
    disturbed = None
    field_earth = None
    if with_mag:
        field_earth = np.broadcast_to(mag_field, (n, 3)).copy()
        if mag_disturbance is not None:
            field_earth += mag_disturbance
            disturbed = np.linalg.norm(mag_disturbance, axis=1) > 1.0
        else:
            disturbed = np.zeros(n, dtype=bool)
        mag = _rot.qrot_inv(q, field_earth)
        if errors.mag_soft_iron is not None:
            mag = mag @ np.asarray(errors.mag_soft_iron).T
        if errors.mag_hard_iron is not None:
            mag = mag + np.asarray(errors.mag_hard_iron)
        if errors.mag_noise > 0:
            mag = mag + rng.normal(0.0, errors.mag_noise, (n, 3))

    saturated = np.zeros(n, dtype=bool)
    if saturation:
        for arr, lim in ((acc, errors.acc_range), (gyr, errors.gyr_range), (mag, errors.mag_range)):
            if arr is None:
                continue
            saturated |= np.any(np.abs(arr) > lim, axis=1)
            np.clip(arr, -lim, lim, out=arr)

    valid = _drops(rng, n, drop_rate)
    if not valid.all():
        acc = acc.copy()
        gyr = gyr.copy()
        acc[~valid] = np.nan
        gyr[~valid] = np.nan
        if mag is not None:
            mag = mag.copy()
            mag[~valid] = np.nan

    return SimulatedImu(
        acc=acc,
        gyr=gyr,
        mag=mag,
        q_earth_sensor=q,
        q_segment_sensor=q_segment_sensor,
        valid=valid,
        gyr_bias=bias[0].copy(),
        gyr_bias_series=bias,
        pos_earth=pos,
        acc_linear_earth=acc_lin,
        saturated=saturated,
        mag_disturbed=disturbed,
        mag_field_earth=field_earth,
        errors=errors,
    )


def synthesize_imu(
    t: npt.ArrayLike,
    q_earth_sensor: npt.ArrayLike,
    pos_earth: npt.ArrayLike | None = None,
    *,
    seed: int | np.random.Generator,
    acc_linear_earth: npt.ArrayLike | None = None,
    noise: bool = True,
    gyr_bias: bool = True,
    with_mag: bool = True,
    errors: ImuErrorModel | None = None,
    mag_field: npt.ArrayLike | None = None,
    mag_disturbance: npt.ArrayLike | None = None,
    drop_rate: float = 0.0,
    saturation: bool = False,
    q_before: npt.ArrayLike | None = None,
    q_segment_sensor: npt.ArrayLike | None = None,
) -> SimulatedImu:
    """Simulate IMU readings of a sensor moving along a known trajectory.

    Parameters
    ----------
    t : ndarray, shape (N,)
        Sample times, s, strictly increasing.
    q_earth_sensor : ndarray, shape (N, 4)
        True orientation (sensor -> ENU earth).
    pos_earth : ndarray, shape (N, 3), optional
        Sensor position, m, ENU. Its second derivative (finite differences) is the linear
        acceleration, unless ``acc_linear_earth`` is given. Neither: the sensor does not translate.
    seed : int or numpy Generator
        Random seed; the same seed gives the same readings.
    acc_linear_earth : ndarray, shape (N, 3), optional
        Linear acceleration of the sensor, m/s², ENU, when known analytically.
    noise, gyr_bias : bool
        False turns off white noise (all three sensors) / the gyroscope bias and its drift.
    with_mag : bool
        Simulate the magnetometer (else ``mag`` is None).
    errors : ImuErrorModel, optional
        Noise levels, bias, distortions and full-scale ranges (default: :class:`ImuErrorModel`).
    mag_field : ndarray, shape (3,), optional
        Earth field, µT, ENU (default :func:`earth_field`).
    mag_disturbance : ndarray, shape (N, 3), optional
        Extra field (furniture, floors, phones), µT, ENU, added to the earth field.
    drop_rate : float
        Fraction of samples lost (bursts of 1-5 samples): ``valid`` False and NaN rows.
    saturation : bool
        Clip readings to the full-scale ranges of ``errors`` (flagged in ``saturated``).
    q_before : ndarray, shape (4,), optional
        Orientation one sample period before ``t[0]``; without it ``gyr[0]`` repeats ``gyr[1]``.
    q_segment_sensor : ndarray, shape (4,), optional
        Mounting of the sensor on its segment, stored on the result (identity if omitted).

    Returns
    -------
    SimulatedImu
    """
    t = _as_time(t)
    n = t.size
    q = _rows(q_earth_sensor, n, 4, "q_earth_sensor")
    norms = np.linalg.norm(q, axis=1)
    if np.any(np.abs(norms - 1.0) > 1e-6):
        raise InputError("q_earth_sensor must hold unit quaternions")
    q = q / norms[:, None]
    if not (0.0 <= drop_rate < 1.0):
        raise ConfigurationError(f"drop_rate must be in [0, 1), got {drop_rate!r}")
    pos = None if pos_earth is None else _rows(pos_earth, n, 3, "pos_earth")
    if acc_linear_earth is not None:
        acc_lin = _rows(acc_linear_earth, n, 3, "acc_linear_earth")
    elif pos is not None and n >= 3:
        acc_lin = _second_derivative(t, pos)
    else:
        acc_lin = np.zeros((n, 3))
    model = errors if errors is not None else ImuErrorModel()
    if not noise:
        model = _replace(model, gyr_noise=0.0, acc_noise=0.0, mag_noise=0.0)
    if not gyr_bias:
        model = _replace(model, gyr_bias_std=0.0, gyr_bias_walk=0.0)
    field_vec = earth_field() if mag_field is None else np.asarray(mag_field, dtype=np.float64)
    if field_vec.shape != (3,):
        raise InputError(f"mag_field must have shape (3,), got {field_vec.shape}")
    dist = None if mag_disturbance is None else _rows(mag_disturbance, n, 3, "mag_disturbance")
    qb = None
    if q_before is not None:
        qb = np.asarray(q_before, dtype=np.float64)
        if qb.shape != (4,):
            raise InputError(f"q_before must have shape (4,), got {qb.shape}")
        qb = qb / np.linalg.norm(qb)
    qss = np.array([1.0, 0, 0, 0]) if q_segment_sensor is None else np.asarray(q_segment_sensor, float)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return _synthesize(
        t,
        q,
        qb,
        acc_lin,
        rng=rng,
        errors=model,
        with_mag=with_mag,
        mag_field=field_vec,
        mag_disturbance=dist,
        drop_rate=drop_rate,
        saturation=saturation,
        q_segment_sensor=qss,
        pos=pos,
    )


def _replace(model: ImuErrorModel, **changes: Any) -> ImuErrorModel:
    return dataclasses.replace(model, **changes)


def write_long_csv(path: str | os.PathLike[str], t: np.ndarray, sensors: dict[str, SimulatedImu]) -> None:
    """Write the long-form CSV of API.md: one row per valid sample per sensor, time order.

    Columns ``time_s,sensor,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z[,mag_x,mag_y,mag_z]`` in
    s, m/s², rad/s, µT (mag columns when every sensor has a magnetometer); at equal times the
    sensors appear in the order of ``sensors``.
    """
    names = list(sensors)
    with_mag = all(sensors[n].mag is not None for n in names)
    header = ["time_s", "sensor", "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
    if with_mag:
        header += ["mag_x", "mag_y", "mag_z"]
    datas, orders = [], []
    for k, name in enumerate(names):
        imu = sensors[name]
        cols = [imu.acc, imu.gyr] + ([imu.mag] if with_mag else [])
        data = np.hstack([t[:, None]] + cols)[imu.valid]
        datas.append(data)
        orders.append(np.full(data.shape[0], k))
    rows = np.vstack(datas)
    order = np.concatenate(orders)
    idx = np.lexsort((order, rows[:, 0]))
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for i in idx:
            row = rows[i]
            writer.writerow([f"{row[0]:.6f}", names[order[i]]] + [f"{x:.9g}" for x in row[1:]])


def to_recording(t: np.ndarray, sensors: dict[str, SimulatedImu], *, source: str = "simulation") -> Any:
    """A :class:`motiontrack.recording.Recording` of the valid samples (what reading the CSV gives)."""
    rec = Recording(source=source, meta={"format": "simulation"})
    for name, imu in sensors.items():
        v = imu.valid
        fs = float(1.0 / np.median(np.diff(t)))
        rec.sensors[name] = SensorSamples(
            t[v], imu.acc[v], imu.gyr[v], None if imu.mag is None else imu.mag[v], fs
        )
        rec.sensor_info[name] = {"name": name, "fs": fs, "has_mag": imu.mag is not None}
    return rec
