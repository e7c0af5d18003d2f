"""Every example runs headless and prints what it promises (checked against ground truth
where the example simulates its data)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(name: str, *args: str) -> str:
    r = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def test_every_example_opens_with_a_docstring_and_uses_argparse():
    for f in sorted(EXAMPLES.glob("*.py")):
        text = f.read_text()
        assert text.startswith('"""'), f.name
        assert "argparse" in text and "logging" in text, f.name


def test_offline_analysis_matches_truth(tmp_path):
    out = _run("offline_analysis.py", "--angles-out", str(tmp_path / "a.csv"))
    n = int(re.search(r"^(\d+) reps in", out, re.MULTILINE).group(1))
    assert f"truth: {n} reps" in out
    for m in re.finditer(
        r"min\s+(-?[\d.]+)\s+max\s+(-?[\d.]+).*truth:\s+(-?[\d.]+) \.\.\s+(-?[\d.]+)", out
    ):
        lo, hi, tlo, thi = map(float, m.groups())
        assert abs(lo - tlo) <= 3.0 and abs(hi - thi) <= 3.0, m.group(0)
    assert (tmp_path / "a.csv").read_text().startswith("time_s,flexion_deg,")


def test_single_sensor_reps():
    out = _run("single_sensor_reps.py")
    true_n = int(re.search(r"(\d+) true reps", out).group(1))
    assert f"{true_n} reps counted from the thigh sensor alone" in out


def test_export_opensim(tmp_path):
    from motiontrack.io import read_sto

    out = _run("export_opensim.py", "-o", str(tmp_path / "o.sto"))
    assert "femur_r_imu, tibia_r_imu" in out
    header, t, cols = read_sto(tmp_path / "o.sto")
    assert header["DataType"] == "Quaternion" and float(header["DataRate"]) == 100.0
    q = cols["femur_r_imu"]
    assert q.shape == (t.size, 4) and np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-6)


def test_live_knee_rom_with_virtual_sensors():
    out = _run("live_knee_rom.py", "--seconds", "10", "--speed", "4")
    assert "calibrated (standing" in out, out
    n = int(re.search(r"summary: (\d+) reps", out).group(1))
    assert n >= 1 and len(re.findall(r"^rep \d+: ", out, re.MULTILINE)) == n
