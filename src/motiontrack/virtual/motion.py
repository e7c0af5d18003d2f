"""Motion models that feed virtual sensors with IMU samples.

:class:`KneeMotion` wraps the simulation team's knee simulator
(:func:`motiontrack.simulation.simulate_knee_session`): thigh and shank sensors of a
knee doing an exercise, with sensor noise, gyroscope bias, soft tissue and a
random mounting. By default the simulated patient follows the session protocol
(docs/session-protocol.md): stands still with the legs straight, takes the exercise
position, keeps still, exercises. The session is generated once, played once from the
start, then the exercise part (from the rest before the first rep) in a loop: the
loop seam joins two rests in the same posture (a small jump in the data, harmless
for transport tests), never the exercise posture back to standing.

:class:`StillMotion` is a sensor lying still (gravity + white noise + bias): useful
for calibration tests and as the model when no exercise is wanted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..conventions import GRAVITY
from ..errors import ConfigurationError
from ..simulation import simulate_knee_session

__all__ = ["KneeMotion", "MotionModel", "SegmentMotion", "StillMotion"]


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
    loop_start: int = 0  # sample the loop returns to after the last one (0: the whole table)
    #: true time (s) the table starts at, in a list shared by the segments of one body: set by
    #: :meth:`start` when the first of its sensors starts streaming (NaN before: time 0)
    origin: list[float] = field(default_factory=lambda: [math.nan])

    def start(self, t: float) -> float:
        """A sensor starts streaming at true time ``t``: the motion begins now, unless a
        sensor of the same body started it before (the patient follows the session from its
        start, whenever the app connects). Returns the true time the motion began."""
        if math.isnan(self.origin[0]):
            self.origin[0] = float(t)
        return self.origin[0]

    def local_time(self, t: np.ndarray) -> np.ndarray:
        """Time into the table (s) of true times ``t`` (the first row before the start)."""
        o = self.origin[0]
        return np.maximum(np.asarray(t, dtype=np.float64) - (0.0 if math.isnan(o) else o), 0.0)

    def wrap(self, i: np.ndarray) -> np.ndarray:
        """Sample indices (any integers >= 0) into the table: played once, then looped
        over ``[loop_start, N)``."""
        n, k = self.acc.shape[0], min(max(int(self.loop_start), 0), self.acc.shape[0] - 1)
        i = np.asarray(i, dtype=np.int64)
        return np.where(i < n, np.mod(i, n), k + np.mod(i - k, n - k))

    def sample(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = self.local_time(t) * self.fs
        i0 = np.floor(x).astype(np.int64)
        w = (x - i0)[:, None]
        a, b = self.wrap(i0), self.wrap(i0 + 1)
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
    start_pose : {"standing", None}
        ``"standing"`` (default): the session protocol, a standing still pose with the legs
        straight (0° of flexion), then the transition into the exercise posture, a rest,
        the reps (``simulate_knee_session(start_pose="standing")``). ``None``: the session
        starts still in the exercise's own posture (no posture change).

    Attributes
    ----------
    session : SimulatedSession
        The generated session (ground truth in ``session.truth``).
    loop_start_s : float
        Simulation time the loop returns to after the end of the session, s: the rest in
        the exercise posture before the first rep (0 without a standing start).
    """

    def __init__(
        self,
        exercise: str = "seated_knee_extension",
        *,
        reps: int = 5,
        fs: float = 200.0,
        seed: int = 0,
        start_pose: str | None = "standing",
    ) -> None:
        self.session = simulate_knee_session(
            exercise, reps=reps, fs=fs, seed=seed, start_pose=start_pose
        )
        sim = self.session
        # loop over the exercise part only: from the rest before the first rep (the
        # simulator keeps 1-2 s still in the exercise posture after the transition)
        loop_start = 0
        if start_pose is not None and sim.truth.reps:
            t_loop = max(float(sim.truth.reps[0].start_s) - 0.5, 0.0)
            loop_start = int(np.searchsorted(sim.t, t_loop))
        self.loop_start_s = float(sim.t[loop_start] - sim.t[0])
        self.segments: dict[str, SegmentMotion] = {}
        self._origin = [math.nan]  # shared by the segments: one body, one start
        for name, imu in self.session.sensors.items():
            self.segments[name] = SegmentMotion(
                fs=float(self.session.fs),
                acc=np.ascontiguousarray(imu.acc, dtype=np.float64),
                gyr=np.ascontiguousarray(imu.gyr, dtype=np.float64),
                mag=np.ascontiguousarray(imu.mag, dtype=np.float64),
                loop_start=loop_start,
                origin=self._origin,
            )

    @property
    def period_s(self) -> float:
        """Length of the generated session, s (the first pass; later passes are
        ``period_s - loop_start_s`` long)."""
        return float(self.session.t[-1] - self.session.t[0] + 1.0 / self.session.fs)

    def sim_time(self, t: np.ndarray) -> np.ndarray:
        """Simulation times (into ``session.t``) of the true times ``t`` (s) the sensors
        are sampled at (the loop applied)."""
        T, t0 = self.period_s, self.loop_start_s
        o = self._origin[0]
        t = np.maximum(np.asarray(t, dtype=np.float64) - (0.0 if math.isnan(o) else o), 0.0)
        return np.where(t < T, np.mod(t, T), t0 + np.mod(t - t0, T - t0))

    def segment(self, name: str) -> SegmentMotion:
        """The motion of sensor ``name`` (``"thigh"`` or ``"shank"``)."""
        try:
            return self.segments[name]
        except KeyError:
            raise ConfigurationError(
                f"no sensor {name!r} in the knee model; choose from {sorted(self.segments)}"
            ) from None
