"""The reports in a real headless Chromium (Debian's, driven by Playwright): no sideways
scrolling at 360, 768 and 1280 px, every chart drawn with text of at least 10.5 px, the
quality column on screen, the numbers on the page equal to ``motiontrack analyze --json``,
the 60 s outage drawn with no trace inside it and its interrupted reps listed, print."""

from __future__ import annotations

import contextlib
import io

import pytest
from browser import CHARTS, NO_OVERFLOW, WIDTHS, launch, need_chromium, shot
from report_data import analyze_json

from motiontrack.cli import main
from motiontrack.io import load as io_load
from motiontrack.report import SessionInfo, write_report
from motiontrack.simulation import simulate_knee_session

MIN_FONT_PX = 10.5  # chart text on screen, CSS px: readable on a phone


@pytest.fixture(scope="module")
def chromium():
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory, progress_case, outage_case):
    d = tmp_path_factory.mktemp("pages")
    s = simulate_knee_session(
        "squat", reps=6, seed=11, drop_rate=0.01, partial_reps=[2], start_pose="standing"
    )
    s.to_csv(d / "squat.csv")
    out = {"squat": d / "squat.csv"}
    with contextlib.redirect_stdout(io.StringIO()):
        assert (
            main(
                ["report", str(d / "squat.csv"), "--exercise", "squat", "-o", str(d / "squat.html")]
            )
            == 0
        )
    sessions, progress_json = progress_case
    with contextlib.redirect_stdout(io.StringIO()):
        assert (
            main(
                [
                    "report",
                    *map(str, sessions),
                    "--exercise",
                    "squat",
                    "-o",
                    str(d / "progress.html"),
                ]
            )
            == 0
        )
    out["sessions"] = sessions
    out["json"] = {
        "squat.csv": analyze_json(d / "squat.csv", "--exercise", "squat"),
        **progress_json,
    }
    p, res = outage_case
    write_report(d / "outage.html", res, info=SessionInfo.of(io_load(p)))
    out["outage"], out["outage_result"] = p, res
    return d, out


def _open(chromium, path, width):
    page = chromium.new_page(viewport={"width": width, "height": 900})
    page.goto(path.as_uri())
    return page


@pytest.mark.parametrize("width", WIDTHS)
def test_session_report_fits_and_draws_every_chart(chromium, files, width):
    d, _ = files
    page = _open(chromium, d / "squat.html", width)
    try:
        assert page.evaluate(NO_OVERFLOW), page.evaluate("document.documentElement.scrollWidth")
        charts = page.evaluate(CHARTS)
        assert sorted(c["name"] for c in charts) == ["angle", "rom"]  # one drawing each
        for c in charts:
            assert c["drawn"] > 0 and c["height"] > 150, c
            assert c["minFont"] >= MIN_FONT_PX, c
        assert next(c for c in charts if c["name"] == "angle")["points"] > 200
        # the quality of every rep is on screen, inside the page's width
        rights = page.eval_on_selector_all(
            "table.reps td.wide", "els => els.map(e => e.getBoundingClientRect().right)"
        )
        assert rights and max(rights) <= width
        shot(page, f"report_{width}")
    finally:
        page.close()


@pytest.mark.parametrize("width", (360, 1280))
def test_session_report_numbers_equal_analyze_json(chromium, files, width):
    d, f = files
    js = f["json"]["squat.csv"]
    page = _open(chromium, d / "squat.html", width)
    try:
        card = {
            k: page.inner_text(f'.card[data-k="{k}"] .v')
            for k in ("rep_count", "max_deg", "min_deg", "rom_deg")
        }
        assert card == {
            "rep_count": str(js["rep_count"]),
            **{k: f"{js['rom'][k]:.1f}" for k in ("max_deg", "min_deg", "rom_deg")},
        }
        rows = page.eval_on_selector_all(
            "tr[data-rep]", "trs => trs.map(tr => [...tr.cells].map(td => td.innerText.trim()))"
        )
        assert len(rows) == js["rep_count"] > 0
        for cells, r in zip(rows, js["reps"]):
            assert cells[:7] == [
                str(r["index"] + 1),
                str(r["set_index"] + 1),
                f"{r['start_s']:.1f}",
                f"{r['min_deg']:.1f}",
                f"{r['max_deg']:.1f}",
                f"{r['rom_deg']:.1f}",
                f"{r['duration_s']:.1f}",
            ]
            assert ("ok" if not r["flags"] else r["flags"][0].replace("_", " ")) in cells[-1]
    finally:
        page.close()


@pytest.mark.parametrize("width", (360, 1280))
def test_outage_report_shows_the_gap_empty_and_the_interrupted_reps(chromium, files, width):
    d, f = files
    res = f["outage_result"]
    page = _open(chromium, d / "outage.html", width)
    try:
        assert page.evaluate(NO_OVERFLOW)
        # on screen: the gap band of the visible angle chart holds no point of the trace
        found = page.evaluate("""() => {
          const c = [...document.querySelectorAll('.chart[data-chart=angle]')]
            .find((c) => getComputedStyle(c).display !== 'none');
          const g = c.querySelector('rect.gap').getBBox();
          let inside = 0, total = 0;
          for (const p of c.querySelectorAll('polyline.trace'))
            for (let i = 0; i < p.points.numberOfItems; i++) {
              const x = p.points.getItem(i).x; total++;
              if (x > g.x + 1 && x < g.x + g.width - 1) inside++;
            }
          return {inside, total, gap: g.width, cut: c.querySelectorAll('rect.cut').length};
        }""")
        assert found["inside"] == 0 and found["total"] > 200 and found["gap"] > 20, found
        assert found["cut"] == len(res.interrupted_reps)
        cut_rows = page.eval_on_selector_all("tr[data-cut]", "trs => trs.map(t => t.innerText)")
        assert len(cut_rows) == len(res.interrupted_reps) >= 1
        assert all("no data from shank" in t for t in cut_rows)
        assert page.inner_text('.card[data-k="interrupted"] .v') == str(len(res.interrupted_reps))
        shot(page, f"outage_{width}")
    finally:
        page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_progress_report_fits_draws_and_equals_analyze_json(chromium, files, width):
    d, f = files
    page = _open(chromium, d / "progress.html", width)
    try:
        assert page.evaluate(NO_OVERFLOW)
        charts = page.evaluate(CHARTS)
        assert sorted(c["name"] for c in charts) == [
            "progress-quality",
            "progress-reps",
            "progress-rom",
        ]
        for c in charts:
            assert c["drawn"] >= 3 and c["minFont"] >= MIN_FONT_PX, c
        rows = page.eval_on_selector_all(
            "tr[data-session]", "trs => trs.map(tr => [...tr.cells].map(td => td.innerText.trim()))"
        )
        for cells, path in zip(rows, f["sessions"]):  # given in date order
            js = f["json"][path.name]
            assert cells[1] == path.name and cells[3] == str(js["rep_count"])
            assert cells[5:8] == [f"{js['rom'][k]:.1f}" for k in ("min_deg", "max_deg", "rom_deg")]
        shot(page, f"progress_{width}")
    finally:
        page.close()


def test_print_shows_one_drawing_per_chart(chromium, files):
    d, _ = files
    page = _open(chromium, d / "squat.html", 1280)
    try:
        page.emulate_media(media="print")
        charts = page.evaluate(CHARTS)
        assert sorted(c["name"] for c in charts) == ["angle", "rom"]
        assert all(c["drawn"] > 0 for c in charts)
        assert page.pdf()[:4] == b"%PDF"
    finally:
        page.close()
