"""BIDS-motion export and import (motiontrack.io.bids, ``motiontrack export``; issue 16).

A two-sensor knee session and a single-sensor session go into one dataset (the second is
appended as another session); the official validator (``bids-validator-deno``, the test
extra) must report no error, and reading the export back must give the same samples, the
same angles and orientations, the same reps and calibration, and the same analysis.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import motiontrack as mt
from motiontrack.cli import main
from motiontrack.errors import RecordingError
from motiontrack.io.bids import TRIAL_TYPES, read_bids
from motiontrack.kinematics import SegmentCalibration
from motiontrack.recording import Recording
from motiontrack.simulation import simulate_knee_session

VALIDATOR = Path(sys.executable).with_name("bids-validator-deno")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    d = tmp_path_factory.mktemp("bids")
    s = simulate_knee_session("squat", reps=3, seed=31, drop_rate=0.01, max_mount_deg=60.0)
    knee = d / "knee.csv"
    s.to_csv(knee)
    rec = mt.io.load(knee)
    one = Recording(sensors={"shank": rec.sensors["shank"]}, source="shank only")
    single = d / "shank.csv"
    mt.io.write_samples_csv(single, one)
    root = d / "ds"
    assert main(["export", str(knee), "--bids", str(root), "--subject", "01", "--session",
                 "1", "--task", "squat", "--exercise", "squat", "--json"]) == 0
    assert main(["export", str(single), "--bids", str(root), "--subject", "01", "--session",
                 "2", "--task", "squat", "--json"]) == 0
    return root, knee, single


def test_the_official_validator_finds_no_error(dataset):
    root, _, _ = dataset
    assert VALIDATOR.exists(), "bids-validator-deno comes with the test extra"
    out = subprocess.run([str(VALIDATOR), str(root), "--format", "json"], capture_output=True,
                         text=True, timeout=240)
    report = json.loads(out.stdout)
    issues = report["issues"]["issues"]
    errors = [i for i in issues if i["severity"] == "error"]
    assert not errors, errors[:3]
    summary = report["summary"]
    assert summary["subjects"] == ["01"] and set(summary["sessions"]) == {"1", "2"}
    assert "motion" in [m.lower() for m in summary["modalities"]]


def test_reading_back_gives_the_same_samples_angles_and_reps(dataset):
    root, knee, _ = dataset
    rec = mt.io.load(knee)
    res = mt.analyze(knee, exercise="squat")
    back = read_bids(root, subject="01", session="1", task="squat")
    assert list(back.recording.sensors) == ["shank", "thigh"] or set(back.recording.sensors) == {
        "thigh", "shank"}
    for n, s in rec.sensors.items():
        b = back.recording.sensors[n]
        np.testing.assert_allclose(b.t, s.t, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(b.acc, s.acc)
        np.testing.assert_array_equal(b.gyr, s.gyr)
        np.testing.assert_array_equal(b.mag, s.mag)
        assert b.fs == pytest.approx(s.fs, abs=1e-6)
    np.testing.assert_allclose(back.t, res.t, atol=1e-12)
    for k, v in res.angles.items():
        np.testing.assert_array_equal(back.angles[k], v)
    for k, q in res.orientations.items():
        np.testing.assert_array_equal(back.orientations[k], q)
    assert len(back.reps) == res.rep_count == 3
    for got, want in zip(back.reps, res.reps):
        for k in ("start_s", "peak_s", "end_s", "emitted_s"):
            assert got[k] == pytest.approx(getattr(want, k), abs=1e-9)
        for k in ("min_deg", "max_deg", "rom_deg", "peak_deg", "hold_s"):
            assert got[k] == getattr(want, k)
        assert (got["index"], got["set_index"]) == (want.index, want.set_index)
    seg = [c for c in back.recording.calibration if c["kind"] == "segment"]
    cal = SegmentCalibration.from_json(json.dumps({k: v for k, v in seg[0].items() if k != "kind"}))
    np.testing.assert_array_equal(cal.q_segment_sensor_distal,
                                  res.calibration.q_segment_sensor_distal)
    kinds = {e["trial_type"] for e in back.events}
    assert kinds <= set(TRIAL_TYPES) and {"rep", "calibration", "data_gap"} <= kinds
    # the samples read back are the recording: the same analysis, rep for rep
    again = mt.analyze(back.recording, exercise="squat")
    assert [r.max_deg for r in again.reps] == [r.max_deg for r in res.reps]


def test_single_sensor_session_appended_to_the_dataset(dataset):
    root, _, single = dataset
    back = read_bids(root, subject="01", session="2", task="squat")
    assert list(back.recording.sensors) == ["shank"]
    res = mt.analyze(single, segment="shank")
    assert list(back.angles) == list(res.angles) and len(back.reps) == res.rep_count > 0
    parts = (root / "participants.tsv").read_text().splitlines()
    assert parts == ["participant_id", "sub-01"]
    scans = (root / "sub-01" / "ses-2" / "sub-01_ses-2_scans.tsv").read_text().splitlines()
    assert scans[0] == "filename\tacq_time" and len(scans) == 3  # shank + motiontrack
    for p in root.rglob("*"):
        want = 0o700 if p.is_dir() else 0o600
        assert stat.S_IMODE(p.stat().st_mode) == want, p
    with pytest.raises(RecordingError, match="exists"):
        mt.io.to_bids(mt.io.load(single), root, subject="01", session="2", task="squat")
