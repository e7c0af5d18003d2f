"""The generic hinge calibrated from motion alone (issue 14, acceptance 3 and its bad input):
a simulated hand-held chain of 4 segments and 3 hinges (hinge 0 vertical at the start), no
still period, no pose; truth from the simulator (``motiontrack.simulation.chain``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import motiontrack as mt
from motiontrack import quaternion as mq
from motiontrack.analysis import process_recording
from motiontrack.cli import main
from motiontrack.errors import CalibrationError
from motiontrack.exercise import ExerciseSettings
from motiontrack.kinematics import HingeCalibration, SegmentCalibration, calibrate_hinge_motion
from motiontrack.simulation.chain import simulate_hinge_chain
from motiontrack.simulation.imu import to_recording, write_long_csv

TOL_DEG = 2.0  # acceptance 3: hinge angle RMSE after 30 s of motion


def _rmse_after(t, angle, truth, skip_s=30.0):
    err = (angle - truth + 180.0) % 360.0 - 180.0
    late = t >= skip_s
    assert np.isfinite(err[late]).all()
    return float(np.sqrt(np.mean(err[late] ** 2)))


@pytest.fixture(scope="module")
def chain():
    return simulate_hinge_chain(5, duration_s=60.0, fs=100.0, motion="slow")


def _rate_earth(q, dt):
    """Angular rate (rad/s, earth frame) from consecutive orientations, central differences."""
    rel = mq.multiply(q[2:], mq.conjugate(q[:-2]))
    rv = mq.to_rotvec(rel) / (2.0 * dt)
    return np.vstack([rv[:1], rv, rv[-1:]])


def test_chain_is_rigid_body_physics(chain):
    """Specific force of a sensor at r on segment 1 = R^T (a_O + alpha x r + omega x (omega x r)
    + g): the tangential and centripetal terms are in; neighbours' relative rate is along the
    hinge; hinge 0 starts vertical."""
    dt = 1.0 / chain.fs
    s = chain.sensors["seg1"]
    q_seg = chain.truth.q_earth_segment[:, 1]
    r = mq.rotate(q_seg, np.broadcast_to(chain.truth.sensor_point[1], (q_seg.shape[0], 3)).copy())
    w = _rate_earth(q_seg, dt)
    alpha = np.gradient(w, dt, axis=0)
    a0 = np.gradient(np.gradient(chain.truth.origin_earth[:, 1], dt, axis=0), dt, axis=0)
    centripetal = np.cross(w, np.cross(w, r))
    a = a0 + np.cross(alpha, r) + centripetal + np.array([0.0, 0.0, 9.80665])
    acc_earth = mq.rotate(s.q_earth_sensor, s.acc)
    k = slice(200, -200)
    assert np.sqrt(np.mean((acc_earth[k] - a[k]) ** 2)) < 0.05  # m/s² (noise 0.015)
    assert np.sqrt(np.mean(np.sum(centripetal[k] ** 2, axis=1))) > 0.01
    p = chain.sensors["seg0"]
    wr = mq.rotate(s.q_earth_sensor, s.gyr - s.gyr_bias_series) - mq.rotate(
        p.q_earth_sensor, p.gyr - p.gyr_bias_series
    )
    off = np.linalg.norm(np.cross(wr, chain.truth.axis_earth[:, 0]), axis=1)
    assert np.sqrt(np.mean(off**2)) < 0.03 * np.sqrt(np.mean(np.sum(wr**2, axis=1)))
    assert abs(chain.truth.axis_earth[0, 0, 2]) > 0.999


def test_analyze_cli_hinge_needs_no_pose(chain, tmp_path, capsys):
    """``analyze --joint hinge`` on the chain's CSV, no pose flag, no still start: the vertical
    hinge (6D) within 2° RMSE after 30 s, reported as calibrated from motion."""
    path = tmp_path / "chain.csv"
    write_long_csv(path, chain.t, chain.sensors)
    out = tmp_path / "angles.csv"
    args = ["analyze", str(path), "--joint", "hinge", "--proximal", "seg0", "--distal", "seg1"]
    assert main([*args, "--json", "--angles-out", str(out)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["calibration"]["pose"] == "motion"
    assert any("0° at 0.00 s" in w for w in d["warnings"])
    got = np.genfromtxt(out, delimiter=",", names=True)
    truth = np.interp(got["time_s"], chain.t, chain.expected_angle_deg(0))
    assert _rmse_after(got["time_s"], got["flexion_deg"], truth) <= TOL_DEG


def test_hinge_9d_zero_and_sign(chain):
    """9D, joint 1; a given zero time and the flipped sign are what the angle reports."""
    rec = to_recording(chain.t, chain.sensors)
    st = ExerciseSettings(magnetometer=True, zero_at=45.0, hinge_sign=-1)
    res = process_recording(rec, joint="hinge", proximal="seg1", distal="seg2", settings=st)
    k0 = int(np.searchsorted(chain.t, 45.0))
    truth = np.interp(res.t, chain.t, chain.expected_angle_deg(1, zero_index=k0, sign=-1))
    assert _rmse_after(res.t, res.primary_deg, truth) <= TOL_DEG
    assert isinstance(res.calibration, HingeCalibration)
    again = SegmentCalibration.from_json(res.calibration.to_json())  # a snapshot round trip
    assert isinstance(again, HingeCalibration)
    assert again.start_angle_deg == pytest.approx(res.calibration.start_angle_deg)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"second_axis_deg": 20.0}, "not a hinge"),
        ({"hinge_scale": 0.05}, "too little hinge motion"),
    ],
)
def test_bad_input_is_refused(kw, message):
    """A 2-DoF joint, a joint that hardly moves: a clear error, never a silent angle."""
    sim = simulate_hinge_chain(3, n_segments=2, duration_s=30.0, fs=100.0, motion="slow", **kw)
    p, d = sim.sensors["seg0"], sim.sensors["seg1"]
    qp, qd = mt.fuse(p.acc, p.gyr, fs=100.0), mt.fuse(d.acc, d.gyr, fs=100.0)
    with pytest.raises(CalibrationError, match=message):
        calibrate_hinge_motion(
            gyr_proximal=p.gyr, gyr_distal=d.gyr, q_proximal=qp, q_distal=qd, fs=100.0
        )


@pytest.mark.parametrize(
    ("kw", "weak"),
    [
        ({}, False),
        ({"motion": "brisk", "gyr_bias_dps": 2.0}, False),
        ({"second_axis_deg": 3.0}, True),  # 2-DoF, below the refusal: warned
        ({"hinge_scale": 0.2}, True),  # a joint that barely moves: warned
    ],
)
def test_confidence_is_the_hinge_calibrations_own_evidence(kw, weak):
    """Good hinges are confident (the norm-constraint axes agree across the two halves of the
    motion); a joint with a second axis or hardly any range is flagged below 0.5, with why."""
    kw = {"motion": "slow"} | kw
    sim = simulate_hinge_chain(3, n_segments=2, duration_s=30.0, fs=100.0, **kw)
    p, d = sim.sensors["seg0"], sim.sensors["seg1"]
    qp, qd = mt.fuse(p.acc, p.gyr, fs=100.0), mt.fuse(d.acc, d.gyr, fs=100.0)
    cal = calibrate_hinge_motion(
        gyr_proximal=p.gyr, gyr_distal=d.gyr, q_proximal=qp, q_distal=qd, fs=100.0, warn=False
    )
    if weak:
        assert cal.confidence < 0.5 and cal.notes
    else:
        assert cal.confidence >= 0.8, cal.notes
