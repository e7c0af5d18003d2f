"""Simulated time for virtual sensors, optionally faster than real time.

A :class:`SimulationClock` maps the event loop's monotonic clock to *true*
(simulated) time: ``t = speed * (loop.time() - start)``. Every virtual sensor on a
clock samples its motion model at true time and stamps packets with its own
*device* clock, :class:`DeviceClock`, which may drift (ppm) and starts at an
arbitrary offset, like a real sensor's crystal.

With ``speed=20`` a test streams 60 s of sensor time in 3 s of wall time; the
radio, bleak and the transport all run for real, only faster.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError

__all__ = ["DeviceClock", "SimulationClock"]


class SimulationClock:
    """True time of a simulation, ``speed`` simulated seconds per wall second.

    Parameters
    ----------
    speed : float
        Simulated seconds per real second (> 0). 1 = real time.
    """

    def __init__(self, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ConfigurationError(f"SimulationClock: speed must be > 0, got {speed!r}")
        self.speed = float(speed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._start = 0.0

    def _loop_time(self) -> float:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._start = self._loop.time()
        return self._loop.time()

    def now(self) -> float:
        """Simulated seconds since the clock was first read."""
        return (self._loop_time() - self._start) * self.speed

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    async def sleep_until(self, t: float) -> None:
        """Sleep until simulated time ``t`` (s)."""
        await self.sleep(t - self.now())


@dataclass(kw_only=True, slots=True)
class DeviceClock:
    """A sensor's own clock: offset and drift against true time.

    ``device_us(t) = offset_us + t * 1e6 * (1 + drift_ppm * 1e-6)`` (not wrapped;
    the wire format wraps it at 2**32 µs).
    """

    offset_us: int = 0  # device time at true time 0, µs
    drift_ppm: float = 0.0  # device clock rate error, parts per million (+ = runs fast)

    def device_us(self, t: float) -> float:
        return self.offset_us + t * 1e6 * (1.0 + self.drift_ppm * 1e-6)

    def true_time(self, device_us: Any) -> Any:
        return (device_us - self.offset_us) / (1e6 * (1.0 + self.drift_ppm * 1e-6))
