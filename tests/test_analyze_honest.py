"""Issue 13 (in part): one ROM definition; a sensor that stops early is said."""

from __future__ import annotations

import json
import warnings

import numpy as np

from motiontrack.analysis import process_recording
from motiontrack.cli import main
from motiontrack.recording import Recording, SensorSamples
from motiontrack.simulation import simulate_knee_session


def test_rom_is_over_the_counted_reps_only(tmp_path, capsys):
    """The standing calibration pose (0°) and the sit-down are not the patient's ROM: result,
    JSON and text header give the extremes of the counted reps, the same numbers."""
    s = simulate_knee_session(
        "seated_knee_extension", reps=4, seed=3, max_mount_deg=180.0, start_pose="standing"
    )
    p = tmp_path / "seated.csv"
    s.to_csv(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = process_recording(p, exercise="seated_knee_extension")
    rom = res.rom()
    assert rom["min_deg"] == round(min(r.min_deg for r in res.reps), 2)
    assert rom["max_deg"] == round(max(r.max_deg for r in res.reps), 2)
    # the trace itself reaches the standing pose's 0° (not a rep): the ROM does not
    assert np.nanmin(res.primary_deg) < rom["min_deg"] - 3.0
    assert abs(rom["min_deg"] - min(r.min_deg for r in s.truth.reps)) < 3.0
    assert main(["analyze", str(p), "--exercise", "seated_knee_extension", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rom"] == rom
    assert main(["analyze", str(p), "--exercise", "seated_knee_extension"]) == 0
    assert f"min {rom['min_deg']}  max {rom['max_deg']}" in capsys.readouterr().out


def test_a_sensor_that_stops_early_is_said():
    """The shank stops at 60 s of a longer session: the output says how much was not
    analysed instead of silently ending there."""
    s = simulate_knee_session("squat", reps=14, seed=2, max_mount_deg=90.0, start_pose="standing")
    rec = s.to_recording()
    sh = rec.sensors["shank"]
    keep = sh.t <= 40.0
    rec = Recording(
        sensors={
            "thigh": rec.sensors["thigh"],
            "shank": SensorSamples(sh.t[keep], sh.acc[keep], sh.gyr[keep], None, sh.fs),
        },
        source="cut",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = process_recording(rec, exercise="squat")
    said = [w for w in res.warnings if "data end at" in w]
    assert len(said) == 1 and "not analysed" in said[0] and "--segment thigh" in said[0]
    assert all(r.end_s <= 40.5 for r in res.reps)
    assert np.isnan(res.primary_deg[res.t > 41.0]).all()


def test_angles_are_continuous_and_implausible_ones_are_flagged():
    """A joint angle that turns through ±180° (only a wrong heading or calibration does that)
    goes on past it instead of jumping by 360° (no 360° rep), leaves the knee's anatomical
    range, and is said: the samples out of range and every rep reaching there are flagged."""
    from motiontrack import events as ev
    from motiontrack.exercise import ExerciseEngine, ExerciseSettings
    from motiontrack.kinematics import SegmentCalibration
    from motiontrack.reps import RepFlags

    s = simulate_knee_session("squat", reps=4, seed=1, max_mount_deg=0.0)
    cal = SegmentCalibration.from_mounting(
        s.sensors["thigh"].q_segment_sensor, s.sensors["shank"].q_segment_sensor
    )
    # the shank sensor's mounting is wrong by 150° about the hinge: flexion reads 150° more
    wrong = SegmentCalibration.from_mounting(
        cal.q_segment_sensor_proximal, _rotz(150.0, cal.q_segment_sensor_distal)
    )
    eng = ExerciseEngine(
        {"thigh": s.fs, "shank": s.fs},
        exercise="squat",
        calibration=wrong,
        settings=ExerciseSettings(),
    )
    out = []
    for k in range(0, s.t.size, 25):
        for n in ("thigh", "shank"):
            imu = s.sensors[n]
            out += eng.feed(n, s.t[k : k + 25], imu.acc[k : k + 25], imu.gyr[k : k + 25])
    out += eng.finish()
    a = np.concatenate([e.values_deg[:, 0] for e in out if isinstance(e, ev.AngleUpdate)])
    ok = np.isfinite(a)
    assert np.max(np.abs(np.diff(a[ok]))) < 20.0  # continuous: no ±360° jump
    assert a[ok].max() > 200.0  # through 180° and beyond, as the real motion goes
    warned = [e for e in out if isinstance(e, ev.SessionWarning) and e.code == "out_of_range"]
    assert warned
    reps = eng.final_reps()
    assert reps and all(r.flags & RepFlags.IMPLAUSIBLE for r in reps)
    assert all(r.rom_deg < 180.0 for r in reps)  # never a 360° rep
    assert "implausible" in reps[0].to_dict()["flags"]


def _rotz(deg: float, q: np.ndarray) -> np.ndarray:
    """q_segment_sensor with the segment frame turned by ``deg`` about its z (the hinge)."""
    h = np.radians(deg) / 2.0
    r = np.array([np.cos(h), 0.0, 0.0, np.sin(h)])
    w1, x1, y1, z1 = r
    w2, x2, y2, z2 = q
    return np.array(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ]
    )


def test_roles_come_from_the_sensor_names_not_their_order(tmp_path):
    """A CSV whose shank rows come first: without --proximal/--distal the names say which is
    the thigh (the first-seen order would swap them and the calibration refuse them)."""
    s = simulate_knee_session("squat", reps=3, seed=6, max_mount_deg=90.0, start_pose="standing")
    p = tmp_path / "shank_first.csv"
    s.to_csv(p)
    lines = p.read_text().splitlines()
    body = sorted(lines[1:], key=lambda line: (float(line.split(",")[0]), line.split(",")[1] != "shank"))
    p.write_text("\n".join([lines[0], *body]) + "\n")
    from motiontrack.io import load

    assert load(p).names[0] == "shank"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = process_recording(p, exercise="squat")
    assert res.sensors == ("thigh", "shank") and res.rep_count == len(s.truth.reps)


def test_a_60s_outage_on_the_command_line(tmp_path, capsys):
    """Issue 13: a 60 s shank outage mid-rep in a squat CSV. The JSON counts only the reps
    outside it, lists the rep it cut as interrupted and says why; `--angles-out` has no
    flexion inside the outage and flags the interpolated rows."""
    import csv as _csv

    from motiontrack.bench.faults import CASES, _table, simulate

    case = next(c for c in CASES if c.name == "shank_out_60s_mid_rep")
    s = simulate(case, seed=2, reps=14)
    tab = _table(s)
    case.damage(tab, s)
    (a, b), = tab.unknown
    p = tmp_path / "outage.csv"
    tab.write(p)
    out = tmp_path / "angles.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["analyze", str(p), "--exercise", "squat", "--json",
                     "--angles-out", str(out)]) == 0
    d = json.loads(capsys.readouterr().out)
    outside = [r for r in s.truth.reps if r.end_s < a - 0.5 or r.start_s > b + 0.5]
    assert d["rep_count"] == len(outside)
    assert all(r["end_s"] < a or r["start_s"] > b for r in d["reps"])
    assert len(d["interrupted_reps"]) >= 1
    assert all(r["flags"] == ["interrupted"] for r in d["interrupted_reps"])
    assert any("not counted" in w for w in d["warnings"])
    # the ROM is that of the counted reps, not inflated by anything near the gap
    assert d["rom"]["max_deg"] <= max(r.max_deg for r in outside) + 3.0
    with open(out) as f:
        rows = list(_csv.reader(f))
    assert rows[0][-1] == "bridged"
    inside = [r for r in rows[1:] if a + 0.3 < float(r[0]) < b - 0.05]
    assert len(inside) > 5000 and all(r[1] == "" for r in inside)


def _cut_shank(s, t_stop):
    rec = s.to_recording()
    sh = rec.sensors["shank"]
    keep = sh.t <= t_stop
    return Recording(
        sensors={"thigh": rec.sensors["thigh"],
                 "shank": SensorSamples(sh.t[keep], sh.acc[keep], sh.gyr[keep],
                                        sh.mag[keep] if sh.mag is not None else None, sh.fs)},
        source="cut",
    )


def test_the_survivor_counts_the_rest_where_sound():
    """Issue 13: a shank that stops for good mid-session. The thigh alone found exactly the
    pair's reps while both ran (squats move the thigh), so the rest is counted from it and
    offered as such; in seated knee extensions the thigh does not move: no survivor count."""
    s = simulate_knee_session("squat", reps=12, seed=4, pause_s=3.0, start_pose="standing")
    t_stop = s.truth.reps[5].peak_s
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = process_recording(_cut_shank(s, t_stop), exercise="squat")
    assert res.survivor is not None and res.survivor.segment == "thigh"
    assert res.survivor.checked == res.rep_count == 5
    assert len(res.survivor.reps) == sum(r.end_s > t_stop for r in s.truth.reps)
    assert any("counted from thigh alone" in w for w in res.warnings)
    assert res.to_dict()["survivor"]["rep_count"] == len(res.survivor.reps)

    s = simulate_knee_session("seated_knee_extension", reps=12, seed=4, pause_s=3.0,
                              start_pose="standing")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = process_recording(_cut_shank(s, s.truth.reps[5].peak_s),
                                exercise="seated_knee_extension")
    assert res.survivor is None
    assert any("no sound count" in w for w in res.warnings)
