"""Decode throughput of motiontrack.protocol (acceptance: >= 2,000,000 samples/s on one core).

Packets are the largest 6-axis DATA packets a 244-byte payload carries (19 samples, 236
bytes) and, separately, 9-axis packets (13 samples, 242 bytes). Reported: samples/s of
``decode_batch`` (vectorised), of the per-packet ``decode_samples`` path, and of the full
``decode_batch`` + ``StreamReassembler`` path.

    /tmp/venv/bin/python benchmarks/protocol_decode.py [--packets 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from motiontrack.protocol import SensorConfig, decode_samples, encode_data_packet
from motiontrack.protocol.batch import decode_batch


def make_packets(
    n_packets: int, per_packet: int, mag: bool, cfg: SensorConfig, seed: int = 0
) -> list[bytes]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n_packets):
        acc = rng.normal(0, 5, (per_packet, 3))
        gyr = rng.normal(0, 2, (per_packet, 3))
        m = rng.normal(0, 40, (per_packet, 3)) if mag else None
        out.append(
            encode_data_packet(
                sequence=k,
                timestamp_us=k * per_packet * 10_000,
                acc=acc,
                gyr=gyr,
                mag=m,
                config=cfg,
            )
        )
    return out


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--packets", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    except (AttributeError, OSError):
        pass
    cfg = SensorConfig(sample_rate_hz=100.0, mag_rate_hz=100.0)
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, {platform.processor() or platform.machine()}"
    )
    for per_packet, mag in ((19, False), (13, True)):
        pkts = make_packets(args.packets, per_packet, mag, cfg)
        n = args.packets * per_packet
        t = best_of(lambda pkts=pkts: decode_batch(pkts, cfg), args.repeat)
        label = f"{len(pkts[0])}-byte packets, {per_packet} x {'9' if mag else '6'}-axis"
        print(
            f"decode_batch     {label}: {n / t:,.0f} samples/s ({args.packets / t:,.0f} packets/s)"
        )
        sub = pkts[: max(1, args.packets // 10)]
        t1 = best_of(lambda sub=sub: [decode_samples(p, cfg) for p in sub], max(1, args.repeat // 2))
        print(
            f"decode_samples   {label}: {len(sub) * per_packet / t1:,.0f} samples/s (per-packet path)"
        )
        try:
            from motiontrack.protocol.reassembly import StreamReassembler
        except ImportError:
            continue

        def full(pkts=pkts):
            r = StreamReassembler(cfg)
            r.push_batch(pkts)
            r.flush()

        t2 = best_of(full, args.repeat)
        print(f"batch+reassembly {label}: {n / t2:,.0f} samples/s")
    print("acceptance: decode_batch >= 2,000,000 samples/s on one core")


if __name__ == "__main__":
    main()
