"""In-memory form of a recording: per-sensor samples, raw packets, calibration, events.

Both the native ``.mtrec`` reader and the CSV importer return a :class:`Recording`, so
everything downstream (analysis, replay, report, export) reads one type.
Units and frames: :mod:`motiontrack.conventions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import InputError

__all__ = ["Gap", "RawPacket", "Recording", "SensorSamples", "find_gaps"]


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing data of one sensor: no sample between ``start_s`` and ``end_s``.

    ``start_s`` is the time of the last sample before the gap, ``end_s`` the first one
    after it (device time, s); ``missing`` is the number of samples expected in between
    at the sensor's nominal rate.
    """

    sensor: str
    start_s: float
    end_s: float
    missing: int

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "sensor": self.sensor,
            "start_s": round(self.start_s, 6),
            "end_s": round(self.end_s, 6),
            "duration_s": round(self.duration_s, 6),
            "missing_samples": self.missing,
        }


@dataclass(frozen=True, slots=True)
class RawPacket:
    """One BLE notification as received: ``host_time_s`` is the host arrival time (s since
    the recording started, monotonic clock), ``payload`` the bytes of the data characteristic."""

    sensor: str
    host_time_s: float
    payload: bytes
    characteristic: int = 2  # 16-bit part of the characteristic UUID (0x0002 = data)


@dataclass(slots=True)
class SensorSamples:
    """Samples of one sensor, sorted by time.

    Attributes
    ----------
    t : ndarray, shape (N,)
        Device timestamps, s (strictly increasing after :meth:`sorted`).
    acc : ndarray, shape (N, 3)
        Specific force, m/s², sensor frame.
    gyr : ndarray, shape (N, 3)
        Angular rate, rad/s, sensor frame.
    mag : ndarray, shape (N, 3) or None
        Magnetic field, µT, sensor frame (NaN rows where absent).
    fs : float
        Nominal sample rate, Hz (from the sensor's configuration, or the median period).
    host_t : ndarray, shape (N,) or None
        Host arrival time of each sample's block, s since the recording started (native
        recordings made live; None for CSV and for recordings of sources without a host
        clock).
    """

    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray
    mag: np.ndarray | None = None
    fs: float = 0.0
    host_t: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.t = np.ascontiguousarray(self.t, dtype=np.float64).reshape(-1)
        n = self.t.shape[0]
        self.acc = np.ascontiguousarray(self.acc, dtype=np.float64).reshape(n, 3)
        self.gyr = np.ascontiguousarray(self.gyr, dtype=np.float64).reshape(n, 3)
        if self.mag is not None:
            self.mag = np.ascontiguousarray(self.mag, dtype=np.float64).reshape(n, 3)
        if self.host_t is not None:
            self.host_t = np.ascontiguousarray(self.host_t, dtype=np.float64).reshape(n)
            if not np.isfinite(self.host_t).any():  # recorded without a host clock
                self.host_t = None
        if not self.fs:
            self.fs = estimate_rate(self.t)

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @property
    def duration_s(self) -> float:
        return float(self.t[-1] - self.t[0]) if len(self) > 1 else 0.0

    def sorted(self) -> SensorSamples:
        """Sorted by time, exact duplicate timestamps removed (first kept)."""
        order = np.argsort(self.t, kind="stable")
        t = self.t[order]
        keep = np.ones(t.shape[0], bool)
        keep[1:] = np.diff(t) > 0
        idx = order[keep]
        mag = self.mag[idx] if self.mag is not None else None
        host = self.host_t[idx] if self.host_t is not None else None
        return SensorSamples(self.t[idx], self.acc[idx], self.gyr[idx], mag, self.fs, host)

    def window(self, start_s: float, end_s: float) -> SensorSamples:
        m = (self.t >= start_s) & (self.t <= end_s)
        mag = self.mag[m] if self.mag is not None else None
        host = self.host_t[m] if self.host_t is not None else None
        return SensorSamples(self.t[m], self.acc[m], self.gyr[m], mag, self.fs, host)


def estimate_rate(t: npt.ArrayLike) -> float:
    """Nominal sample rate (Hz) from the median positive period of timestamps ``t`` (s),
    in any order (they are sorted first: rows out of order are not gaps)."""
    d = np.diff(np.sort(np.asarray(t, dtype=np.float64)))
    d = d[np.isfinite(d) & (d > 0)]
    if d.size == 0:
        return 0.0
    return float(1.0 / np.median(d))


def find_gaps(sensor: str, t: np.ndarray, fs: float, *, factor: float = 1.5) -> list[Gap]:
    """Gaps in timestamps ``t`` (s): periods longer than ``factor / fs``."""
    if fs <= 0 or t.shape[0] < 2:
        return []
    d = np.diff(t)
    idx = np.flatnonzero(d > factor / fs)
    return [Gap(sensor, float(t[i]), float(t[i + 1]), max(round(d[i] * fs) - 1, 1)) for i in idx]


@dataclass(slots=True)
class Recording:
    """A recording read from a file (``.mtrec`` or CSV).

    Attributes
    ----------
    sensors : dict[str, SensorSamples]
        Decoded samples per sensor name, in the order the sensors were declared.
    packets : list[RawPacket]
        Raw notifications with host arrival times (native recordings made live).
    meta : dict
        Free-form metadata (format version, creation time, software version, exercise, ...).
    sensor_info : dict[str, dict]
        Per-sensor description (address, rate, config bytes in hex, ...).
    calibration : list[dict]
        Calibration records (sensor-to-segment, sensor calibration), in file order.
    events : list[dict]
        Session events (``{"type": ..., "t": ..., ...}``), in file order.
    complete : bool
        True when the writer closed the file cleanly (an END record was found).
    warnings : list[str]
        What the reader noticed (unfinished file, skipped corrupt bytes, ...).
    """

    sensors: dict[str, SensorSamples] = field(default_factory=dict)
    packets: list[RawPacket] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    sensor_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    calibration: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = True
    warnings: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def names(self) -> list[str]:
        return list(self.sensors)

    @property
    def duration_s(self) -> float:
        ts = [s.t for s in self.sensors.values() if len(s)]
        if not ts:
            return 0.0
        return float(max(t[-1] for t in ts) - min(t[0] for t in ts))

    @property
    def start_s(self) -> float:
        ts = [s.t[0] for s in self.sensors.values() if len(s)]
        return float(min(ts)) if ts else 0.0

    def sensor(self, name: str) -> SensorSamples:
        """Samples of sensor ``name``; :class:`~motiontrack.errors.InputError` if unknown."""
        try:
            return self.sensors[name]
        except KeyError:
            known = ", ".join(self.sensors) or "none"
            raise InputError(
                f"no sensor named {name!r} in {self.source or 'the recording'} (sensors: {known})"
            ) from None

    def gaps(self) -> list[Gap]:
        out: list[Gap] = []
        for name, s in self.sensors.items():
            out.extend(find_gaps(name, s.t, s.fs))
        return sorted(out, key=lambda g: (g.start_s, g.sensor))

    def summary(self) -> str:
        parts = [f"{n}: {len(s)} samples at {s.fs:.1f} Hz" for n, s in self.sensors.items()]
        return f"{self.duration_s:.1f} s; " + "; ".join(parts) if parts else "no samples"
