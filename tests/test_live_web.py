"""The live page in a real headless Chromium (Debian's, driven by Playwright) while the
virtual patient (``sim:`` sensors through bleak, as ``motiontrack demo``) exercises: the
page shows the prompts, then each rep as it is done; its rep count and ROM equal the
session's events; the angle turns green in the target zone; gaps and disconnects are shown;
a page opened late catches up. Also: loopback only, a secret path, other origins refused."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import urllib.error
import urllib.request

import numpy as np
import pytest
from browser import launch, need_chromium

from motiontrack import events as ev
from motiontrack.demo import run_demo
from motiontrack.report import target_zone
from motiontrack.report.live import LivePage
from motiontrack.reps import RepFlags

IN_ZONE_COLOUR = "rgb(30, 122, 70)"  # #1e7a46, the page's "in the target zone" green


async def _shows(page, js: str, arg, timeout_s: float = 10.0) -> None:
    await page.wait_for_function(js, arg=arg, timeout=timeout_s * 1000)


@pytest.mark.slow
async def test_live_page_follows_the_virtual_patient():
    need_chromium()
    from playwright.async_api import async_playwright

    zone = target_zone("squat", joint="knee", target_deg=60.0)  # reached by every squat
    live = LivePage(joint="knee", exercise="squat", target=zone)
    url = await live.start()
    assert url.startswith("http://127.0.0.1:") and len(url.rsplit("/", 2)[1]) >= 16
    seen: asyncio.Queue[ev.SessionEvent | None] = asyncio.Queue()
    events: list[ev.SessionEvent] = []

    def on_event(e: ev.SessionEvent) -> None:
        live(e)
        events.append(e)
        if isinstance(e, (ev.CalibrationPrompt, ev.RepCompleted)):
            seen.put_nowait(e)

    async with async_playwright() as p:
        browser = await launch(p)
        page = await browser.new_page(viewport={"width": 360, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(url)
        await page.wait_for_selector("#conn.on")
        # every time the angle is shown in the target zone, note its colour
        await page.evaluate("""() => { window.zoneColours = [];
          new MutationObserver(() => { const a = document.getElementById('angle');
            if (a.classList.contains('in')) window.zoneColours.push(getComputedStyle(a).color); })
          .observe(document.getElementById('angle'), {attributes: true}); }""")
        demo = asyncio.ensure_future(
            run_demo(seconds=22.0, exercise="squat", speed=4.0, seed=1, on_event=on_event)
        )
        demo.add_done_callback(lambda _: seen.put_nowait(None))
        shown: list[str] = []  # what the page showed, in order
        while (e := await seen.get()) is not None:
            if isinstance(e, ev.CalibrationPrompt):
                await _shows(page, "m => S.prompts.includes(m)", e.message)
                shown.append("prompt")
            else:  # the page has this rep as soon as the session counted it
                await _shows(
                    page,
                    "n => Number(document.getElementById('count').dataset.count) >= n",
                    e.count,
                )
                shown.append("rep")
        result = demo.result()
        assert not errors
        reps = [e for e in events if isinstance(e, ev.RepCompleted)]
        assert len(reps) >= 2 and shown[0] == "prompt" and "rep" in shown
        assert shown.index("rep") > max(i for i, s in enumerate(shown) if s == "prompt")
        # the page's count and ROM are the session's
        assert await page.inner_text("#count") == str(reps[-1].count) == str(len(result.reps))
        rows = await page.eval_on_selector_all(
            "#reps tr",
            "trs => trs.map(t => [t.dataset.count, t.dataset.rom, t.cells[1].innerText])",
        )
        by_count = {int(c): (float(rom), text) for c, rom, text in rows}
        assert sorted(by_count) == [e.count for e in reps]
        for e in reps:
            rom, text = by_count[e.count]
            assert rom == round(e.rep.rom_deg, 2)  # the value sent: Rep.to_dict()
            assert text == f"{e.rep.rom_deg:.1f}"  # shown as the terminal shows it
        assert await page.inner_text("#rom") == f"{reps[-1].rep.rom_deg:.1f}°"
        # the patient reached the target zone: the live angle turned green then
        assert any(zone.rep_reached(e.rep.min_deg, e.rep.max_deg) for e in reps)
        colours = await page.evaluate("window.zoneColours")
        assert colours and set(colours) == {IN_ZONE_COLOUR}
        assert "Session ended" in await page.inner_text("#prompt")

        # gaps, disconnects and an unknown angle, as the session sends them
        t = reps[-1].t + 1.0
        live(ev.SensorDisconnected(t=t, sensor="shank", detail="(link lost)"))
        live(
            ev.DataGap(
                t=t + 2,
                sensor="shank",
                start_s=t,
                end_s=t + 2.0,
                missing_samples=200,
                cause="link_lost",
            )
        )
        cut = dataclasses.replace(
            reps[-1].rep, index=-1, start_s=t - 0.5, end_s=t, flags=RepFlags.INTERRUPTED
        )
        live(ev.RepInterrupted(t=t + 2, rep=cut, interrupted=1))
        live(ev.SensorReconnected(t=t + 2, sensor="shank", attempts=1))
        live(
            ev.AngleUpdate(
                t=t + 2,
                joint="knee",
                names=("flexion_deg",),
                angle_deg=math.nan,
                times=np.array([t + 2]),
                values_deg=np.array([[np.nan]]),
            )
        )
        await _shows(page, "() => document.querySelectorAll('#log li.reconnect').length == 1", None)
        log = await page.inner_text("#log")
        assert "shank disconnected" in log and "no data from shank for 2.00 s (200 samples" in log
        assert "a repetition was cut by a gap in the data" in log and "not counted" in log
        assert await page.inner_text("#angle") == "--"
        assert "no angle" in await page.inner_text("#zone")

        # a page opened late gets what it missed
        late = await browser.new_page(viewport={"width": 1280, "height": 800})
        await late.goto(url)
        await _shows(
            late, "n => document.getElementById('count').dataset.count == n", reps[-1].count
        )
        assert await late.evaluate("S.prompts.length") == shown.count("prompt")
        await browser.close()
    await live.close()


async def test_live_page_is_private():
    live = LivePage(joint="knee")
    url = await live.start()
    base = url.rsplit("/", 2)[0]

    def get(address: str, origin: str | None = None) -> int:
        req = urllib.request.Request(address, headers={"Origin": origin} if origin else {})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code

    try:
        assert live.host == "127.0.0.1"
        assert await asyncio.to_thread(get, url) == 200
        assert await asyncio.to_thread(get, base + "/") == 404  # no page without the secret path
        assert await asyncio.to_thread(get, url, "http://evil.example") == 403
    finally:
        await live.close()


@pytest.mark.slow
async def test_stream_web_serves_the_session_of_its_sources(capsys, monkeypatch):
    """``motiontrack stream sim:thigh sim:shank --web``: the address on stderr, the page, and
    over its WebSocket the session's own events (hello, start, the first prompt)."""
    import json

    from websockets.asyncio.client import connect

    from motiontrack.cli import main

    monkeypatch.setenv("MOTIONTRACK_QUIET", "1")
    argv = ["stream", "sim:thigh", "sim:shank", "--web", "--exercise", "squat", "--seconds", "2",
            "--speed", "2"]
    run = asyncio.ensure_future(asyncio.to_thread(main, argv))  # its own event loop
    err = ""
    for _ in range(600):
        err += capsys.readouterr().err
        if "live page: " in err or run.done():
            break
        await asyncio.sleep(0.05)
    assert "live page: http://127.0.0.1:" in err, err
    url = err.split("live page: ", 1)[1].split()[0]
    got: list[dict] = []
    async with connect(url.replace("http", "ws", 1) + "ws") as ws:
        while not got or got[-1]["type"] != "calibration_prompt":
            got.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
    assert got[0]["type"] == "hello" and got[0]["exercise"] == "squat"
    assert got[0]["target"]["target_deg"] == 90.0 and got[0]["joint"] == "knee"
    kinds = [m["type"] for m in got]
    assert "session_started" in kinds and got[-1]["message"].startswith("Stand still")
    assert await asyncio.wait_for(run, 60) == 0
