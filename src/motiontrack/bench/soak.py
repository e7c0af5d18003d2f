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
the report saw.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import math
import time
import tracemalloc
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..errors import ConfigurationError

__all__ = ["SoakReport", "SoakSettings", "run_soak"]

logger = logging.getLogger(__name__)


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
        for name in ("drop_every_s", "drop_down_s", "malformed_every_s", "malformed_burst", "slow_consumer"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ConfigurationError(f"SoakSettings: {name} must be (low, high) with 0 <= low <= high")
        if self.drop_every_s[0] <= 0 or self.malformed_every_s[0] <= 0:
            raise ConfigurationError("SoakSettings: fault intervals must be > 0")
        if not 0 <= self.warmup < 1 or not 0 <= self.saturation_at < 1:
            raise ConfigurationError("SoakSettings: warmup and saturation_at are fractions in [0, 1)")
        if not 0 < self.min_speed <= self.speed or self.max_backlog_packets < 8:
            raise ConfigurationError("SoakSettings: need 0 < min_speed <= speed, max_backlog_packets >= 8")
        if not self.drift_ppm or not self.memory_every_s > 0:
            raise ConfigurationError("SoakSettings: drift_ppm must not be empty; memory_every_s > 0")


@dataclass(kw_only=True, slots=True)
class SoakReport:
    """Everything :func:`run_soak` measured (see the module docstring)."""

    settings: dict[str, Any]
    stream_s: float  # sensor seconds actually streamed
    wall_s: float
    cpu_s: float
    memory: list[dict[str, float]]  # t_s (sensor), wall_s, rss_mb, heap_mb
    faults: list[dict[str, Any]]  # what was injected, when (sensor time)
    sensors: dict[str, dict[str, Any]]
    sessions: dict[str, dict[str, Any]]
    errors: list[str]  # ERROR log records (crashes, failed callbacks)
    heap_growth_top: list[str]  # tracemalloc: biggest growth after warm-up, by line

    # ------------------------------------------------------------ derived figures
    @property
    def warmup_s(self) -> float:
        """End of warm-up, sensor s: the warm-up fraction, or 10 s after the last session
        calibrated itself (its joint-angle and rep state start then), whichever is later."""
        cal = [s.get("calibrated_at_s") for s in self.sessions.values()]
        t_cal = max((c for c in cal if c is not None), default=0.0) + 10.0
        return max(self.settings["warmup"] * self.stream_s, t_cal)

    def _growth(self, key: str) -> float:
        mem = [m for m in self.memory if math.isfinite(m.get(key, math.nan))]
        if len(mem) < 4:
            return math.nan
        t_w = self.warmup_s
        after = [m for m in mem if m["t_s"] >= t_w] or mem[len(mem) // 2 :]
        base = after[0][key]
        tail = max(1, len(after) // 10)
        end = float(np.mean([m[key] for m in after[-tail:]]))
        return (end - base) / base if base > 0 else math.nan

    @property
    def rss_growth(self) -> float:
        """Relative RSS growth from the end of warm-up to the last tenth of the run."""
        return self._growth("rss_mb")

    @property
    def heap_growth(self) -> float:
        """Relative Python-heap growth (tracemalloc) over the same stretch."""
        return self._growth("heap_mb")

    @property
    def samples_lost_outside_drops(self) -> int:
        return int(sum(s["lost_outside_drops"] for s in self.sensors.values()))

    @property
    def events_lost(self) -> int:
        return int(sum(s["events_dropped"] + s["callbacks_dropped"] for s in self.sessions.values()))

    @property
    def double_counted(self) -> int:
        return int(sum(s["reps_overlapping"] for s in self.sessions.values()))

    def acceptance(self) -> dict[str, dict[str, Any]]:
        growth = self.rss_growth
        return {
            "memory_growth_lt_5pct": {"value": growth, "passed": bool(math.isfinite(growth) and growth < 0.05)},
            "zero_samples_lost_outside_drops": {
                "value": self.samples_lost_outside_drops, "passed": self.samples_lost_outside_drops == 0},
            "zero_crashes": {"value": len(self.errors), "passed": not self.errors},
            "every_fault_visible": {
                "value": sum(1 for f in self.faults if f.get("seen")),
                "of": len(self.faults),
                "passed": all(f.get("seen") for f in self.faults),
            },
            "no_double_counted_reps": {"value": self.double_counted, "passed": self.double_counted == 0},
            "every_rep_delivered": {
                "value": sum(s["reps_delivered"] for s in self.sessions.values()),
                "of": sum(s["reps"] for s in self.sessions.values()),
                "passed": all(s["reps_delivered"] == s["reps_live"] for s in self.sessions.values()),
            },
        }

    @property
    def passed(self) -> bool:
        return all(v["passed"] for v in self.acceptance().values())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            rss_growth=self.rss_growth,
            heap_growth=self.heap_growth,
            samples_lost_outside_drops=self.samples_lost_outside_drops,
            events_lost=self.events_lost,
            double_counted=self.double_counted,
            acceptance=self.acceptance(),
            passed=self.passed,
        )
        return d

    def format(self) -> str:
        lines = [
            (f"soak: {len(self.sensors)} sensors x {self.settings['sample_rate_hz']:g} Hz, "
             f"{self.stream_s:.0f} s of sensor time in {self.wall_s:.0f} s wall "
             f"(x{self.stream_s / max(self.wall_s, 1e-9):.1f}), CPU {self.cpu_s:.0f} s "
             f"({100 * self.cpu_s / max(self.wall_s, 1e-9):.0f} % of one core)"),
            "",
            "injected faults (sensor time) -> what the report saw:",
        ]
        for f in self.faults:
            lines.append(f"  {'seen' if f.get('seen') else 'MISSED':6s} t={f['t_s']:8.1f} s  {f['kind']:<15s} "
                         f"{f['sensor']:<8s} {f.get('detail', '')}  -> {f.get('observed', '')}")
        lines.append("")
        lines.append("sensors:")
        for name, s in self.sensors.items():
            lines.append(
                f"  {name:<8s} generated {s['generated']}, received {s['received']}, "
                f"link-down loss {s['link_lost_samples']}, lost outside drops {s['lost_outside_drops']} "
                f"(firmware residual {s['firmware_residual']}), drops {s['disconnects']}/"
                f"reconnects {s['reconnects']}, malformed {s['malformed']}/{s['malformed_sent']} sent, "
                f"saturated packets {s['saturated_packets']}, drift injected {s['drift_injected_ppm']:+.1f} "
                f"measured {s['drift_measured_ppm']:+.1f} ppm")
        lines.append("sessions:")
        for name, s in self.sessions.items():
            lines.append(
                f"  {name:<6s} reps {s['reps']} (delivered {s['reps_delivered']}, expected ~{s['reps_expected']:.0f}, overlapping {s['reps_overlapping']}), "
                f"events {s['events']}, dropped {s['events_dropped']} (+{s['callbacks_dropped']} callbacks), "
                f"calibrated {s['calibrated']}")
        lines.append("")
        mem = self.memory
        if mem:
            step = max(1, len(mem) // 12)
            lines.append("memory (sensor s: RSS MB / heap MB): " + ", ".join(
                f"{m['t_s']:.0f}: {m['rss_mb']:.1f}/{m['heap_mb']:.1f}" for m in mem[::step]))
        lines.append(f"RSS growth after warm-up ({self.warmup_s:.0f} s): {100 * self.rss_growth:+.2f} %; "
                     f"heap growth: {100 * self.heap_growth:+.2f} %")
        if self.heap_growth_top:
            lines.append("heap growth by line: " + "; ".join(self.heap_growth_top[:5]))
        lines.append(f"errors logged: {len(self.errors)}" + (": " + " | ".join(self.errors[:5]) if self.errors else ""))
        lines.append("")
        for k, v in self.acceptance().items():
            lines.append(f"  {'PASS' if v['passed'] else 'FAIL'}  {k}: {v['value']}" + (f" of {v['of']}" if "of" in v else ""))
        lines.append(f"RESULT: {'PASS' if self.passed else 'FAIL'}")
        return "\n".join(lines)


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}")


def _rss_mb() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:  # pragma: no cover - psutil is a test dependency
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run_soak(settings: SoakSettings | None = None) -> SoakReport:
    """Run the soak (see the module docstring) and return its report."""
    from .. import events as ev
    from ..session import Session
    from ..transport import BleOptions, Gap, GapCause, LinkEvent
    from ..virtual import KneeMotion, SimulationClock, VirtualFleet, VirtualSensorSettings

    st = settings or SoakSettings()
    rng = np.random.default_rng(st.seed)
    errors = _ErrorLog()
    root = logging.getLogger("motiontrack")
    root.addHandler(errors)
    if st.trace_memory:
        tracemalloc.start()
    fleet = VirtualFleet(SimulationClock(st.speed))
    clock = fleet.clock
    n_knees = st.n_sensors // 2
    knees: dict[str, dict[str, str]] = {}
    names: list[str] = []
    to_knee: dict[str, str] = {}  # virtual sensor -> its session
    seg_of: dict[str, str] = {}  # virtual sensor -> its name in the session
    motions = [KneeMotion(st.exercise, seed=st.seed + k) for k in range(n_knees)]
    for k in range(n_knees):
        pair = {}
        for seg in ("thigh", "shank"):
            i = len(names)
            name = f"k{k}{seg}"
            await fleet.add(
                VirtualSensorSettings(
                    name=name,
                    sample_rate_hz=st.sample_rate_hz,
                    clock_offset_us=1_000_000 + 777_777 * i,
                    clock_drift_ppm=st.drift_ppm[i % len(st.drift_ppm)],
                    seed=st.seed + i,
                ),
                motions[k].segment(seg),
            )
            names.append(name)
            to_knee[name], seg_of[name] = f"knee{k}", seg
            pair[seg] = f"sim:{name}"
        knees[f"knee{k}"] = pair
    # what the application and the instrumentation see
    gaps: dict[str, list[Any]] = {n: [] for n in names}
    links: dict[str, list[Any]] = {n: [] for n in names}
    drift_pts = {n: _DriftTrack(st.stream_s) for n in names}
    app_events: dict[str, Counter[str]] = {k: Counter() for k in knees}
    slow = {"on": False}
    calibrated_at: dict[str, float] = {}
    t0_box = [0.0]
    sessions: dict[str, Any] = {}
    wall0, cpu0 = time.perf_counter(), time.process_time()
    memory: list[dict[str, float]] = []
    snap_warm = None
    faults: list[dict[str, Any]] = []
    sim_name = {}  # session sensor name -> virtual sensor name
    options = BleOptions(reconnect_initial_delay=0.05, reconnect_max_delay=1.0)

    def instrument(knee: str, session: Any) -> None:
        inner = session.source.events
        mapping = {seg: name for name, seg in seg_of.items() if to_knee[name] == knee}
        sim_name.update({(knee, seg): n for seg, n in mapping.items()})

        async def events() -> Any:
            async for tev in inner():
                if isinstance(tev, Gap):
                    gaps[mapping[tev.sensor]].append(tev)
                elif isinstance(tev, LinkEvent):
                    links[mapping[tev.sensor]].append(tev)
                yield tev

        session.source.events = events  # instrumentation of this bench's own Session instances
        for seg, sensor in session.source.group.sensors.items():
            _tap_arrivals(sensor, clock, drift_pts[mapping[seg]])

    async def consume(knee: str, session: Any) -> None:
        async for e in session.events():
            app_events[knee][type(e).__name__] += 1
            if isinstance(e, ev.CalibrationDone) and knee not in calibrated_at:
                calibrated_at[knee] = clock.now() - t0_box[0]
            if isinstance(e, ev.EventsDropped):
                app_events[knee]["dropped_total"] = e.total
            if slow["on"]:
                await asyncio.sleep(st.slow_consumer_sleep_s)

    consumers: list[asyncio.Task[None]] = []
    try:
        for knee, pair in knees.items():
            s = Session(pair, exercise=st.exercise, queue_size=st.queue_size, ble_options=options)
            instrument(knee, s)
            sessions[knee] = s
        await asyncio.gather(*(s.start() for s in sessions.values()))
        for knee, s in sessions.items():
            consumers.append(asyncio.get_running_loop().create_task(consume(knee, s)))
        t0 = clock.now()
        t0_box[0] = t0
        # ---------------------------------------------------------------- schedule
        plan: list[tuple[float, str, str, dict[str, Any]]] = []
        t = float(rng.uniform(*st.drop_every_s))
        while t < st.stream_s - 5.0:
            plan.append((t, "link_drop", str(rng.choice(names)), {"down_s": float(rng.uniform(*st.drop_down_s))}))
            t += float(rng.uniform(*st.drop_every_s))
        t = float(rng.uniform(*st.malformed_every_s))
        while t < st.stream_s - 5.0:
            plan.append((t, "malformed", str(rng.choice(names)), {"count": int(rng.integers(st.malformed_burst[0], st.malformed_burst[1] + 1))}))
            t += float(rng.uniform(*st.malformed_every_s))
        plan.append((st.saturation_at * st.stream_s, "saturation", names[1], {"duration_s": st.saturation_s}))
        plan.append((0.5 * st.stream_s, "drift_step", names[0], {"drift_ppm": st.drift_ppm[0] + st.drift_step_ppm}))
        plan.append((st.slow_consumer[0] * st.stream_s, "slow_consumer", "app", {"until_s": st.slow_consumer[1] * st.stream_s}))
        plan.sort(key=lambda p: p[0])
        for i, n in enumerate(names):
            faults.append({"t_s": 0.0, "kind": "clock_drift", "sensor": n,
                           "detail": f"{st.drift_ppm[i % len(st.drift_ppm)]:+g} ppm"})
        next_mem = 0.0
        k = 0
        slow_until = math.inf
        speeds: list[float] = []
        while (now := clock.now() - t0) < st.stream_s:
            # as fast as the host keeps up: slow the simulation while the pipelines lag
            backlog = max(len(s.source.group.buffer) for s in sessions.values())
            if backlog > st.max_backlog_packets:
                clock.speed = max(st.min_speed, clock.speed * 0.8)
            elif backlog < st.max_backlog_packets // 4:
                clock.speed = min(st.speed, clock.speed * 1.05)
            speeds.append(clock.speed)
            while k < len(plan) and plan[k][0] <= now:
                _at, kind, target, p = plan[k]
                k += 1
                f = {"t_s": round(now, 2), "kind": kind, "sensor": target}
                if kind == "link_drop":
                    up = fleet[target].drop_link(down_s=p["down_s"])
                    f["detail"] = f"down {p['down_s']:.2f} s" + ("" if up else " (link already down)")
                    f["was_up"] = up
                elif kind == "malformed":
                    f["detail"] = f"{fleet[target].send_malformed(p['count'])} notifications"
                elif kind == "saturation":
                    fleet[target].saturate(p["duration_s"])
                    f["detail"] = f"{p['duration_s']:g} s"
                elif kind == "drift_step":
                    fleet[target].set_clock_drift(p["drift_ppm"])
                    f["detail"] = f"-> {p['drift_ppm']:+g} ppm"
                elif kind == "slow_consumer":
                    slow["on"] = True
                    slow_until = p["until_s"]
                    f["detail"] = f"until {slow_until:.0f} s, {1e3 * st.slow_consumer_sleep_s:g} ms per event"
                faults.append(f)
            if slow["on"] and now >= slow_until:
                slow["on"] = False
            if now >= next_mem:
                next_mem += st.memory_every_s
                heap = tracemalloc.get_traced_memory()[0] / 2**20 if st.trace_memory else math.nan
                memory.append({"t_s": round(now, 2), "wall_s": round(time.perf_counter() - wall0, 2),
                               "rss_mb": _rss_mb(), "heap_mb": heap})
                if st.trace_memory and snap_warm is None and now >= st.warmup * st.stream_s:
                    gc.collect()
                    snap_warm = tracemalloc.take_snapshot()
            await asyncio.sleep(0.05)
        streamed = clock.now() - t0
        slow["on"] = False
        top: list[str] = []
        if st.trace_memory and snap_warm is not None:
            gc.collect()
            diff = tracemalloc.take_snapshot().compare_to(snap_warm, "lineno")
            top = [f"{d.traceback[0].filename.split('/src/')[-1]}:{d.traceback[0].lineno} "
                   f"{d.size_diff / 2**20:+.2f} MB" for d in diff[:8]]
        # stop the sensors and let the pipelines finish the backlog, so what is counted as
        # "not fed" is a loss and not the tail cut off by closing
        for s in sessions.values():
            await s.source.group.stop()
        drain_until = time.perf_counter() + 60.0
        while time.perf_counter() < drain_until and any(len(s.source.group.buffer) for s in sessions.values()):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        for s in sessions.values():
            await s.close()
        await asyncio.wait_for(asyncio.gather(*consumers, return_exceptions=True), 60.0)
    finally:
        for c in consumers:
            c.cancel()
        for s in sessions.values():
            try:
                await s.close()
            except Exception:
                logger.debug("session close failed", exc_info=True)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        fw = {n: fleet[n].counters for n in names}
        fw_drift = {n: fleet[n].device_clock.drift_ppm for n in names}
        await fleet.close()
        root.removeHandler(errors)
        if st.trace_memory:
            tracemalloc.stop()
    # ------------------------------------------------------------------- analysis
    sensors: dict[str, dict[str, Any]] = {}
    for n in names:
        knee, seg = to_knee[n], seg_of[n]
        sess = sessions[knee]
        tr = sess.source.group.sensors[seg]
        stats = tr.stats
        link_lost = sum(max(0, g.missing_samples) for g in gaps[n] if g.cause == GapCause.LINK_LOST)
        other = sum(max(0, g.missing_samples) for g in gaps[n] if g.cause != GapCause.LINK_LOST)
        c = fw[n]
        # generated but never delivered, beyond what the link drops explain (0 when the
        # transport's gap reports are exact)
        residual = c.samples_generated - stats.samples - link_lost - c.samples_lost_air
        drift_pts[n].flush()
        measured = drift_pts[n].drift("all")
        measured_2 = measured
        if n == names[0]:  # drift stepped at half time: each half on its own
            measured = drift_pts[n].drift("early")
            measured_2 = drift_pts[n].drift("late")
        sensors[n] = {
            "generated": c.samples_generated,
            "received": stats.samples,
            "link_lost_samples": link_lost,
            "unsent_while_down": c.samples_unsent,
            "lost_outside_drops": other,
            "firmware_residual": int(residual),
            "fifo_overflow": c.samples_fifo_overflow,
            "disconnects": stats.disconnects,
            "reconnects": stats.reconnects,
            "malformed": stats.malformed,
            "malformed_sent": c.malformed_sent,
            "saturated_packets": stats.saturated_packets,
            "drift_injected_ppm": st.drift_ppm[names.index(n) % len(st.drift_ppm)],
            "drift_final_ppm": fw_drift[n],
            "drift_measured_ppm": measured,
            "drift_measured_late_ppm": measured_2,
            "buffer_dropped_samples": sess.source.group.buffer.dropped_samples,
        }
    sess_out: dict[str, dict[str, Any]] = {}
    for knee, s in sessions.items():
        reps = s.final_reps()
        overlapping = sum(1 for a, b in itertools.pairwise(reps) if b.peak_s <= a.end_s - 0.05 or abs(b.peak_s - a.peak_s) < 0.3)
        per_loop = len(motions[int(knee[4:])].session.truth.reps)
        loop_s = float(motions[int(knee[4:])].session.t[-1])
        sess_out[knee] = {
            "reps": len(reps),
            "reps_live": len(s.reps),
            "reps_expected": streamed / loop_s * per_loop,
            "reps_overlapping": overlapping,
            "events": dict(app_events[knee]),
            "events_dropped": s.dropped_events,
            "callbacks_dropped": s.dropped_callbacks,
            "calibrated": s.calibration is not None,
            "calibrated_at_s": calibrated_at.get(knee),
            "reps_delivered": app_events[knee]["RepCompleted"],
            "samples_fed": int(s.counts["samples"]),
        }
    # drift is estimated from arrival times whose latency swings with the host's load
    # (in simulated time, speed x the wall-clock swing): the tolerance shrinks with length
    tol = max(10.0, 6000.0 / max(streamed, 1.0))
    for f in faults:
        _observe(f, sensors, gaps, links, sess_out, fw_drift, tol)
    for knee, s in sessions.items():
        # per session (one buffer, one pipeline): samples the transport delivered but the
        # pipeline never got (buffer overflow, or received and not fed)
        received = sum(x.stats.samples for x in s.source.group.sensors.values())
        not_fed = received - int(s.counts["samples"])
        sess_out[knee]["samples_not_fed"] = not_fed
        first = next(n for n in names if to_knee[n] == knee)
        sensors[first]["lost_outside_drops"] += max(0, not_fed)
    return SoakReport(
        settings={**asdict(st), "speed_mean": float(np.mean(speeds)) if speeds else math.nan},
        stream_s=streamed,
        wall_s=wall,
        cpu_s=cpu,
        memory=memory,
        faults=faults,
        sensors=sensors,
        sessions=sess_out,
        errors=errors.records,
        heap_growth_top=top,
    )


class _DriftTrack:
    """(device time, simulated arrival time) pairs of one sensor, kept as per-bin minima
    (ClockSync), for the whole run and for each half (the drift step): bounded memory."""

    def __init__(self, stream_s: float) -> None:
        from ..protocol.clock import ClockSync, ClockSyncSettings

        cfg = ClockSyncSettings(window_s=4 * stream_s, bin_s=max(0.5, stream_s / 500))
        self.half = 0.5 * stream_s
        # the first stretch is left out: JIT warm-up and the first calibration attempts hold
        # the GIL in the pipeline threads and lift the arrival-latency floor for a while
        self.skip_s = 0.15 * stream_s
        self.fits = {k: ClockSync(cfg) for k in ("all", "early", "late")}
        self.pending: list[tuple[float, float]] = []

    def append(self, point: tuple[float, float]) -> None:
        self.pending.append(point)
        if len(self.pending) >= 256:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        p = np.array(self.pending)
        self.pending.clear()
        p = p[p[:, 0] >= self.skip_s]
        if p.shape[0] == 0:
            return
        self.fits["all"].update(p[:, 0] * 1e6, p[:, 1])
        for key, sel in (("early", p[:, 0] < self.half * 0.95), ("late", p[:, 0] > self.half * 1.05)):
            if sel.any():
                self.fits[key].update(p[sel, 0] * 1e6, p[sel, 1])

    def drift(self, key: str) -> float:
        e = self.fits[key].estimate()
        return e.drift_ppm if e is not None and e.n_points >= 10 else math.nan


def _tap_arrivals(sensor: Any, clock: Any, out: _DriftTrack) -> None:
    """Record (device time of the last sample, simulated arrival time) of every DATA packet
    the transport accepts. Set on the instance before connecting, like the session's raw
    tap, so every connection of the sensor subscribes the wrapper."""
    inner = sensor._on_data

    def on_data(characteristic: Any, data: bytearray) -> None:
        now = clock.now()
        before = sensor.stats.latest
        inner(characteristic, data)
        batch = sensor.stats.latest
        if batch is not before and batch is not None:
            out.append((float(batch.t[-1]), now))

    sensor._on_data = on_data


def _observe(
    f: dict[str, Any],
    sensors: dict[str, dict[str, Any]],
    gaps: dict[str, list[Any]],
    links: dict[str, list[Any]],
    sessions: dict[str, dict[str, Any]],
    fw_drift: dict[str, float],
    drift_tol_ppm: float,
) -> None:
    """Find the injected fault in what the transport and the session reported."""
    from ..transport import GapCause, LinkState

    kind, n = f["kind"], f["sensor"]
    if kind == "link_drop":
        downs = [e for e in links.get(n, []) if e.state == LinkState.DISCONNECTED]
        ups = [e for e in links.get(n, []) if e.state == LinkState.RECONNECTED]
        lg = [g for g in gaps.get(n, []) if g.cause == GapCause.LINK_LOST and abs(g.start_s - f["t_s"]) < 30.0]
        f["seen"] = bool(downs and ups and lg) or not f.get("was_up", True)
        f["observed"] = (f"gap of {lg[0].missing_samples} samples at {lg[0].start_s:.1f} s, "
                         f"{len(downs)} disconnects / {len(ups)} reconnects on this sensor") if lg else "no link-lost gap"
    elif kind == "malformed":
        s = sensors[n]
        f["seen"] = s["malformed"] == s["malformed_sent"] and s["malformed"] > 0
        f["observed"] = f"{s['malformed']} malformed counted of {s['malformed_sent']} sent (all bursts)"
    elif kind == "saturation":
        s = sensors[n]
        f["seen"] = s["saturated_packets"] > 0
        f["observed"] = f"{s['saturated_packets']} packets flagged saturated"
    elif kind in ("clock_drift", "drift_step"):
        s = sensors[n]
        m = s["drift_measured_ppm"]
        target = s["drift_injected_ppm"]
        f["seen"] = math.isfinite(m) and abs(m - target) < drift_tol_ppm
        f["observed"] = f"measured {m:+.1f} ppm (visible within {drift_tol_ppm:.0f} ppm)"
        if kind == "drift_step":
            m2 = s["drift_measured_late_ppm"]
            f["seen"] = math.isfinite(m2) and abs(m2 - fw_drift[n]) < drift_tol_ppm
            f["observed"] = f"measured {m2:+.1f} ppm after the step (firmware {fw_drift[n]:+.1f} ppm)"
    elif kind == "slow_consumer":
        dropped = sum(s["events_dropped"] for s in sessions.values())
        f["seen"] = dropped > 0
        f["observed"] = f"{dropped} events dropped (EventsDropped delivered), reps kept"
