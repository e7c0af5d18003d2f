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
    max_step_s : float or None
        Largest jump of simulated time between two readings, s. When the process is
        descheduled (a loaded CI machine stalls an event loop for 100 ms and more), a
        fast simulation would otherwise jump seconds ahead at once and its virtual
        sensors would overflow their FIFOs; with a cap the simulation slows down
        instead. None = no cap (default at ``speed`` 1: virtual sensors then behave
        like real ones, whose clocks do not wait for the host).
    """

    def __init__(self, speed: float = 1.0, *, max_step_s: float | None = ...) -> None:  # type: ignore[assignment]
        if not speed > 0:
            raise ConfigurationError(f"SimulationClock: speed must be > 0, got {speed!r}")
        if max_step_s is ...:
            max_step_s = None if speed == 1.0 else 0.25
        if max_step_s is not None and not max_step_s > 0:
            raise ConfigurationError("SimulationClock: max_step_s must be > 0 or None")
        self.speed = float(speed)
        self.max_step_s = max_step_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wall = 0.0  # loop time of the last reading
        self._now = 0.0  # simulated time at the last reading
        self.dilated_s = 0.0  # simulated time skipped by the cap (diagnostics)

    def now(self) -> float:
        """Simulated seconds since the clock was first read (monotonic)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._wall = self._loop.time()
            return 0.0
        wall = self._loop.time()
        step = (wall - self._wall) * self.speed
        self._wall = wall
        if self.max_step_s is not None and step > self.max_step_s:
            self.dilated_s += step - self.max_step_s
            step = self.max_step_s
        self._now += step
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Sleep at least ``seconds`` of simulated time."""
        await self.sleep_until(self.now() + seconds)

    async def sleep_until(self, t: float) -> None:
        """Sleep until simulated time ``t`` (s)."""
        while (remaining := t - self.now()) > 0:
            await asyncio.sleep(remaining / self.speed)


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
