"""Endurance soak: virtual sensors with injected faults through the full live Session.

:func:`run_soak` starts ``n_sensors`` virtual sensors (pairs of thigh + shank, one
:class:`~motiontrack.session.Session` per knee) on one simulated clock, streams
``stream_s`` seconds of sensor time as fast as ``speed`` allows, and injects, on a
seeded random schedule:

* a **link drop** every ``drop_every_s`` (uniform range) on a random sensor, silent for a
  random ``drop_down_s``;
* **bursts of malformed notifications** on a random sensor;
* **clock drift** (a different crystal error per sensor, changed once mid-run as a
  temperature step would);
* a **saturation episode** (motion scaled until the counts clip at full scale);
* a **slow event consumer** (the application sleeps on every event for a while).

It records memory over time (process RSS with psutil, and the Python heap with
:mod:`tracemalloc`), CPU time, events lost (session queue, transport buffer, callbacks),
samples lost outside link-down intervals (transport gaps not caused by a link loss, buffer
overflow, samples not fed to the pipeline, and the firmware's own count of samples that
never arrived while the link was up), reps (counted, overlapping = double-counted,
expected from the simulated exercise), errors logged (crashes), and which injected faults
the report saw. Faults the run is too short to reach or to resolve are listed apart, with
the reason, and not judged (:mod:`.soak_faults`); the machinery is in :mod:`._soak_run`.
"""

from __future__ import annotations

import logging
import math
import time
import tracemalloc
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..errors import ConfigurationError
from ._soak_run import ErrorLog, SoakRun
from .soak_report import SoakReport

__all__ = ["SoakReport", "SoakSettings", "run_soak"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SoakSettings:
    """What the soak run streams and injects."""

    n_sensors: int = 4  # even: thigh + shank per knee, one Session per knee
    sample_rate_hz: float = 200.0  # Hz
    stream_s: float = 1800.0  # s of sensor time
    speed: float = 8.0  # simulated seconds per wall second, at most
    min_speed: float = 0.25  # the simulation slows down to this while the pipelines lag
    max_backlog_packets: int = 100  # transport backlog (packets) above which it slows down
    exercise: str = "squat"
    drop_every_s: tuple[float, float] = (60.0, 180.0)  # s; interval between link drops (uniform)
    drop_down_s: tuple[float, float] = (0.2, 2.0)  # s; how long a dropped sensor stays silent
    malformed_every_s: tuple[float, float] = (60.0, 180.0)  # s between malformed bursts
    malformed_burst: tuple[int, int] = (5, 40)  # notifications per burst
    drift_ppm: tuple[float, ...] = (40.0, -25.0, 60.0, -10.0)  # per sensor (cycled)
    drift_step_ppm: float = 30.0  # added to sensor 0's drift at half time
    saturation_at: float = 0.4  # fraction of stream_s
    saturation_s: float = 2.0  # s
    slow_consumer: tuple[float, float] = (0.6, 0.7)  # fraction of stream_s with a slow app
    slow_consumer_sleep_s: float = 0.1  # wall s the app sleeps on every event meanwhile
    queue_size: int = 512  # session event queue (events) before the oldest angle updates go
    memory_every_s: float = 10.0  # s of sensor time between memory samples
    warmup: float = 0.2  # fraction of stream_s before memory growth is judged
    trace_memory: bool = True  # tracemalloc (slower; RSS is always recorded)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_sensors < 2 or self.n_sensors % 2:
            raise ConfigurationError("SoakSettings: n_sensors must be an even number >= 2")
        if not (self.sample_rate_hz > 0 and self.stream_s > 0 and self.speed > 0):
            raise ConfigurationError("SoakSettings: sample_rate_hz, stream_s and speed must be > 0")
        for name in (
            "drop_every_s",
            "drop_down_s",
            "malformed_every_s",
            "malformed_burst",
            "slow_consumer",
        ):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ConfigurationError(
                    f"SoakSettings: {name} must be (low, high) with 0 <= low <= high"
                )
        if self.drop_every_s[0] <= 0 or self.malformed_every_s[0] <= 0:
            raise ConfigurationError("SoakSettings: fault intervals must be > 0")
        if not 0 <= self.warmup < 1 or not 0 <= self.saturation_at < 1:
            raise ConfigurationError(
                "SoakSettings: warmup and saturation_at are fractions in [0, 1)"
            )
        if not 0 < self.min_speed <= self.speed or self.max_backlog_packets < 8:
            raise ConfigurationError(
                "SoakSettings: need 0 < min_speed <= speed, max_backlog_packets >= 8"
            )
        if not self.drift_ppm or not self.memory_every_s > 0:
            raise ConfigurationError(
                "SoakSettings: drift_ppm must not be empty; memory_every_s > 0"
            )


async def _add_knees(run: SoakRun, fleet: Any, st: SoakSettings) -> None:
    """Virtual thigh + shank sensors per knee, each pair moving as one simulated knee."""
    from ..virtual import VirtualSensorSettings  # lazily: virtual sensors need bumble

    for k, motion in enumerate(run.motions):
        for seg in ("thigh", "shank"):
            i = len(run.names)
            name = f"k{k}{seg}"
            await fleet.add(
                VirtualSensorSettings(
                    name=name,
                    sample_rate_hz=st.sample_rate_hz,
                    clock_offset_us=1_000_000 + 777_777 * i,
                    clock_drift_ppm=st.drift_ppm[i % len(st.drift_ppm)],
                    seed=st.seed + i,
                ),
                motion.segment(seg),
            )
            run.add_sensor(k, seg, name)


async def run_soak(settings: SoakSettings | None = None) -> SoakReport:
    """Run the soak (see the module docstring) and return its report."""
    from ..virtual import KneeMotion, SimulationClock, VirtualFleet  # lazily: needs bumble

    st = settings or SoakSettings()
    errors = ErrorLog()
    root = logging.getLogger("motiontrack")
    root.addHandler(errors)
    if st.trace_memory:
        tracemalloc.start()
    fleet = VirtualFleet(SimulationClock(st.speed))
    motions = [KneeMotion(st.exercise, seed=st.seed + k) for k in range(st.n_sensors // 2)]
    run = SoakRun(st, fleet, motions)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        await _add_knees(run, fleet, st)
        streamed, top = await run.run()
    finally:
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        fw = {n: fleet[n].counters for n in run.names}
        fw_drift = {n: fleet[n].device_clock.drift_ppm for n in run.names}
        await fleet.close()
        root.removeHandler(errors)
        if st.trace_memory:
            tracemalloc.stop()
    sensors = run.sensor_figures(fw, fw_drift)
    sessions = run.session_figures(streamed)
    run.judge_faults(sensors, sessions, fw_drift, streamed)
    run.account_unfed(sensors, sessions)
    return SoakReport(
        settings={
            **asdict(st),
            "speed_mean": float(np.mean(run.speeds)) if run.speeds else math.nan,
        },
        stream_s=streamed,
        wall_s=wall,
        cpu_s=cpu,
        memory=run.memory,
        faults=run.faults,
        sensors=sensors,
        sessions=sessions,
        errors=errors.records,
        heap_growth_top=top,
    )
