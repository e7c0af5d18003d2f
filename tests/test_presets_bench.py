"""``benchmarks/presets.py`` (issue 14 acceptance 1, one table of every exercise preset)
covers exactly the library's registry, and the variations it asks of the body-region
simulator are there: a whole-body turn, sensors placed along their segments, a closed chain
that moves the joint; and a still pose is one posture (a slow posture change ends it)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from motiontrack.exercise import exercise_names
from motiontrack.kinematics import detect_still
from motiontrack.quaternion import rotate
from motiontrack.simulation.regions import simulate_region_session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import presets  # noqa: E402

UP = np.array([0.0, 0.0, 1.0])


def test_the_table_covers_every_preset_of_the_registry_once():
    planned, skipped = set(presets.PLANS), set(presets.NOT_SIMULATED)
    assert not planned & skipped
    assert planned | skipped == set(exercise_names())
    assert sorted(presets.ORDER) == sorted(exercise_names())
    assert all(presets.MODES[p.kind] for p in presets.PLANS.values())
    # the standing knee bend's 6D row is a refusal by design, its 9D row is measured
    assert presets.refused("standing_knee_bend", "6D")
    assert not presets.refused("standing_knee_bend", "9D")
    assert not any(presets.refused(n, "6D") for n in presets.PLANS if n != "standing_knee_bend")


def _heading(q):
    """Heading of the segment's x axis, deg."""
    x = rotate(q, np.array([1.0, 0.0, 0.0]))
    return np.degrees(np.arctan2(x[:, 1], x[:, 0]))


def test_region_simulator_turns_the_body_without_changing_the_joint_angle():
    kw = dict(reps=4, seed=3, proximal=True, with_mag=False)
    a = simulate_region_session("trunk_flexion", **kw)
    b = simulate_region_session("trunk_flexion", body_turns=True, **kw)
    # the turn lengthens one pause; the reps and the joint angle stay what they were
    assert b.t.size > a.t.size and len(b.truth.reps) == len(a.truth.reps)
    qa, qb = a.sensors["pelvis"].q_earth_sensor, b.sensors["pelvis"].q_earth_sensor
    turn = np.ptp(np.unwrap(np.radians(_heading(qb)))) - np.ptp(np.unwrap(np.radians(_heading(qa))))
    assert 20.0 - 5.0 <= math.degrees(turn) <= 120.0 + 5.0
    assert np.isclose(b.truth.joint_deg.max(), a.truth.joint_deg.max())
    # a lying pose does not turn
    c = simulate_region_session("bridge", body_turns=True, **kw)
    assert c.t.size == simulate_region_session("bridge", **kw).t.size


def test_region_simulator_places_sensors_and_moves_a_closed_chain_joint():
    kw = dict(reps=3, seed=4, proximal=True, with_mag=False)
    a = simulate_region_session("bridge", **kw)
    assert np.allclose(a.sensors["pelvis"].pos_earth, 0.0)  # default: on the joint centre
    b = simulate_region_session("bridge", sensor_position=True, **kw)
    assert np.linalg.norm(b.sensors["pelvis"].pos_earth[0]) > 0.05  # on the sacrum
    c = simulate_region_session("bridge", closed_chain=True, **kw)
    rise = c.sensors["thigh"].pos_earth - a.sensors["thigh"].pos_earth  # the hips rise
    assert np.allclose(rise[:, :2], 0.0) and 0.09 < np.ptp(rise[:, 2]) < 0.22
    # the same seed without the options is the session it always was
    again = simulate_region_session("bridge", **kw)
    assert np.array_equal(a.sensors["thigh"].gyr, again.sensors["thigh"].gyr)


def test_a_slow_change_of_posture_ends_the_still_pose():
    """Standing still 2 s, then the knee settles by 4° over 1.5 s, slower than the gyroscope
    threshold, then still again: the still pose is the first posture only."""
    fs = 100.0
    t = np.arange(0, 6.0, 1 / fs)
    u = np.clip((t - 2.0) / 1.5, 0.0, 1.0)
    ang = np.radians(4.0) * u**3 * (10 - 15 * u + 6 * u**2)
    rate = np.gradient(ang, 1 / fs)
    assert np.max(np.abs(rate)) < 0.1  # below the still threshold
    g = 9.80665
    acc_p = np.tile([0.0, g, 0.0], (t.size, 1))
    acc_d = np.column_stack([g * np.sin(ang), g * np.cos(ang), np.zeros_like(t)])
    gyr_p = np.zeros((t.size, 3))
    gyr_d = np.column_stack([np.zeros_like(t), np.zeros_like(t), rate])
    whole = detect_still(gyr_p, gyr_d, fs=fs)
    assert whole == slice(0, t.size)  # the gyroscopes alone: one still period
    first = detect_still(gyr_p, gyr_d, fs=fs, acc_proximal=acc_p, acc_distal=acc_d)
    assert first.start == 0 and 2.0 * fs <= first.stop <= 2.9 * fs
    # the zero read there is the standing pose's, not halfway to the new posture
    assert np.degrees(ang[whole]).mean() > 1.5
    assert np.degrees(ang[first]).mean() < 0.25
    # a stream decides as the whole recording: every prefix either has not ended the still
    # pose yet or ends it at the same row
    for n in range(first.stop - 30, first.stop + 40):
        w = detect_still(gyr_p[:n], gyr_d[:n], fs=fs, acc_proximal=acc_p[:n], acc_distal=acc_d[:n])
        assert w == first or w == slice(0, n), n
