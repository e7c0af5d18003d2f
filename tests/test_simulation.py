"""Physics of the motion simulator: gravity, gyro integration, joint truth, CSV, determinism."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from motiontrack.conventions import GRAVITY, to_scipy
from motiontrack.errors import ConfigurationError, InputError
from motiontrack.quaternion import angle_between, multiply, rotate
from motiontrack.simulation import (
    EXERCISES,
    ImuErrorModel,
    earth_field,
    simulate_knee_session,
    synthesize_imu,
)

from conftest import assert_rotation_close

CLEAN = dict(noise=False, gyr_bias=False)


@pytest.fixture(scope="module", params=EXERCISES)
def clean_session(request):
    return simulate_knee_session(request.param, reps=4, seed=3, **CLEAN)


def _integrate(q0: np.ndarray, gyr: np.ndarray, dt: float) -> np.ndarray:
    """Plain-python reference: q[k] = q[k-1] ⊗ exp(gyr[k] dt) (rotation vector in sensor frame);
    the steps from scipy, the products written out (Hamilton, w x y z) on Python floats."""
    steps = np.roll(Rotation.from_rotvec(gyr[1:] * dt).as_quat(), 1, axis=1).tolist()
    w, x, y, z = (float(v) for v in q0)
    out = [(w, x, y, z)]
    for b0, b1, b2, b3 in steps:
        w, x, y, z = (w * b0 - x * b1 - y * b2 - z * b3, w * b1 + x * b0 + y * b3 - z * b2,
                      w * b2 - x * b3 + y * b0 + z * b1, w * b3 + x * b2 - y * b1 + z * b0)
        out.append((w, x, y, z))
    return np.array(out)


def test_gyro_integration_reproduces_true_orientation(clean_session):
    s = clean_session
    for imu in s.sensors.values():
        q = _integrate(imu.q_earth_sensor[0], imu.gyr, 1.0 / s.fs)
        # exact up to rounding: the gyro is the discrete body rate of the trajectory
        assert_rotation_close(q, imu.q_earth_sensor, atol_rad=1e-8)


def test_gravity_at_rest_points_up_with_standard_magnitude():
    s = simulate_knee_session("squat", reps=2, seed=5, body_turns=False, **CLEAN)
    still = s.t < 1.5
    for imu in s.sensors.values():
        acc = imu.acc[still]
        np.testing.assert_allclose(np.linalg.norm(acc, axis=1), GRAVITY, atol=1e-6)
        up = rotate(imu.q_earth_sensor[still], acc)
        np.testing.assert_allclose(up, np.tile([0, 0, GRAVITY], (still.sum(), 1)), atol=1e-6)
        np.testing.assert_allclose(imu.gyr[still], 0.0, atol=1e-9)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_accelerometer_is_specific_force_of_the_sensor_trajectory(exercise):
    """R·acc - g equals the second derivative of the sensor's position (independent check)."""
    s = simulate_knee_session(exercise, reps=3, seed=3, soft_tissue=False, **CLEAN)
    dt = 1.0 / s.fs
    for imu in s.sensors.values():
        a_earth = rotate(imu.q_earth_sensor, imu.acc) - np.array([0, 0, GRAVITY])
        p = imu.pos_earth
        a_fd = (p[2:] - 2 * p[1:-1] + p[:-2]) / dt**2
        err = np.abs(a_earth[1:-1] - a_fd)
        # 100 Hz central differences of the smooth (no soft tissue) trajectory: O(dt²) error
        assert np.max(err) < 0.02, np.max(err)
        # the movement is really there: linear acceleration well above the tolerance
        assert np.max(np.linalg.norm(a_fd, axis=1)) > 0.3


def test_flexion_truth_is_the_relative_rotation_of_the_segments(clean_session):
    s = clean_session
    tr = s.truth
    q_ts = multiply(tr.q_earth_thigh * np.array([1, -1, -1, -1]), tr.q_earth_shank)
    # Grood & Suntay for x anterior, y superior, z right: R = Rz(-flex) Rx(-abd) Ry(rot)
    zxy = Rotation.from_quat(to_scipy(q_ts)).as_euler("ZXY", degrees=True)
    np.testing.assert_allclose(-zxy[:, 0], tr.flexion_deg, atol=1e-9)
    np.testing.assert_allclose(-zxy[:, 1], tr.abduction_deg, atol=1e-9)
    np.testing.assert_allclose(zxy[:, 2], tr.rotation_deg, atol=1e-9)
    # the off-axis angles are small (a few degrees) and coupled to flexion
    assert np.max(np.abs(tr.abduction_deg)) < 4.0
    assert np.max(np.abs(tr.rotation_deg)) < 6.0


def test_knee_flexion_moves_the_foot_backwards_and_joints_stay_connected():
    s = simulate_knee_session("seated_knee_extension", reps=2, seed=2, **CLEAN)
    tr = s.truth
    thigh_len = np.linalg.norm(tr.positions["knee"] - tr.positions["hip"], axis=1)
    shank_len = np.linalg.norm(tr.positions["ankle"] - tr.positions["knee"], axis=1)
    np.testing.assert_allclose(thigh_len, tr.parameters["thigh_length_m"], atol=1e-12)
    np.testing.assert_allclose(shank_len, tr.parameters["shank_length_m"], atol=1e-12)
    # seated, flexed ~90°: the ankle is below the knee; extended: the foot is in front, level
    flexed = np.argmax(tr.flexion_deg)
    ext = np.argmin(tr.flexion_deg)
    drop = tr.positions["knee"][flexed, 2] - tr.positions["ankle"][flexed, 2]
    assert drop > 0.9 * tr.parameters["shank_length_m"]
    assert abs(tr.positions["knee"][ext, 2] - tr.positions["ankle"][ext, 2]) < 0.1


def test_hinge_axes_are_the_functional_axis_of_the_sensors_angular_rates():
    s = simulate_knee_session("heel_slide", reps=3, seed=4, soft_tissue=False, **CLEAN)
    tr = s.truth
    z = np.array([0.0, 0.0, 1.0])
    thigh, shank = s.sensors["thigh"], s.sensors["shank"]
    # the anatomical flexion axis (Grood & Suntay e1) is the thigh z axis, exactly
    np.testing.assert_allclose(
        rotate(thigh.q_earth_sensor, tr.flexion_axis_thigh_sensor), rotate(tr.q_earth_thigh, z), atol=1e-9
    )
    # the functional axis: the relative angular velocity, seen from either sensor, lies along it
    w_t = rotate(thigh.q_earth_sensor, thigh.gyr)
    w_s = rotate(shank.q_earth_sensor, shank.gyr)
    rel = w_s - w_t
    moving = np.linalg.norm(rel, axis=1) > 0.3
    for imu, axis in ((thigh, tr.hinge_axis_thigh_sensor), (shank, tr.hinge_axis_shank_sensor)):
        a_earth = rotate(imu.q_earth_sensor[moving], axis)
        cosang = np.abs(np.sum(rel[moving] * a_earth, axis=1)) / np.linalg.norm(rel[moving], axis=1)
        off = np.degrees(np.arccos(np.clip(cosang, -1, 1)))
        assert np.median(off) < 1.5 and np.max(off) < 4.0
        # it is the least-squares axis: no other direction fits the rates better
        w_sensor = np.einsum("nij,nj->ni", np.linalg.inv(_matrices(imu.q_earth_sensor[moving])), rel[moving])
        best = np.linalg.eigh(w_sensor.T @ w_sensor)[1][:, -1]
        assert np.degrees(np.arccos(min(1.0, abs(best @ axis)))) < 0.05
    # and it differs from the anatomical axis by the coupled ab/adduction and rotation only
    off_anat = np.degrees(np.arccos(tr.hinge_axis_thigh_sensor @ tr.flexion_axis_thigh_sensor))
    assert 0.2 < off_anat < 4.0


def _matrices(q):
    from motiontrack.quaternion import to_matrix

    return to_matrix(q)


def test_magnetometer_reads_the_earth_field():
    s = simulate_knee_session("squat", reps=2, seed=6, **CLEAN)
    b = earth_field()
    for imu in s.sensors.values():
        np.testing.assert_allclose(np.linalg.norm(imu.mag, axis=1), np.linalg.norm(b), atol=1e-9)
        np.testing.assert_allclose(rotate(imu.q_earth_sensor, imu.mag), np.tile(b, (len(s.t), 1)), atol=1e-9)
    # dip: 65° below the horizon, so 155° from "up" (the accelerometer at rest)
    acc0, mag0 = s.sensors["thigh"].acc[0], s.sensors["thigh"].mag[0]
    ang = np.degrees(np.arccos(acc0 @ mag0 / np.linalg.norm(acc0) / np.linalg.norm(mag0)))
    assert abs(ang - 155.0) < 0.01


def test_reps_truth_matches_the_flexion_trace():
    s = simulate_knee_session("squat", reps=8, seed=7, partial_reps=[2], fast_reps=[5], **CLEAN)
    tr = s.truth
    assert len(tr.reps) == 8
    full = [r.rom_deg for i, r in enumerate(tr.reps) if i not in (2,)]
    assert tr.reps[2].partial and tr.reps[2].rom_deg < 0.65 * np.median(full)
    assert tr.reps[5].fast and tr.reps[5].end_s - tr.reps[5].start_s < 2.0
    for r in tr.reps:
        m = (s.t >= r.start_s) & (s.t <= r.end_s)
        assert tr.flexion_deg[m].max() == pytest.approx(r.max_deg, abs=0.05)
        assert tr.flexion_deg[m].min() == pytest.approx(r.min_deg, abs=0.05)
        k = np.argmin(np.abs(s.t - r.peak_s))
        assert tr.flexion_deg[k] == pytest.approx(r.max_deg, abs=0.05)
    # reps do not overlap and start after the still period
    starts = np.array([r.start_s for r in tr.reps])
    ends = np.array([r.end_s for r in tr.reps])
    assert starts[0] >= 2.0 and np.all(starts[1:] > ends[:-1])


def test_seated_extension_peak_is_the_minimum_flexion():
    s = simulate_knee_session("seated_knee_extension", reps=3, seed=8, **CLEAN)
    for r in s.truth.reps:
        k = np.argmin(np.abs(s.t - r.peak_s))
        assert s.truth.flexion_deg[k] == pytest.approx(r.min_deg, abs=0.05)
        assert r.max_deg > 75.0 and r.min_deg < 20.0


def test_straight_leg_raise_counts_on_hip_flexion():
    s = simulate_knee_session("straight_leg_raise", reps=3, seed=9, **CLEAN)
    assert s.truth.primary == "hip_flexion"
    assert np.ptp(s.truth.flexion_deg) < 5.0
    assert all(r.max_deg - r.min_deg > 25.0 for r in s.truth.reps)


def test_mounting_and_body_turns():
    s = simulate_knee_session("squat", reps=12, seed=10, max_mount_deg=20.0, **CLEAN)
    for imu in s.sensors.values():
        assert np.degrees(angle_between(imu.q_segment_sensor, [1, 0, 0, 0])) <= 20.0
    heading = s.truth.heading_deg
    assert np.ptp(heading) > 15.0  # at least one 20-120° turn happened
    s2 = simulate_knee_session("squat", reps=12, seed=10, body_turns=False, **CLEAN)
    assert np.ptp(s2.truth.heading_deg) < 1e-9


def test_noise_bias_and_drift_statistics():
    errors = ImuErrorModel(gyr_bias_walk=0.0)
    s = simulate_knee_session("squat", reps=1, seed=11, still_start_s=30.0, errors=errors, body_turns=False)
    imu = s.sensors["thigh"]
    still = s.t < 29.0
    np.testing.assert_allclose(imu.gyr[still].mean(axis=0), imu.gyr_bias, atol=4 * errors.gyr_noise / np.sqrt(still.sum()))
    assert np.std(imu.gyr[still], axis=0) == pytest.approx(np.full(3, errors.gyr_noise), rel=0.1)
    assert np.std(imu.acc[still], axis=0) == pytest.approx(np.full(3, errors.acc_noise), rel=0.1)
    assert np.any(np.abs(imu.gyr_bias) > 1e-4)
    drift = simulate_knee_session("squat", reps=1, seed=11, still_start_s=60.0).sensors["thigh"]
    assert np.linalg.norm(drift.gyr_bias_series[-1] - drift.gyr_bias_series[0]) > 0


def test_dropped_samples_and_saturation():
    s = simulate_knee_session("squat", reps=3, seed=12, drop_rate=0.05)
    for imu in s.sensors.values():
        lost = ~imu.valid
        assert 0.03 < lost.mean() < 0.08
        assert np.all(np.isnan(imu.acc[lost])) and np.all(np.isfinite(imu.acc[~lost]))
        assert np.all(np.isnan(imu.gyr[lost])) and np.all(np.isnan(imu.mag[lost]))
    sat = simulate_knee_session(
        "seated_knee_extension", reps=3, seed=12, fast_reps=3, saturation=True,
        errors=ImuErrorModel(gyr_range=np.radians(60.0)),
    )
    g = sat.sensors["shank"]
    assert g.saturated.any() and np.max(np.abs(g.gyr)) <= np.radians(60.0) + 1e-12


def test_magnetic_disturbance_is_flagged():
    s = simulate_knee_session("squat", reps=3, seed=13, mag_disturbance=True, **CLEAN)
    imu = s.sensors["shank"]
    b = np.linalg.norm(earth_field())
    dev = np.abs(np.linalg.norm(imu.mag, axis=1) - b)
    assert imu.mag_disturbed.any()
    assert np.all(dev[~imu.mag_disturbed] < 1.0 + 1e-9)


def test_seeded_and_deterministic():
    a = simulate_knee_session("heel_slide", reps=3, seed=21)
    b = simulate_knee_session("heel_slide", reps=3, seed=21)
    c = simulate_knee_session("heel_slide", reps=3, seed=22)
    for name in a.sensors:
        np.testing.assert_array_equal(a.sensors[name].acc, b.sensors[name].acc)
        np.testing.assert_array_equal(a.sensors[name].gyr, b.sensors[name].gyr)
    assert not np.array_equal(a.sensors["thigh"].gyr[:100], c.sensors["thigh"].gyr[:100])


def test_csv_round_trip(tmp_path):
    s = simulate_knee_session("squat", reps=2, seed=14, drop_rate=0.02)
    path = tmp_path / "s.csv"
    s.to_csv(path)
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["time_s", "sensor", "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z",
                       "mag_x", "mag_y", "mag_z"]
    body = rows[1:]
    times = np.array([float(r[0]) for r in body])
    assert np.all(np.diff(times) >= 0)
    for name, imu in s.sensors.items():
        mine = np.array([[float(x) for x in r[2:]] for r in body if r[1] == name])
        t_mine = np.array([float(r[0]) for r in body if r[1] == name])
        assert len(mine) == imu.valid.sum()
        np.testing.assert_allclose(t_mine, s.t[imu.valid], atol=1e-6)
        ref = np.hstack([imu.acc, imu.gyr, imu.mag])[imu.valid]
        np.testing.assert_allclose(mine, ref, rtol=1e-8, atol=1e-12)


def test_synthesize_imu_from_any_trajectory():
    fs = 200.0
    t = np.arange(0, 5, 1 / fs)
    w = 1.3  # rad/s about z, on a 0.5 m radius: centripetal w² r towards the centre
    q = np.stack([np.cos(w * t / 2), 0 * t, 0 * t, np.sin(w * t / 2)], axis=1)
    r = 0.5
    pos = np.stack([r * np.cos(w * t), r * np.sin(w * t), 0 * t], axis=1)
    imu = synthesize_imu(t, q, pos, seed=0, noise=False, gyr_bias=False, with_mag=False)
    np.testing.assert_allclose(imu.gyr, np.tile([0, 0, w], (t.size, 1)), atol=1e-9)
    # sensor x points outward (it rotates with the radius): specific force -w² r on x, +g on z
    np.testing.assert_allclose(imu.acc[1:-1], np.tile([-w * w * r, 0, GRAVITY], (t.size - 2, 1)), atol=1e-3)
    assert imu.mag is None
    with pytest.raises(InputError):
        synthesize_imu(t, q[:-1], seed=0)


def test_bad_options_raise_configuration_error():
    with pytest.raises(ConfigurationError, match="unknown exercise"):
        simulate_knee_session("lunge")
    with pytest.raises(ConfigurationError):
        simulate_knee_session("squat", reps=3, partial_reps=5)
    with pytest.raises(ConfigurationError):
        simulate_knee_session("squat", fs=0.0)
    with pytest.raises(ConfigurationError):
        ImuErrorModel(gyr_noise=-1.0)


@pytest.mark.parametrize("side", ["right", "left"])
def test_truth_agrees_with_the_kinematics_joint_table(side):
    """Cross-check with the kinematics team's Grood & Suntay decomposition (same sign table)."""
    kin = pytest.importorskip("motiontrack.kinematics")
    s = simulate_knee_session("heel_slide", reps=3, seed=2, side=side, **CLEAN)
    ja = kin.joint_angles(s.truth.q_earth_thigh, s.truth.q_earth_shank, joint="knee", mode="raw", side=side)
    np.testing.assert_allclose(ja.flexion_deg, s.truth.flexion_deg, atol=1e-9)
    np.testing.assert_allclose(ja.abduction_deg, s.truth.abduction_deg, atol=1e-9)
    np.testing.assert_allclose(ja.rotation_deg, s.truth.rotation_deg, atol=1e-9)


def test_left_leg_sensors_sit_laterally():
    s = simulate_knee_session("squat", reps=2, seed=3, side="left", **CLEAN)
    tr = s.truth
    # lateral = -z of the segment frame on the left leg
    for name, origin, q_seg in (("thigh", "hip", tr.q_earth_thigh), ("shank", "knee", tr.q_earth_shank)):
        rel = s.sensors[name].pos_earth - tr.positions[origin]
        z_seg = rotate(q_seg, np.array([0.0, 0.0, 1.0]))
        assert np.all(np.sum(rel * z_seg, axis=1) < -0.03)


def test_explicit_mounting_and_fidgeting_start():
    upside_down = [0.0, 0.0, 0.0, 1.0]  # 180° about z: the shank sensor's y points down the leg
    s = simulate_knee_session("squat", reps=2, seed=4, mounting={"shank": upside_down}, fidget_start=True,
                              still_start_s=3.0, **CLEAN)
    np.testing.assert_allclose(s.sensors["shank"].q_segment_sensor, upside_down)
    # standing: the upside-down shank sensor reads gravity on its -y axis
    assert s.sensors["shank"].acc[0, 1] < -9.0
    start = s.t < 3.0
    assert np.ptp(s.truth.flexion_deg[start]) > 4.0  # the "still" start was not still
    assert np.ptp(s.truth.heading_deg[start]) > 3.0
    with pytest.raises(ConfigurationError):
        simulate_knee_session("squat", mounting={"hip": upside_down})


def test_same_seed_same_session_regardless_of_new_options():
    a = simulate_knee_session("squat", reps=3, seed=5)
    b = simulate_knee_session("squat", reps=3, seed=5, fidget_start=False, mounting=None)
    np.testing.assert_array_equal(a.sensors["shank"].acc, b.sensors["shank"].acc)


def test_csv_reads_back_through_motiontrack_io(tmp_path):
    io = pytest.importorskip("motiontrack.io")
    s = simulate_knee_session("seated_knee_extension", reps=2, seed=15, drop_rate=0.03)
    path = tmp_path / "s.csv"
    s.to_csv(path)
    rec = io.read_csv(path)
    direct = s.to_recording()
    assert list(rec.sensors) == list(direct.sensors) == ["thigh", "shank"]
    for name, imu in s.sensors.items():
        a, b = rec.sensors[name], direct.sensors[name]
        np.testing.assert_allclose(a.t, s.t[imu.valid], atol=1e-6)
        np.testing.assert_allclose(a.gyr, b.gyr, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(a.mag, b.mag, rtol=1e-8, atol=1e-9)
        assert a.fs == pytest.approx(s.fs) and b.fs == pytest.approx(s.fs)


def test_closed_chains_heel_on_the_bed_and_feet_on_the_floor():
    hs = simulate_knee_session("heel_slide", reps=2, seed=16, **CLEAN)
    ankle_z = hs.truth.positions["ankle"][:, 2]
    hip_z = hs.truth.positions["hip"][:, 2]
    # the heel slides on the bed: its height changes only through the small knee ab/adduction
    assert np.ptp(ankle_z) < 0.01 and np.ptp(hip_z) < 1e-12
    knee_rise = hs.truth.positions["knee"][:, 2] - hip_z
    assert knee_rise.max() > 0.25  # the knee rises as it flexes
    sq = simulate_knee_session("squat", reps=2, seed=16, **CLEAN)
    assert np.ptp(sq.truth.positions["ankle"], axis=0).max() < 1e-12
    hip_drop = sq.truth.positions["hip"][0, 2] - sq.truth.positions["hip"][:, 2].min()
    assert hip_drop > 0.2  # the hips go down in a squat


@settings(max_examples=25, deadline=None)
@given(
    exercise=st.sampled_from(EXERCISES),
    reps=st.integers(0, 3),
    still_start_s=st.floats(0.0, 3.0),
    pause_s=st.floats(0.0, 2.0),
    hold_s=st.one_of(st.none(), st.floats(0.0, 2.0)),
    max_mount_deg=st.floats(0.0, 180.0),
    side=st.sampled_from(["right", "left"]),
    seed=st.integers(0, 2**31),
)
def test_any_option_combination_gives_consistent_sessions(exercise, reps, still_start_s, pause_s, hold_s,
                                                         max_mount_deg, side, seed):
    s = simulate_knee_session(exercise, reps=reps, seed=seed, still_start_s=still_start_s, pause_s=pause_s,
                              hold_s=hold_s, max_mount_deg=max_mount_deg, side=side, **CLEAN)
    n = s.t.size
    assert len(s.truth.reps) == reps and s.truth.flexion_deg.shape == (n,)
    for imu in s.sensors.values():
        assert imu.acc.shape == imu.gyr.shape == imu.mag.shape == (n, 3)
        assert np.all(np.isfinite(imu.acc)) and np.all(np.isfinite(imu.gyr))
        assert np.degrees(angle_between(imu.q_segment_sensor, [1, 0, 0, 0])) <= max_mount_deg + 1e-6
        # one step of discrete integration reproduces the next orientation everywhere
        q_next = multiply(imu.q_earth_sensor[:-1], _from_rotvec(imu.gyr[1:] / s.fs))
        assert_rotation_close(q_next, imu.q_earth_sensor[1:], atol_rad=1e-9)
    assert np.all(s.truth.flexion_deg > -2.5) and np.all(s.truth.flexion_deg < 126.0)


def _from_rotvec(r):
    from motiontrack.quaternion import from_rotvec

    return from_rotvec(r)


# ---------------------------------------------------------------- standing start (session protocol)


@pytest.fixture(scope="module", params=EXERCISES)
def standing_start(request):
    return simulate_knee_session(request.param, reps=3, seed=11, start_pose="standing", **CLEAN)


def _still_standing(s):
    return s.t < s.options["still_start_s"] - 1e-9


def test_standing_start_pose_is_exactly_straight_and_vertical(standing_start):
    """The calibration pose of the protocol: knee at exactly 0°, both long axes vertical up to a
    common lean (≤ 3°) and the hip's ab/adduction (≤ 4°); at rest, so each accelerometer reads
    gravity (9.81 m/s²) along its segment's long axis, as the still-pose calibration assumes."""
    s = standing_start
    tr = s.truth
    st = _still_standing(s)
    assert st.sum() >= 150 and s.options["start_pose"] == "standing"
    np.testing.assert_array_equal(tr.flexion_deg[st], 0.0)
    y = np.array([0.0, 1.0, 0.0])
    for name, q_seg in (("thigh", tr.q_earth_thigh), ("shank", tr.q_earth_shank)):
        imu = s.sensors[name]
        np.testing.assert_allclose(np.linalg.norm(imu.acc[st], axis=1), GRAVITY, atol=1e-6)
        # only the slow whole-body sway (±1° about the vertical, <= 0.08 Hz) turns the leg
        assert np.max(np.linalg.norm(imu.gyr[st], axis=1)) < 0.01
        # gravity in the segment frame (sensor reading rotated by the mounting) is along +y
        acc_seg = rotate(imu.q_segment_sensor, imu.acc[st])
        tilt = np.degrees(np.arccos(acc_seg @ y / np.linalg.norm(acc_seg, axis=1)))
        assert np.max(tilt) < 5.5, (name, np.max(tilt))
        up_tilt = np.degrees(np.arccos(rotate(q_seg[st], y)[:, 2]))
        np.testing.assert_allclose(up_tilt, tilt, atol=0.01)  # the sway's tiny centripetal part
    # the lean is common: thigh and shank long axes differ only by the knee's small
    # ab/adduction at 0° flexion (≤ 1°), not by a flexion
    yt = rotate(tr.q_earth_thigh[st], y)
    ys = rotate(tr.q_earth_shank[st], y)
    between = np.degrees(np.arccos(np.clip(np.sum(yt * ys, axis=1), -1, 1)))
    assert np.max(between) < 1.6


def test_standing_start_transition_is_continuous_and_integrates(standing_start):
    """Through the transition (sitting/lying down, settling into a squat stance) the truth is
    continuous and the gyroscopes integrate to the true orientation; it is not a rep."""
    s = standing_start
    tr = s.truth
    dt = 1.0 / s.fs
    for imu in s.sensors.values():
        q = _integrate(imu.q_earth_sensor[0], imu.gyr, dt)
        assert_rotation_close(q, imu.q_earth_sensor, atol_rad=1e-8)
    # 100 Hz steps of a human movement: no jumps in angles or positions
    assert np.max(np.abs(np.diff(tr.flexion_deg))) < 2.0
    assert np.max(np.abs(np.diff(tr.hip_flexion_deg))) < 2.0
    for p in tr.positions.values():
        assert np.max(np.linalg.norm(np.diff(p, axis=0), axis=1)) < 0.02
    # the segments stay connected
    np.testing.assert_allclose(
        np.linalg.norm(tr.positions["knee"] - tr.positions["hip"], axis=1), tr.parameters["thigh_length_m"],
        atol=1e-12,
    )
    # the first rep starts >= 1 s after the transition, from the exercise's rest posture
    first = tr.reps[0]
    k = np.searchsorted(s.t, first.start_s) - 1
    assert first.start_s >= s.options["still_start_s"] + 0.4 + 1.0
    assert tr.flexion_deg[k] == pytest.approx(
        tr.parameters["rest_deg"] if tr.primary == "flexion" else tr.flexion_deg[k], abs=1e-6
    )
    assert len(tr.reps) == 3


@pytest.mark.parametrize("exercise", EXERCISES)
def test_standing_start_accelerometer_is_the_specific_force(exercise):
    s = simulate_knee_session(exercise, reps=1, seed=3, soft_tissue=False, start_pose="standing", **CLEAN)
    dt = 1.0 / s.fs
    for imu in s.sensors.values():
        a_earth = rotate(imu.q_earth_sensor, imu.acc) - np.array([0, 0, GRAVITY])
        p = imu.pos_earth
        a_fd = (p[2:] - 2 * p[1:-1] + p[:-2]) / dt**2
        # O(dt²) error of the 100 Hz differences; the squat's 0.4-0.6 s settle is the fastest
        assert np.max(np.abs(a_earth[1:-1] - a_fd)) < 0.04


def test_standing_start_reaches_the_exercise_posture():
    """Seated: thigh horizontal, shank hanging, knee at the rest angle; supine: whole leg
    horizontal on the bed; squat: the stance's 0-5°. The hip ends at the seat/bed."""
    y = np.array([0.0, 1.0, 0.0])
    for exercise, thigh_up, shank_up in (
        ("seated_knee_extension", 0.0, 1.0),
        ("heel_slide", 0.0, 0.0),
        ("straight_leg_raise", 0.0, 0.0),
        ("squat", 1.0, 1.0),
    ):
        s = simulate_knee_session(exercise, reps=2, seed=4, start_pose="standing", **CLEAN)
        tr = s.truth
        k = np.searchsorted(s.t, tr.reps[0].start_s) - 1  # still in the exercise posture
        for q, want in ((tr.q_earth_thigh, thigh_up), (tr.q_earth_shank, shank_up)):
            assert rotate(q[k], y)[2] == pytest.approx(want, abs=0.2), exercise
        if exercise != "squat":
            np.testing.assert_allclose(tr.positions["hip"][k], [0.0, 0.0, 0.5], atol=1e-9)
            # standing first: the hip was ~ a leg length above the floor
            assert tr.positions["hip"][0, 2] > 0.75
        # the transition changes the posture only between the standing pose and the first rep
        stand = _still_standing(s)
        assert np.ptp(tr.flexion_deg[stand]) == 0.0


def test_standing_start_keeps_the_seed_and_validates():
    a = simulate_knee_session("heel_slide", reps=3, seed=7, **CLEAN)
    b = simulate_knee_session("heel_slide", reps=3, seed=7, start_pose="standing", **CLEAN)
    assert a.options["start_pose"] is None and b.options["start_pose"] == "standing"
    # same subject, straps and reps: only the start differs
    for n in ("thigh", "shank"):
        np.testing.assert_array_equal(a.sensors[n].q_segment_sensor, b.sensors[n].q_segment_sensor)
    assert [r.rom_deg for r in a.truth.reps] == pytest.approx([r.rom_deg for r in b.truth.reps])
    with pytest.raises(ConfigurationError, match="start_pose"):
        simulate_knee_session("squat", start_pose="kneeling")
    # a fidgeting standing start flexes the knee (it cannot hyperextend), then stands still
    f = simulate_knee_session("squat", reps=1, seed=7, start_pose="standing", fidget_start=True,
                              still_start_s=3.0, **CLEAN)
    st = _still_standing(f)
    assert f.truth.flexion_deg[st].min() >= 0.0 and f.truth.flexion_deg[st].max() > 4.0
