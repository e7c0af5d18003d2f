"""Acceptance 2 of issue 6: exact rep counts on simulated sessions.

Sessions from ``motiontrack.simulation.simulate_knee_session`` with pauses (incl. long ones),
partial reps (35-60 % amplitude), fast reps, dropped samples and sensor noise. Two inputs:

* ``angle``: the true primary angle (knee flexion, or hip flexion for the straight-leg raise)
  plus a realistic estimation error (white noise 1 deg, a random offset, a slow drift of up
  to ±5 deg, soft-tissue wobble) with NaN where a sample was dropped;
* ``imu``: single-sensor mode on the shank IMU (raw simulated gyr + acc with noise, bias and
  drops), dominant axis found online.

    /tmp/venv/bin/python benchmarks/reps_sim.py [--sessions 200] [--fs 100]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from motiontrack.reps import count_reps
from motiontrack.simulation import simulate_knee_session

PRESET = {"seated_knee_extension": "knee_extension", "squat": "squat", "heel_slide": "heel_slide",
          "straight_leg_raise": "straight_leg_raise"}
EXERCISES = list(PRESET)


def make_session(i: int, fs: float):
    rng = np.random.default_rng(1000 + i)
    exercise = EXERCISES[i % len(EXERCISES)]
    reps = int(rng.integers(5, 16))
    s = simulate_knee_session(
        exercise, reps=reps, fs=fs, seed=i,
        pause_s=float(rng.uniform(0.5, 3.0)),
        partial_reps=int(rng.integers(0, max(1, reps // 3) + 1)),
        fast_reps=int(rng.integers(0, max(1, reps // 3) + 1)),
        drop_rate=float(rng.choice([0.0, 0.01, 0.05])),
        max_mount_deg=180.0 if i % 3 == 0 else 30.0,
    )
    return s, rng


def angle_with_error(s, rng: np.random.Generator) -> np.ndarray:
    truth = s.truth.flexion_deg if s.truth.primary == "flexion" else s.truth.hip_flexion_deg
    n = truth.shape[0]
    t = s.t
    drift = rng.uniform(-5, 5) * np.sin(2 * np.pi * t / rng.uniform(60, 300) + rng.uniform(0, 6.3))
    err = rng.normal(0, 1.0, n) + rng.uniform(-5, 5) + drift
    x = truth + err
    valid = s.sensors["shank"].valid & s.sensors["thigh"].valid
    return np.where(valid, x, np.nan)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--fs", type=float, default=100.0)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    results = {"angle": [], "imu": []}
    per_ex = {m: {e: [] for e in EXERCISES} for m in results}
    for i in range(args.sessions):
        s, rng = make_session(i, args.fs)
        true_n = len(s.truth.reps)
        preset = PRESET[s.exercise]
        n_angle = len(count_reps(angle_with_error(s, rng), fs=s.fs, preset=preset))
        imu = s.sensors["shank"]
        n_imu = len(count_reps(gyroscope=imu.gyr, accelerometer=imu.acc, fs=s.fs, preset=preset))
        for mode, n in (("angle", n_angle), ("imu", n_imu)):
            results[mode].append(n - true_n)
            per_ex[mode][s.exercise].append(n - true_n)
        if args.verbose and (n_angle != true_n or n_imu != true_n):
            print(f"  session {i:3d} {s.exercise:22s} true {true_n:2d} angle {n_angle:2d} imu {n_imu:2d}")
    elapsed = time.perf_counter() - t0
    print(f"{args.sessions} simulated sessions at {args.fs:g} Hz ({elapsed:.0f} s incl. simulation)")
    for mode, errs in results.items():
        e = np.array(errs)
        print(f"{mode:5s}: exact {100 * np.mean(e == 0):5.1f} % (target >= 98 %), "
              f"MAE {np.mean(np.abs(e)):.3f}, within ±1 {100 * np.mean(np.abs(e) <= 1):.1f} %")
        for ex, ee in per_ex[mode].items():
            ee = np.array(ee)
            print(f"        {ex:22s} exact {100 * np.mean(ee == 0):5.1f} % of {ee.size}, "
                  f"errors {sorted(set(ee.tolist()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
