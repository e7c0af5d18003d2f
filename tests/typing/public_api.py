"""A typing sample: user code touching every public name of motiontrack.

``tests/test_typing.py`` runs ``mypy --strict`` and basedpyright (pyright's strict rules) on
this file and on ``examples/``. It is type-checked, never run: importing it runs nothing.
``assert_type`` pins the return types a user relies on (both checkers verify them).
Keep it in step with ``motiontrack.__all__`` (the test checks that every name appears).
"""

from __future__ import annotations

import asyncio
from typing import assert_type

import numpy as np
import numpy.typing as npt

import motiontrack as mt
from motiontrack import events as ev
from motiontrack.analysis import AnalysisResult
from motiontrack.fusion import FusionResult
from motiontrack.kinematics import JointAngles
from motiontrack.protocol.profiles import get_profile
from motiontrack.reps import RepResult, SetSummary
from motiontrack.virtual import VirtualFleet, start_sensors

Array = npt.NDArray[np.float64]


def errors_and_modules() -> list[type[mt.MotionTrackError]]:
    """The exception classes and the eager submodules."""
    assert_type(mt.__version__, str)
    assert issubclass(mt.errors.InputError, mt.MotionTrackError)
    mt.conventions.__doc__
    mt.quaternion.__doc__
    return [
        mt.CalibrationError,
        mt.ConfigurationError,
        mt.InputError,
        mt.MotionTrackError,
        mt.ProtocolError,
        mt.TransportError,
    ]


def lazy_modules() -> list[object]:
    """The lazily imported submodules are reachable as attributes."""
    return [
        mt.calibration,
        mt.events,
        mt.exercise,
        mt.fusion,
        mt.io,
        mt.kinematics,
        mt.protocol,
        mt.recording,
        mt.reps,
        mt.session,
        mt.simulation,
        mt.transport,
        mt.virtual,
    ]


def layers(acc_t: Array, gyr_t: Array, acc_s: Array, gyr_s: Array) -> list[mt.Rep]:
    """README "The layers can also be used one by one"."""
    q_thigh = mt.fuse(acc_t, gyr_t, fs=100.0)
    assert_type(q_thigh, Array)
    q_shank = mt.fuse(acc_s, gyr_s, fs=100.0, method="madgwick", beta=0.05)
    full = mt.fuse(acc_t, gyr_t, fs=100.0, full_output=True)
    assert_type(full, FusionResult)
    assert_type(full.quaternion, Array)
    cal = mt.calibrate_joint(
        acc_proximal=acc_t,
        gyr_proximal=gyr_t,
        acc_distal=acc_s,
        gyr_distal=gyr_s,
        q_proximal=q_thigh,
        q_distal=q_shank,
        fs=100.0,
        still=slice(0, 200),
        pose="standing",
    )
    assert_type(cal, mt.SegmentCalibration)
    knee = mt.joint_angles(q_thigh, q_shank, joint="knee", calibration=cal, fs=100.0)
    assert_type(knee, JointAngles)
    flexion: Array = knee.flexion_deg
    reps = mt.count_reps(flexion, fs=100.0, preset="squat")
    assert_type(reps, list[mt.Rep])
    result = mt.count_reps(flexion, fs=100.0, full_output=True)
    assert_type(result, RepResult)
    est = mt.JointAngleEstimator(cal, joint="knee", fs=100.0)
    assert_type(est.update(q_thigh[0], q_shank[0]), Array)
    counter = mt.RepCounter(fs=100.0, preset="squat")
    streamed: list[mt.Rep] = counter.update(flexion)
    summary = mt.summarize(streamed)
    assert_type(summary, SetSummary)
    return reps


def offline(path: str) -> float:
    """README "Offline: ten lines"."""
    result = mt.analyze(path, joint="knee", proximal="thigh", distal="shank")
    assert_type(result, AnalysisResult)
    rom = result.rom()
    best: float | None = rom["rom_deg"]
    for rep in result.reps:
        print(f"{rep.start_s:6.1f}s {rep.min_deg:5.1f}° -> {rep.max_deg:5.1f}° ROM {rep.rom_deg:5.1f}°")
    for gap in result.gaps:
        print("gap:", gap)
    table = mt.analyze_many([path], workers=1, quiet=True)
    print(table)
    sim = mt.simulate_knee_session("squat", reps=3, seed=1)
    print(len(sim.truth.reps))
    return best or 0.0


async def live() -> int:
    """README "Live: a dozen lines", with the settings, callbacks and a resume snapshot."""
    fleet = await start_sensors(["thigh", "shank"], exercise="squat")
    assert_type(fleet, VirtualFleet)
    sensors = {"thigh": "sim:thigh", "shank": "sim:shank"}
    settings = mt.ExerciseSettings()
    count = 0
    async with mt.Session(sensors, joint="knee", exercise="squat", settings=settings) as session:

        def show(event: ev.SessionEvent) -> None:
            print(event.t)

        session.on(show, ev.AngleUpdate)
        async for event in session.events():
            if isinstance(event, ev.CalibrationPrompt):
                print(event.message)
            elif isinstance(event, ev.RepCompleted):
                assert_type(event.rep, mt.Rep)
                count = event.count
                print(f"rep {event.count}: ROM {event.rep.rom_deg:.0f}°")
            if event.t > 30:
                break
        state: str = session.snapshot()
        final = session.final_reps()
        assert_type(final, list[mt.Rep])
    async with mt.Session(sensors, resume=state):
        pass
    await fleet.close()
    return count


def sync_session() -> list[mt.Rep]:
    """``SyncSession`` takes the same arguments as ``Session``, by name."""
    with mt.SyncSession({"thigh": "sim:thigh", "shank": "sim:shank"}, joint="knee") as session:
        for event in session.events(timeout=30.0):
            if isinstance(event, ev.SessionEnded):
                break
        return session.final_reps()


def engine(times: Array, acc: Array, gyr: Array) -> list[ev.SessionEvent]:
    """The one session engine, fed directly."""
    eng = mt.ExerciseEngine({"thigh": 100.0, "shank": 100.0}, joint="knee")
    out: list[ev.SessionEvent] = []
    for name in ("thigh", "shank"):
        out += eng.feed(name, times, acc, gyr)
    out += eng.finish()
    return out


async def bluetooth() -> None:
    """Scanning and opening sensors."""
    found = await mt.scan(timeout=1.0)
    for r in found:
        print(r.address, r.name)
    async with mt.open_sensors(["sim:thigh"]) as group:
        async for item in group.events():
            print(item)
            break


def every_event(event: ev.SessionEvent) -> str:
    """Each event class of ``motiontrack.events``, its fields typed."""
    if isinstance(event, ev.SessionStarted):
        return ",".join(event.sensors) + (event.joint or "") + event.source
    if isinstance(event, ev.CalibrationPrompt):
        return f"{event.step} {event.message} {event.duration_s:.1f}"
    if isinstance(event, ev.CalibrationDone):
        assert_type(event.calibration, mt.SegmentCalibration)
        return f"{event.pose} {event.confidence:.2f}"
    if isinstance(event, ev.CalibrationFailed):
        return event.reason if event.will_retry else ""
    if isinstance(event, ev.AngleUpdate):
        assert_type(event.angle_deg, float)
        return f"{event.names[0]} {event.values_deg.shape} {event.times.shape} {event.final}"
    if isinstance(event, ev.OrientationUpdate):
        return str({name: q.shape for name, q in event.q.items()})
    if isinstance(event, ev.RepCompleted):
        assert_type(event.count, int)
        return f"{event.rep.index} {event.rep.rom_deg:.1f} {event.rep.flags!r}"
    if isinstance(event, ev.RepInterrupted):
        assert_type(event.rep, mt.Rep)
        return f"{event.rep.start_s}-{event.rep.end_s} {event.interrupted}"
    if isinstance(event, ev.TemplateRepCompleted):
        return f"{event.rep.label} {event.count}"
    if isinstance(event, ev.SensorDisconnected):
        return event.sensor + event.detail
    if isinstance(event, ev.SensorReconnected):
        return f"{event.sensor} {event.attempts}"
    if isinstance(event, ev.DataGap):
        return f"{event.sensor} {event.start_s}-{event.end_s} {event.missing_samples} {event.cause} {event.bridged}"
    if isinstance(event, ev.EventsDropped):
        return f"{event.count}/{event.total}"
    if isinstance(event, ev.SessionWarning):
        return event.code + event.message
    if isinstance(event, ev.SessionEnded):
        return f"{event.rep_count} {event.summary}"
    return str(ev.event_to_dict(event))


def filters_and_profiles(acc: Array, gyr: Array, mag: Array) -> Array:
    """README "What is inside": the streaming filters, the presets, a sensor profile."""
    q = mt.fusion.VQF(fs=100.0).update(acc, gyr, mag)
    for f in (mt.fusion.Madgwick(fs=100.0), mt.fusion.Mahony(fs=100.0),
              mt.fusion.Complementary(fs=100.0), mt.fusion.EKF(fs=100.0)):
        q = f.update(acc, gyr)
    assert_type(q, Array)
    print(sorted(mt.reps.PRESETS), mt.fusion.methods(), get_profile("witmotion").name)
    return mt.fuse(acc, gyr, mag, fs=100.0, method="vqf-offline")


def templates(path: str, flexion: Array) -> int:
    """Exercises taught by demonstration (``motiontrack.template_analysis``)."""
    template = mt.template_analysis.create_template(path, span=(2.0, 8.0), reps=2, joint="knee")
    assert_type(template, mt.Template)
    counter = mt.TemplateCounter(template, fs=100.0)
    found = counter.update(angle_deg=flexion)
    result = mt.template_analysis.analyze_templates(path, [template])
    print(result)
    return len(found)


def calibration_and_warmup() -> float:
    cal = mt.SensorCalibration(sensor="thigh")
    print(cal)
    return mt.warmup()


def main() -> None:
    asyncio.run(live())
