"""``demo --web`` and ``stream SOURCE... --web``: the live page in the browser beside the
terminal view (:class:`motiontrack.report.live.LivePage`, fed by the session's events)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import Any

from .. import events as ev
from ..errors import ConfigurationError
from ..exercise import PRIMARY_ANGLE, SEGMENT_ANGLE
from ..report import target_zone
from ..report.live import LivePage
from ..session import Session
from ..simulation import EXERCISES
from ._common import parse_sources
from ._live import LiveView


def make_page(args: argparse.Namespace, *, joint: str | None, exercise: str | None) -> LivePage:
    """The live page of the command's options (the target checked before anything starts)."""
    angle = PRIMARY_ANGLE.get(joint or "", SEGMENT_ANGLE)
    target = target_zone(exercise, joint=joint, angle=angle, target_deg=args.target)
    return LivePage(
        joint=joint,
        exercise=exercise,
        target=target,
        angle=angle,
        host=args.web_host,
        port=args.web_port,
    )


async def open_page(page: LivePage) -> None:
    """Start serving and say where (stderr: stdout may carry JSON)."""
    try:
        url = await page.start()
    except ImportError:
        raise ConfigurationError(
            "--web needs the websockets package: pip install 'motiontrack[web]'"
        ) from None
    except OSError as exc:
        raise ConfigurationError(
            f"cannot serve the live page on {page.host}:{page.port}: {exc.strerror}"
        ) from None
    print(f"live page: {url}  (open it in a browser)", file=sys.stderr, flush=True)


def fan_out(*callbacks: Callable[[ev.SessionEvent], Any]) -> Callable[[ev.SessionEvent], None]:
    """One session callback calling each of ``callbacks`` in turn."""

    def call(e: ev.SessionEvent) -> None:
        for cb in callbacks:
            cb(e)

    return call


async def demo_with_page(
    args: argparse.Namespace, view: LiveView, run_demo: Callable[..., Any], **demo_kwargs: Any
) -> Any:
    """``run_demo(**demo_kwargs)`` with the live page fed by its events."""
    page = make_page(args, joint="knee", exercise=args.exercise)
    await open_page(page)
    try:
        return await run_demo(on_event=fan_out(view, page), **demo_kwargs)
    finally:
        await page.close()


async def stream_with_page(args: argparse.Namespace) -> int:
    """A live session of the sources (one sensor: a segment; two: a joint) and its page."""
    sources = parse_sources(args.sources)
    if len(sources) > 2:
        raise ConfigurationError("--web takes one sensor (a segment) or two (a joint)")
    names = list(sources)
    joint = None if len(names) == 1 else args.joint
    page = make_page(args, joint=joint, exercise=args.exercise)
    kw: dict[str, Any] = {"segment": names[0]} if joint is None else {"joint": joint}
    sim_names = [v.split(":", 1)[1] for v in sources.values() if v.startswith("sim:")]
    fleet = None
    if sim_names:
        # lazily: the virtual sensors need bumble (motiontrack[sim]); ble: sources do not
        from ..virtual.fleet import start_sensors

        knee_exercise = args.exercise if args.exercise in EXERCISES else "seated_knee_extension"
        fleet = await start_sensors(
            sim_names, speed=args.speed, sample_rate_hz=args.rate, exercise=knee_exercise
        )
    view = LiveView()
    await open_page(page)
    try:
        session = Session(sources, exercise=args.exercise, **kw)
        session.on(fan_out(view, page))
        async with session:
            while args.seconds <= 0 or session.last_t < args.seconds:
                if await session.wait(0.1):
                    break
        print(f"\n{len(session.reps)} reps", flush=True)
    finally:
        view.close()
        await page.close()
        if fleet is not None:
            await fleet.close()
    return 0


def run_stream(args: argparse.Namespace) -> int:
    return asyncio.run(stream_with_page(args))
