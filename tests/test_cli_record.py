"""`motiontrack record / replay / demo` as users run them: SIGKILL mid-session, damaged
files, JSON output, clear errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from motiontrack.recording import read_recording

CLI = [sys.executable, "-m", "motiontrack"]


def _wait_for_samples(path, proc, timeout=120.0):
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if proc.poll() is not None:
            raise AssertionError(f"record exited early: {proc.stderr.read()}")
        if path.exists() and path.stat().st_size > 20_000:
            return
        time.sleep(0.1)
    raise AssertionError("no data recorded in time")


def test_sigkill_mid_session_loses_at_most_one_second_and_replays(tmp_path):
    """Issue 7 acceptance 3."""
    path = tmp_path / "killed.mtrec"
    with subprocess.Popen(
        [*CLI, "record", "sim:thigh", "sim:shank", "-o", str(path), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            _wait_for_samples(path, proc)
            time.sleep(2.0)
            os.kill(proc.pid, signal.SIGKILL)
            killed_at = time.time()
        finally:
            proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    rec = read_recording(path)  # no exception: every complete record is there
    assert not rec.complete
    created = dt.datetime.fromisoformat(rec.meta["created"]).timestamp()
    last_host = max(float(s.host_t[-1]) for s in rec.sensors.values())
    lost_s = (killed_at - created) - last_host
    print(
        f"SIGKILL: data up to {last_host:.2f} s of {killed_at - created:.2f} s kept, lost {lost_s:.2f} s"
    )
    assert lost_s <= 1.0, f"lost {lost_s:.2f} s"
    assert all(len(s) > 100 for s in rec.sensors.values()) and len(rec.packets) > 10
    r = subprocess.run(
        [*CLI, "replay", str(path), "--speed", "0", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.splitlines()[-1])  # JSON Lines: the summary is the last line
    assert summary["type"] == "replay_summary" and summary["file"] == str(path)


def test_truncated_or_corrupted_file_gives_a_clear_error_with_what_was_recovered(tmp_path):
    from motiontrack.recording import RecordingWriter
    from motiontrack.simulation import simulate_knee_session

    sim = simulate_knee_session("squat", reps=2, seed=0)
    path = tmp_path / "rec.mtrec"
    with RecordingWriter(path) as w:
        for n in sim.sensors:
            w.add_sensor(n, fs=sim.fs)
        for k in range(0, sim.t.size, 10):
            for n, imu in sim.sensors.items():
                w.write_samples(n, sim.t[k : k + 10], imu.acc[k : k + 10], imu.gyr[k : k + 10], host_time_s=sim.t[k])
    raw = path.read_bytes()
    cut = tmp_path / "cut.mtrec"
    cut.write_bytes(raw[: len(raw) * 2 // 3 + 3])  # mid-record
    bad = tmp_path / "bad.mtrec"
    b = bytearray(raw)
    b[len(b) // 2 : len(b) // 2 + 8] = b"\x00" * 8
    bad.write_bytes(bytes(b))
    for f, what in ((cut, "truncated"), (bad, "")):
        r = subprocess.run(
            [*CLI, "analyze", str(f), "--json"], capture_output=True, text=True, timeout=300
        )
        assert r.returncode == 1 and "Traceback" not in r.stderr
        assert what in r.stderr and "Recovered" in r.stderr and "thigh:" in r.stderr
        assert "--recover" in r.stderr
    r = subprocess.run(
        [*CLI, "replay", str(cut), "--speed", "0", "--recover", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr


def test_demo_json(tmp_path):
    r = subprocess.run(
        [*CLI, "demo", "--seconds", "20", "--speed", "4", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["count_ok"] and d["rom_ok"] and d["rep_count"] == d["truth_rep_count"] >= 2
    assert d["max_error_deg"] <= 3.0
    for rep in d["reps"]:
        assert abs(rep["min_error_deg"]) <= 3.0 and abs(rep["max_error_deg"]) <= 3.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "nope.mtrec"], "no such file"),
        (["record", "usb:0", "-o", "x.mtrec", "--seconds", "1"], "unknown source"),
        (["report", "nope.csv", "-o", "r.html"], "no such file"),
    ],
)
def test_cli_errors_without_traceback(tmp_path, args, message):
    r = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr


def test_record_onto_an_existing_file_names_the_real_flag(tmp_path):
    """Issue 13: the error names ``--overwrite``, a flag that exists, and it works."""
    path = tmp_path / "old.mtrec"
    path.write_bytes(b"keep me")
    args = [*CLI, "record", "sim:thigh", "-o", str(path), "--seconds", "1", "--quiet"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "--overwrite" in r.stderr and "pass overwrite" not in r.stderr
    assert path.read_bytes() == b"keep me"  # untouched
    r = subprocess.run([*args, "--overwrite"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rec = read_recording(path)
    assert len(rec.sensors["thigh"]) > 50
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_replay_json_is_json_lines_with_one_session_ended(tmp_path):
    """Issue 13: with --json every stdout line is one JSON object, ``session_ended`` once,
    and the summary is one compact last line."""
    from motiontrack.simulation import simulate_knee_session

    path = tmp_path / "squat.csv"
    simulate_knee_session("squat", reps=2, seed=1).to_csv(path)
    r = subprocess.run(
        [*CLI, "replay", str(path), "--speed", "0", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    objs = [json.loads(line) for line in lines]  # every line is JSON
    assert all(isinstance(o, dict) and "type" in o for o in objs)
    types = [o["type"] for o in objs]
    assert types.count("session_ended") == 1
    assert types[-1] == "replay_summary" and types[-2] == "session_ended"
    assert types.count("replay_summary") == 1
    ended, summary = objs[-2], objs[-1]
    assert summary["file"] == str(path) and summary["rep_count"] == ended["rep_count"] == 2
    assert len(summary["reps"]) == 2


def test_demo_record_onto_an_existing_file_names_a_real_remedy(tmp_path):
    path = tmp_path / "old.mtrec"
    path.write_bytes(b"keep me")
    r = subprocess.run(
        [*CLI, "demo", "--seconds", "1", "--record", str(path)],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "--record" in r.stderr and "delete it" in r.stderr and "overwrite" not in r.stderr
    assert path.read_bytes() == b"keep me"
