"""The README's code blocks run as written (on simulated data), so the README stays true."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_the_quickstart_and_the_ci_marker():
    text = README.read_text()
    assert "motiontrack demo" in text
    marker = re.search(r"<!-- test-command: (.*) -->", text)
    assert marker and 'pip install -q -e ".[test]"' in marker.group(1)
    assert marker.group(1) in text.split("<!--")[0], "the marker must equal quickstart command 2"


def test_offline_example_runs(tmp_path, capsys, monkeypatch):
    from motiontrack.simulation import simulate_knee_session

    sim = simulate_knee_session("squat", reps=4, seed=3, fs=100.0)
    sim.to_csv(tmp_path / "session.csv")
    monkeypatch.chdir(tmp_path)
    offline = next(b for b in _python_blocks() if "mt.analyze(" in b)
    exec(compile(offline, "README-offline", "exec"), {})
    out = capsys.readouterr().out
    assert out.startswith(f"{len(sim.truth.reps)} reps")


def test_layered_example_runs():
    from motiontrack.simulation import simulate_knee_session

    sim = simulate_knee_session("squat", reps=4, seed=4, fs=100.0, drop_rate=0.0)
    th, sh = sim.sensors["thigh"], sim.sensors["shank"]
    ns = {"acc_t": th.acc, "gyr_t": th.gyr, "acc_s": sh.acc, "gyr_s": sh.gyr, "mt": __import__("motiontrack")}
    block = next(b for b in _python_blocks() if "mt.calibrate_joint(" in b)
    exec(compile(block, "README-layers", "exec"), ns)
    assert len(ns["reps"]) == len(sim.truth.reps)
    err = np.abs(ns["knee"].flexion_deg - sim.truth.flexion_deg)
    assert np.nanmedian(err) < 5.0  # standing pose assumed straight: offset up to the resting flexion


@pytest.mark.timeout(120)
def test_live_example_runs(capsys):
    live = next(b for b in _python_blocks() if "mt.Session(" in b)
    live = live.replace("event.t > 30", "event.t > 20")  # a shorter session for the test
    exec(compile(live, "README-live", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    # the protocol's prompts in order, then the first seated extension (the virtual patient
    # swings the shank from ~90° towards straight: a ROM of 60-95°)
    assert out.lower().index("stand still") < out.lower().index("sit down"), out
    rom = re.search(r"rep 1: ROM (\d+)°", out)
    assert rom and 60 <= int(rom.group(1)) <= 95, out
