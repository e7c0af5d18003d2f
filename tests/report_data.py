"""Recordings for the report tests: simulated sessions as CSV or dated .mtrec files, and the
60 s one-sensor outage of issue 13 (a 5-minute squat session, the shank silent 120-180 s)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pytest

from motiontrack.analysis import process_recording
from motiontrack.cli import main
from motiontrack.recording import RecordingWriter
from motiontrack.reps import RepFlags
from motiontrack.simulation import simulate_knee_session

OUTAGE_S = (120.0, 180.0)  # the shank's silence in the outage case, s
#: The progress case: knee flexion of the squats of three sessions a week apart.
PROGRESS = [(60, "2026-11-02"), (75, "2026-11-09"), (90, "2026-11-16")]


def write_mtrec(path: Path, session, created: str) -> Path:
    """A simulated session as a .mtrec file started at ``created`` (ISO 8601, UTC)."""
    rec = session.to_recording()
    with RecordingWriter(path, meta={"created": created, "exercise": session.exercise}) as w:
        for name, s in rec.sensors.items():
            w.add_sensor(name, fs=s.fs, has_mag=s.mag is not None)
        n = min(len(s) for s in rec.sensors.values())
        for i in range(0, n, 50):  # blocks as notifications come: host time = arrival
            for name, s in rec.sensors.items():
                sl = slice(i, min(i + 50, n))
                w.write_samples(
                    name,
                    s.t[sl],
                    s.acc[sl],
                    s.gyr[sl],
                    None if s.mag is None else s.mag[sl],
                    host_time_s=float(s.t[sl][-1]) + 0.004,
                )
    return path


def outage_csv(path: Path) -> Path:
    """A 5-minute squat session (standing start, 45 reps) whose shank sends nothing for the
    60 s of :data:`OUTAGE_S`."""
    s = simulate_knee_session("squat", reps=45, seed=3, start_pose="standing")
    full = path.with_name(path.stem + "_full.csv")
    s.to_csv(full)
    lines = full.read_text().splitlines()
    keep = [lines[0]]
    for line in lines[1:]:
        t, name = line.split(",", 2)[:2]
        if not (name == "shank" and OUTAGE_S[0] <= float(t) < OUTAGE_S[1]):
            keep.append(line)
    path.write_text("\n".join(keep) + "\n")
    full.unlink()
    return path


def with_interrupted(result):
    """``result`` itself when its engine reports the reps cut by the outage
    (``interrupted_reps``, issue 13); else (an engine before them) the same with the reps
    under way at the outage's start and end built from what the trace shows there."""
    if getattr(result, "interrupted_reps", None):
        return result
    t, a = result.t, result.primary_deg
    flag = getattr(RepFlags, "INTERRUPTED", RepFlags.NONE)
    cut = []
    for lo, hi in ((OUTAGE_S[0] - 2.0, OUTAGE_S[0]), (OUTAGE_S[1], OUTAGE_S[1] + 2.0)):
        m = (t >= lo) & (t <= hi) & np.isfinite(a)
        seen = a[m]
        k = int(np.argmax(seen))
        cut.append(
            dataclasses.replace(
                result.reps[0],
                index=-1,
                start_s=float(t[m][0]),
                end_s=float(t[m][-1]),
                peak_s=float(t[m][k]),
                min_deg=float(seen.min()),
                max_deg=float(seen.max()),
                rom_deg=float(seen.max() - seen.min()),
                duration_s=float(t[m][-1] - t[m][0]),
                flags=flag,
            )
        )
    result.interrupted_reps = cut
    return result


def analyze_json(path: Path, *args: str) -> dict:
    """``motiontrack analyze PATH ARGS --json``, parsed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["analyze", str(path), *args, "--json"]) == 0
    return json.loads(out.getvalue())


# Session fixtures (tests/conftest.py imports them): made once for the report tests and the
# browser tests.
@pytest.fixture(scope="session")
def outage_case(tmp_path_factory):
    """(CSV path, its analysis with the interrupted reps) of the 60 s outage."""
    p = outage_csv(tmp_path_factory.mktemp("outage") / "outage.csv")
    return p, with_interrupted(process_recording(p, exercise="squat"))


@pytest.fixture(scope="session")
def progress_case(tmp_path_factory):
    """Three dated squat sessions (.mtrec, :data:`PROGRESS`) and ``analyze --json`` of each."""
    d = tmp_path_factory.mktemp("progress")
    paths = []
    for k, (amp, day) in enumerate(PROGRESS):
        s = simulate_knee_session("squat", reps=4, seed=5, start_pose="standing", amplitude_deg=amp)
        paths.append(write_mtrec(d / f"s{k}.mtrec", s, f"{day}T10:00:00.000+00:00"))
    return paths, {p.name: analyze_json(p, "--exercise", "squat") for p in paths}
