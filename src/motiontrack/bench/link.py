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
import itertools
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigurationError, TransportError
from ..protocol import commands as cmd
from ..protocol.clock import ClockSync, ClockSyncSettings
from ..transport import (
    BleOptions,
    BufferOverflow,
    EventBuffer,
    Gap,
    GapCause,
    LinkEvent,
    LinkState,
    StatusUpdate,
    parse_source,
)
from ._probe import ProbeSensor

__all__ = [
    "LinkReport",
    "LinkTestSettings",
    "LinkThresholds",
    "SensorLinkResult",
    "SimFaults",
    "run_link_test",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkThresholds:
    """Pass/fail limits of the link test; None disables a check."""

    max_loss: float | None = 0.01  # fraction of packets lost on a live link
    max_burst: int | None = 10  # packets; longest run of consecutive lost packets
    max_jitter_ms: float | None = 20.0  # ms; p99 arrival jitter above the latency floor
    max_drift_ppm: float | None = 100.0  # ppm; |device clock drift|
    min_rate_ratio: float | None = 0.98  # effective / nominal sample rate
    max_reconnect_s: float | None = 5.0  # s; disconnection -> first sample after reconnection
    max_rtt_ms: float | None = 250.0  # ms; p99 command round trip
    max_malformed: int | None = 0  # notifications that failed to decode

    def __post_init__(self) -> None:
        for name in ("max_loss", "max_jitter_ms", "max_drift_ppm", "min_rate_ratio",
                     "max_reconnect_s", "max_rtt_ms"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ConfigurationError(f"LinkThresholds: {name} must be >= 0 or None, got {v!r}")
        for name in ("max_burst", "max_malformed"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or v < 0):
                raise ConfigurationError(f"LinkThresholds: {name} must be an int >= 0 or None")


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


@dataclass(kw_only=True, slots=True)
class SensorLinkResult:
    """Measured link figures of one sensor (see the module docstring)."""

    sensor: str
    source: str
    mtu: int
    payload_bytes: dict[int, int]  # notification length -> count
    samples_per_packet: float
    nominal_rate_hz: float
    packets_received: int
    samples_received: int
    packets_lost: int  # on a live link (sequence numbers)
    samples_lost: int
    loss_rate: float  # packets_lost / (received + lost)
    longest_burst: int  # packets
    link_lost_samples: int  # samples that fell into link-down intervals
    device_gap_samples: int  # samples the device skipped (timestamps jump, sequence contiguous)
    buffer_dropped: int  # samples discarded because the consumer fell behind (whole test)
    malformed: int
    duplicates: int
    effective_rate_hz: float  # received samples per reference second of live link
    rate_ratio: float  # effective / nominal
    drift_ppm: float  # device clock against the reference clock, + = device fast
    offset_ms: float  # fitted reference time of device time 0 minus the test start
    jitter_ms_p50: float  # arrival above the latency floor, host ms
    jitter_ms_p99: float
    jitter_ms_max: float
    interarrival_ms_mean: float
    interarrival_ms_std: float
    interarrival_ms_max: float
    drops: int
    reconnect_s: list[float]  # disconnection -> RECONNECTED, host s
    reconnect_to_data_s: list[float]  # disconnection -> first sample after it, host s
    rtt_ms: list[float]
    battery: list[tuple[float, int]]  # (reference s since start, %)
    battery_trend_pct_per_h: float | None
    truth: dict[str, Any] | None = None  # virtual sensors: what the firmware really did

    @property
    def rtt_ms_p50(self) -> float:
        return float(np.percentile(self.rtt_ms, 50)) if self.rtt_ms else math.nan

    @property
    def rtt_ms_p99(self) -> float:
        return float(np.percentile(self.rtt_ms, 99)) if self.rtt_ms else math.nan

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["payload_bytes"] = {str(k): v for k, v in self.payload_bytes.items()}
        d["rtt_ms_p50"] = self.rtt_ms_p50
        d["rtt_ms_p99"] = self.rtt_ms_p99
        return d


@dataclass(frozen=True, kw_only=True, slots=True)
class Check:
    sensor: str
    name: str
    value: float
    limit: float
    passed: bool


@dataclass(kw_only=True, slots=True)
class LinkReport:
    """Result of :func:`run_link_test`: per-sensor figures and the pass/fail checks."""

    duration_s: float  # reference seconds streamed
    wall_s: float
    sensors: list[SensorLinkResult]
    checks: list[Check]
    capture: str | None
    settings: dict[str, Any]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "duration_s": self.duration_s,
            "wall_s": self.wall_s,
            "capture": self.capture,
            "settings": self.settings,
            "sensors": [s.to_dict() for s in self.sensors],
            "checks": [asdict(c) for c in self.checks],
        }

    def format(self) -> str:
        """A human-readable report: one column per sensor, then the checks."""
        rows: list[tuple[str, ...]] = []

        def add(label: str, fn: Any) -> None:
            rows.append((label, *(fn(s) for s in self.sensors)))

        f = _fmt
        add("MTU / payload bytes", lambda s: f"{s.mtu} / " + ",".join(f"{k}x{v}" for k, v in sorted(s.payload_bytes.items())))
        add("samples per packet", lambda s: f(s.samples_per_packet, 2))
        add("packets received", lambda s: str(s.packets_received))
        add("packets lost (live link)", lambda s: f"{s.packets_lost} ({100 * s.loss_rate:.3f} %)")
        add("longest loss burst", lambda s: f"{s.longest_burst} packets")
        add("samples lost in link drops", lambda s: str(s.link_lost_samples))
        add("device-skipped samples", lambda s: str(s.device_gap_samples))
        add("malformed notifications", lambda s: str(s.malformed))
        add("rate nominal / effective", lambda s: f"{f(s.nominal_rate_hz, 2)} / {f(s.effective_rate_hz, 3)} Hz")
        add("clock drift", lambda s: f"{s.drift_ppm:+.2f} ppm")
        add("clock offset", lambda s: f"{f(s.offset_ms, 2)} ms")
        add("jitter p50/p99/max", lambda s: f"{f(s.jitter_ms_p50, 2)}/{f(s.jitter_ms_p99, 2)}/{f(s.jitter_ms_max, 2)} ms")
        add("inter-arrival mean/std/max", lambda s: f"{f(s.interarrival_ms_mean, 2)}/{f(s.interarrival_ms_std, 2)}/{f(s.interarrival_ms_max, 2)} ms")
        add("drops / reconnect", lambda s: f"{s.drops} / " + ",".join(f"{x:.3f}" for x in s.reconnect_s) + " s")
        add("drop -> first data", lambda s: ",".join(f"{x:.3f}" for x in s.reconnect_to_data_s) + " s")
        add("command RTT p50/p99", lambda s: f"{f(s.rtt_ms_p50, 2)}/{f(s.rtt_ms_p99, 2)} ms ({len(s.rtt_ms)})")
        add("battery first/last, trend", lambda s: (
            f"{s.battery[0][1]}/{s.battery[-1][1]} %, " + (f"{s.battery_trend_pct_per_h:+.2f} %/h" if s.battery_trend_pct_per_h is not None else "n/a")
        ) if s.battery else "n/a")
        if any(s.truth for s in self.sensors):
            add("injected loss / drift", lambda s: (
                f"{s.truth['injected_loss']:g} / {s.truth['injected_drift_ppm']:+g} ppm" if s.truth else ""))
            add("firmware: lost in air", lambda s: str(s.truth["packets_lost_air"]) if s.truth else "")
        header = ("", *(s.sensor for s in self.sensors))
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        lines = [f"link test: {self.duration_s:.1f} s streamed in {self.wall_s:.1f} s wall"]
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        lines.extend("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)
        lines.append("")
        for c in self.checks:
            lines.append(f"  {'PASS' if c.passed else 'FAIL'}  {c.sensor}: {c.name} = {c.value:.4g} (limit {c.limit:g})")
        lines.append(f"RESULT: {'PASS' if self.passed else 'FAIL'}")
        if self.capture:
            lines.append(f"capture: {self.capture}")
        return "\n".join(lines)


def _fmt(v: float, digits: int = 3) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


class _Capture:
    """Raw notifications and link events into a native recording (PACKET/EVENT records)."""

    def __init__(self, path: str | Path, meta: dict[str, Any]) -> None:
        from ..recording import RecordingWriter

        self.writer = RecordingWriter(path, meta=meta)  # never overwrites a file
        self.t0 = time.perf_counter()

    def packet(self, sensor: str, payload: bytes, host: float) -> None:
        if not self.writer.closed:
            self.writer.write_packet(sensor, payload, host_time_s=host - self.t0)

    def event(self, kind: str, t: float, **fields: Any) -> None:
        if not self.writer.closed:
            self.writer.write_event({"type": kind, "t": t, **fields})


async def run_link_test(sources: Sequence[str], settings: LinkTestSettings | None = None) -> LinkReport:
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
    fleet = None
    sim = settings.sim
    if any(s.kind == "sim" for s in specs):
        from ..virtual import SimulationClock, StillMotion, VirtualFleet, VirtualSensorSettings

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
    ref0 = {p.name: p.reference() for p in probes}
    battery: dict[str, list[tuple[float, int]]] = {
        p.name: ([(0.0, p.battery_percent)] if p.battery_percent is not None else []) for p in probes
    }
    gaps: dict[str, list[Gap]] = {p.name: [] for p in probes}
    links: dict[str, list[LinkEvent]] = {p.name: [] for p in probes}
    overflow = [0]
    by_name = {p.name: p for p in probes}

    async def consume() -> None:
        while True:
            try:
                e = await buffer.get()
            except EOFError:
                return
            if isinstance(e, Gap):
                gaps[e.sensor].append(e)
                if capture is not None:
                    capture.event("data_gap", e.end_s, sensor=e.sensor, cause=e.cause.value,
                                  missing_samples=e.missing_samples, missing_packets=e.missing_packets,
                                  start_s=e.start_s, end_s=e.end_s)
            elif isinstance(e, LinkEvent):
                links[e.sensor].append(e)
                if capture is not None:
                    capture.event(f"link_{e.state.value}", e.at - wall0, sensor=e.sensor, attempts=e.attempts)
            elif isinstance(e, StatusUpdate):
                if e.battery_percent is not None:
                    p = by_name[e.sensor]
                    battery[e.sensor].append((p.reference() - ref0[e.sensor], e.battery_percent))
            elif isinstance(e, BufferOverflow):
                overflow[0] += e.dropped_samples

    consumer = asyncio.get_running_loop().create_task(consume())
    helpers: list[asyncio.Task[Any]] = []
    try:
        await asyncio.gather(*(p.start() for p in probes))
        duration = settings.duration_s
        rtts: dict[str, list[float]] = {p.name: [] for p in probes}
        dropped: dict[str, float] = {}
        for p in probes:
            helpers.append(asyncio.get_running_loop().create_task(
                _probe_loop(p, settings, fleet, ref0[p.name], rtts[p.name], dropped)))
            if fleet is not None and p.spec.kind == "sim":
                helpers.append(asyncio.get_running_loop().create_task(
                    _sim_faults(fleet[p.spec.target], settings.sim, fleet.clock, duration)))
        while any(p.reference() - ref0[p.name] < duration for p in probes):
            await asyncio.sleep(0.05)
        for h in helpers:
            h.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        for p in probes:  # a last battery reading
            if p.battery_percent is not None:
                battery[p.name].append((p.reference() - ref0[p.name], p.battery_percent))
        await asyncio.gather(*(p.stop() for p in probes), return_exceptions=True)
        streamed = min(p.reference() - ref0[p.name] for p in probes)
    finally:
        for h in helpers:
            h.cancel()
        buffer.close()
        await consumer
    wall = time.perf_counter() - wall0
    sensor_results = [
        _analyse(p, ref0[p.name], gaps[p.name], links[p.name], rtts[p.name], battery[p.name],
                 overflow[0], fleet) for p in probes
    ]
    checks = _checks(sensor_results, settings.thresholds)
    return LinkReport(
        duration_s=streamed,
        wall_s=wall,
        sensors=sensor_results,
        checks=checks,
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
            elif p._client is not None:
                # the host drops the link; the transport sees an unsolicited disconnection
                await p._client.disconnect()
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


def _analyse(
    p: ProbeSensor,
    ref0: float,
    gaps: list[Gap],
    links: list[LinkEvent],
    rtts: list[float],
    battery: list[tuple[float, int]],
    overflow: int,
    fleet: Any,
) -> SensorLinkResult:
    a = p.arrivals()
    n_packets = int(a["n"].size)
    nominal = float(p.config.sample_rate_hz) if p.config is not None else math.nan
    live = [g for g in gaps if g.cause == GapCause.PACKET_LOSS]
    link = [g for g in gaps if g.cause == GapCause.LINK_LOST]
    device = [g for g in gaps if g.cause == GapCause.DEVICE]
    lost_packets = sum(max(0, g.missing_packets) for g in live)
    lost_samples = sum(max(0, g.missing_samples) for g in live)
    samples = int(a["n"].sum())
    drift = offset = math.nan
    jit = (math.nan, math.nan, math.nan)
    inter = (math.nan, math.nan, math.nan)
    eff = math.nan
    if n_packets >= 3:
        span_dev = float(a["t_last"][-1] - a["t_last"][0])
        bin_s = max(2.0, span_dev / 600.0)  # 2 s bins: the lowest of ~40 packets each
        window = max(4 * bin_s, 2.0 * span_dev + 1.0)
        ref_fit = ClockSync(ClockSyncSettings(window_s=window, bin_s=bin_s, min_span_s=min(5.0, max(span_dev / 2, 0.01))))
        # the clock is fitted on the longest stretch without a link drop: a new connection
        # may bring a new latency floor, which would bend the lower envelope
        seg = _longest_segment(a["host"], [e.at for e in links if e.state == LinkState.DISCONNECTED])
        # ... leaving out the first 10 % (at most 10 s): right after START the latency
        # floor settles (connection setup traffic, first status and command exchanges)
        rel = a["ref"][seg] - ref0
        keep = rel >= min(10.0, 0.1 * float(rel[-1])) if rel.size else rel.astype(bool)
        if keep.sum() < 3:
            keep = np.ones(rel.size, dtype=bool)
        ref_fit.update(a["t_last"][seg][keep] * 1e6, rel[keep])
        est = ref_fit.estimate()
        if est is not None:
            drift = est.drift_ppm
            offset = float(est.to_host(0.0)) * 1e3
            # arrival above the fitted clock line, in host time (virtual sensors: the
            # reference is simulated time, speed x faster); 1st percentile = latency floor
            host_per_ref = float(np.polyfit(a["ref"], a["host"], 1)[0]) if p.spec.kind == "sim" else 1.0
            resid = (a["ref"] - ref0 - est.to_host(a["t_last"] * 1e6)) * host_per_ref
            above = (resid - float(np.percentile(resid, 1.0))) * 1e3
            jit = (float(np.percentile(above, 50)), float(np.percentile(above, 99)), float(above.max()))
        d_host = np.diff(a["host"]) * 1e3
        inter = (float(d_host.mean()), float(d_host.std()), float(d_host.max()))
        # streaming time without the link-down intervals (device s ~ reference s)
        down = sum(max(0.0, g.end_s - g.start_s) for g in link)
        ref_span = float(a["ref"][-1] - a["ref"][0]) - down
        if ref_span > 0:
            eff = (samples - a["n"][-1]) / ref_span
    # reconnect times: DISCONNECTED -> RECONNECTED, and -> first sample after it
    reconnect, to_data = [], []
    down_at = None
    for e in links:
        if e.state == LinkState.DISCONNECTED:
            down_at = e.at
        elif e.state == LinkState.RECONNECTED and down_at is not None:
            reconnect.append(e.at - down_at)
            later = a["host"][a["host"] > e.at]
            if later.size:
                to_data.append(float(later[0] - down_at))
            down_at = None
    trend = None
    if len(battery) >= 2 and battery[-1][0] - battery[0][0] > 0:
        bt = np.array([b[0] for b in battery]) / 3600.0
        bv = np.array([b[1] for b in battery], dtype=float)
        if np.ptp(bt) > 0:
            trend = float(np.polyfit(bt, bv, 1)[0])
    truth = None
    if fleet is not None and p.spec.kind == "sim":
        vs = fleet[p.spec.target]
        c = vs.counters
        truth = {
            "injected_loss": vs.faults.packet_loss,
            "injected_drift_ppm": vs.device_clock.drift_ppm,
            "packets_lost_air": c.packets_lost_air,
            "packets_generated": c.packets_generated,
            "packets_unsent": c.packets_unsent,
            "malformed_sent": c.malformed_sent,
            "link_drops": c.link_drops,
        }
    return SensorLinkResult(
        sensor=p.name,
        source=str(p.spec),
        mtu=p.mtu_size,
        payload_bytes=dict(p.payload_sizes),
        samples_per_packet=samples / n_packets if n_packets else math.nan,
        nominal_rate_hz=nominal,
        packets_received=n_packets,
        samples_received=samples,
        packets_lost=lost_packets,
        samples_lost=lost_samples,
        loss_rate=lost_packets / (n_packets + lost_packets) if n_packets + lost_packets else 0.0,
        longest_burst=max((g.missing_packets for g in live), default=0),
        link_lost_samples=sum(max(0, g.missing_samples) for g in link),
        device_gap_samples=sum(max(0, g.missing_samples) for g in device),
        buffer_dropped=overflow,
        malformed=p.stats.malformed,
        duplicates=p.stats.duplicates,
        effective_rate_hz=eff,
        rate_ratio=eff / nominal if nominal else math.nan,
        drift_ppm=drift,
        offset_ms=offset,
        jitter_ms_p50=jit[0],
        jitter_ms_p99=jit[1],
        jitter_ms_max=jit[2],
        interarrival_ms_mean=inter[0],
        interarrival_ms_std=inter[1],
        interarrival_ms_max=inter[2],
        drops=sum(1 for e in links if e.state == LinkState.DISCONNECTED),
        reconnect_s=reconnect,
        reconnect_to_data_s=to_data,
        rtt_ms=rtts,
        battery=battery,
        battery_trend_pct_per_h=trend,
        truth=truth,
    )


def _longest_segment(host: np.ndarray, cuts: list[float]) -> slice:
    """Index range of the longest run of arrivals between two disconnection times."""
    edges = [0, *np.searchsorted(host, sorted(cuts)).tolist(), host.size]
    best = max(itertools.pairwise(edges), key=lambda ab: ab[1] - ab[0])
    return slice(best[0], best[1])


def _checks(results: list[SensorLinkResult], th: LinkThresholds) -> list[Check]:
    out: list[Check] = []

    def check(s: SensorLinkResult, name: str, value: float, limit: float | None, upper: bool = True) -> None:
        if limit is None:
            return
        ok = math.isfinite(value) and (value <= limit if upper else value >= limit)
        out.append(Check(sensor=s.sensor, name=name, value=float(value), limit=float(limit), passed=bool(ok)))

    for s in results:
        check(s, "loss", s.loss_rate, th.max_loss)
        check(s, "burst_packets", s.longest_burst, th.max_burst)
        check(s, "jitter_ms_p99", s.jitter_ms_p99, th.max_jitter_ms)
        check(s, "abs_drift_ppm", abs(s.drift_ppm), th.max_drift_ppm)
        check(s, "rate_ratio", s.rate_ratio, th.min_rate_ratio, upper=False)
        if s.drops:
            worst = max(s.reconnect_to_data_s, default=math.inf)
            check(s, "reconnect_s", worst, th.max_reconnect_s)
        if s.rtt_ms:
            check(s, "rtt_ms_p99", s.rtt_ms_p99, th.max_rtt_ms)
        check(s, "malformed", s.malformed, th.max_malformed)
    return out
