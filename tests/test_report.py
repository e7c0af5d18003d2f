"""HTML reports without a browser: self-contained, every number from the JSON of
``analyze``, no trace inside a gap, interrupted reps listed, the progress report, targets,
owner-only files. The pages in a real Chromium: tests/test_report_browser.py."""

from __future__ import annotations

import os
import re
import stat

import numpy as np
import pytest
from report_data import OUTAGE_S, PROGRESS, analyze_json, write_mtrec

from motiontrack import io
from motiontrack.analysis import process_recording
from motiontrack.cli import main
from motiontrack.errors import ConfigurationError
from motiontrack.report import FLAG_TEXT, SessionInfo, render_progress, render_report, target_zone
from motiontrack.report._page import BANDS
from motiontrack.reps import RepFlags
from motiontrack.simulation import simulate_knee_session


@pytest.fixture(scope="module")
def squat(tmp_path_factory):
    d = tmp_path_factory.mktemp("rep")
    s = simulate_knee_session(
        "squat", reps=4, seed=11, drop_rate=0.01, partial_reps=[2], max_mount_deg=90.0
    )
    p = d / "squat.csv"
    s.to_csv(p)
    return s, p, process_recording(p, exercise="squat")


def test_report_is_self_contained_and_complete(squat):
    _, _, res = squat
    text = render_report(res)
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    # no external assets, no scripts
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", text)
    assert "<script" not in text and "<link" not in text and "@import" not in text
    # two charts (angle over time, ROM per rep), each drawn once per width band
    assert text.count("<svg") == 2 * len(BANDS)
    assert text.count('data-chart="angle"') == text.count('data-chart="rom"') == len(BANDS)
    for r in res.reps:
        assert f"<b>{r.to_dict()['rom_deg']:.1f}</b>" in text
    assert re.search(rf'data-k="rep_count"><div class="v">{res.rep_count}</div>', text)
    assert "Data quality" in text and "How to read this report" in text
    assert "@media print" in text


def test_report_facts_date_side_exercise_target(squat, tmp_path):
    s, _, res = squat
    p = write_mtrec(tmp_path / "s.mtrec", s, "2026-11-02T09:30:00.000+00:00")
    info = SessionInfo.of(io.load(p), side="left")
    assert info.date is not None and info.date.isoformat() == "2026-11-02T09:30:00+00:00"
    text = render_report(res, info=info, target_deg=80)
    assert 'data-k="date">2026-11-02 09:30 UTC (recording started)' in text
    assert 'data-k="side">left<' in text and 'data-k="exercise">squat<' in text
    assert 'data-k="target">knee flexion 80° or more (given)<' in text
    # a CSV holds no date: the file's time, said as such; no side given: said as such
    csv_info = SessionInfo.of(io.load(squat[1]))
    text = render_report(res, info=csv_info)
    assert "file modified; the file holds no date" in text
    assert "not given (analysed as the right side)" in text
    assert "knee flexion 90° or more (default goal for squat)" in text


def test_every_flag_has_plain_words():
    names = {f.name.lower() for f in RepFlags if f and f.name}
    assert names <= set(FLAG_TEXT), (
        f"explain these flags in the report legend: {names - set(FLAG_TEXT)}"
    )


def test_target_zone_sides_and_checks():
    squat = target_zone("squat", joint="knee")
    assert (squat.lo_deg, squat.hi_deg, squat.given) == (90.0, 170.0, False)
    assert squat.rep_reached(2.0, 91.0) and not squat.rep_reached(2.0, 89.9)
    ext = target_zone("seated_knee_extension", joint="knee", target_deg=5.0)
    assert (ext.lo_deg, ext.hi_deg) == (-20.0, 5.0)  # reached from above: 5° or less
    assert ext.rep_reached(4.0, 90.0) and not ext.rep_reached(6.0, 90.0)
    assert not squat.reached(float("nan"))
    assert target_zone(None, joint="knee") is None and target_zone("squat", joint=None) is None
    with pytest.raises(ConfigurationError, match="direction"):
        target_zone(None, joint="knee", target_deg=90)
    with pytest.raises(ConfigurationError, match="range"):
        target_zone("squat", joint="knee", target_deg=400)


def test_report_numbers_are_the_json_of_analyze(squat, tmp_path):
    _, p, _ = squat
    d = analyze_json(p, "--exercise", "squat")
    out = tmp_path / "r.html"
    assert main(["report", str(p), "--exercise", "squat", "-o", str(out)]) == 0
    text = out.read_text()
    rows = re.findall(r'<tr data-rep="(\d+)">(.*?)</tr>', text)
    assert [int(i) for i, _ in rows] == [r["index"] for r in d["reps"]]
    for (_, row), r in zip(rows, d["reps"]):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        assert cells[2:6] == [
            f"{r['start_s']:.1f}",
            f"{r['min_deg']:.1f}",
            f"{r['max_deg']:.1f}",
            f"<b>{r['rom_deg']:.1f}</b>",
        ]
    for key in ("max_deg", "min_deg", "rom_deg"):
        assert f'data-k="{key}"><div class="v">{d["rom"][key]:.1f}<' in text


def test_outage_report_has_no_trace_in_the_gap_and_lists_interrupted_reps(outage_case):
    _, res = outage_case
    assert res.interrupted_reps
    text = render_report(res)
    for band, width, _ in BANDS:
        svg = re.search(rf'chart-{band}" data-chart="angle">(.*?)</svg>', text, re.S).group(1)
        gap = re.search(r'<rect class="gap" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)
        x0, x1 = float(gap.group(1)), float(gap.group(1)) + float(gap.group(2))
        xs = np.array(
            [
                float(p.split(",")[0])
                for pts in re.findall(r'<polyline class="trace" points="([^"]+)"', svg)
                for p in pts.split()
            ]
        )
        assert xs.size > 100
        inside = xs[(xs > x0 + 1.0) & (xs < x1 - 1.0)]  # 1 unit: the band's rounding
        assert inside.size == 0, f"{inside.size} trace points inside the gap at width {width}"
        assert svg.count('class="cut"') == len(res.interrupted_reps)
    assert "Interrupted repetitions (not counted)" in text
    for r in res.interrupted_reps:
        assert f'<tr data-cut="{r.to_dict()["start_s"]}">' in text
    assert f"no data from shank {OUTAGE_S[0]:.1f}" in text or "no data from shank 119.9" in text
    assert re.search(rf'data-k="interrupted"><div class="v">{len(res.interrupted_reps)}<', text)


def test_progress_report_orders_sessions_and_shows_their_numbers(progress_case, tmp_path, capsys):
    dated, js = progress_case
    given = [dated[2], dated[0], dated[1]]  # not in date order
    out = tmp_path / "progress.html"
    assert main(["report", *map(str, given), "--exercise", "squat", "-o", str(out)]) == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert "progress over 3 sessions" in capsys.readouterr().out
    text = out.read_text()
    rows = re.findall(r'<tr data-session="\d">(.*?)</tr>', text)
    assert len(rows) == 3
    for row, path, (_, day) in zip(rows, dated, PROGRESS):  # by date, not as given
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        d = js[path.name]
        assert cells[0].startswith(day) and cells[1] == path.name
        assert cells[3] == str(d["rep_count"])
        assert cells[5:8] == [f"{d['rom'][k]:.1f}" for k in ("min_deg", "max_deg", "rom_deg")]
    first, last = js[dated[0].name]["rom"]["rom_deg"], js[dated[-1].name]["rom"]["rom_deg"]
    assert f"{first:.1f} → {last:.1f} ({last - first:+.1f})" in text
    assert last - first > 20  # 60° squats on Nov 2, 90° on Nov 16
    assert text.count("<svg") == 3 * len(BANDS)


def test_progress_report_refuses_different_angles(squat):
    _, _, res = squat
    other = process_recording(squat[1], segment="thigh")
    with pytest.raises(ConfigurationError, match="different angles"):
        render_progress([(res, None), (other, None)])
    with pytest.raises(ConfigurationError, match="two sessions"):
        render_progress([(res, None)])


def test_cli_report_writes_owner_only_file(squat, tmp_path, capsys):
    _, p, res = squat
    out = tmp_path / "r.html"
    assert main(["report", str(p), "--exercise", "squat", "-o", str(out)]) == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert f"{res.rep_count} reps" in capsys.readouterr().out
    # a bad target is said before any analysis, one line, no traceback
    assert main(["report", str(p), "--target", "90", "-o", str(out)]) == 1
    assert "direction is known" in capsys.readouterr().err
