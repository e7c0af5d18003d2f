"""``motiontrack bench``: runs the firmware test bench (arguments in :mod:`motiontrack.cli.bench`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .._progress import progress
from ..bench import (
    LatencySettings,
    LinkTestSettings,
    LinkThresholds,
    SimFaults,
    SoakSettings,
    run_latency,
    run_link_test,
    run_soak,
)
from ..recording._files import open_private
from .bench import EXIT_FAILED


def _limit(v: float) -> Any:
    return None if v < 0 else v


def _write_json(target: Path | None, payload: dict[str, Any]) -> None:
    if target is None:
        return
    text = json.dumps(payload, indent=2, default=_default) + "\n"
    if str(target) == "-":
        sys.stdout.write(text)
    else:
        with open_private(target, "w", encoding="utf-8") as f:  # owner-only (0600)
            f.write(text)


def _default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


T = TypeVar("T")


async def _with_bar(work: Coroutine[Any, Any, T], expected_s: float, desc: str, quiet: bool) -> T:
    """Run ``work`` with a progress bar of the wall time it is expected to take (stderr, a
    terminal only; the bench's own output is unchanged)."""
    total = max(1, round(expected_s))
    with progress(total=total, desc=desc, unit="s", quiet=quiet) as bar:
        task = asyncio.ensure_future(work)
        t0, shown = time.monotonic(), 0
        while not task.done():
            await asyncio.wait({task}, timeout=0.5)
            now = min(int(time.monotonic() - t0), total)
            bar.update(now - shown)
            shown = now
        return task.result()


def run(args: argparse.Namespace) -> int:
    logging.getLogger("bumble").setLevel(logging.ERROR)  # the emulator warns on every link drop
    quiet = str(getattr(args, "json", "")) == "-"
    if args.bench_command == "link":
        settings = LinkTestSettings(
            duration_s=60.0 * args.minutes,
            force_drop=args.force_drop,
            rtt_probes=args.rtt_probes,
            capture=args.capture,
            thresholds=LinkThresholds(
                max_loss=_limit(args.max_loss),
                max_burst=_limit(args.max_burst),
                max_jitter_ms=_limit(args.max_jitter_ms),
                max_drift_ppm=_limit(args.max_drift_ppm),
                min_rate_ratio=_limit(args.min_rate_ratio),
                max_reconnect_s=_limit(args.max_reconnect_s),
                max_rtt_ms=_limit(args.max_rtt_ms),
                max_malformed=_limit(args.max_malformed),
            ),
            sim=SimFaults(
                sample_rate_hz=args.rate,
                speed=args.speed,
                loss=args.inject_loss,
                drift_ppm=args.inject_drift_ppm,
                malformed_per_min=args.inject_malformed_per_min,
                battery_drain_pct_per_h=args.inject_battery_drain,
                seed=args.seed,
            ),
        )
        wall = settings.duration_s / (args.speed if all(x.startswith("sim:") for x in args.sources)
                                      else 1.0)
        report = asyncio.run(_with_bar(run_link_test(args.sources, settings), wall, "bench link",
                                       quiet))
    elif args.bench_command == "soak":
        report = asyncio.run(_with_bar(
            run_soak(
                SoakSettings(
                    stream_s=60.0 * args.minutes,
                    n_sensors=args.sensors,
                    sample_rate_hz=args.rate,
                    speed=args.speed,
                    drop_every_s=tuple(args.drop_every),
                    trace_memory=not args.no_tracemalloc,
                    seed=args.seed,
                )
            ),
            60.0 * args.minutes / args.speed, "bench soak", quiet,
        ))
    else:
        report = asyncio.run(_with_bar(
            run_latency(LatencySettings(duration_s=args.seconds, sample_rate_hz=args.rate)),
            args.seconds, "bench latency", quiet,
        ))
    if not quiet:
        print(report.format())
    _write_json(args.json, report.to_dict())
    return 0 if report.passed else EXIT_FAILED
