"""``motiontrack bench`` and ``python -m benchmarks`` entry points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from motiontrack.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(60)
def test_bench_link_cli_pass_fail_json_and_capture(tmp_path, capsys):
    out = tmp_path / "link.json"
    cap = tmp_path / "cap.mtrec"
    args = ["bench", "link", "sim:cli0", "--minutes", "0.25", "--speed", "10", "--rtt-probes", "3",
            "--inject-loss", "0.05", "--json", str(out), "--capture", str(cap), "--max-jitter-ms", "-1"]
    rc = main(args)
    d = json.loads(out.read_text())
    # 5 % injected loss fails the default 1 % threshold: exit code 3, and the JSON says why
    assert rc == 3 and d["passed"] is False
    failed = {c["name"] for c in d["checks"] if not c["passed"]}
    assert "loss" in failed
    assert 0 <= d["sensors"][0]["truth"]["packets_lost_air"] - d["sensors"][0]["packets_lost"] <= 3
    assert cap.stat().st_size > 0
    if os.name == "posix":  # issue 13: health data files are owner-only
        assert out.stat().st_mode & 0o777 == 0o600 and cap.stat().st_mode & 0o777 == 0o600
    assert "RESULT: FAIL" in capsys.readouterr().out
    # the same run with lenient thresholds passes. Drift is not judged here: 1.6 s of wall
    # time cannot measure it (it needs >= 45 s, see test_bench_link), and a sped-up 15 s run
    # was seen at 103 ppm against the default 100 ppm limit on a loaded machine
    rc = main([*args[:-4], "--max-loss", "0.5", "--min-rate-ratio", "0.5", "--max-jitter-ms", "-1",
               "--max-drift-ppm", "-1", "--capture", str(tmp_path / "cap2.mtrec")])
    assert rc == 0


def test_bench_link_rejects_bad_source(capsys):
    assert main(["bench", "link", "usb:0", "--minutes", "0.1"]) == 1
    assert "error" in capsys.readouterr().err


def test_benchmarks_entry_point_lists_the_suite():
    r = subprocess.run([sys.executable, "-m", "benchmarks", "--list"], cwd=REPO, capture_output=True, check=False,
                       text=True, timeout=60)
    assert r.returncode == 0
    for name in ("link", "soak", "e2e_latency", "ble_throughput"):
        assert name in r.stdout
    r = subprocess.run([sys.executable, "-m", "benchmarks", "nope"], cwd=REPO, capture_output=True, check=False,
                       text=True, timeout=60)
    assert r.returncode == 2 and "unknown benchmark" in r.stderr
