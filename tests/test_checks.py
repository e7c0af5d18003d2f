"""Input checks (issue 13): one implementation, the same message in the API and the CLI.

Wrong units (acc in g/mg, gyr in deg/s, mag in nT/gauss, time in ms/µs) are caught by
:mod:`motiontrack.checks`, and ``motiontrack analyze`` on a file with such data prints the
message :func:`motiontrack.fuse` raises for the same arrays (after ``<file>: sensor
'<name>': ``). Real-unit simulated sessions of every exercise always pass.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import motiontrack as mt
from motiontrack import checks
from motiontrack.cli import main
from motiontrack.errors import InputError
from motiontrack.io import read_csv, write_samples_csv
from motiontrack.recording import RecordingWriter, read_recording
from motiontrack.simulation import simulate_knee_session
from motiontrack.simulation.knee import EXERCISES

G = 9.80665

#: (name, what it does to one sensor's samples, the words the message must hold)
WRONG_UNITS = [
    ("acc_g", lambda s: setattr(s, "acc", s.acc / G), "look like g; multiply by 9.80665"),
    ("acc_mg", lambda s: setattr(s, "acc", s.acc / G * 1000), "look like mg"),
    ("gyr_deg", lambda s: setattr(s, "gyr", np.degrees(s.gyr)), "look like deg/s"),
    ("mag_nT", lambda s: setattr(s, "mag", s.mag * 1000), "look like nT; divide by 1000"),
    ("mag_gauss", lambda s: setattr(s, "mag", s.mag / 100), "look like gauss; multiply by 100"),
    ("t_ms", lambda s: setattr(s, "t", s.t * 1000), "look like milliseconds; divide by 1000"),
    ("t_us", lambda s: setattr(s, "t", s.t * 1e6), "look like microseconds"),
]


@pytest.fixture(scope="module")
def session_rec():
    return simulate_knee_session("seated_knee_extension", reps=3, seed=0).to_recording()


def _cli(args):
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        rc = main(args)
    return rc, err.getvalue().strip()


def _api_message(s):
    with pytest.raises(InputError) as info:
        mt.fuse(s.acc, s.gyr, s.mag, timestamps=s.t)
    return str(info.value)


@pytest.mark.parametrize(("case", "spoil", "words"), WRONG_UNITS, ids=[w[0] for w in WRONG_UNITS])
@pytest.mark.parametrize("fmt", ["csv", "mtrec"])
def test_api_and_cli_give_the_same_message(tmp_path, session_rec, case, spoil, words, fmt):
    rec = copy.deepcopy(session_rec)
    for s in rec.sensors.values():
        spoil(s)
    api = _api_message(rec.sensors["thigh"])
    assert words in api
    path = tmp_path / f"{case}.{fmt}"
    if fmt == "csv":
        write_samples_csv(path, rec)
    else:
        with RecordingWriter(path) as w:
            for name, s in rec.sensors.items():
                w.add_sensor(name, fs=0.0)  # no declared rate: the timestamps alone must tell
                w.write_samples(name, s.t, s.acc, s.gyr, s.mag)
    rc, err = _cli(["analyze", str(path)])
    assert rc != 0
    assert err == f"motiontrack analyze: error: {path}: sensor 'thigh': {api}"
    assert len(err.splitlines()) == 1


def test_declared_rate_catches_milliseconds_in_a_recording(tmp_path, session_rec):
    s = session_rec.sensors["thigh"]
    path = tmp_path / "ms.mtrec"
    with RecordingWriter(path) as w:
        w.add_sensor("thigh", fs=100.0)
        w.write_samples("thigh", s.t * 1000, s.acc, s.gyr, s.mag)
    with pytest.raises(InputError, match=r"expected 1/fs = 0.01 s: the data look like milli"):
        read_recording(path)
    with pytest.raises(InputError, match="milliseconds"):
        mt.fuse(s.acc, s.gyr, timestamps=s.t * 1000, fs=100.0)


@pytest.mark.parametrize("exercise", EXERCISES)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("fast_reps", [0, 5])
def test_real_units_of_every_exercise_pass(exercise, seed, fast_reps):
    ses = simulate_knee_session(exercise, seed=seed, fast_reps=fast_reps)
    for s in ses.sensors.values():
        rep = checks.check_imu(
            s.acc, s.gyr, s.mag, timestamps=ses.t, fs=ses.fs, require_increasing=True
        )
        assert rep is not None and rep.backwards == rep.repeats == 0
        checks.check_imu(s.acc, s.gyr, s.mag, timestamps=ses.t)  # rate from the timestamps


def test_the_simulated_session_analyses_through_the_checks(tmp_path, session_rec):
    path = tmp_path / "ok.csv"
    write_samples_csv(path, session_rec)
    rc, err = _cli(["analyze", str(path)])
    assert rc == 0, err


HYP = settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@HYP
@given(
    exercise=st.sampled_from(EXERCISES),
    seed=st.integers(0, 10_000),
    fast=st.booleans(),
    # a faster patient: angular rates scale. Slower than the simulation is not drawn: a
    # seated thigh then moves too little to tell deg/s (motiontrack.checks says so)
    pace=st.floats(1.0, 2.5),
    sensor=st.sampled_from(["thigh", "shank"]),
)
def test_wrong_unit_factor_always_caught_valid_never(exercise, seed, fast, pace, sensor):
    ses = simulate_knee_session(exercise, reps=4, seed=seed, fast_reps=2 if fast else 0)
    s = ses.sensors[sensor]
    acc, gyr, mag, t = s.acc, s.gyr * pace, s.mag, ses.t
    checks.check_imu(acc, gyr, mag, timestamps=t, require_increasing=True)  # valid: passes
    checks.check_timestamps(t, ses.fs)
    for bad in (acc / G, acc / G * 1000):
        with pytest.raises(InputError, match="accelerometer"):
            checks.check_accelerometer(bad)
    with pytest.raises(InputError, match="deg/s"):
        checks.check_gyroscope(gyr * 180 / math.pi)
    for bad in (mag * 1000, mag / 100, mag * 10, mag * 1e-6):
        with pytest.raises(InputError, match="magnetometer"):
            checks.check_magnetometer(bad)
    for factor in (1e3, 1e6, 1e9):
        with pytest.raises(InputError, match="timestamps"):
            checks.check_timestamps(t * factor)
        with pytest.raises(InputError, match="timestamps"):
            checks.check_timestamps(t * factor, ses.fs)


@pytest.mark.data
def test_real_recordings_in_si_units_pass(broad_dir, pt_dir):
    """The fastest valid data at hand (BROAD's hand-held fast rotations reach 11.4 rad/s
    over their fastest tenth) and every unit of the physical-therapy sessions pass. In
    deg/s, every session is caught by at least one of its 5 units: a unit on a segment
    that barely moves is not (about half of them; the module docstring says why)."""
    for f in sorted(broad_dir.glob("*.npz")):
        d = np.load(f)
        fs = float(d["fs_hz"])
        t = np.arange(d["acc_m_s2"].shape[0]) / fs
        checks.check_imu(d["acc_m_s2"], d["gyr_rad_s"], d["mag_uT"], timestamps=t, fs=fs)
    sessions = []
    for f in sorted(pt_dir.glob("s*_e*.npz")):
        d = np.load(f)
        for part in ("test", "template"):
            acc, gyr = d[f"{part}_acc_m_s2"], d[f"{part}_gyr_rad_s"]
            caught = 0
            for u in range(acc.shape[1]):
                checks.check_imu(acc[:, u], gyr[:, u])
                try:
                    checks.check_gyroscope(np.degrees(gyr[:, u]))
                except InputError:
                    caught += 1
            sessions.append(caught)
    assert sessions and min(sessions) >= 1


def test_gaps_and_zero_rows_do_not_decide():
    rng = np.random.default_rng(0)
    acc = rng.normal([0, 0, G], 0.5, (200, 3))
    acc[:150] = np.nan  # mostly gaps: the finite rows decide
    acc[150:160] = 0.0  # zero rows: "no tilt correction", not data in g
    checks.check_accelerometer(acc)
    acc[150:] = np.inf
    checks.check_accelerometer(acc)  # no usable row: nothing to check (gaps are counted)
    checks.check_accelerometer(np.tile([0.0, 0.0, 1.0], (5, 1)))  # too few rows to judge


def test_unsorted_csv_rows_are_sorted_and_counted(tmp_path, session_rec):
    path = tmp_path / "ok.csv"
    write_samples_csv(path, session_rec)
    lines = path.read_text().splitlines()
    body = lines[1:]
    np.random.default_rng(0).shuffle(body)
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("\n".join([lines[0], *body]) + "\n")
    a, b = read_csv(path), read_csv(shuffled)
    assert not a.warnings
    assert len(b.warnings) == 2
    assert all("rows out of time order" in w and "sorted" in w for w in b.warnings)
    for name in a.names:
        np.testing.assert_array_equal(a.sensors[name].t, b.sensors[name].t)
        np.testing.assert_array_equal(a.sensors[name].gyr, b.sensors[name].gyr)
        assert b.sensors[name].fs == pytest.approx(a.sensors[name].fs)  # not from the file order
    rc, err = _cli(["analyze", str(shuffled)])
    assert rc == 0, err


def test_duplicated_csv_timestamps_are_an_error_with_the_count(tmp_path, session_rec):
    path = tmp_path / "ok.csv"
    write_samples_csv(path, session_rec)
    lines = path.read_text().splitlines()
    thigh = [ln for ln in lines[1:] if ",thigh," in ln]
    # a row stored twice exactly (a packet written twice) is kept once, and said
    again = tmp_path / "again.csv"
    again.write_text("\n".join([*lines, *thigh[100:107]]) + "\n")
    a, b = read_csv(path), read_csv(again)
    assert np.array_equal(a.sensors["thigh"].t, b.sensors["thigh"].t)
    assert any("7 row(s) repeated exactly" in w for w in b.warnings)
    # the same times with other values: which one is right is unknowable, an error
    dup = tmp_path / "dup.csv"
    changed = [ln.rsplit(",", 1)[0] + ",0.123456" for ln in thigh[100:107]]
    dup.write_text("\n".join([*lines, *changed]) + "\n")
    msg = r"sensor 'thigh': timestamps: 7 of \d+ steps are not increasing \(7 repeat"
    with pytest.raises(InputError, match=msg):
        read_csv(dup)
    rc, err = _cli(["analyze", str(dup)])
    assert rc != 0 and "7 repeat the previous one" in err
    t = np.sort(np.r_[np.arange(100) / 100, [0.1, 0.2]])
    with pytest.raises(InputError, match=r"2 of 101 steps are not increasing \(2 repeat"):
        checks.check_timestamps(t, require_increasing=True)
    assert checks.check_timestamps(t).repeats == 2  # fuse's use: counted, each one a skipped sample


def test_the_still_pose_uses_the_same_check():
    from motiontrack.kinematics._still import _still_pose
    from motiontrack.kinematics.calibration import CalibrationSettings

    acc = np.tile([0.0, 0.0, 1.0], (50, 1))
    gyr = np.zeros((50, 3))
    with pytest.raises(InputError, match=r"still pose, proximal sensor: accelerometer: .*like g"):
        _still_pose(acc, gyr, acc * G, gyr, CalibrationSettings())


def test_saturation_watch_finds_a_clipped_axis_in_blocks_of_any_size():
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 1.0, (3000, 3))
    clipped = np.clip(x, -2.5, 2.5)  # a full scale of ±2.5: several samples sit exactly there
    for cuts in ([], [1, 2, 3], list(range(0, 3000, 37)), [2999]):
        w, u = checks.SaturationWatch(1.0), checks.SaturationWatch(1.0)
        for part_c, part_x in zip(np.split(clipped, cuts), np.split(x, cuts)):
            w.update(part_c)
            u.update(part_x)
        assert w.clipped and w.level == 2.5
        assert not u.clipped  # a free signal never repeats its extreme exactly
    assert not checks.SaturationWatch(3.0).update(clipped)  # below the floor: not said
    # the session says it, live and offline alike (the engine's streams watch)
    from motiontrack import events as ev
    from motiontrack.exercise import ExerciseEngine

    eng = ExerciseEngine({"thigh": 100.0}, segment="thigh")
    t = np.arange(3000) / 100.0
    acc = np.tile([0.0, 0.0, 9.81], (3000, 1))
    out = eng.feed("thigh", t, acc, np.radians(clipped * 40.0))  # clipped at ±100 °/s
    said = [e for e in out if isinstance(e, ev.SessionWarning) and e.code == "saturated"]
    assert len(said) == 1 and "±100 °/s" in said[0].message
