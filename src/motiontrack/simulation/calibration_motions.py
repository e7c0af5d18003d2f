"""Simulated recordings of the sensor calibration procedures (see ``calibration/`` docs).

Each returns a :class:`SimulatedRecording` of one IMU whose raw readings carry the distortions of
its :class:`ImuErrorModel` (``raw = gain · true + offset``), so a calibration estimated from the
recording can be compared with the truth: the ideal accelerometer correction is
``inv(acc_gain)`` with offset ``acc_offset``; the magnetometer one ``inv(mag_soft_iron)`` with
hard iron ``mag_hard_iron``.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigurationError
from . import _rot
from .imu import ImuErrorModel, SimulatedImu, _synthesize, earth_field, to_recording, write_long_csv
from .profiles import Knots

__all__ = [
    "SimulatedRecording",
    "random_distortion",
    "simulate_magnetometer_rotation",
    "simulate_rest",
    "simulate_six_face",
]

_UP = np.array([0.0, 0.0, 1.0])
_AXES = {"x": 0, "y": 1, "z": 2}


@dataclass(frozen=True, slots=True)
class SimulatedRecording:
    """A simulated recording of one or more IMUs (no joint truth)."""

    fs: float
    t: np.ndarray  # (N,) s
    sensors: dict[str, SimulatedImu]
    description: str
    segments: list[tuple[str, float, float]] = field(default_factory=list)  # (label, start_s, end_s)

    @property
    def imu(self) -> SimulatedImu:
        """The first (usually only) sensor."""
        return next(iter(self.sensors.values()))

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write the API.md long-form CSV (see :func:`motiontrack.simulation.imu.write_long_csv`)."""
        write_long_csv(path, self.t, self.sensors)

    def to_recording(self) -> Any:
        """The valid samples as a :class:`motiontrack.recording.Recording` (no file)."""
        return to_recording(self.t, self.sensors, source=f"simulation:{self.description}")


def random_distortion(seed: int | np.random.Generator, *, base: ImuErrorModel | None = None) -> ImuErrorModel:
    """Typical uncalibrated distortions: accelerometer offsets ±0.3 m/s² (±30 mg), gains ±3 %,
    axis misalignment ±1°; magnetometer hard iron ±30 µT, soft iron ±10 % (symmetric)."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    gain = np.diag(rng.uniform(0.97, 1.03, 3))
    mis = np.eye(3) + np.radians(rng.uniform(-1.0, 1.0, (3, 3))) * (1 - np.eye(3))
    soft = np.eye(3) + rng.uniform(-0.1, 0.1, (3, 3))
    soft = 0.5 * (soft + soft.T)
    base = base or ImuErrorModel()
    return dataclasses.replace(
        base,
        acc_offset=rng.uniform(-0.3, 0.3, 3),
        acc_gain=mis @ gain,
        mag_hard_iron=rng.uniform(-30.0, 30.0, 3),
        mag_soft_iron=soft,
    )


def _keyframes(t: np.ndarray, key_t: np.ndarray, key_q: np.ndarray) -> np.ndarray:
    """Orientation along minimum-jerk geodesics between key orientations (C² in time)."""
    i = np.clip(np.searchsorted(key_t, t, side="right") - 1, 0, key_t.size - 2)
    dur = key_t[i + 1] - key_t[i]
    s = np.clip((t - key_t[i]) / dur, 0.0, 1.0)
    s = s**3 * (10.0 - 15.0 * s + 6.0 * s * s)
    q0 = key_q[:-1]
    rel = _rot.to_rotvec(_rot.qmul(_rot.qconj(q0), key_q[1:]))
    return _rot.qmul(q0[i], _rot.from_rotvec(rel[i] * s[:, None]))


def _finish(t, q, pos_fn, *, rng, errors, with_mag, fs, saturation=False) -> SimulatedImu:
    h = 5e-4
    p0, pm, pp = pos_fn(t), pos_fn(t - h), pos_fn(t + h)
    acc_lin = (pp - 2 * p0 + pm) / (h * h)
    q_before = q[0]  # every procedure starts at rest
    return _synthesize(
        t, q, q_before, acc_lin, rng=rng, errors=errors, with_mag=with_mag, mag_field=earth_field(),
        mag_disturbance=None, drop_rate=0.0, saturation=saturation,
        q_segment_sensor=np.array([1.0, 0, 0, 0]), pos=p0,
    )


def simulate_rest(
    duration_s: float = 10.0,
    fs: float = 100.0,
    seed: int = 0,
    *,
    errors: ImuErrorModel | None = None,
    move_at_s: float | None = None,
    with_mag: bool = True,
) -> SimulatedRecording:
    """The sensor lying still at a random orientation (gyroscope bias procedure).

    ``move_at_s`` makes someone pick it up at that time (a 40° turn over 1.5 s and back):
    a recording that is *not* still from then on.
    """
    if not (duration_s > 0 and fs > 0):
        raise ConfigurationError("duration_s and fs must be > 0")
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(duration_s * fs))) / fs  # noqa: RUF046 - numpy<2: round() of a float64 is a float
    q0 = _rot.random_rotation(rng, np.pi)
    if move_at_s is None:
        q = np.tile(q0, (t.size, 1))
        segs = [("rest", 0.0, float(t[-1]))]
    else:
        axis = rng.normal(size=3)
        q1 = _rot.qmul(q0, _rot.from_rotvec(axis / np.linalg.norm(axis) * np.radians(40.0)))
        kt = np.array([0.0, move_at_s, move_at_s + 1.5, move_at_s + 3.0, max(t[-1], move_at_s + 3.0) + 1.0])
        q = _keyframes(t, kt, np.array([q0, q0, q1, q0, q0]))
        segs = [("rest", 0.0, move_at_s), ("moved", move_at_s, move_at_s + 3.0)]
    model = errors or ImuErrorModel()
    imu = _finish(t, q, lambda tt: np.zeros(tt.shape + (3,)), rng=rng, errors=model, with_mag=with_mag, fs=fs)
    return SimulatedRecording(float(fs), t, {"imu": imu}, "sensor at rest", segs)


def simulate_six_face(
    fs: float = 100.0,
    seed: int = 0,
    *,
    errors: ImuErrorModel | None = None,
    hold_s: float = 5.0,
    move_s: float = 2.5,
    tilt_deg: float = 0.2,
    faces: tuple[str, ...] = ("+x", "-x", "+y", "-y", "+z", "-z"),
    with_mag: bool = True,
) -> SimulatedRecording:
    """The six-face procedure: still ``hold_s`` on each face, picked up and turned in between.

    ``tilt_deg``: how far each rest pose is from exactly level (an uneven table, an imperfect
    placement), a random tilt of up to this angle. ``errors`` defaults to
    :func:`random_distortion` of the seed.
    """
    rng = np.random.default_rng(seed)
    model = errors if errors is not None else random_distortion(rng)
    keys_q, keys_t, segs = [], [], []
    now = 0.0
    for k, face in enumerate(faces):
        axis = np.zeros(3)
        axis[_AXES[face[1]]] = 1.0 if face[0] == "+" else -1.0
        # axis up: q maps the sensor axis onto the earth's up; then a random heading and tilt
        cross = np.cross(axis, _UP)
        dot = axis @ _UP
        if np.linalg.norm(cross) < 1e-9:
            q_face = np.array([1.0, 0, 0, 0]) if dot > 0 else np.array([0.0, 1.0, 0, 0])
        else:
            q_face = _rot.from_rotvec(cross / np.linalg.norm(cross) * np.arccos(np.clip(dot, -1, 1)))
        heading = _rot.about_axis(2, rng.uniform(-np.pi, np.pi))
        tilt_axis = np.array([*rng.normal(size=2), 0.0])
        tilt = _rot.from_rotvec(tilt_axis / np.linalg.norm(tilt_axis) * np.radians(rng.uniform(0, tilt_deg)))
        q = _rot.qmul(tilt, _rot.qmul(heading, q_face))
        if k > 0:
            now += move_s
        keys_t += [now, now + hold_s]
        keys_q += [q, q]
        segs.append((f"face {face}", now, now + hold_s))
        now += hold_s
    t = np.arange(int(round(now * fs))) / fs  # noqa: RUF046 - numpy<2: round() of a float64 is a float
    q = _keyframes(t, np.array(keys_t), np.array(keys_q))
    lift = [0.0]
    lt = [0.0]
    for (_, s0, s1), (_, n0, _) in itertools.pairwise(segs):
        lt += [s1, 0.5 * (s1 + n0), n0]
        lift += [0.0, 0.1, 0.0]
    lt.append(now + 1.0)
    lift.append(0.0)
    prof = Knots.from_lists(lt, lift)

    def pos(tt: np.ndarray) -> np.ndarray:
        z = prof(tt)[0]
        return np.stack([np.zeros_like(z), np.zeros_like(z), z], axis=-1)

    imu = _finish(t, q, pos, rng=rng, errors=model, with_mag=with_mag, fs=fs)
    return SimulatedRecording(float(fs), t, {"imu": imu}, "six-face accelerometer procedure", segs)


def simulate_magnetometer_rotation(
    duration_s: float = 40.0,
    fs: float = 100.0,
    seed: int = 0,
    *,
    errors: ImuErrorModel | None = None,
    coverage: str = "sphere",
    step_s: float = 1.2,
) -> SimulatedRecording:
    """Hand rotations for the magnetometer procedure.

    ``coverage``: ``"sphere"`` (random orientations: every direction), ``"hemisphere"`` (never
    tilted more than 60° from flat: partial coverage) or ``"plane"`` (spun about the vertical
    only, lying flat: degenerate). ``errors`` defaults to :func:`random_distortion` of the seed.
    """
    if coverage not in ("sphere", "hemisphere", "plane"):
        raise ConfigurationError(f"coverage must be 'sphere', 'hemisphere' or 'plane', got {coverage!r}")
    rng = np.random.default_rng(seed)
    model = errors if errors is not None else random_distortion(rng)
    n_keys = int(np.ceil(duration_s / step_s)) + 2
    base = _rot.random_rotation(rng, np.pi)
    keys = []
    for _ in range(n_keys):
        if coverage == "sphere":
            keys.append(_rot.random_rotation(rng, np.pi))
        elif coverage == "hemisphere":
            tilt_axis = np.array([*rng.normal(size=2), 0.0])
            tilt = _rot.from_rotvec(tilt_axis / np.linalg.norm(tilt_axis) * np.radians(rng.uniform(0, 60)))
            keys.append(_rot.qmul(tilt, _rot.qmul(_rot.about_axis(2, rng.uniform(-np.pi, np.pi)), base)))
        else:
            keys.append(_rot.qmul(_rot.about_axis(2, rng.uniform(-np.pi, np.pi)), base))
    key_q = np.array(keys)
    # keep neighbouring keys in the same hemisphere of quaternion space (shortest path)
    for i in range(1, n_keys):
        if key_q[i] @ key_q[i - 1] < 0:
            key_q[i] = -key_q[i]
    key_t = np.arange(n_keys) * step_s
    t = np.arange(int(round(duration_s * fs))) / fs  # noqa: RUF046 - numpy<2: round() of a float64 is a float
    q = _keyframes(t, key_t, key_q)
    imu = _finish(t, q, lambda tt: np.zeros(tt.shape + (3,)), rng=rng, errors=model, with_mag=True, fs=fs)
    return SimulatedRecording(float(fs), t, {"imu": imu}, f"magnetometer rotation ({coverage})",
                              [("rotate", 0.0, float(t[-1]))])


