"""End-to-end latency: a sample on the (virtual) device -> the event in the application.

Two virtual sensors (thigh + shank of a simulated knee) stream in real time through the
emulated radio, bleak and the transport into a live :class:`~motiontrack.session.Session`
(fusion, calibration, joint angles, rep counting); the application consumes
``session.events()``. For every :class:`~motiontrack.events.RepCompleted` and
:class:`~motiontrack.events.AngleUpdate` the bench finds the *decisive* notification (the
one whose samples, once processed, produced the event) and splits its path:

* ``radio``: the firmware hands the notification to its (emulated) radio -> the transport
  has decoded it (Bumble controllers and host, the bleak backend, bleak; plus the
  transport's decode). This is the emulator's own time, reported separately.
* ``library``: decoded -> event delivered to the application (transport buffer, session
  pump, pipeline in its worker thread, event queue, the consumer's wake-up).
* ``total`` = radio + library.

The device samples the newest sample of a packet just before sending it (the virtual
firmware sends a packet as soon as its last sample is due), so ``library`` is the time
from that sample's arrival on the host to the event; the rep counter's own decision delay
after the movement ends (``emitted_s - rep end``) is an algorithm property measured by
``benchmarks/reps_latency.py``, not a delivery latency. Reps reported at calibration time
for movements made before it (catch-up) are excluded.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .. import events as ev
from ..errors import ConfigurationError
from ..session import Session
from ..transport import SampleBatch

__all__ = ["LatencyReport", "LatencySettings", "run_latency"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LatencySettings:
    """What the latency bench streams."""

    duration_s: float = 180.0  # s of real time streamed (calibration takes the first ~20-40 s)
    sample_rate_hz: float = 200.0  # Hz per sensor
    exercise: str = "squat"
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.duration_s > 0 or not self.sample_rate_hz > 0:
            raise ConfigurationError("LatencySettings: duration_s and sample_rate_hz must be > 0")


def _stats(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {"n": 0, "p50_ms": math.nan, "p99_ms": math.nan, "max_ms": math.nan}
    a = np.asarray(ms)
    return {
        "n": int(a.size),
        "p50_ms": float(np.percentile(a, 50)),
        "p99_ms": float(np.percentile(a, 99)),
        "max_ms": float(a.max()),
    }


@dataclass(kw_only=True, slots=True)
class LatencyReport:
    settings: dict[str, Any]
    reps: dict[str, dict[str, float]]  # "radio", "library", "total" -> n, p50_ms, p99_ms, max_ms
    angles: dict[str, dict[str, float]]  # after the calibration
    angles_calibrating: dict[
        str, dict[str, float]
    ]  # before: calibration attempts run in the pipeline
    reps_excluded: int  # catch-up reps reported at calibration
    wall_s: float
    cpu_s: float

    @property
    def passed(self) -> bool:
        """Issue 8 target: library p99 < 20 ms for rep events."""
        p99 = self.reps["library"]["p99_ms"]
        return bool(math.isfinite(p99) and p99 < 20.0)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}

    def format(self) -> str:
        lines = [
            (
                f"end-to-end latency: 2 x {self.settings['sample_rate_hz']:g} Hz, "
                f"{self.wall_s:.0f} s real time, "
                f"CPU {100 * self.cpu_s / max(self.wall_s, 1e-9):.0f} % of one core"
            ),
            f"{'event':<8s} {'part':<8s} {'n':>6s} {'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}",
        ]
        for kind, d in (
            ("rep", self.reps),
            ("angle", self.angles),
            ("angle*", self.angles_calibrating),
        ):
            for part in ("library", "radio", "total"):
                s = d[part]
                lines.append(
                    f"{kind:<8s} {part:<8s} {s['n']:>6d} {s['p50_ms']:>8.2f} "
                    f"{s['p99_ms']:>8.2f} {s['max_ms']:>8.2f}"
                )
        lines.append(
            "angle* = angle updates before the calibration is done "
            "(attempts run in the pipeline); "
            f"catch-up reps excluded: {self.reps_excluded}"
        )
        lines.append(f"target: rep library p99 < 20 ms -> {'PASS' if self.passed else 'FAIL'}")
        return "\n".join(lines)


async def run_latency(settings: LatencySettings | None = None) -> LatencyReport:
    """Stream ``settings.duration_s`` in real time and measure event latencies."""
    from ..virtual.fleet import start_sensors  # lazily: virtual sensors need bumble

    st = settings or LatencySettings()
    fleet = await start_sensors(
        ["thigh", "shank"],
        speed=1.0,
        sample_rate_hz=st.sample_rate_hz,
        exercise=st.exercise,
        seed=st.seed,
    )
    for name in ("thigh", "shank"):
        fleet[name].sent_at = {}
    session = Session({"thigh": "sim:thigh", "shank": "sim:shank"}, exercise=st.exercise)
    current: dict[str, Any] = {"batch": None}
    inner = session.source.events

    async def events() -> Any:
        async for tev in inner():
            if isinstance(tev, SampleBatch):
                current["batch"] = tev
            yield tev

    session.source.events = events  # instrumentation: which notification is being processed
    decisive: dict[int, tuple[Any, bool]] = {}
    cal_batch: dict[str, Any] = {"batch": None}

    def tag(event: Any) -> None:  # runs inline in the pump, right after the feed that made it
        b = current["batch"]
        if isinstance(event, ev.CalibrationDone):
            cal_batch["batch"] = b
        elif isinstance(event, (ev.RepCompleted, ev.AngleUpdate)):
            catch_up = (
                isinstance(event, ev.RepCompleted) and b is not None and b is cal_batch["batch"]
            )
            decisive[id(event)] = (b, catch_up)

    session.on(tag)
    parts: dict[str, dict[str, list[float]]] = {
        k: {"radio": [], "library": [], "total": []} for k in ("rep", "angle", "angle_calibrating")
    }
    excluded = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        async with session:

            async def consume() -> None:
                nonlocal excluded
                async for e in session.events():
                    now = time.perf_counter()
                    info = decisive.pop(id(e), None)
                    if info is None:
                        continue
                    b, catch_up = info
                    if catch_up:
                        excluded += 1
                        continue
                    if b is None:
                        continue
                    if isinstance(e, ev.RepCompleted):
                        kind = "rep"
                    else:  # angle updates while calibration attempts run in the pipeline
                        kind = "angle" if cal_batch["batch"] is not None else "angle_calibrating"
                    sent = fleet[_virtual_name(b.sensor)].sent_at.get(b.sequence & 0xFFFF)
                    lib = (now - b.received_at) * 1e3
                    parts[kind]["library"].append(lib)
                    if sent is not None:
                        radio = (b.received_at - sent) * 1e3
                        parts[kind]["radio"].append(radio)
                        parts[kind]["total"].append(radio + lib)

            task = asyncio.get_running_loop().create_task(consume())
            await asyncio.sleep(st.duration_s)
        await task
    finally:
        await fleet.close()
    return LatencyReport(
        settings=asdict(st),
        reps={k: _stats(v) for k, v in parts["rep"].items()},
        angles={k: _stats(v) for k, v in parts["angle"].items()},
        angles_calibrating={k: _stats(v) for k, v in parts["angle_calibrating"].items()},
        reps_excluded=excluded,
        wall_s=time.perf_counter() - wall0,
        cpu_s=time.process_time() - cpu0,
    )


def _virtual_name(session_sensor: str) -> str:
    return session_sensor  # the session's sensors are named after the virtual ones here
