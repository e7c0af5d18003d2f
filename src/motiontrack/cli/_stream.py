"""``motiontrack stream`` (its arguments: :mod:`motiontrack.cli.stream`)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
import time
from typing import Any

from ..errors import ConfigurationError
from ..transport import BleOptions, open_sensors, parse_source


def _row(sensor: Any) -> dict[str, Any]:
    stats = sensor.stats
    latest = stats.latest
    row: dict[str, Any] = {
        "sensor": sensor.name,
        "connected": sensor.is_connected,
        "rate_hz": round(stats.device_rate_hz, 2),
        "wall_rate_hz": round(stats.rate_hz, 2),
        "samples": stats.samples,
        "missing_samples": stats.missing_samples,
        "loss_percent": round(100.0 * stats.loss_fraction, 3),
        "gaps": stats.gaps,
        "malformed": stats.malformed,
        "reconnects": stats.reconnects,
        "battery_percent": sensor.battery_percent,
    }
    if latest is not None:
        row["t_s"] = round(float(latest.t[-1]), 4)
        row["acc"] = [round(float(v), 3) for v in latest.acc[-1]]
        row["gyr"] = [round(float(v), 4) for v in latest.gyr[-1]]
    return row


def _print_rows(rows: list[dict[str, Any]], as_json: bool, final: bool = False) -> None:
    if as_json:
        print(json.dumps({"final": final, "sensors": rows}), flush=True)
        return
    for r in rows:
        acc = r.get("acc")
        latest = (
            f"t={r['t_s']:9.3f}s acc=[{acc[0]:7.2f} {acc[1]:7.2f} {acc[2]:7.2f}]"
            if acc
            else "no data yet"
        )
        battery = "-" if r["battery_percent"] is None else f"{r['battery_percent']}%"
        print(
            f"{r['sensor']:<10} {r['rate_hz']:7.1f} Hz  loss {r['loss_percent']:6.2f} %  "
            f"gaps {r['gaps']:3d}  bad {r['malformed']:3d}  reconn {r['reconnects']:2d}  "
            f"bat {battery:>4}  {latest}",
            flush=True,
        )
    if final:
        print("done", flush=True)


async def _stream(args: argparse.Namespace) -> int:
    specs = [parse_source(s) for s in args.sources]
    fleet = None
    sim_names = [s.target for s in specs if s.kind == "sim"]
    speed = args.speed if sim_names else 1.0
    if sim_names:
        from ..virtual.fleet import start_sensors  # lazily: the virtual sensors need bumble

        fleet = await start_sensors(sim_names, speed=args.speed, sample_rate_hz=args.rate)
    options = BleOptions(connect_timeout=args.timeout)
    try:
        async with open_sensors([str(s) for s in specs], options) as group:
            await group.start()

            async def drain() -> None:  # the live view reads stats; samples are consumed here
                async for _ in group.events():
                    pass

            consumer = asyncio.get_running_loop().create_task(drain())
            # Stop once every sensor delivered ``seconds`` of sensor time, or when the
            # wall clock says it should have (plus a grace period for a slow start).
            deadline = time.perf_counter() + args.seconds / speed + args.timeout

            def done() -> bool:
                return all(
                    s.stats.latest is not None
                    and s.stats.first_t is not None
                    and s.stats.latest.t[-1] - s.stats.first_t >= args.seconds - 1e-9
                    for s in group.sensors.values()
                )

            next_print = time.perf_counter() + args.interval
            while not done() and time.perf_counter() < deadline:
                await asyncio.sleep(min(0.01, args.interval))
                if time.perf_counter() >= next_print:
                    next_print += args.interval
                    _print_rows([_row(s) for s in group.sensors.values()], args.json)
            await group.stop()
            rows = [_row(s) for s in group.sensors.values()]
        await consumer
        _print_rows(rows, args.json, final=True)
    finally:
        if fleet is not None:
            await fleet.close()
    return 0


def run(args: argparse.Namespace) -> int:
    if args.web and args.lsl:
        raise ConfigurationError("--web and --lsl run a session each: choose one")
    if args.web:
        if args.seconds is not None and args.seconds < 0:
            raise ConfigurationError("--seconds must be >= 0 (0: until Ctrl-C)")
        args.seconds = args.seconds or 0.0
        # the session and the page server are imported only for --web
        return importlib.import_module(f"{__package__}._web").run_stream(args)  # type: ignore[no-any-return]
    if args.seconds is None:
        args.seconds = 10.0
    for name in ("seconds", "interval", "speed", "rate", "timeout"):
        if not getattr(args, name) > 0:
            raise ConfigurationError(f"--{name} must be > 0")
    try:
        if args.lsl:  # the session and pylsl, imported only for this mode (as cli defers)
            impl = importlib.import_module(f"{__package__}._stream_lsl")
            return asyncio.run(impl.stream_lsl(args))
        return asyncio.run(_stream(args))
    except KeyboardInterrupt:  # pragma: no cover - interactive
        print("interrupted", file=sys.stderr)
        return 130
