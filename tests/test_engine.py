"""The exercise engine (issue 12): one engine for live and offline; its output does not depend
on how the samples are cut into blocks or how the sensors' blocks interleave; its state can be
saved and restored (a session resumed after an app restart continues counting)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from motiontrack import events as ev
from motiontrack.errors import ConfigurationError
from motiontrack.exercise import ExerciseEngine, ExerciseSettings
from motiontrack.simulation import simulate_knee_session


@pytest.fixture(scope="module")
def squat():
    return simulate_knee_session(
        "squat", reps=6, seed=3, drop_rate=0.01, max_mount_deg=180.0, start_pose="standing"
    )


def _blocks(s, size, order=("thigh", "shank")):
    for k in range(0, s.t.size, size):
        for n in order:
            imu, sl = s.sensors[n], slice(k, k + size)
            v = imu.valid[sl]
            if v.any():
                yield n, s.t[sl][v], imu.acc[sl][v], imu.gyr[sl][v]


def _run(s, size, order=("thigh", "shank"), engine=None):
    eng = engine or ExerciseEngine({"thigh": s.fs, "shank": s.fs}, exercise="squat")
    out = []
    for n, t, a, g in _blocks(s, size, order):
        out += eng.feed(n, t, a, g)
    return eng, out + eng.finish()


def _table(reps):
    return np.array([[r.start_s, r.peak_s, r.end_s, r.min_deg, r.max_deg, r.rom_deg] for r in reps])


def test_any_split_and_interleaving_gives_the_same_reps(squat):
    a, _ = _run(squat, 5)
    b, _ = _run(squat, 37, order=("shank", "thigh"))
    c, _ = _run(squat, squat.t.size)  # one block per sensor, the shank's first
    assert len(a.final_reps()) == len(squat.truth.reps)
    np.testing.assert_array_equal(_table(a.final_reps()), _table(b.final_reps()))
    np.testing.assert_array_equal(_table(a.final_reps()), _table(c.final_reps()))
    assert a.calibration_attempts == b.calibration_attempts == c.calibration_attempts


def test_snapshot_and_restore_continue_counting(squat):
    whole, _ = _run(squat, 10)
    eng = ExerciseEngine({"thigh": squat.fs, "shank": squat.fs}, exercise="squat")
    blocks = list(_blocks(squat, 10))
    half = len(blocks) // 2
    for n, t, a, g in blocks[:half]:
        eng.feed(n, t, a, g)
    assert eng.phase == "counting" and 0 < len(eng.reps) < len(squat.truth.reps)
    text = eng.snapshot()
    assert json.loads(text)["format"] == "motiontrack.engine_state"
    old = {k: v for k, v in json.loads(text).items() if k != "kind"}
    old["version"] = 2  # a state saved before body regions (no "kind") is still read
    for state in (text, json.dumps(old)):
        resumed = ExerciseEngine({"thigh": squat.fs, "shank": squat.fs}, exercise="squat")
        resumed.restore(state)  # as after an app restart: a new engine, the saved state
        for n, t, a, g in blocks[half:]:
            resumed.feed(n, t, a, g)
        resumed.finish()
        np.testing.assert_array_equal(_table(resumed.final_reps()), _table(whole.final_reps()))
        assert [r.index for r in resumed.reps] == list(range(len(whole.reps)))


def test_snapshot_of_the_generic_hinge_continues_counting():
    """``joint="hinge"`` (calibrated from motion): its angle filter and the samples left of its
    settling hold are saved, so the resumed angles are the uninterrupted ones."""
    squat = simulate_knee_session("squat", reps=6, seed=3, max_mount_deg=180.0, start_pose="standing")

    def make():
        return ExerciseEngine({"thigh": squat.fs, "shank": squat.fs}, joint="hinge",
                              proximal="thigh", distal="shank")
    whole, _ = _run(squat, 10, engine=make())
    blocks = list(_blocks(squat, 10))
    eng, cut = make(), 0
    while eng.phase != "counting":  # the hinge calibrates from motion: late in this session
        eng.feed(*blocks[cut])
        cut += 1
    for n, t, a, g in blocks[cut : cut + (len(blocks) - cut) // 2]:  # then half the rest
        eng.feed(n, t, a, g)
    cut += (len(blocks) - cut) // 2
    assert 0 < len(eng.reps) < len(whole.reps)
    resumed = make()
    resumed.restore(eng.snapshot())
    for n, t, a, g in blocks[cut:]:
        resumed.feed(n, t, a, g)
    resumed.finish()
    assert len(whole.final_reps()) == len(squat.truth.reps)
    np.testing.assert_allclose(_table(resumed.final_reps()), _table(whole.final_reps()), atol=1e-9)


def test_snapshot_of_one_sensor_continues_counting(squat):
    """One sensor's dominant rotation (``segment=``): where counting started and the IMU-mode
    rep counter with its learnt axis are saved."""
    def make():
        return ExerciseEngine({"shank": squat.fs}, segment="shank", exercise="squat")
    blocks = [b for b in _blocks(squat, 10) if b[0] == "shank"]
    whole = make()
    for b in blocks:
        whole.feed(*b)
    whole.finish()
    assert len(whole.reps) == len(squat.truth.reps)
    half = len(blocks) // 2
    eng = make()
    for b in blocks[:half]:
        eng.feed(*b)
    assert eng.phase == "counting" and 0 < len(eng.reps) < len(whole.reps)
    resumed = make()
    resumed.restore(eng.snapshot())
    assert resumed.snapshot() == eng.snapshot()  # everything saved is restored
    for b in blocks[half:]:
        resumed.feed(*b)
    resumed.finish()
    np.testing.assert_allclose(_table(resumed.reps), _table(whole.reps), atol=1e-9)
    with pytest.raises(ConfigurationError, match="sensors"):
        ExerciseEngine({"thigh": squat.fs, "shank": squat.fs}).restore(eng.snapshot())


def test_snapshot_refuses_what_it_cannot_resume(squat):
    eng = ExerciseEngine({"thigh": squat.fs, "shank": squat.fs}, exercise="squat")
    with pytest.raises(ConfigurationError, match="calibrated"):
        eng.snapshot()  # still calibrating: a resumed session calibrates again
    done, _ = _run(squat, 50)
    other = ExerciseEngine({"femur": squat.fs, "tibia": squat.fs}, exercise="squat")
    with pytest.raises(ConfigurationError, match="sensors"):
        other.restore(done.snapshot())
    with pytest.raises(ConfigurationError, match="engine state"):
        other.restore(json.dumps({"format": "something else"}))


def test_gaps_are_gaps_not_zeros(squat):
    """A 1.5 s hole in the shank: no angle in it (the rows are NaN, not interpolated or
    zero-filled), the hole is reported once, and samples around it keep their angles."""
    s = simulate_knee_session("squat", reps=5, seed=4, max_mount_deg=180.0, start_pose="standing")
    hole = (s.t > s.truth.reps[2].start_s) & (s.t < s.truth.reps[2].start_s + 1.5)
    s.sensors["shank"].valid[hole] = False
    _, out = _run(s, 8)
    gaps = [e for e in out if isinstance(e, ev.DataGap) and not e.bridged]
    assert len(gaps) == 1 and gaps[0].sensor == "shank" and gaps[0].missing_samples >= 140
    ups = [e for e in out if isinstance(e, ev.AngleUpdate) and e.final]
    t = np.concatenate([u.times for u in ups])
    a = np.concatenate([u.values_deg[:, 0] for u in ups])
    inside = (t > gaps[0].start_s + 0.3) & (t < gaps[0].end_s - 0.3)
    assert inside.sum() > 80 and np.isnan(a[inside]).all()
    assert np.isfinite(a[(t > gaps[0].end_s + 0.5) & (t < gaps[0].end_s + 2)]).all()


def test_settings_are_checked_once():
    with pytest.raises(ConfigurationError, match="within -20..170"):
        ExerciseSettings(pose_flexion_deg=400.0)
    with pytest.raises(ConfigurationError, match="streaming filter"):
        ExerciseEngine({"a": 100.0, "b": 100.0}, settings=ExerciseSettings(fusion_method="kalman"))
    with pytest.raises(ConfigurationError, match="unknown exercise"):
        ExerciseEngine({"a": 100.0, "b": 100.0}, exercise="yoga")


def test_a_long_wait_for_the_still_pose_keeps_memory_bounded():
    """Two minutes standing still before the protocol goes on (the therapist explains the
    exercise): the calibration keeps at most ``max_calibration_s`` of rows, reports the rows it
    gave up as unknown angles, and calibrates and counts as usual."""
    s = simulate_knee_session("squat", reps=4, seed=5, max_mount_deg=90.0, start_pose="standing")
    n0 = int(120 * s.fs)
    rng = np.random.default_rng(0)
    still = {n: (s.sensors[n].acc[0] + rng.normal(0, 0.02, (n0, 3)),
                 s.sensors[n].gyr[0] + rng.normal(0, 0.005, (n0, 3))) for n in ("thigh", "shank")}
    eng = ExerciseEngine({"thigh": s.fs, "shank": s.fs}, exercise="squat")
    out = []
    t_pre = np.arange(n0) / s.fs
    for k in range(0, n0, 50):
        for n in ("thigh", "shank"):
            out += eng.feed(n, t_pre[k : k + 50], still[n][0][k : k + 50], still[n][1][k : k + 50])
        held = sum(len(p) for p in eng.calibrator.parts["t"])
        assert held <= (ExerciseSettings().max_calibration_s + 1.0) * s.fs
    for n, t, a, g in _blocks(s, 20):
        out += eng.feed(n, t + 120.0, a, g)
    out += eng.finish()
    assert eng.phase == "counting" and len(eng.final_reps()) == len(s.truth.reps)
    assert eng.pose == "standing"
    ups = [e for e in out if isinstance(e, ev.AngleUpdate) and e.final]
    t = np.concatenate([u.times for u in ups])
    assert t[0] == 0.0 and np.all(np.diff(t) > 0)  # every row once, in order, none lost


def _clock_run(clock, rate, blocks, rng, floor_of, start=0):
    """Blocks of 5 samples at 100 Hz from device time 0, arriving ``floor_of(t)`` s after the
    true host time ``rate * t`` (plus a 0-8 ms exponential latency); the mapped host times."""
    out = []
    for k in range(start, blocks):
        t = (5 * k + np.arange(5)) / 100.0
        arrival = rate * t[-1] + floor_of(t[-1]) + rng.exponential(0.003)
        out.append(clock.to_host(t, np.full(5, arrival)))
    return np.concatenate(out) if out else np.empty(0)


@pytest.mark.parametrize("rate", [1.0, 1 / 8])  # real time; a simulation at 8x
def test_host_clock_never_steps_back_and_follows_the_latency_floor(rate):
    """A refit moves the fitted line (here the latency floor steps 25 ms up at 12 s of device
    time, down at 30 s; at 8x the first fits take a device second for a host second): the
    mapping of every sample still moves forward in host time (a step back broke the pairing
    of two sensors: a row with no partner data cut the rep under way) and ends on the line."""
    from motiontrack.exercise.timebase import HostClock

    def floor_of(t):
        return 0.005 + (0.025 if 12.0 <= t < 30.0 else 0.0)

    clock, rng = HostClock(), np.random.default_rng(1)
    h = _clock_run(clock, rate, 1200, rng, floor_of)  # 60 s of device time
    assert np.all(np.diff(h) >= 0.0)
    t = np.arange(h.size) / 100.0
    late = t > 55.0  # the fit has followed the floor back down: on the lower envelope
    assert np.max(np.abs(h[late] - (rate * t[late] + 0.005))) < 0.004


def test_host_clock_state_resumes_mid_slew():
    from motiontrack.exercise.timebase import HostClock

    def floor_of(t):
        return 0.005 + (0.04 if t >= 10.0 else 0.0)

    a, rng = HostClock(), np.random.default_rng(2)
    _clock_run(a, 1.0, 203, rng, floor_of)  # 10.15 s: a refit (and its slew) just happened
    assert a.state()["slew"] is not None
    b = HostClock.from_state(json.loads(json.dumps(a.state())))
    rest_a = _clock_run(a, 1.0, 400, np.random.default_rng(3), floor_of, start=203)
    rest_b = _clock_run(b, 1.0, 400, np.random.default_rng(3), floor_of, start=203)
    assert np.array_equal(rest_a, rest_b)
