"""Debian's Chromium, headless, driven by Playwright, for the browser tests.

``.ci/run`` installs the ``chromium`` package; Playwright (the ``test`` extra) drives it (no
browser download). Where /usr/bin/chromium is absent the tests skip, except in CI
(``CI`` set), where they fail: the browser tests are never skipped there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
WIDTHS = (360, 768, 1280)  #: viewport widths tested, CSS px

#: Where to keep screenshots to look at (``MOTIONTRACK_SCREENSHOTS=DIR``); none by default.
SHOTS = os.environ.get("MOTIONTRACK_SCREENSHOTS")


def need_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run installs Debian's chromium package")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")


def launch(playwright):
    """A headless Chromium of ``playwright`` (sync or async API)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def shot(page, name: str) -> None:
    """A full-page screenshot to :data:`SHOTS` when asked for."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


#: In the page: does the document fit the viewport's width?
NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"

#: In the page: for each chart shown (a visible ``.chart``): its name, its size on screen,
#: what it draws (trace points, bars and bands with a size) and its smallest text in CSS px.
CHARTS = """() => [...document.querySelectorAll('.chart')]
  .filter((c) => getComputedStyle(c).display !== 'none')
  .map((c) => {
    const svg = c.querySelector('svg');
    const r = svg.getBoundingClientRect();
    const scale = r.width / svg.viewBox.baseVal.width;
    const texts = [...svg.querySelectorAll('text')];
    const sizes = texts.map((t) => parseFloat(t.getAttribute('font-size')) * scale);
    const drawn = [...svg.querySelectorAll('polyline, rect.bar, rect.rep, rect.gap')]
      .filter((e) => { const b = e.getBoundingClientRect(); return b.width > 0 && b.height > 0; });
    const points = [...svg.querySelectorAll('polyline.trace')]
      .reduce((n, p) => n + p.points.numberOfItems, 0);
    return {name: c.dataset.chart, width: r.width, height: r.height, drawn: drawn.length,
            points, minFont: Math.min(...sizes), texts: texts.length};
  })"""
