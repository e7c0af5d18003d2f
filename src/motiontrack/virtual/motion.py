"""Motion models that feed virtual sensors with IMU samples.

:class:`KneeMotion` wraps the simulation team's knee simulator
(:func:`motiontrack.simulation.simulate_knee_session`): thigh and shank sensors of a
knee doing an exercise, with sensor noise, gyroscope bias, soft tissue and a
random mounting. The session is generated once and played in a loop (the loop
seam is a jump in the data, which is harmless for transport tests).

:class:`StillMotion` is a sensor lying still (gravity + white noise + bias): useful
for calibration tests and as the model when no exercise is wanted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..conventions import GRAVITY
from ..errors import ConfigurationError

__all__ = ["KneeMotion", "MotionModel", "StillMotion", "SegmentMotion"]


class MotionModel(Protocol):
    """What a virtual sensor needs: SI samples at arbitrary true times."""

    def sample(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(acc m/s², gyr rad/s, mag µT), each (n, 3), sensor frame, at true times ``t`` (s)."""
        ...


@dataclass(frozen=True, slots=True)
class SegmentMotion:
    """A tabulated recording of one sensor, played in a loop and linearly interpolated."""

    fs: float  # Hz
    acc: np.ndarray  # (N, 3) m/s²
    gyr: np.ndarray  # (N, 3) rad/s
    mag: np.ndarray  # (N, 3) µT

    def sample(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = self.acc.shape[0]
        x = np.asarray(t, dtype=np.float64) * self.fs
        i0 = np.floor(x).astype(np.int64)
        w = (x - i0)[:, None]
        a, b = i0 % n, (i0 + 1) % n
        return (
            self.acc[a] * (1 - w) + self.acc[b] * w,
            self.gyr[a] * (1 - w) + self.gyr[b] * w,
            self.mag[a] * (1 - w) + self.mag[b] * w,
        )


class StillMotion:
    """A sensor at rest, z axis up: gravity, white noise and a constant gyro bias."""

    def __init__(
        self,
        *,
        seed: int = 0,
        acc_noise: float = 0.02,  # m/s² RMS
        gyr_noise: float = 0.002,  # rad/s RMS
        gyr_bias: tuple[float, float, float] = (0.004, -0.002, 0.001),  # rad/s
        mag: tuple[float, float, float] = (0.0, 20.0, -40.0),  # µT
    ) -> None:
        self._rng = np.random.default_rng(seed)
        self._acc_noise = acc_noise
        self._gyr_noise = gyr_noise
        self._bias = np.asarray(gyr_bias, dtype=np.float64)
        self._mag = np.asarray(mag, dtype=np.float64)

    def sample(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(t)
        acc = self._rng.normal(0.0, self._acc_noise, (n, 3))
        acc[:, 2] += GRAVITY
        gyr = self._bias + self._rng.normal(0.0, self._gyr_noise, (n, 3))
        mag = np.broadcast_to(self._mag, (n, 3)).copy()
        return acc, gyr, mag


class KneeMotion:
    """Thigh and shank sensors of a simulated knee exercise.

    Parameters
    ----------
    exercise : str
        An exercise name understood by :func:`motiontrack.simulation.simulate_knee_session`
        (``"seated_knee_extension"``, ``"squat"``, ...).
    reps : int
        Repetitions in the generated session (played in a loop).
    fs : float
        Rate the session is generated at, Hz; sensors may sample at any rate.
    seed : int
        Seed of the simulator (noise, bias, mounting).
    """

    def __init__(
        self, exercise: str = "seated_knee_extension", *, reps: int = 5, fs: float = 200.0, seed: int = 0
    ) -> None:
        try:
            from ..simulation import simulate_knee_session
        except ImportError as exc:  # pragma: no cover - the simulation package ships with motiontrack
            raise ConfigurationError(f"KneeMotion needs motiontrack.simulation: {exc}") from exc
        self.session = simulate_knee_session(exercise, reps=reps, fs=fs, seed=seed)
        self.segments: dict[str, SegmentMotion] = {}
        for name, imu in self.session.sensors.items():
            self.segments[name] = SegmentMotion(
                fs=float(self.session.fs),
                acc=np.ascontiguousarray(imu.acc, dtype=np.float64),
                gyr=np.ascontiguousarray(imu.gyr, dtype=np.float64),
                mag=np.ascontiguousarray(imu.mag, dtype=np.float64),
            )

    def segment(self, name: str) -> SegmentMotion:
        """The motion of sensor ``name`` (``"thigh"`` or ``"shank"``)."""
        try:
            return self.segments[name]
        except KeyError:
            raise ConfigurationError(
                f"no sensor {name!r} in the knee model; choose from {sorted(self.segments)}"
            ) from None
