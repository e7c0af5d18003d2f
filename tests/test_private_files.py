"""Issue 13: every file motiontrack writes with health data is owner-only (0600), also
when it replaces an existing file with wider permissions."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from motiontrack.recording._files import open_private
from motiontrack.calibration import SensorCalibration, save_calibrations
from motiontrack.cli import main
from motiontrack.cli._bench import _write_json
from motiontrack.io import (
    read_csv,
    write_angles_csv,
    write_orientations_csv,
    write_samples_csv,
    write_sto,
)
from motiontrack.recording import RecordingWriter
from motiontrack.report import write_report
from motiontrack.simulation import simulate_knee_session, simulate_rest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


def mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


@pytest.fixture(autouse=True)
def _open_umask():
    old = os.umask(0o022)  # a usual umask: plain open() would give 0644
    yield
    os.umask(old)


@pytest.fixture(params=["new", "existing"])
def target(request, tmp_path) -> Path:
    p = tmp_path / "out.dat"
    if request.param == "existing":
        p.write_text("old contents\n")
        os.chmod(p, 0o644)
    return p


T = np.arange(5) / 100.0
Q = np.tile([1.0, 0.0, 0.0, 0.0], (5, 1))


@pytest.mark.parametrize(
    "write",
    [
        lambda p: write_angles_csv(p, T, {"knee_flexion_deg": np.linspace(0, 40, 5)}),
        lambda p: write_orientations_csv(p, T, {"thigh": Q}),
        lambda p: write_sto(p, T, {"femur_r": Q}),
        lambda p: write_samples_csv(p, _rest_recording(p.parent)),
        lambda p: save_calibrations(p, {"imu": SensorCalibration(sensor="imu", gyr_bias=[0.01, 0, 0])}),
        lambda p: _write_json(p, {"latency_ms": 12.5}),
    ],
    ids=["angles_csv", "orientations_csv", "sto", "samples_csv", "calibration_json", "bench_json"],
)
def test_exports_are_owner_only(write, target):
    write(target)
    assert mode(target) == 0o600
    assert "old contents" not in target.read_text()


def _rest_recording(d: Path):
    p = d / "rest_src.csv"
    simulate_rest(2.0, seed=1).to_csv(p)
    return read_csv(p)


def test_recording_writer_overwrite_narrows_mode(target):
    with RecordingWriter(target, overwrite=True) as w:
        w.add_sensor("thigh", fs=100.0)
    assert mode(target) == 0o600


def test_write_report_is_owner_only(target, monkeypatch):
    monkeypatch.setattr("motiontrack.report.render_report", lambda r, **kw: "<html></html>")
    write_report(target, object())
    assert mode(target) == 0o600 and target.read_text() == "<html></html>"


def test_open_private_modes(tmp_path):
    p = tmp_path / "x.txt"
    with open_private(p, "x", encoding="utf-8") as f:
        f.write("a")
    assert mode(p) == 0o600
    with pytest.raises(FileExistsError):
        open_private(p, "x")
    with pytest.raises(ValueError):
        open_private(p, "a")


def test_calibrate_output_json_is_owner_only(tmp_path, capsys):
    src = tmp_path / "rest.csv"
    simulate_rest(8.0, seed=41).to_csv(src)
    out = tmp_path / "sensors.json"
    out.write_text("{}")
    os.chmod(out, 0o644)
    assert main(["calibrate", str(src), "--gyro", "-o", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == str(out)
    assert mode(out) == 0o600
    assert not list(tmp_path.glob("*.tmp"))


def test_analyze_angles_out_is_owner_only(tmp_path, capsys):
    src = tmp_path / "squat.csv"
    simulate_knee_session("squat", reps=2, seed=1).to_csv(src)
    out = tmp_path / "angles.csv"
    out.write_text("old\n")
    os.chmod(out, 0o644)
    assert main(["analyze", str(src), "--exercise", "squat", "--angles-out", str(out), "--json"]) == 0
    capsys.readouterr()
    assert mode(out) == 0o600 and out.read_text().startswith("time_s,")
