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
from .exercise import ExerciseSettings
from .exercise.posture import THIGH_STILL
from .exercise.regions import REGION_EXERCISES
from .session import Session
from .simulation.regions import simulate_region_session
from .virtual.fleet import start_motion_sensors, start_sensors
from .virtual.motion import SegmentMotion

__all__ = ["DemoResult", "compare_with_truth", "run_demo", "run_region_demo", "uses_magnetometer"]

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
    calibrated_s: float | None = None  # session time of the calibration, s
    timed_out: bool = False  # the wall-time cap stopped it before its end: incomplete
    #: "9D" when the session asked for the magnetometers and every sensor streamed them (the
    #: exercises of :func:`uses_magnetometer`), else "6D"
    fusion: str = "6D"

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
            "calibrated_s": None if self.calibrated_s is None else round(self.calibrated_s, 3),
            "timed_out": self.timed_out,
            "fusion": self.fusion,
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


def _resting(knee: Any, t_now: float, after_s: float = 0.4, before_s: float = 0.3) -> bool:
    """True if the simulated patient is at rest at true time ``t_now`` (s): no rep of
    ``knee`` (a KneeMotion, looped) from ``after_s`` before to ``before_s`` after it."""
    ts = knee.sim_time(t_now + np.arange(-after_s, before_s + 1e-9, 0.05))
    return not any(np.any((ts >= r.start_s) & (ts <= r.end_s)) for r in knee.session.truth.reps)


def stop_time(knee: Any, true_time: Callable[[float], float], t_min: float, settle_max_s: float) -> float:
    """The session time (s) the demo ends at: the first rest of the simulated patient at or
    after ``t_min`` (at most ``settle_max_s`` later), as a therapist ends a set between two
    reps. ``true_time`` maps session time to the simulation clock. A function of the data
    alone: the same cold or warm, on a fast or a loaded machine."""
    step = 0.05  # on a fixed grid of session time: nearby t_min give the same end
    for t in np.arange(math.ceil(t_min / step - 1e-9), math.floor((t_min + settle_max_s) / step) + 1) * step:
        if _resting(knee, true_time(float(t))):
            return float(t)
    return float(t_min + settle_max_s)


#: Session time (s) the demo waits for the calibration at most (the session protocol's
#: calibration needs the standing pose and a few reps: 10-25 s).
CALIBRATION_MAX_S = 45.0
#: Wall time (s) the demo waits at most beyond 3 × its session time (a safety net).
WALL_CAP_S = 600.0
#: Session time (s) processed past the end before stopping: a rep is reported a little
#: after its end (the counter confirms the return to rest).
_CONFIRM_S = 2.0


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
    bleak, the transport and the session run for real. The demo ends at the first rest of
    the simulated patient (at most ``settle_max_s`` later) after ``seconds`` of session time
    and after the calibration (which waits up to :data:`CALIBRATION_MAX_S`), so no rep is
    cut. Everything is judged on *session* time, the data's own clock: the length, the reps
    and the ground truth are the same whether the kernels were compiled (a first run) or
    loaded, and on a busy machine. Events and reps after the end (processing that lagged
    behind the sensors keeps running while the session closes) are not reported; a rep is
    before the end if its turning point (``peak_s``) is.
    """
    if exercise in REGION_EXERCISES:
        return await run_region_demo(exercise=exercise, seconds=seconds, speed=speed, seed=seed,
                                     on_event=on_event, record_to=record_to)
    # an exercise whose thigh stays still (a standing knee bend) is measured in 9D: the
    # virtual sensors then have magnetometers and the session asks them to stream it
    nine_d = uses_magnetometer(exercise)
    fleet = await start_sensors(["thigh", "shank"], speed=speed, exercise=exercise, seed=seed,
                                with_mag=nine_d)
    knee = fleet.knee(exercise, seed=seed)  # the KneeMotion the sensors play (its loop)
    end: list[float] = []  # the end, once known (session time, s)
    timed_out: list[float] = []  # session time processed when the wall-time cap stopped it
    try:
        session = Session(
            {"thigh": "sim:thigh", "shank": "sim:shank"},
            joint="knee",
            exercise=exercise,
            record_to=record_to,
            settings=ExerciseSettings(magnetometer=nine_d),
        )
        trace: list[tuple[np.ndarray, np.ndarray]] = []
        calibrated_at: list[float] = []

        def keep(e: ev.SessionEvent) -> None:  # the angle trace, for the comparison with truth
            if isinstance(e, ev.AngleUpdate) and e.final:
                trace.append((e.times, e.values_deg[:, 0]))
            elif isinstance(e, ev.CalibrationDone):
                calibrated_at.append(e.t)

        def show(e: ev.SessionEvent) -> None:  # the caller's view, up to the end
            if on_event is not None and _before_end(e, end):
                on_event(e)

        session.on(keep, ev.AngleUpdate, ev.CalibrationDone)
        session.on(show)
        async with session:
            loop = asyncio.get_running_loop()
            # a safety net only: a first run on a busy machine compiles for minutes
            wall_cap = loop.time() + WALL_CAP_S + 3.0 * (max(seconds, CALIBRATION_MAX_S) + settle_max_s) / speed

            async def until(done: Callable[[], bool]) -> None:
                while not done() and loop.time() < wall_cap:
                    await asyncio.sleep(0.02)
                if not done():
                    timed_out.append(session.last_t)

            await until(lambda: session.last_t >= seconds
                        and (bool(calibrated_at) or session.last_t >= CALIBRATION_MAX_S))
            t_min = max(seconds, calibrated_at[0] if calibrated_at else CALIBRATION_MAX_S)
            end.append(stop_time(knee, fleet["thigh"].stream_true_time, t_min, settle_max_s))
            await until(lambda: session.last_t >= end[0] + _CONFIRM_S)
        t_end = end[0] if end else session.last_t
        t = np.concatenate([x[0] for x in trace]) if trace else np.empty(0)
        angle = np.concatenate([x[1] for x in trace]) if trace else np.empty(0)
        angle = angle[t <= t_end]
        t = t[t <= t_end]
        # a rep is the demo's by its turning point: the end is a rest of the simulated
        # patient, so a rep's peak is well inside or well outside (the counter may start a rep
        # while the truth rests yet: by its start, the rep after the end was counted whenever
        # the processing, lagging behind, finished it before the session closed)
        reps = [r for r in session.final_reps() if r.peak_s < t_end]
        if t.size > 10:
            off, truth, matches = compare_with_truth(t, angle, reps, knee)
        else:
            off, truth, matches = 0.0, [], []
        return DemoResult(
            exercise=exercise,
            seconds=t_end,
            reps=reps,
            truth=truth,
            matches=matches,
            offset_s=off,
            calibration=session.calibration,
            dropped_events=session.dropped_events,
            gaps=session.counts.get("DataGap", 0),
            counts=dict(session.counts),
            calibrated_s=calibrated_at[0] if calibrated_at else None,
            timed_out=bool(timed_out),
            fusion=_fusion(session, nine_d),
        )
    finally:
        await fleet.close()


def _fusion(session: Session, asked: bool) -> str:
    """"9D" if the magnetometers were asked for and every sensor of the session sent them."""
    streams = session.engine.streams.values() if session.engine is not None else ()
    return "9D" if asked and streams and all(st.mag_seen for st in streams) else "6D"


def uses_magnetometer(exercise: str) -> bool:
    """Whether the knee demo of ``exercise`` runs in 9D (its virtual sensors stream their
    magnetometers, the session fuses them): the exercises whose thigh stays still
    (:data:`motiontrack.exercise.posture.THIGH_STILL`), refused in 6D."""
    return exercise in THIGH_STILL


def _before_end(e: ev.SessionEvent, end: list[float]) -> bool:
    """Whether ``e`` belongs to the demo: all events until its end is known, then those up
    to it (a rep by its turning point, as :func:`run_demo` counts; the session's end always)."""
    if not end or isinstance(e, ev.SessionEnded):
        return True
    if isinstance(e, ev.RepCompleted):
        return e.rep.peak_s < end[0]
    if isinstance(e, ev.AngleUpdate):
        return float(e.times[0]) <= end[0] if e.times.size else False
    return e.t <= end[0]


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
        # on the simulation clock from its start (origin 0), as the stop below is judged
        device[seg]: SegmentMotion(fs=sim.fs, acc=imu.acc, gyr=imu.gyr, mag=imu.mag, origin=[0.0])
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
