"""Acceptance 3 of issue 6: how long after a rep ends is its event emitted?

Streams simulated sessions sample by sample through ``RepCounter`` (angle mode: true angle +
error as in reps_sim.py; imu mode: the shank IMU alone) and, for each counted rep matched to a
true rep (its turning point inside the true rep), measures ``emitted_s - true end_s`` (the
simulator's end of the return movement). Target: at most 0.3 s. Also reports the compute time
per sample (noisy on a shared machine; compile time separate).

    /tmp/venv/bin/python benchmarks/reps_latency.py [--sessions 40]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reps_sim import PRESET, angle_with_error, make_session

from motiontrack.reps import RepCounter


def stream(counter: RepCounter, values, acc=None) -> tuple[list, float]:
    reps = []
    t0 = time.perf_counter()
    for i in range(len(values)):
        reps += counter.update(values[i]) if acc is None else counter.update(values[i], acc[i])
    return reps, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=40)
    ap.add_argument("--fs", type=float, default=100.0)
    args = ap.parse_args(argv)
    t_c = time.perf_counter()
    RepCounter(fs=args.fs).update(np.zeros(10))
    RepCounter(fs=args.fs, mode="imu").update(np.zeros((10, 3)), np.zeros((10, 3)))
    compile_s = time.perf_counter() - t_c
    lat = {"angle": [], "imu": []}
    cost = {"angle": [], "imu": []}
    for i in range(args.sessions):
        s, rng = make_session(i, args.fs)
        preset = PRESET[s.exercise]
        x = angle_with_error(s, rng)
        imu = s.sensors["shank"]
        for mode, lat_mode in lat.items():
            c = RepCounter(fs=s.fs, preset=preset, mode=mode)  # type: ignore[arg-type]
            if mode == "angle":
                reps, dt = stream(c, x)
            else:
                reps, dt = stream(c, imu.gyr, imu.acc)
            cost[mode].append(dt / len(s.t))
            for r in reps:
                match = [tr for tr in s.truth.reps if tr.start_s - 0.5 <= r.peak_s <= tr.end_s + 0.5]
                if match:
                    lat_mode.append(r.emitted_s - match[0].end_s)
    print(f"compile {compile_s:.1f} s; {args.sessions} sessions at {args.fs:g} Hz, streamed one sample per update()")
    for mode, v in lat.items():
        v = np.array(v)
        print(f"{mode:5s}: {v.size} reps, latency (emitted - true end) median {np.median(v):+.3f} s, "
              f"p95 {np.percentile(v, 95):+.3f} s, max {v.max():+.3f} s, "
              f"share <= 0.3 s: {100 * np.mean(v <= 0.3):.1f} %  (target: max <= 0.3 s); "
              f"cost {1e6 * np.median(cost[mode]):.1f} us/sample")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
