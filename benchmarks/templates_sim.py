"""Issue 15, acceptance 3: template counting on simulated sessions of every simulated exercise.

For each exercise of ``motiontrack.simulation`` the template is one rep of a separate
simulated session (its own seed, so its own random sensor mounting, thigh + shank IMUs,
mounting-invariant features). Each test session (6 reps, other seeds, 1 % of samples dropped
in bursts, body turns, noise) is executed at an amplitude of 40, 70, 100 or 120 % of the
template's and a tempo of 0.5, 0.75, 1, 1.5 or 2 times the template's: the recording is
played back ``k`` times faster (times / k, angular rate * k; gravity unchanged), which also
changes its sample rate (50-200 Hz). Exact count = 6.

    python benchmarks/templates_sim.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import table, write_results  # noqa: E402

from motiontrack.recording.model import Recording, SensorSamples  # noqa: E402
from motiontrack.reps import TemplateCounter  # noqa: E402
from motiontrack.simulation import simulate_knee_session  # noqa: E402
from motiontrack.simulation._knee_spec import EXERCISES  # noqa: E402
from motiontrack.template_analysis import create_template, imu_grid  # noqa: E402

AMPLITUDES = (0.4, 0.7, 1.0, 1.2)
TEMPOS = (0.5, 0.75, 1.0, 1.5, 2.0)
SEGMENTS = ["thigh", "shank"]
N_REPS = 6


def _nominal(exercise: str) -> float:
    s = simulate_knee_session(exercise, reps=1, seed=100)
    r = s.truth.reps[0]
    return float(r.max_deg - r.min_deg)


def make_template(exercise: str, amplitude_deg: float):
    s = simulate_knee_session(exercise, reps=3, seed=101, amplitude_deg=amplitude_deg)
    r = s.truth.reps[1]
    return create_template(s.to_recording(), span=(r.start_s - 0.3, r.end_s + 0.3),
                           segments=SEGMENTS, label=exercise)


def _speed_up(rec: Recording, k: float) -> Recording:
    """The same movement ``k`` times faster."""
    sensors = {n: SensorSamples(t=s.t / k, acc=s.acc, gyr=s.gyr * k, fs=s.fs * k)
               for n, s in rec.sensors.items()}
    return Recording(sensors=sensors, source=f"{rec.source} x{k:g}")


def count(template, exercise: str, amp: float, tempo: float, seed: int) -> tuple[int, float, float]:
    s = simulate_knee_session(exercise, reps=N_REPS, seed=seed, amplitude_deg=amp,
                              drop_rate=0.01)
    rec = _speed_up(s.to_recording(), tempo)
    t, fs, imu = imu_grid(rec, SEGMENTS)
    counter = TemplateCounter([template], fs=fs, t0=float(t[0]))
    t0 = time.perf_counter()
    reps = counter.update(imu=imu) + counter.flush()
    return len(reps), time.perf_counter() - t0, t.size


def run(exercises=EXERCISES, amplitudes=AMPLITUDES, tempos=TEMPOS, seeds=(1,)) -> list[dict]:
    rows = []
    for ex in exercises:
        a0 = _nominal(ex)
        tpl = make_template(ex, a0)
        for f in amplitudes:
            for k in tempos:
                for seed in seeds:
                    n, sec, samples = count(tpl, ex, f * a0, k, seed)
                    rows.append({"exercise": ex, "amplitude": f, "tempo": k, "seed": seed,
                                 "count": n, "exact": n == N_REPS, "seconds": sec,
                                 "samples": samples})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one seed (default 3)")
    args = ap.parse_args(argv)
    rows = run(seeds=(1,) if args.quick else (1, 2, 3))
    out = []
    for ex in EXERCISES:
        for f in AMPLITUDES:
            sel = [r for r in rows if r["exercise"] == ex and r["amplitude"] == f]
            out.append([ex, f"{100 * f:.0f} %", " ".join(f"{r['count']}" for r in sel),
                        f"{sum(r['exact'] for r in sel)}/{len(sel)}"])
    print(table(out, ["exercise", "amplitude", f"counts (tempo {'/'.join(map(str, TEMPOS))})", "exact"]))
    n_exact = sum(r["exact"] for r in rows)
    print(f"exact: {n_exact}/{len(rows)} sessions ({100 * n_exact / len(rows):.1f} %)")
    by_tempo = {k: sum(r["exact"] for r in rows if r["tempo"] == k) for k in TEMPOS}
    print("exact by tempo:", by_tempo)
    cost = sum(r["seconds"] for r in rows) / sum(r["samples"] for r in rows)
    print(f"detection cost: {1e6 * cost:.1f} µs per input sample (2 IMUs, 1 template x 4 scales)")
    print("wrote", write_results("templates_sim", {"sessions": rows, "exact": n_exact,
                                                   "total": len(rows)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
