"""Offline analysis (`motiontrack analyze`) on simulated recordings with ground truth.

Sensors strapped at random orientations (any of 180°), >= 2 s still at the start, dropped
samples in bursts (gaps). Tolerance: per-rep min/max within 3° of the simulator's truth
(the issue's acceptance), rep count exact.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

from motiontrack.analysis import AnalysisSettings, process_recording
from motiontrack.cli import main
from motiontrack.errors import InputError
from motiontrack.kinematics import SegmentCalibration
from motiontrack.simulation import simulate_knee_session

ROM_TOL_DEG = 3.0  # acceptance criterion of issue 7


def _true_calibration(s):
    """The simulator's true mounting as the calibration (isolates the rest of the pipeline)."""
    return SegmentCalibration.from_mounting(
        s.sensors["thigh"].q_segment_sensor, s.sensors["shank"].q_segment_sensor
    )


def _assert_reps_match(reps, truth):
    assert len(reps) == len(truth.reps)
    for got, want in zip(reps, truth.reps):
        assert abs(got["max_deg"] - want.max_deg) <= ROM_TOL_DEG, (got, want)
        assert abs(got["min_deg"] - want.min_deg) <= ROM_TOL_DEG, (got, want)
        assert want.start_s - 0.5 <= got["peak_s"] <= want.end_s


@pytest.fixture(scope="module")
def sims(tmp_path_factory):
    d = tmp_path_factory.mktemp("sims")
    out = {}
    for ex, seed in (("seated_knee_extension", 3), ("squat", 4), ("heel_slide", 5)):
        s = simulate_knee_session(ex, reps=5, seed=seed, drop_rate=0.015, max_mount_deg=180.0)
        p = d / f"{ex}.csv"
        s.to_csv(p)
        out[ex] = (s, p)
    return out


@pytest.mark.parametrize("exercise", ["seated_knee_extension", "squat", "heel_slide"])
def test_pipeline_with_known_mounting_is_within_tolerance(sims, exercise):
    """Resampling over gaps, fusion, joint angles, reps and per-rep extremes, with the
    sensor-to-segment step replaced by the true mounting (isolates this module)."""
    s, path = sims[exercise]
    res = process_recording(path, exercise=exercise, calibration=_true_calibration(s))
    d = res.to_dict()
    _assert_reps_match(d["reps"], s.truth)
    err = res.primary_deg - np.interp(res.t, s.t, s.truth.flexion_deg)
    assert np.nanmax(np.abs(err)) < 3.0
    assert d["gaps"] and all(g["sensor"] in ("thigh", "shank") for g in d["gaps"])


@pytest.mark.parametrize(
    ("exercise", "args"),
    [
        ("seated_knee_extension", ["--exercise", "seated_knee_extension"]),
        ("squat", []),
        ("heel_slide", []),
    ],
)
def test_cli_json_acceptance(sims, exercise, args, capsys, tmp_path):
    """Issue 7 acceptance 2: automatic calibration, exact count, min/max within 3°."""
    s, path = sims[exercise]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(
            [
                "analyze",
                str(path),
                "--joint",
                "knee",
                "--proximal",
                "thigh",
                "--distal",
                "shank",
                "--json",
                "--angles-out",
                str(tmp_path / "a.csv"),
                *args,
            ]
        )
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d) >= {
        "joint",
        "fs_hz",
        "duration_s",
        "rep_count",
        "reps",
        "rom",
        "gaps",
        "warnings",
    }
    assert d["joint"] == "knee" and d["fs_hz"] == pytest.approx(s.fs)
    assert d["rep_count"] == len(s.truth.reps)
    _assert_reps_match(d["reps"], s.truth)
    with open(tmp_path / "a.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["time_s", "flexion_deg", "abduction_deg", "rotation_deg", "bridged"]
    assert len(rows) - 1 == pytest.approx(d["duration_s"] * d["fs_hz"] + 1, abs=1)


@pytest.mark.parametrize(
    ("exercise", "segment"), [("squat", "thigh"), ("seated_knee_extension", "shank")]
)
def test_segment_mode_counts_reps_from_one_sensor(sims, capsys, exercise, segment):
    s, path = sims[exercise]
    assert main(["analyze", str(path), "--segment", segment, "--exercise", exercise, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["joint"] is None and d["segment"] == segment
    assert d["rep_count"] == len(s.truth.reps)
    for got, want in zip(d["reps"], s.truth.reps):
        assert want.start_s - 0.5 <= got["peak_s"] <= want.end_s + 0.5


def _run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "motiontrack", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (None, [], "no such file"),
        ("time_s,sensor,acc_x\n1,a,2\n", [], "missing column"),
        (
            "time_s,sensor,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n0,a,1,2,3,4,5,6\n0.01,a,1,2,3,4,5,zz\n",
            [],
            "not a number",
        ),
        ("sim", ["--proximal", "femur", "--distal", "shank"], "no sensor named 'femur'"),
        ("short", [], "needs at least"),
    ],
)
def test_errors_are_one_clear_line_without_traceback(tmp_path, sims, make, args, message):
    p = tmp_path / "in.csv"
    if make == "sim":
        p = sims["squat"][1]
    elif make == "short":
        lines = ["time_s,sensor,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z"]
        lines += [f"{k / 100},{n},0,0,9.81,0,0,0" for k in range(100) for n in ("thigh", "shank")]
        p.write_text("\n".join(lines) + "\n")
    elif make is not None:
        p.write_text(make)
    r = _run_cli("analyze", str(p), *args)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and message in r.stderr
    assert r.stderr.startswith("motiontrack analyze: error:")
    assert r.stdout == ""


def test_process_recording_rejects_bad_combinations(sims):
    _, path = sims["squat"]
    with pytest.raises(InputError, match="not both"):
        process_recording(path, segment="thigh", joint="knee")
    with pytest.raises(InputError, match="unknown exercise"):
        process_recording(path, exercise="yoga")
    with pytest.raises(Exception, match="pose"):
        AnalysisSettings(pose="kneeling")


def test_native_recording_sensor_clocks_are_aligned_by_host_time(tmp_path):
    """Live recordings keep each sensor's own device clock (here 0.8 s apart); the host
    arrival times put them on one time base."""
    from motiontrack.recording import RecordingWriter

    s = simulate_knee_session("squat", reps=3, seed=9, max_mount_deg=90.0)
    p = tmp_path / "clocks.mtrec"
    rng = np.random.default_rng(0)
    with RecordingWriter(p) as w:
        for n in ("thigh", "shank"):
            w.add_sensor(n, fs=s.fs)
        for k in range(0, s.t.size, 10):
            for n, dev0 in (("thigh", 5.0), ("shank", 5.8)):
                imu, sl = s.sensors[n], slice(k, k + 10)
                host = s.t[sl][-1] + 0.003 + rng.uniform(0, 0.02)
                w.write_samples(n, s.t[sl] + dev0, imu.acc[sl], imu.gyr[sl], host_time_s=host)
    res = process_recording(p, exercise="squat", calibration=_true_calibration(s))
    import re

    shifts = [float(m.group(1)) for w_ in res.warnings if (m := re.search(r"shift ([-+0-9.]+) ms", w_))]
    assert len(shifts) == 1 and abs(shifts[0] + 800.0) < 2.0, res.warnings
    err = res.primary_deg - np.interp(res.t - 5.0, s.t, s.truth.flexion_deg)
    assert np.nanpercentile(np.abs(err), 99) < 2.0
    assert res.rep_count == len(s.truth.reps)


def test_seated_pose_flexion_measured_removes_the_offset(tmp_path, capsys):
    """A seated still pose is nominally 90°; the simulated subject rests at ~81°. The ROM per
    rep is right either way; with the resting angle measured (goniometer) min/max are too."""
    s = simulate_knee_session(
        "seated_knee_extension", reps=4, seed=0, drop_rate=0.01, max_mount_deg=180.0
    )
    p = tmp_path / "seated.csv"
    s.to_csv(p)
    rest = float(np.mean(s.truth.flexion_deg[: int(1.5 * s.fs)]))
    args = ["analyze", str(p), "--exercise", "seated_knee_extension", "--json"]
    assert main(args) == 0
    nominal = json.loads(capsys.readouterr().out)
    assert main([*args, "--pose-flexion", f"{rest:.1f}"]) == 0
    measured = json.loads(capsys.readouterr().out)
    for a, b, want in zip(nominal["reps"], measured["reps"], s.truth.reps):
        assert abs(a["rom_deg"] - (want.max_deg - want.min_deg)) <= ROM_TOL_DEG
        assert (
            abs(b["max_deg"] - want.max_deg) <= ROM_TOL_DEG
            and abs(b["min_deg"] - want.min_deg) <= ROM_TOL_DEG
        )


# --------------------------------------------------------- the documented session protocol
# Stand still with the legs straight for 2-3 s (the calibration pose: 0° by definition), then
# take the exercise position (sit down / lie down / stay standing) and exercise.

PROTOCOL_CASES = (("seated_knee_extension", 3), ("squat", 4), ("heel_slide", 5))


@pytest.fixture(scope="module")
def standing_sims(tmp_path_factory):
    d = tmp_path_factory.mktemp("standing")
    out = {}
    for ex, seed in PROTOCOL_CASES + (("straight_leg_raise", 6),):
        drop = float(np.random.default_rng(seed).uniform(0.01, 0.015))
        s = simulate_knee_session(
            ex, reps=5, seed=seed, drop_rate=drop, max_mount_deg=180.0, start_pose="standing"
        )
        p = d / f"{ex}.csv"
        s.to_csv(p)
        out[ex] = (s, p)
    return out


def _analyze_json(capsys, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["analyze", *map(str, args), "--json"])
    assert code == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("with_exercise", [False, True])
@pytest.mark.parametrize("exercise", [ex for ex, _ in PROTOCOL_CASES])
def test_cli_json_acceptance_standing_start(standing_sims, capsys, exercise, with_exercise):
    """Issue 7 acceptance 2 on the documented protocol: sensors at any orientation, 1-1.5 %
    dropped samples, a standing start then the exercise posture; the exact command of the
    issue (and with --exercise, where the start pose is detected). No --pose-flexion: exact
    count and per-rep min/max within 3°; sitting or lying down is not a rep."""
    s, path = standing_sims[exercise]
    extra = ["--exercise", exercise] if with_exercise else []
    d = _analyze_json(capsys, path, "--joint", "knee", "--proximal", "thigh", "--distal", "shank", *extra)
    assert d["calibration"]["pose"] == "standing"
    assert d["rep_count"] == len(s.truth.reps)
    _assert_reps_match(d["reps"], s.truth)
    assert not any("does not start still" in w for w in d["warnings"])


@pytest.mark.parametrize("exercise", ["seated_knee_extension", "squat", "heel_slide"])
def test_start_pose_is_detected_from_the_recording(sims, standing_sims, exercise):
    """The same exercise started standing (protocol) or directly in its posture: the start
    pose is told apart with no option (the thigh's gravity turns ~90° or not)."""
    from motiontrack.analysis import EXERCISE_POSES

    s_own, p_own = sims[exercise]
    s_std, p_std = standing_sims[exercise]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = process_recording(p_own, exercise=exercise)
        std = process_recording(p_std, exercise=exercise)
    assert own.pose == EXERCISE_POSES[exercise]
    assert std.pose == "standing" and std.calibration.pose == "standing"
    assert own.rep_count == len(s_own.truth.reps) and std.rep_count == len(s_std.truth.reps)


def test_pose_option_overrides_the_detection(standing_sims):
    _, path = standing_sims["heel_slide"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = process_recording(
            path, exercise="heel_slide", settings=AnalysisSettings(pose="supine")
        )
    assert res.pose == "supine"


@pytest.mark.parametrize("with_exercise", [False, True])
@pytest.mark.parametrize("exercise", ["seated_knee_extension", "squat", "heel_slide"])
def test_swapped_sensors_on_a_standing_start_are_refused(standing_sims, exercise, with_exercise):
    """Issue 5 acceptance 4 on the protocol: proximal and distal swapped is a clear error
    (the joint centre is on the wrong side of both sensors; seated: the 'thigh' rotates more),
    never a silent wrong angle."""
    from motiontrack.errors import CalibrationError

    _, path = standing_sims[exercise]
    kw = {"exercise": exercise} if with_exercise else {}
    with warnings.catch_warnings(), pytest.raises(CalibrationError, match="swapped"):
        warnings.simplefilter("ignore")
        process_recording(path, joint="knee", proximal="shank", distal="thigh", **kw)


def test_a_start_that_is_not_still_is_reported(tmp_path):
    """The protocol's still standing is missing (the leg fidgets): the calibration falls back to
    a later still period, and the result says so."""
    s = simulate_knee_session(
        "squat", reps=3, seed=2, max_mount_deg=180.0, start_pose="standing", fidget_start=True,
        still_start_s=3.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = process_recording(s.to_recording(), exercise="squat")
    assert any("does not start still" in w for w in res.warnings), res.warnings


@pytest.mark.parametrize(
    ("exercise", "segment"),
    [("straight_leg_raise", "thigh"), ("heel_slide", "shank"), ("seated_knee_extension", "shank")],
)
def test_segment_mode_after_a_standing_start(standing_sims, capsys, exercise, segment):
    """One sensor: lying or sitting down turns it once by ~90°; that is not a rep. (The
    straight-leg raise is counted here: the knee barely moves, so the two-sensor knee
    calibration refuses it as 'motion with no flexion'.)"""
    s, path = standing_sims[exercise]
    d = _analyze_json(capsys, path, "--segment", segment, "--exercise", exercise)
    assert d["rep_count"] == len(s.truth.reps)
    for got, want in zip(d["reps"], s.truth.reps):
        assert want.start_s - 0.5 <= got["peak_s"] <= want.end_s + 0.5


def test_a_recording_begun_mid_set_is_calibrated_on_the_rest(tmp_path):
    """Issue 5 acceptance 4 / issue 7: a seated recording that begins during a rep, so its first
    still period is an extension held at the top (as still as the rest, with a horizontal hinge).
    Taken for the seated rest it mirrors every angle (~80° off); the calibration sees from the
    motion that the shank was not hanging, and the analysis calibrates on the real rest."""
    s = simulate_knee_session(
        "seated_knee_extension", reps=6, seed=11, max_mount_deg=180.0, hold_s=2.5, pause_s=2.0
    )
    first = s.truth.reps[0]
    cut = first.peak_s - 1.0  # inside the first hold at the top
    full = tmp_path / "full.csv"
    s.to_csv(full)
    with open(full) as f:
        rows = list(csv.reader(f))
    path = tmp_path / "mid_set.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([rows[0], *(r for r in rows[1:] if float(r[0]) >= cut)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = process_recording(path, joint="knee", exercise="seated_knee_extension")
    assert any("is not the seated pose" in w for w in res.warnings), res.warnings
    truth = np.interp(res.t, s.t, s.truth.flexion_deg)
    err = res.primary_deg - truth
    # without the standing pose, the seated rest is taken as its nominal 90° (this subject rests
    # at ~86°): a constant offset of a few degrees, not a mirrored trace
    offset = float(np.nanmedian(err))
    assert abs(offset) < 10.0
    assert np.nanpercentile(np.abs(err - offset), 99) < 3.0
    # every rep that starts after the cut is counted, with its extremes (up to that offset)
    later = [r for r in s.truth.reps if r.start_s > cut]
    got = [r for r in res.reps if r.peak_s > later[0].start_s]
    assert len(got) == len(later)
    for g, w in zip(got, later):
        assert w.start_s <= g.peak_s <= w.end_s
        assert abs(g.min_deg - offset - w.min_deg) <= ROM_TOL_DEG
        assert abs(g.max_deg - offset - w.max_deg) <= ROM_TOL_DEG
