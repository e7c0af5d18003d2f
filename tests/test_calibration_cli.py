"""``motiontrack calibrate`` from recordings (CSV), end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from motiontrack.calibration import load_calibrations
from motiontrack.cli import main
from motiontrack.conventions import GRAVITY
from motiontrack.simulation import simulate_magnetometer_rotation, simulate_rest, simulate_six_face


def test_calibrate_six_face_and_mag_from_csv(tmp_path, capsys):
    six = simulate_six_face(seed=40)
    csv6 = tmp_path / "six.csv"
    six.to_csv(csv6)
    out = tmp_path / "cal.json"
    assert main(["calibrate", str(csv6), "--six-face", "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["output"] == str(out) and "imu" in summary["sensors"]
    cal = load_calibrations(out)["imu"]
    e = six.imu.errors
    assert np.all(np.abs(cal.acc_offset - np.asarray(e.acc_offset)) < 0.005 * GRAVITY)
    assert not cal.has_gyroscope
    # then the magnetometer, merged into the same file
    mag = simulate_magnetometer_rotation(40.0, seed=40, errors=e)
    csvm = tmp_path / "mag.csv"
    mag.to_csv(csvm)
    assert main(["calibrate", str(csvm), "--mag", "--field-ut", "49", "-o", str(out), "--update"]) == 0
    text = capsys.readouterr().out
    assert "hard iron" in text and "wrote" in text
    cal = load_calibrations(out)["imu"]
    assert cal.has_accelerometer and cal.has_magnetometer
    assert np.linalg.norm(cal.mag_hard_iron - np.asarray(e.mag_hard_iron)) < 0.02 * 49.0


def test_calibrate_gyro_default_and_default_output(tmp_path, capsys):
    rec = simulate_rest(8.0, seed=41)
    path = tmp_path / "rest.csv"
    rec.to_csv(path)
    assert main(["calibrate", str(path)]) == 0
    cal = load_calibrations(tmp_path / "rest.calibration.json")["imu"]
    assert np.all(np.degrees(np.abs(cal.gyr_bias - rec.imu.gyr_bias)) < 0.05)
    assert "gyroscope bias" in capsys.readouterr().out


def test_calibrate_errors_are_one_line_not_tracebacks(tmp_path, capsys):
    moving = simulate_magnetometer_rotation(10.0, seed=42)
    path = tmp_path / "moving.csv"
    moving.to_csv(path)
    assert main(["calibrate", str(path), "--gyro"]) == 1
    err = capsys.readouterr().err
    assert "not still" in err and "Traceback" not in err and "'imu'" in err
    assert main(["calibrate", str(path), "--six-face"]) == 1
    assert "missing" in capsys.readouterr().err
    assert main(["calibrate", str(tmp_path / "nope.csv")]) == 1
    assert "error" in capsys.readouterr().err
    assert main(["calibrate", str(path), "--sensor", "knee"]) == 1
    assert "no sensor 'knee'" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--json"])
def test_calibrate_reports_warnings(tmp_path, capsys, flag):
    rec = simulate_rest(20.0, seed=43, move_at_s=12.0)
    path = tmp_path / "r.csv"
    rec.to_csv(path)
    assert main(["calibrate", str(path), flag]) == 0
    out = json.loads(capsys.readouterr().out)
    assert any("moved" in w for w in out["warnings"])


def test_apply_to_a_recording_read_back_from_csv(tmp_path):
    from motiontrack.calibration import (
        SensorCalibration,
        apply_to_recording,
        calibration_from_record,
        calibrate_six_face,
    )
    from motiontrack.errors import CalibrationError
    from motiontrack.io import read_csv

    six = simulate_six_face(seed=44)
    path = tmp_path / "six.csv"
    six.to_csv(path)
    rec = read_csv(path)
    res = calibrate_six_face(rec.sensors["imu"].acc, rec.sensors["imu"].gyr, fs=rec.sensors["imu"].fs)
    cal = SensorCalibration(acc_offset=res.offset, acc_scale=res.scale, acc_misalignment=res.misalignment)
    out = apply_to_recording(rec, {"imu": cal})
    first = slice(50, 400)  # the first face, still
    g = np.linalg.norm(out.sensors["imu"].acc[first].mean(axis=0))
    assert abs(g - GRAVITY) < 0.005 * GRAVITY
    assert rec.sensors["imu"].acc is not out.sensors["imu"].acc  # the input is left alone
    back = calibration_from_record(out.calibration[-1])
    np.testing.assert_allclose(back.acc_offset, res.offset)
    with pytest.raises(CalibrationError, match="recording has sensors"):
        apply_to_recording(rec, {"thigh": cal})


def test_live_guided_calibration_from_a_replayed_recording(tmp_path, capsys):
    six = simulate_six_face(seed=45)
    rest = simulate_rest(12.0, seed=45, errors=six.imu.errors)
    p6, pr = tmp_path / "six.csv", tmp_path / "rest.csv"
    six.to_csv(p6)
    rest.to_csv(pr)
    out = tmp_path / "live.json"
    assert main(["calibrate", "--live", f"replay:{p6}", "--six-face", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    prompts = [line for line in captured.out.splitlines() if line.startswith("> ")]
    assert len(prompts) == 6 and "+X axis pointing up" in prompts[0] and "−Z" in prompts[5]
    assert "expected -x up, the sensor has +x up" in captured.err  # guidance while turning it over
    cal = load_calibrations(out)["imu"]
    assert np.all(np.abs(cal.acc_offset - np.asarray(six.imu.errors.acc_offset)) < 0.005 * GRAVITY)
    assert main(["calibrate", "--live", f"replay:{pr}", "--gyro", "-o", str(out), "--update"]) == 0
    cal = load_calibrations(out)["imu"]
    assert cal.has_accelerometer and np.all(np.degrees(np.abs(cal.gyr_bias - rest.imu.gyr_bias)) < 0.05)
    capsys.readouterr()
    # a recording that never shows the +X face: a clear error, not a hang
    assert main(["calibrate", "--live", f"replay:{pr}", "--six-face", "-o", str(out)]) == 1
    assert "ended before the step 'face:+x'" in capsys.readouterr().err
    assert main(["calibrate", str(pr), "--live", f"replay:{pr}"]) == 1
    assert "not both" in capsys.readouterr().err


@pytest.mark.timeout(120)
def test_live_gyro_bias_over_a_virtual_ble_sensor(tmp_path, capsys):
    """End to end through bleak and the virtual sensor firmware: a sim sensor that is not a
    knee segment lies still with a known bias (motiontrack.virtual.StillMotion)."""
    pytest.importorskip("bumble")
    from motiontrack.virtual.motion import StillMotion

    import inspect

    true_bias = np.asarray(inspect.signature(StillMotion).parameters["gyr_bias"].default)
    out = tmp_path / "live.json"
    assert main(["calibrate", "--live", "sim:bench", "--gyro", "--rest-s", "4", "-o", str(out)]) == 0
    assert "Put the sensor on a table" in capsys.readouterr().out
    cal = load_calibrations(out)["bench"]
    assert np.all(np.degrees(np.abs(cal.gyr_bias - true_bias)) < 0.05)


def test_live_gyro_on_the_projects_10_s_rest_recording_with_defaults(tmp_path, capsys):
    """Issue 13: the default --rest-s (10 s) works on the 10 s rest recording of
    calibration/simulate_recordings.py: the rest asked for fits the data, and it says so."""
    rest = simulate_rest(10.0, seed=0)
    path = tmp_path / "rest.csv"
    rest.to_csv(path)
    out = tmp_path / "sensors.json"
    assert main(["calibrate", "--live", f"replay:{path}", "--gyro", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "note:" in captured.err and "9.7 s of rest instead of 10 s" in captured.err
    assert "> Put the sensor on a table and do not touch it for 9.7 s." in captured.out
    cal = load_calibrations(out)["imu"]
    assert np.all(np.degrees(np.abs(cal.gyr_bias - rest.imu.gyr_bias)) < 0.05)
    # long enough for the rest asked: no note, nothing changed
    long = tmp_path / "long.csv"
    simulate_rest(12.0, seed=0).to_csv(long)
    assert main(["calibrate", "--live", f"replay:{long}", "--gyro", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "note:" not in captured.err and "for 10 s." in captured.out
    # shorter than the stated minimum: a clear error before anything runs
    short = tmp_path / "short.csv"
    simulate_rest(2.5, seed=0).to_csv(short)
    assert main(["calibrate", "--live", f"replay:{short}", "--gyro", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "at least 3 s of rest" in err and "Traceback" not in err
