"""The demo: two virtual sensors on a simulated knee, streamed through the real bleak
API into a :class:`Session`, and the result compared with the simulator's ground truth."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from types import SimpleNamespace

from . import events as ev
from .exercise.regions import REGION_EXERCISES
from .session import Session
from .simulation.regions import simulate_region_session
from .virtual.fleet import start_motion_sensors, start_sensors
from .virtual.motion import SegmentMotion

__all__ = ["DemoResult", "compare_with_truth", "run_demo", "run_region_demo"]

ROM_TOLERANCE_DEG = 3.0  # acceptance criterion of issue 7


@dataclass
class DemoResult:
    exercise: str
    seconds: float  # session time streamed, s
    reps: list[Any]  # final reps (extremes over the whole movement)
    truth: list[dict[str, float]]  # the simulator's reps inside the streamed window
    matches: list[dict[str, Any]]
    offset_s: float  # simulation time at session time 0
    calibration: Any
    dropped_events: int
    gaps: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def count_ok(self) -> bool:
        return len(self.reps) == len(self.truth)

    @property
    def max_error_deg(self) -> float:
        errs = [max(abs(m["min_error_deg"]), abs(m["max_error_deg"])) for m in self.matches]
        return max(errs) if errs else 0.0

    @property
    def rom_ok(self) -> bool:
        return self.count_ok and self.max_error_deg <= ROM_TOLERANCE_DEG

    def to_dict(self) -> dict[str, Any]:
        return {
            "exercise": self.exercise,
            "seconds": round(self.seconds, 3),
            "rep_count": len(self.reps),
            "truth_rep_count": len(self.truth),
            "count_ok": self.count_ok,
            "max_error_deg": round(self.max_error_deg, 3),
            "tolerance_deg": ROM_TOLERANCE_DEG,
            "rom_ok": self.rom_ok,
            "reps": [{**r.to_dict(), **m} for r, m in zip(self.reps, self.matches)]
            + [r.to_dict() for r in self.reps[len(self.matches) :]],
            "truth": self.truth,
            "calibration": None
            if self.calibration is None
            else {
                "pose": self.calibration.pose,
                "confidence": round(float(self.calibration.confidence), 4),
            },
            "dropped_events": self.dropped_events,
            "gaps": self.gaps,
            "sim_offset_s": round(self.offset_s, 3),
        }


def compare_with_truth(
    t: np.ndarray, angle: np.ndarray, reps: list[Any], sim: Any
) -> tuple[float, list[dict[str, float]], list[dict[str, Any]]]:
    """Align the session's angle trace with the simulator's flexion (looped) and pair reps.

    ``sim`` is the :class:`motiontrack.virtual.KneeMotion` the virtual sensors played (its
    loop: the whole session once, then the exercise part), or a
    :class:`motiontrack.simulation.SimulatedSession` played whole in a loop.

    Returns the simulation time of session time 0, the true reps wholly inside the
    streamed window (in session time) and per-rep errors, each
    ``max(|min - true min|, |max - true max|)`` per rep (degrees; the ROM criterion of
    issue 7 compares both extremes, not just their difference).
    """
    knee = sim if hasattr(sim, "session") else None
    sim = knee.session if knee is not None else sim
    T = float(sim.t[-1] - sim.t[0] + 1.0 / sim.fs)  # the virtual sensors loop the session
    t_loop = float(knee.loop_start_s) if knee is not None else 0.0  # the loop returns here
    L = T - t_loop  # length of every pass after the first

    def truth_at(ts: np.ndarray) -> np.ndarray:
        if knee is not None:
            return np.interp(knee.sim_time(np.maximum(ts, 0.0)), sim.t, sim.truth.flexion_deg)
        return np.interp(np.mod(ts, T), sim.t, sim.truth.flexion_deg)

    ok = np.isfinite(angle)
    tt, aa = t[ok][::2], angle[ok][::2]
    best = (math.inf, 0.0)
    for step, lo, hi in ((0.05, 0.0, min(T, 60.0)), (0.005, None, None)):
        if lo is None:
            lo, hi = best[1] - 0.1, best[1] + 0.1
        for d in np.arange(lo, hi, step):
            err = float(np.mean((aa - truth_at(tt + d)) ** 2))
            if err < best[0]:
                best = (err, float(d))
    off = best[1]
    w0, w1 = float(t[0]) + off, float(t[-1]) + off
    truth: list[dict[str, float]] = []
    for k in range(int(w0 // T) - 1 if t_loop == 0.0 else 0, int(w1 // L) + 2):
        for r in sim.truth.reps:
            if k > 0 and r.start_s < t_loop:
                continue  # not replayed by the loop
            s, e = r.start_s + k * L, r.end_s + k * L
            if s >= w0 - 0.05 and e <= w1:
                truth.append(
                    {
                        "start_s": round(s - off, 3),
                        "end_s": round(e - off, 3),
                        "min_deg": round(float(r.min_deg), 3),
                        "max_deg": round(float(r.max_deg), 3),
                        "rom_deg": round(float(r.max_deg - r.min_deg), 3),
                    }
                )
    truth.sort(key=lambda d: d["start_s"])
    matches = []
    for r, tr in zip(reps, truth):
        matches.append(
            {
                "truth_min_deg": tr["min_deg"],
                "truth_max_deg": tr["max_deg"],
                "truth_rom_deg": tr["rom_deg"],
                "min_error_deg": round(r.min_deg - tr["min_deg"], 3),
                "max_error_deg": round(r.max_deg - tr["max_deg"], 3),
                "rom_error_deg": round(r.rom_deg - tr["rom_deg"], 3),
            }
        )
    return off, truth, matches


def _resting(knee: Any, t_now: float, after_s: float = 0.2, before_s: float = 0.3) -> bool:
    """True if the simulated patient is at rest at true time ``t_now`` (s): no rep of
    ``knee`` (a KneeMotion, looped) from ``after_s`` before to ``before_s`` after it."""
    ts = knee.sim_time(t_now + np.arange(-after_s, before_s + 1e-9, 0.05))
    return not any(np.any((ts >= r.start_s) & (ts <= r.end_s)) for r in knee.session.truth.reps)


async def run_demo(
    *,
    seconds: float = 20.0,
    exercise: str = "squat",
    speed: float = 1.0,
    seed: int = 0,
    on_event: Callable[[ev.SessionEvent], Any] | None = None,
    settle_max_s: float = 12.0,
    record_to: str | None = None,
) -> DemoResult:
    """Stream ``seconds`` (session time) from two virtual sensors and compare with truth.

    The virtual sensors run on a simulated clock at ``speed`` × real time; the radio,
    bleak, the transport and the session run for real. After ``seconds`` (and the
    calibration), streaming stops at the next rest of the simulated patient (at most
    ``settle_max_s`` simulated seconds later), so no rep is cut by the end of the stream.
    """
    if exercise in REGION_EXERCISES:
        return await run_region_demo(exercise=exercise, seconds=seconds, speed=speed, seed=seed,
                                     on_event=on_event, record_to=record_to)
    fleet = await start_sensors(["thigh", "shank"], speed=speed, exercise=exercise, seed=seed)
    knee = fleet.knee(exercise, seed=seed)  # the KneeMotion the sensors play (its loop)
    try:
        session = Session(
            {"thigh": "sim:thigh", "shank": "sim:shank"},
            joint="knee",
            exercise=exercise,
            record_to=record_to,
        )
        trace: list[tuple[np.ndarray, np.ndarray]] = []

        def keep(e: ev.SessionEvent) -> None:  # the angle trace, for the comparison with truth
            if isinstance(e, ev.AngleUpdate) and e.final:
                trace.append((e.times, e.values_deg[:, 0]))

        session.on(keep, ev.AngleUpdate)
        if on_event is not None:
            session.on(on_event)
        async with session:
            # run on *session* time (the data processed), so a loaded machine or a fast
            # simulated clock changes nothing but the wall time it takes
            loop = asyncio.get_running_loop()
            wall_cap = loop.time() + 30.0 + 3.0 * (seconds + settle_max_s) / speed
            while session.last_t < seconds and loop.time() < wall_cap:
                await asyncio.sleep(0.02)
            while (
                session.calibration is None
                and session.last_t < seconds + settle_max_s
                and loop.time() < wall_cap
            ):
                await asyncio.sleep(0.02)
            # Stop the set between two reps, as a therapist would: streaming ends at a rest
            # of the simulated patient (>= 0.2 s after a rep, >= 0.3 s before the next one).
            # Judged on the simulation clock, not on the data processed so far: what the
            # transport has received but not yet processed is still processed after the
            # stop, so the data always end at rest, and no rep is cut by the end of the
            # stream (a rep cut half-way back would be counted by RepCounter.flush while
            # the truth's rep ends after the window).
            sim_end = fleet.clock.now() + settle_max_s
            while (
                not _resting(knee, fleet.clock.now())
                and fleet.clock.now() < sim_end
                and loop.time() < wall_cap
            ):
                await asyncio.sleep(0.02)
        t = np.concatenate([x[0] for x in trace]) if trace else np.empty(0)
        angle = np.concatenate([x[1] for x in trace]) if trace else np.empty(0)
        reps = session.final_reps()
        sim = knee
        if t.size > 10:
            off, truth, matches = compare_with_truth(t, angle, reps, sim)
        else:
            off, truth, matches = 0.0, [], []
        return DemoResult(
            exercise=exercise,
            seconds=session.last_t,
            reps=reps,
            truth=truth,
            matches=matches,
            offset_s=off,
            calibration=session.calibration,
            dropped_events=session.dropped_events,
            gaps=session.counts.get("DataGap", 0),
            counts=dict(session.counts),
        )
    finally:
        await fleet.close()


async def run_region_demo(
    *,
    exercise: str,
    seconds: float = 20.0,
    speed: float = 1.0,
    seed: int = 0,
    on_event: Callable[[ev.SessionEvent], Any] | None = None,
    record_to: str | None = None,
) -> DemoResult:
    """A body-region exercise (:data:`motiontrack.exercise.regions.REGION_EXERCISES`): the
    distal and proximal segments' virtual sensors play a simulated session
    (:func:`motiontrack.simulation.regions.simulate_region_session`, sensors at random
    orientations, gyroscope bias) through bleak into a :class:`Session` whose sensors are the
    placement map; the reps are compared with the simulator's joint angle."""
    reps = max(2, int(seconds // 5))
    sim = simulate_region_session(exercise, reps=reps, seed=seed, proximal=True, with_mag=True)
    # the placement map: segment -> virtual sensor (advertised names fit in 8 bytes)
    device = {seg: seg.replace("_", "")[:8] for seg in sim.sensors}
    motions = {
        device[seg]: SegmentMotion(fs=sim.fs, acc=imu.acc, gyr=imu.gyr, mag=imu.mag)
        for seg, imu in sim.sensors.items()
    }
    fleet = await start_motion_sensors(motions, speed=speed, sample_rate_hz=sim.fs)
    end_s = float(sim.t[-1]) - 0.5  # the session's data end at rest, after the last rep
    try:
        session = Session({seg: f"sim:{d}" for seg, d in device.items()}, exercise=exercise,
                          record_to=record_to)
        trace: list[tuple[np.ndarray, np.ndarray]] = []

        def keep(e: ev.SessionEvent) -> None:
            if isinstance(e, ev.AngleUpdate) and e.final:
                trace.append((e.times, e.values_deg[:, 0]))

        session.on(keep, ev.AngleUpdate)
        if on_event is not None:
            session.on(on_event)
        async with session:
            loop = asyncio.get_running_loop()
            wall_cap = loop.time() + 30.0 + 3.0 * end_s / speed
            while fleet.clock.now() < end_s and loop.time() < wall_cap:
                await asyncio.sleep(0.02)
        t = np.concatenate([x[0] for x in trace]) if trace else np.empty(0)
        angle = np.concatenate([x[1] for x in trace]) if trace else np.empty(0)
        final = session.final_reps()
        true_reps = []
        for a, b in sim.truth.reps:
            w = (sim.t >= a - 0.5) & (sim.t <= b + 0.5)
            x = sim.truth.joint_deg[w]
            true_reps.append(SimpleNamespace(start_s=a, end_s=b, min_deg=x.min(), max_deg=x.max()))
        truth_sim = SimpleNamespace(t=sim.t, fs=sim.fs, truth=SimpleNamespace(
            flexion_deg=sim.truth.joint_deg, reps=true_reps))
        if t.size > 10:
            off, truth, matches = compare_with_truth(t, angle, final, truth_sim)
        else:
            off, truth, matches = 0.0, [], []
        return DemoResult(
            exercise=exercise, seconds=session.last_t, reps=final, truth=truth, matches=matches,
            offset_s=off, calibration=None, dropped_events=session.dropped_events,
            gaps=session.counts.get("DataGap", 0), counts=dict(session.counts),
        )
    finally:
        await fleet.close()
