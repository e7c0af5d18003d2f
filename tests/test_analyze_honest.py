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
    s = simulate_knee_session("seated_knee_extension", reps=4, seed=3, max_mount_deg=180.0,
                              start_pose="standing")
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
    rec = Recording(sensors={"thigh": rec.sensors["thigh"],
                             "shank": SensorSamples(sh.t[keep], sh.acc[keep], sh.gyr[keep], None, sh.fs)},
                    source="cut")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = process_recording(rec, exercise="squat")
    said = [w for w in res.warnings if "data end at" in w]
    assert len(said) == 1 and "not analysed" in said[0] and "--segment thigh" in said[0]
    assert all(r.end_s <= 40.5 for r in res.reps)
    assert np.isnan(res.primary_deg[res.t > 41.0]).all()
