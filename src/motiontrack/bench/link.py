"""Link test for firmware engineers: loss, jitter, rate, clock drift, reconnect, RTT, battery.

Streams from real sensors (``ble:ADDRESS``) or virtual ones (``sim:NAME``, with
injectable faults) through the production transport (:mod:`motiontrack.transport`) and
measures, per sensor:

* **packet loss** on a live link (count, rate, longest burst), from the sequence numbers;
  samples lost while the link was down are reported separately;
* **inter-arrival jitter**: arrival time minus the fitted device->host clock line (the
  fit's floor is the latency floor), p50/p99/max, and the spread of inter-arrival
  intervals;
* **effective sample rate** (samples received per reference second) against the nominal
  rate of the CONFIG characteristic;
* **device clock drift** (ppm, + = device fast) and **offset**, from the lower envelope of
  (device time, arrival time) pairs (:class:`motiontrack.protocol.clock.ClockSync`);
* **notification payload sizes** and the ATT **MTU**;
* **reconnect time** after a forced drop (virtual sensors: a supervision timeout injected
  by the firmware; real sensors with ``force_drop``: the host disconnects), from the
  disconnection to the reconnection and to the first sample after it;
* **command round-trip time** (GET_CONFIG written, response notification matched);
* **battery trend** (%/h, from the battery reads and STATUS notifications);

and judges them against :class:`LinkThresholds`. Every DATA notification can be written,
with its host arrival time, to a native ``.mtrec`` capture (PACKET records, plus EVENT
records for gaps and link changes) to attach to a bug report.

The reference clock is the host's ``perf_counter`` for real sensors and the simulation's
true time for virtual ones (which may run faster than wall time): drift measured against
it is the device crystal's error. Jitter, reconnect and round-trip times are always
host (wall-clock) times.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError, TransportError
from ..protocol import commands as cmd
from ..recording import RecordingWriter
from ..transport import (
    BleOptions,
    BufferOverflow,
    EventBuffer,
    Gap,
    LinkEvent,
    StatusUpdate,
    parse_source,
)
from ._probe import ProbeSensor
from .link_analysis import analyse
from .link_report import Check, LinkReport, LinkThresholds, SensorLinkResult, judge

__all__ = [
    "Check",
    "LinkReport",
    "LinkTestSettings",
    "LinkThresholds",
    "SensorLinkResult",
    "SimFaults",
    "run_link_test",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class SimFaults:
    """Virtual sensors (``sim:NAME``) of a link test and the faults injected into them."""

    sample_rate_hz: float = 200.0  # Hz
    speed: float = 10.0  # simulated seconds per wall second
    loss: float = 0.0  # probability a DATA packet is lost over the air
    drift_ppm: float = 0.0  # device crystal error, ppm (+ = fast)
    malformed_per_min: float = 0.0  # malformed notifications per minute of sensor time
    battery_drain_pct_per_h: float = 0.0  # %/h of sensor time
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.sample_rate_hz > 0 or not self.speed > 0:
            raise ConfigurationError("SimFaults: sample_rate_hz and speed must be > 0")
        if not 0.0 <= self.loss <= 1.0:
            raise ConfigurationError("SimFaults: loss must be in [0, 1]")
        if not math.isfinite(self.drift_ppm) or abs(self.drift_ppm) > 10_000:
            raise ConfigurationError("SimFaults: drift_ppm must be within +-10000")
        if self.malformed_per_min < 0 or self.battery_drain_pct_per_h < 0:
            raise ConfigurationError("SimFaults: rates must be >= 0")


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkTestSettings:
    """What the link test does."""

    duration_s: float = 60.0  # s of reference time (sensor time for virtual sensors)
    force_drop: bool | None = None  # force one link drop mid-test; None = virtual sensors only
    drop_at: float = 0.8  # when the forced drop happens, fraction of duration_s
    drop_down_s: float = 0.5  # s; virtual sensors stay silent this long after the drop
    rtt_probes: int = 10  # GET_CONFIG round trips, spread over the test
    capture: str | Path | None = None  # .mtrec file for every raw notification
    thresholds: LinkThresholds = field(default_factory=LinkThresholds)
    sim: SimFaults = field(default_factory=SimFaults)
    options: BleOptions = field(default_factory=BleOptions)

    def __post_init__(self) -> None:
        if not self.duration_s > 0:
            raise ConfigurationError("LinkTestSettings: duration_s must be > 0")
        if self.rtt_probes < 0:
            raise ConfigurationError("LinkTestSettings: rtt_probes must be >= 0")
        if not 0.0 < self.drop_at < 1.0:
            raise ConfigurationError("LinkTestSettings: drop_at must be in (0, 1)")
        if self.drop_down_s < 0:
            raise ConfigurationError("LinkTestSettings: drop_down_s must be >= 0")


class _Capture:
    """Raw notifications and link events into a native recording (PACKET/EVENT records)."""

    def __init__(self, path: str | Path, meta: dict[str, Any]) -> None:
        self.writer = RecordingWriter(path, meta=meta)  # never overwrites a file
        self.t0 = time.perf_counter()

    def packet(self, sensor: str, payload: bytes, host: float) -> None:
        if not self.writer.closed:
            self.writer.write_packet(sensor, payload, host_time_s=host - self.t0)

    def event(self, kind: str, t: float, **fields: Any) -> None:
        if not self.writer.closed:
            self.writer.write_event({"type": kind, "t": t, **fields})


async def _await_compiler() -> None:
    """Wait for a first run's kernel compilation in a background process of this one
    (``motiontrack.session._warm``, started by an earlier live session): it keeps a core busy
    for tens of seconds, which would be in the arrival times the clock drift is fitted from."""
    warm = sys.modules.get("motiontrack.session._warm")  # not imported: nothing compiles
    c = warm.compiler() if warm is not None else None
    if c is not None:
        await asyncio.to_thread(c.wait)


async def run_link_test(
    sources: Sequence[str], settings: LinkTestSettings | None = None
) -> LinkReport:
    """Stream from ``sources`` for ``settings.duration_s`` and measure the links.

    Parameters
    ----------
    sources : sequence of str
        ``"ble:ADDRESS"`` and/or ``"sim:NAME"`` (virtual sensors are created on a
        simulated clock with the faults of ``settings.sim``).
    settings : LinkTestSettings, optional

    Returns
    -------
    LinkReport
    """
    settings = settings or LinkTestSettings()
    specs = [parse_source(s) for s in sources]
    if not specs:
        raise ConfigurationError("the link test needs at least one source")
    names = [s.target if s.kind == "sim" else s.target.replace(":", "")[-6:] for s in specs]
    if len(set(names)) != len(names):
        raise ConfigurationError("two sources name the same sensor")
    await _await_compiler()
    fleet = None
    sim = settings.sim
    if any(s.kind == "sim" for s in specs):
        from ..virtual import (  # lazily: virtual sensors need bumble, an optional dependency
            SimulationClock,
            StillMotion,
            VirtualFleet,
            VirtualSensorSettings,
        )

        fleet = VirtualFleet(SimulationClock(sim.speed))
        for i, (spec, _name) in enumerate(zip(specs, names)):
            if spec.kind != "sim":
                continue
            vs = await fleet.add(
                VirtualSensorSettings(
                    name=spec.target,
                    sample_rate_hz=sim.sample_rate_hz,
                    clock_drift_ppm=sim.drift_ppm,
                    clock_offset_us=1_000_000 + 777_777 * i,
                    seed=sim.seed + i,
                ),
                StillMotion(seed=sim.seed + i),
            )
            vs.set_packet_loss(sim.loss)
    capture = None
    if settings.capture is not None:
        capture = _Capture(settings.capture, {"kind": "link_test", "sources": list(sources)})
    buffer = EventBuffer(settings.options.buffer_packets)
    probes: list[ProbeSensor] = []
    for spec, name in zip(specs, names):
        ref = fleet.clock.now if (spec.kind == "sim" and fleet is not None) else time.perf_counter
        probes.append(
            ProbeSensor(
                str(spec),
                name=name,
                options=settings.options,
                buffer=buffer,
                reference=ref,
                capture=capture.packet if capture is not None else None,
            )
        )
    wall0 = time.perf_counter()
    try:
        return await _run(probes, settings, fleet, capture, buffer, wall0)
    finally:
        for p in probes:
            await p.close()
        if fleet is not None:
            await fleet.close()
        if capture is not None:
            capture.writer.close()


class _Observed:
    """What the link test's consumer of the transport buffer saw, per sensor."""

    def __init__(self, probes: list[ProbeSensor], capture: _Capture | None, wall0: float) -> None:
        self.by_name = {p.name: p for p in probes}
        self.capture = capture
        self.wall0 = wall0
        self.ref0 = {p.name: p.reference() for p in probes}
        self.battery: dict[str, list[tuple[float, int]]] = {
            p.name: ([(0.0, p.battery_percent)] if p.battery_percent is not None else [])
            for p in probes
        }
        self.gaps: dict[str, list[Gap]] = {p.name: [] for p in probes}
        self.links: dict[str, list[LinkEvent]] = {p.name: [] for p in probes}
        self.rtts: dict[str, list[float]] = {p.name: [] for p in probes}
        self.overflow = 0

    def elapsed(self, p: ProbeSensor) -> float:
        """Reference seconds since the test started, for this probe."""
        return p.reference() - self.ref0[p.name]

    def read_battery(self, p: ProbeSensor, percent: int | None) -> None:
        if percent is not None:
            self.battery[p.name].append((self.elapsed(p), percent))

    async def consume(self, buffer: EventBuffer) -> None:
        """Drain the buffer until it is closed, keeping gaps, link events and battery."""
        capture = self.capture
        while True:
            try:
                e = await buffer.get()
            except EOFError:
                return
            if isinstance(e, Gap):
                self.gaps[e.sensor].append(e)
                if capture is not None:
                    capture.event(
                        "data_gap",
                        e.end_s,
                        sensor=e.sensor,
                        cause=e.cause.value,
                        missing_samples=e.missing_samples,
                        missing_packets=e.missing_packets,
                        start_s=e.start_s,
                        end_s=e.end_s,
                    )
            elif isinstance(e, LinkEvent):
                self.links[e.sensor].append(e)
                if capture is not None:
                    at = e.at - self.wall0
                    capture.event(f"link_{e.state.value}", at, sensor=e.sensor, attempts=e.attempts)
            elif isinstance(e, StatusUpdate):
                self.read_battery(self.by_name[e.sensor], e.battery_percent)
            elif isinstance(e, BufferOverflow):
                self.overflow += e.dropped_samples


def _declare_sensors(capture: _Capture, probes: list[ProbeSensor]) -> None:
    """One SENSOR record per probe in the capture (config kept to decode the packets)."""
    for p in probes:
        cfg = p.config
        capture.writer.add_sensor(
            p.name,
            fs=float(cfg.sample_rate_hz) if cfg is not None else 0.0,
            address=p.address or "",
            config=bytes(cfg) if cfg is not None else None,
            source=str(p.spec),
            mtu=p.mtu_size,
            **{f"device_{k}": v for k, v in p.device_info.items()},
        )


async def _stream(
    probes: list[ProbeSensor], settings: LinkTestSettings, fleet: Any, seen: _Observed
) -> float:
    """Start, stream ``duration_s`` with the probes and fault helpers running, stop;
    returns the reference seconds streamed."""
    loop = asyncio.get_running_loop()
    helpers: list[asyncio.Task[Any]] = []
    try:
        await asyncio.gather(*(p.start() for p in probes))
        duration = settings.duration_s
        dropped: dict[str, float] = {}
        for p in probes:
            ref0, rtts = seen.ref0[p.name], seen.rtts[p.name]
            helpers.append(loop.create_task(_probe_loop(p, settings, fleet, ref0, rtts, dropped)))
            if fleet is not None and p.spec.kind == "sim":
                vs = fleet[p.spec.target]
                helpers.append(
                    loop.create_task(_sim_faults(vs, settings.sim, fleet.clock, duration))
                )
        while any(seen.elapsed(p) < duration for p in probes):
            await asyncio.sleep(0.05)
        for h in helpers:
            h.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        for p in probes:  # a last battery reading
            seen.read_battery(p, p.battery_percent)
        await asyncio.gather(*(p.stop() for p in probes), return_exceptions=True)
        return min(seen.elapsed(p) for p in probes)
    finally:
        for h in helpers:
            h.cancel()


async def _run(
    probes: list[ProbeSensor],
    settings: LinkTestSettings,
    fleet: Any,
    capture: _Capture | None,
    buffer: EventBuffer,
    wall0: float,
) -> LinkReport:
    results = await asyncio.gather(*(p.connect() for p in probes), return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    if capture is not None:
        _declare_sensors(capture, probes)
    seen = _Observed(probes, capture, wall0)
    consumer = asyncio.get_running_loop().create_task(seen.consume(buffer))
    try:
        streamed = await _stream(probes, settings, fleet, seen)
    finally:
        buffer.close()
        await consumer
    wall = time.perf_counter() - wall0
    sensor_results = [
        analyse(
            p,
            seen.ref0[p.name],
            seen.gaps[p.name],
            seen.links[p.name],
            seen.rtts[p.name],
            seen.battery[p.name],
            seen.overflow,
            fleet,
        )
        for p in probes
    ]
    return LinkReport(
        duration_s=streamed,
        wall_s=wall,
        sensors=sensor_results,
        checks=judge(sensor_results, settings.thresholds),
        capture=str(settings.capture) if settings.capture is not None else None,
        settings={
            "duration_s": settings.duration_s,
            "force_drop": settings.force_drop,
            "rtt_probes": settings.rtt_probes,
            "thresholds": asdict(settings.thresholds),
            "sim": asdict(settings.sim),
        },
    )


async def _probe_loop(
    p: ProbeSensor,
    settings: LinkTestSettings,
    fleet: Any,
    ref0: float,
    rtts: list[float],
    dropped: dict[str, float],
) -> None:
    """Command round trips spread over the test, and the forced drop at half time."""
    duration = settings.duration_s
    force = settings.force_drop if settings.force_drop is not None else p.spec.kind == "sim"
    times = [duration * (k + 0.5) / max(1, settings.rtt_probes) for k in range(settings.rtt_probes)]
    plan: list[tuple[float, str]] = [(t, "rtt") for t in times]
    if force:
        plan.append((duration * settings.drop_at, "drop"))
    plan.sort()
    for at, what in plan:
        while p.reference() - ref0 < at:
            await asyncio.sleep(0.02)
        if what == "drop":
            dropped[p.name] = time.perf_counter()
            if p.spec.kind == "sim":
                fleet[p.spec.target].drop_link(down_s=settings.drop_down_s)
            else:
                # the host drops the link; the transport sees an unsolicited disconnection
                await p.force_disconnect()
            continue
        if not p.is_connected:
            continue
        t0 = time.perf_counter()
        try:
            await p.command(cmd.get_config())
        except TransportError as exc:
            logger.info("%s: round-trip probe failed: %s", p.name, exc)
            continue
        rtts.append((time.perf_counter() - t0) * 1e3)


async def _sim_faults(sensor: Any, sim: SimFaults, clock: Any, duration: float) -> None:
    """Malformed notifications and battery drain, paced in sensor time."""
    t0 = clock.now()
    battery0 = sensor.battery_percent
    next_malformed = 60.0 / sim.malformed_per_min if sim.malformed_per_min > 0 else math.inf
    while True:
        await clock.sleep(0.5)
        t = clock.now() - t0
        if sim.battery_drain_pct_per_h > 0:
            level = max(0, round(battery0 - sim.battery_drain_pct_per_h * t / 3600.0))
            if level != sensor.battery_percent:
                sensor.set_battery(level)
        while t >= next_malformed:
            sensor.send_malformed(1)
            next_malformed += 60.0 / sim.malformed_per_min
