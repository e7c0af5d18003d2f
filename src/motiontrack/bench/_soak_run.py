"""The machinery of one soak run: virtual knees, live sessions, instrumentation, the loop
that injects the scheduled faults, and the per-sensor and per-session figures.

Instrumentation uses the transport's public hooks only: ``EventBuffer.event_tap`` (the
gaps and link events of each session's sensors) and ``Sensor.batch_tap`` (device time
and simulated arrival time of every accepted packet, for the drift measurement).
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
from typing import Any

import numpy as np

from .. import events as ev
from ..protocol.clock import ClockSync, ClockSyncSettings
from ..session import Session
from ..transport import BleOptions, Gap, GapCause, LinkEvent, SampleBatch, TransportEvent
from .soak_faults import (
    drift_tolerance_ppm,
    inject,
    judge_slow_consumer_reach,
    observe,
    plan_faults,
)

__all__ = ["DriftTrack", "ErrorLog", "SoakRun", "rss_mb"]

logger = logging.getLogger(__name__)


class ErrorLog(logging.Handler):
    """Keeps every ERROR record (crashes, failed callbacks) as text."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}")


def rss_mb() -> float:
    """Resident set size of this process, MB (peak RSS without psutil)."""
    try:
        import psutil  # lazily: psutil is optional (test and bench extras)

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:  # pragma: no cover - psutil is a test dependency
        import resource  # lazily: POSIX only

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class DriftTrack:
    """(device time, simulated arrival time) pairs of one sensor, kept as per-bin minima
    (ClockSync), for the whole run and for each half (the drift step): bounded memory."""

    def __init__(self, stream_s: float) -> None:
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
        for key, sel in (
            ("early", p[:, 0] < self.half * 0.95),
            ("late", p[:, 0] > self.half * 1.05),
        ):
            if sel.any():
                self.fits[key].update(p[sel, 0] * 1e6, p[sel, 1])

    def drift(self, key: str) -> float:
        e = self.fits[key].estimate()
        return e.drift_ppm if e is not None and e.n_points >= 10 else math.nan


class SoakRun:
    """State of one soak run; :meth:`run` returns the fields of a ``SoakReport``."""

    def __init__(self, st: Any, fleet: Any, motions: list[Any]) -> None:
        self.st = st
        self.fleet = fleet
        self.clock = fleet.clock
        self.motions = motions
        self.rng = np.random.default_rng(st.seed)
        self.knees: dict[str, dict[str, str]] = {}
        self.names: list[str] = []
        self.to_knee: dict[str, str] = {}  # virtual sensor -> its session
        self.seg_of: dict[str, str] = {}  # virtual sensor -> its name in the session
        self.gaps: dict[str, list[Gap]] = {}
        self.links: dict[str, list[LinkEvent]] = {}
        self.drift_pts: dict[str, DriftTrack] = {}
        self.app_events: dict[str, Counter[str]] = {}
        self.slow = False
        self.calibrated_at: dict[str, float] = {}
        self.t0 = 0.0
        self.sessions: dict[str, Session] = {}
        self.memory: list[dict[str, float]] = []
        self.faults: list[dict[str, Any]] = []
        self.speeds: list[float] = []
        self.options = BleOptions(reconnect_initial_delay=0.05, reconnect_max_delay=1.0)

    def add_sensor(self, knee: int, seg: str, name: str) -> None:
        self.names.append(name)
        self.to_knee[name], self.seg_of[name] = f"knee{knee}", seg
        self.knees.setdefault(f"knee{knee}", {})[seg] = f"sim:{name}"
        self.gaps[name], self.links[name] = [], []
        self.drift_pts[name] = DriftTrack(self.st.stream_s)

    # ------------------------------------------------------------ instrumentation
    def instrument(self, knee: str, session: Session) -> None:
        """Watch a session's transport through its public hooks (before it starts)."""
        mapping = {seg: n for n, seg in self.seg_of.items() if self.to_knee[n] == knee}
        group = session.source.group

        def on_event(e: TransportEvent) -> None:
            if isinstance(e, Gap):
                self.gaps[mapping[e.sensor]].append(e)
            elif isinstance(e, LinkEvent):
                self.links[mapping[e.sensor]].append(e)

        group.buffer.event_tap = on_event
        for seg, sensor in group.sensors.items():
            track = self.drift_pts[mapping[seg]]

            def on_batch(batch: SampleBatch, track: DriftTrack = track) -> None:
                # (device time of the last sample, simulated arrival time)
                track.append((float(batch.t[-1]), self.clock.now()))

            sensor.batch_tap = on_batch

    async def consume(self, knee: str, session: Session) -> None:
        """The application: counts events, and sleeps on each while the consumer is slow."""
        counts = self.app_events[knee]
        async for e in session.events():
            counts[type(e).__name__] += 1
            if isinstance(e, ev.CalibrationDone) and knee not in self.calibrated_at:
                self.calibrated_at[knee] = self.clock.now() - self.t0
            if isinstance(e, ev.EventsDropped):
                counts["dropped_total"] = e.total
            if self.slow:
                await asyncio.sleep(self.st.slow_consumer_sleep_s)

    # ------------------------------------------------------------------- the run
    def _pace(self) -> None:
        """As fast as the host keeps up: slow the simulation while the pipelines lag."""
        st, clock = self.st, self.clock
        backlog = max(len(s.source.group.buffer) for s in self.sessions.values())
        if backlog > st.max_backlog_packets:
            clock.speed = max(st.min_speed, clock.speed * 0.8)
        elif backlog < st.max_backlog_packets // 4:
            clock.speed = min(st.speed, clock.speed * 1.05)
        self.speeds.append(clock.speed)

    def _sample_memory(self, now: float, wall0: float) -> None:
        heap = tracemalloc.get_traced_memory()[0] / 2**20 if self.st.trace_memory else math.nan
        self.memory.append(
            {
                "t_s": round(now, 2),
                "wall_s": round(time.perf_counter() - wall0, 2),
                "rss_mb": rss_mb(),
                "heap_mb": heap,
            }
        )

    async def stream(self, wall0: float) -> tuple[float, list[str]]:
        """Stream ``stream_s`` of sensor time, injecting the schedule; returns the sensor
        time streamed and the biggest heap growths after warm-up."""
        st = self.st
        plan, records = plan_faults(st, self.names, self.rng)
        self.faults.extend(records)
        next_mem, k, slow_until = 0.0, 0, math.inf
        snap_warm = None
        while (now := self.clock.now() - self.t0) < st.stream_s:
            self._pace()
            while k < len(plan) and plan[k][0] <= now:
                f = inject(self.fleet, now, plan[k], st)
                if f["kind"] == "slow_consumer":
                    self.slow, slow_until = True, plan[k][3]["until_s"]
                k += 1
                self.faults.append(f)
            if self.slow and now >= slow_until:
                self.slow = False
            if now >= next_mem:
                next_mem += st.memory_every_s
                self._sample_memory(now, wall0)
                if st.trace_memory and snap_warm is None and now >= st.warmup * st.stream_s:
                    gc.collect()
                    snap_warm = tracemalloc.take_snapshot()
            await asyncio.sleep(0.05)
        streamed = self.clock.now() - self.t0
        self.slow = False
        top: list[str] = []
        if st.trace_memory and snap_warm is not None:
            gc.collect()
            diff = tracemalloc.take_snapshot().compare_to(snap_warm, "lineno")
            top = [
                f"{d.traceback[0].filename.split('/src/')[-1]}:{d.traceback[0].lineno} "
                f"{d.size_diff / 2**20:+.2f} MB"
                for d in diff[:8]
            ]
        return streamed, top

    async def run(self) -> tuple[float, list[str]]:
        """Start the sessions, stream, drain and close; returns (streamed s, heap top)."""
        consumers: list[asyncio.Task[None]] = []
        try:
            for knee, pair in self.knees.items():
                s = Session(
                    pair,
                    exercise=self.st.exercise,
                    ble_options=self.options,
                    queue_size=self.st.queue_size,
                )
                self.app_events[knee] = Counter()
                self.instrument(knee, s)
                self.sessions[knee] = s
            await asyncio.gather(*(s.start() for s in self.sessions.values()))
            loop = asyncio.get_running_loop()
            consumers = [loop.create_task(self.consume(k, s)) for k, s in self.sessions.items()]
            self.t0 = self.clock.now()
            streamed, top = await self.stream(time.perf_counter())
            await self._drain()
            await asyncio.wait_for(asyncio.gather(*consumers, return_exceptions=True), 60.0)
            return streamed, top
        finally:
            for c in consumers:
                c.cancel()
            for s in self.sessions.values():
                try:
                    await s.close()
                except Exception:  # noqa: BLE001 - closing after a failure: keep going
                    logger.debug("session close failed", exc_info=True)

    async def _drain(self) -> None:
        """Stop the sensors and let the pipelines finish the backlog, so what is counted
        as "not fed" is a loss and not the tail cut off by closing."""
        for s in self.sessions.values():
            await s.source.group.stop()
        drain_until = time.perf_counter() + 60.0
        while time.perf_counter() < drain_until and any(
            len(s.source.group.buffer) for s in self.sessions.values()
        ):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        for s in self.sessions.values():
            await s.close()

    # ------------------------------------------------------------------ analysis
    def sensor_figures(self, fw: dict[str, Any], fw_drift: dict[str, float]) -> dict[str, Any]:
        st, names = self.st, self.names
        sensors: dict[str, dict[str, Any]] = {}
        for n in names:
            sess = self.sessions[self.to_knee[n]]
            stats = sess.source.group.sensors[self.seg_of[n]].stats
            gaps = self.gaps[n]
            link_lost = sum(
                max(0, g.missing_samples) for g in gaps if g.cause == GapCause.LINK_LOST
            )
            other = sum(max(0, g.missing_samples) for g in gaps if g.cause != GapCause.LINK_LOST)
            c = fw[n]
            # generated but never delivered, beyond what the link drops explain (0 when the
            # transport's gap reports are exact)
            residual = c.samples_generated - stats.samples - link_lost - c.samples_lost_air
            track = self.drift_pts[n]
            track.flush()
            measured = measured_2 = track.drift("all")
            if n == names[0]:  # drift stepped at half time: each half on its own
                measured, measured_2 = track.drift("early"), track.drift("late")
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
        return sensors

    def session_figures(self, streamed: float) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for knee, s in self.sessions.items():
            reps = s.final_reps()
            overlapping = sum(
                1
                for a, b in itertools.pairwise(reps)
                if b.peak_s <= a.end_s - 0.05 or abs(b.peak_s - a.peak_s) < 0.3
            )
            motion = self.motions[int(knee[4:])].session
            counts = self.app_events[knee]
            out[knee] = {
                "reps": len(reps),
                "reps_live": len(s.reps),
                "reps_expected": streamed / float(motion.t[-1]) * len(motion.truth.reps),
                "reps_overlapping": overlapping,
                "events": dict(counts),
                "events_dropped": s.dropped_events,
                "callbacks_dropped": s.dropped_callbacks,
                "calibrated": s.calibration is not None,
                "calibrated_at_s": self.calibrated_at.get(knee),
                "reps_delivered": counts["RepCompleted"],
                "samples_fed": int(s.counts["samples"]),
            }
        return out

    def judge_faults(
        self,
        sensors: dict[str, Any],
        sessions: dict[str, Any],
        fw_drift: dict[str, float],
        streamed: float,
    ) -> None:
        """Mark each reachable fault seen or missed; unreached ones are only described."""
        tol = drift_tolerance_ppm(streamed)
        produced = sum(
            v for s in sessions.values() for k, v in s["events"].items() if k != "dropped_total"
        ) + sum(s["events_dropped"] for s in sessions.values())
        per_session_rate = produced / max(len(sessions), 1) / max(streamed, 1e-9)
        for f in self.faults:
            if f["kind"] == "slow_consumer":
                judge_slow_consumer_reach(f, self.st, per_session_rate)
            if f.get("reachable", True):
                observe(f, sensors, self.gaps, self.links, sessions, fw_drift, tol)

    def account_unfed(self, sensors: dict[str, Any], sessions: dict[str, Any]) -> None:
        """Per session (one buffer, one pipeline): samples the transport delivered but the
        pipeline never got (buffer overflow, or received and not fed)."""
        for knee, s in self.sessions.items():
            received = sum(x.stats.samples for x in s.source.group.sensors.values())
            not_fed = received - int(s.counts["samples"])
            sessions[knee]["samples_not_fed"] = not_fed
            first = next(n for n in self.names if self.to_knee[n] == knee)
            sensors[first]["lost_outside_drops"] += max(0, not_fed)
