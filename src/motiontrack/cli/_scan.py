"""``motiontrack scan`` (its arguments: :mod:`motiontrack.cli.scan`)."""

from __future__ import annotations

import argparse
import asyncio
import json

from ..errors import ConfigurationError
from ..transport import scan


async def _scan(args: argparse.Namespace) -> list[dict[str, object]]:
    fleet = None
    if args.sim:
        from ..virtual.fleet import start_sensors  # lazily: the virtual sensors need bumble

        names = [n for n in args.sim_names.split(",") if n]
        fleet = await start_sensors(names)
    try:
        results = await scan(args.seconds, kind="sim" if args.sim else "ble")
    finally:
        if fleet is not None:
            await fleet.close()
    return [
        {
            "source": r.source,
            "address": r.address,
            "name": r.name,
            "rssi_dbm": r.rssi,
            "battery_percent": r.battery_percent,
        }
        for r in results
    ]


def run(args: argparse.Namespace) -> int:
    if not args.seconds > 0:
        raise ConfigurationError("--seconds must be > 0")
    rows = asyncio.run(_scan(args))
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("no motiontrack sensors found")
        return 0
    print(f"{'source':<32} {'name':<16} {'rssi':>6} {'battery':>8}")
    for r in rows:
        battery = "-" if r["battery_percent"] is None else f"{r['battery_percent']} %"
        print(f"{r['source']:<32} {str(r['name'] or '-'):<16} {r['rssi_dbm']:>4} dBm {battery:>8}")
    return 0
