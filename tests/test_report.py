"""HTML report: self-contained, shows what a therapist reads; renders in a headless browser."""

from __future__ import annotations

import os
import re
import shutil
import stat
import struct
import subprocess
import zlib

import pytest

from motiontrack.analysis import process_recording
from motiontrack.cli import main
from motiontrack.report import render_report
from motiontrack.simulation import simulate_knee_session


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    d = tmp_path_factory.mktemp("rep")
    s = simulate_knee_session(
        "squat", reps=4, seed=11, drop_rate=0.01, partial_reps=[2], max_mount_deg=90.0
    )
    p = d / "squat.csv"
    s.to_csv(p)
    return s, p, process_recording(p, exercise="squat")


def test_report_is_self_contained_and_complete(result):
    _, _, res = result
    text = render_report(res)
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    # no external assets, no scripts
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", text)
    assert "<script" not in text and "<link" not in text and "@import" not in text
    assert text.count("<svg") == 2  # angle over time + ROM per rep
    # one table row per rep, each with its ROM, and the rep count card
    for r in res.reps:
        assert f"<b>{r.rom_deg:.1f}</b>" in text
    assert f'<div class="v">{res.rep_count}</div><div class="k">repetitions</div>' in text
    assert "Data quality" in text and "gap(s)" in text


def test_cli_report_writes_owner_only_file(result, tmp_path, capsys):
    _, p, res = result
    out = tmp_path / "r.html"
    assert main(["report", str(p), "--exercise", "squat", "-o", str(out)]) == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert f"{res.rep_count} reps" in capsys.readouterr().out


def _png_pixels_vary(png: bytes) -> tuple[int, int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", png[16:24])
    pos, idat = 8, b""
    while pos < len(png):
        n, kind = struct.unpack(">I4s", png[pos : pos + 8])
        if kind == b"IDAT":
            idat += png[pos + 8 : pos + 8 + n]
        pos += 12 + n
    raw = zlib.decompress(idat)
    return w, h, len(set(raw[:: max(1, len(raw) // 200000)]))


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_report_renders_in_headless_chromium(result, tmp_path):
    _, _p, res = result
    html_path = tmp_path / "r.html"
    html_path.write_text(render_report(res))
    shot = tmp_path / "shot.png"
    r = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1100,1400",
            f"--screenshot={shot}",
            html_path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.exists(), r.stderr[-2000:]
    w, h, distinct = _png_pixels_vary(shot.read_bytes())
    assert (w, h) == (1100, 1400)
    assert distinct > 20  # not a blank page: text, plot lines and shading
    dom = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            html_path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert dom.count("<polyline") >= 1 and "Range of motion per repetition" in dom
