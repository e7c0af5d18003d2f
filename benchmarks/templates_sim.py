"""Issue 15, acceptance 3: template counting on simulated sessions of every simulated exercise.

Knee (``motiontrack.simulation``, 4 exercises, thigh + shank IMUs): the template is one rep of
a separate simulated session (its own seed, so its own random sensor mounting). Each test
session (6 reps, other seeds, 1 % of samples dropped in bursts, body turns, noise) is executed
at an amplitude of 40, 70, 100 or 120 % of the template's and a tempo of 0.5, 0.75, 1, 1.5 or
2 times the template's, 3 seeds each: 60 sessions per exercise.

Body regions (``motiontrack.simulation.regions``: the 19 presets of trunk, neck, shoulder,
hip and elbow, :data:`motiontrack.exercise.regions.REGION_EXERCISES`), each with the distal
sensor alone and with the distal + proximal sensors: the template is rep 2 (``--reps N``:
reps 2 to N + 1, one span) of a separate session (its own seed: its own random sensor
mountings at any orientation, heading, gyroscope biases); each test session (6 reps, 1 % of
samples dropped in bursts of 1-5, soft tissue, sway, gyroscope bias up to 2 °/s) has a nominal
amplitude of 40, 70, 100 or 120 % of the template rep's true excursion (each rep a further
±15 %) and is played back 0.5, 0.75, 1, 1.5 or 2 times faster; every one of the 20 tempo x
amplitude cells has its own seed, 3 seeds per cell (``--quick``: 1): 60 sessions per preset
and placement, 2280 in all. The simulator's own rep-to-rep variation (movement phases of
1.0-2.2 s, holds of 0.2-1 s) adds to the tempo: the true duration of each rep relative to
the template's is in the JSON (``duration_ratio``), as is its amplitude ratio.

Tempo is playback: the recording is played back ``k`` times faster (times / k, angular rate
* k; gravity unchanged), which also changes its sample rate (50-200 Hz). Exact count = 6.
A failed session lists why, against the true reps: a missed rep (its amplitude and duration
ratios), a rep counted twice, or a match outside every rep.

    python benchmarks/templates_sim.py [--quick] [--part knee|regions] [--preset NAME ...]
                                       [--reps N] [--seeds N]
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

from motiontrack.exercise.regions import REGION_EXERCISES  # noqa: E402
from motiontrack.recording.model import Recording, SensorSamples  # noqa: E402
from motiontrack.reps import TemplateCounter, TemplateSettings  # noqa: E402
from motiontrack.simulation import simulate_knee_session  # noqa: E402
from motiontrack.simulation._knee_spec import EXERCISES  # noqa: E402
from motiontrack.simulation.regions import simulate_region_session  # noqa: E402
from motiontrack.template_analysis import create_template, imu_grid  # noqa: E402

AMPLITUDES = (0.4, 0.7, 1.0, 1.2)
TEMPOS = (0.5, 0.75, 1.0, 1.5, 2.0)
SEGMENTS = ["thigh", "shank"]
N_REPS = 6
DROP_RATE = 0.01
PAD_S = 0.3  # the template span: the true rep(s) +- this, s
#: region sessions: a paced exercise, (up, hold, down, pause) s, each phase of each rep and each
#: rep's excursion varied by a factor uniform in 1 +- JITTER
REP_S = (1.6, 0.6, 1.6, 1.4)
JITTER = 0.1


def _nominal(exercise: str) -> float:
    s = simulate_knee_session(exercise, reps=1, seed=100)
    r = s.truth.reps[0]
    return float(r.max_deg - r.min_deg)


def make_template(exercise: str, amplitude_deg: float):
    s = simulate_knee_session(exercise, reps=3, seed=101, amplitude_deg=amplitude_deg)
    r = s.truth.reps[1]
    return create_template(s.to_recording(), span=(r.start_s - PAD_S, r.end_s + PAD_S),
                           segments=SEGMENTS, label=exercise)


def _speed_up(rec: Recording, k: float) -> Recording:
    """The same movement ``k`` times faster."""
    sensors = {n: SensorSamples(t=s.t / k, acc=s.acc, gyr=s.gyr * k, fs=s.fs * k)
               for n, s in rec.sensors.items()}
    return Recording(sensors=sensors, source=f"{rec.source} x{k:g}")


def _detect(template, rec: Recording, segments: list[str]):
    t, fs, imu = imu_grid(rec, segments)
    counter = TemplateCounter([template], fs=fs, t0=float(t[0]))
    t0 = time.perf_counter()
    reps = counter.update(imu=imu) + counter.flush()
    return reps, time.perf_counter() - t0, t.size


def count(template, exercise: str, amp: float, tempo: float, seed: int) -> tuple[int, float, float]:
    s = simulate_knee_session(exercise, reps=N_REPS, seed=seed, amplitude_deg=amp,
                              drop_rate=DROP_RATE)
    reps, sec, n = _detect(template, _speed_up(s.to_recording(), tempo), SEGMENTS)
    return len(reps), sec, n


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


# -- body regions ---------------------------------------------------------------------------
def region_template(preset: str, two: bool, seed: int, n_reps: int = 1):
    """Template of reps 2..n_reps+1 of a separate session; (template, its reps' mean duration s,
    mean true excursion deg)."""
    s = simulate_region_session(preset, reps=n_reps + 2, seed=seed, proximal=two, rep_s=REP_S,
                                rep_jitter=JITTER, amplitude_jitter=JITTER)
    spans = s.truth.reps[1:1 + n_reps]
    segs = list(s.sensors)
    tpl = create_template(s.to_recording(), span=(spans[0][0] - PAD_S, spans[-1][1] + PAD_S),
                          reps=n_reps, segments=segs, label=preset)
    exc = [float(np.abs(s.truth.joint_deg[(s.t >= a) & (s.t <= b)]).max()) for a, b in spans]
    return tpl, float(np.mean([b - a for a, b in spans])), float(np.mean(exc))


#: a missed rep whose distal sensor reads as still (|gyr| < still_rate) over this share of it
#: "reads as still" (a rep at full speed: 30-50 %, the hold and the turning points)
SLOW_SHARE = 0.75


def _why(reps, truth: list[tuple[float, float]], exc: list[float], still: list[float],
         tpl_s: float, tpl_deg: float) -> list[str]:
    """Detections against the true reps (times already / k): what went wrong. ``still``: the
    share of each rep in which the distal sensor's |gyr| (as played back, bias included) is
    below ``TemplateSettings.still_rate``, the kernel's stillness test."""
    hits = [[r for r in reps if min(r.end_s, b) - max(r.start_s, a) > 0.3 * (b - a)]
            for a, b in truth]
    out = []
    for i, ((a, b), h) in enumerate(zip(truth, hits)):
        if not h:
            out.append(f"missed rep {i + 1} (amplitude {exc[i] / tpl_deg:.2f}x, duration "
                       f"{(b - a) / tpl_s:.2f}x the template's, |gyr| < still_rate in "
                       f"{100 * still[i]:.0f} % of it"
                       + (": reads as still)" if still[i] >= SLOW_SHARE else ")"))
        elif len(h) > 1:
            out.append(f"rep {i + 1} counted {len(h)} times")
    for r in reps:
        covered = [i + 1 for i, h in enumerate(hits) if any(x is r for x in h)]
        if not covered:
            out.append(f"extra match {r.start_s:.1f}-{r.end_s:.1f} s (score {r.score:.2f}, "
                       f"amplitude {r.amplitude_ratio:.2f}x), outside every true rep")
        elif len(covered) > 1:
            out.append(f"one match {r.start_s:.1f}-{r.end_s:.1f} s spans reps "
                       f"{', '.join(map(str, covered))}")
    return out


def _cause(why: list[str]) -> str:
    """A failed session's kind: a rep slower than the stillness threshold missed, another
    rep missed, two reps in one match, a rep matched twice, or a match outside the reps."""
    if any("reads as still" in w for w in why):
        return "slow rep missed (reads as still)"
    if any(w.startswith("missed") for w in why):
        return "rep missed"
    if any(" spans reps " in w for w in why):
        return "reps merged"
    if any(" counted " in w for w in why):
        return "rep counted twice"
    return "extra match" if why else "?"


def region_session(tpl, tpl_s: float, tpl_deg: float, preset: str, two: bool, f: float,
                   k: float, seed: int) -> dict:
    s = simulate_region_session(preset, reps=N_REPS, seed=seed, proximal=two,
                                amplitude_deg=f * tpl_deg, drop_rate=DROP_RATE, rep_s=REP_S,
                                rep_jitter=JITTER, amplitude_jitter=JITTER)
    reps, sec, samples = _detect(tpl, _speed_up(s.to_recording(), k), list(s.sensors))
    truth = [(a / k, b / k) for a, b in s.truth.reps]
    inside = [(s.t >= a) & (s.t <= b) for a, b in s.truth.reps]
    joint = s.truth.joint_deg
    exc = [float(np.abs(joint[m]).max()) for m in inside]
    gyr = k * np.linalg.norm(next(iter(s.sensors.values())).gyr, axis=1)  # distal, NaN: dropped
    thr = TemplateSettings().still_rate
    still = [float(np.mean(gyr[m][np.isfinite(gyr[m])] < thr)) for m in inside]
    why = _why(reps, truth, exc, still, tpl_s, tpl_deg)
    return {"preset": preset, "sensors": 2 if two else 1, "amplitude": f, "tempo": k,
            "seed": seed, "count": len(reps), "exact": len(reps) == N_REPS, "why": why,
            "cause": _cause(why) if len(reps) != N_REPS else "",
            "duration_ratio": [round((b - a) / tpl_s, 3) for a, b in truth],
            "amplitude_ratio": [round(e / tpl_deg, 3) for e in exc],
            "still_share": [round(x, 3) for x in still],
            "seconds": sec, "samples": samples}


def run_regions(presets=tuple(REGION_EXERCISES), n_seeds: int = 3, tpl_reps: int = 1,
                placements=(False, True)) -> tuple[list[dict], list[dict]]:
    rows, templates = [], []
    names = list(REGION_EXERCISES)
    cells = [(f, k) for f in AMPLITUDES for k in TEMPOS]
    for preset in presets:
        p = names.index(preset)
        for two in placements:
            base = 10_000 * (1 + p) + (5_000 if two else 0)
            tpl, tpl_s, tpl_deg = region_template(preset, two, seed=base, n_reps=tpl_reps)
            templates.append({"preset": preset, "sensors": 2 if two else 1, "seed": base,
                              "examples": len(tpl.examples), "duration_s": round(tpl_s, 3),
                              "excursion_deg": round(tpl_deg, 2)})
            for j in range(n_seeds):
                for c, (f, k) in enumerate(cells):
                    seed = base + 1 + j * len(cells) + c
                    rows.append(region_session(tpl, tpl_s, tpl_deg, preset, two, f, k, seed))
    return rows, templates


def _report_regions(rows: list[dict]) -> list[str]:
    out, lines = [], []
    for preset in dict.fromkeys(r["preset"] for r in rows):
        for n in (1, 2):
            sel = [r for r in rows if r["preset"] == preset and r["sensors"] == n]
            if not sel:
                continue
            fails = [r for r in sel if not r["exact"]]
            out.append([preset, n, len(sel), sum(r["exact"] for r in sel),
                        f"{100 * (len(sel) - len(fails)) / len(sel):.0f} %",
                        " ".join(f"{r['amplitude']:g}/{r['tempo']:g}:{r['count']}" for r in fails)])
            for r in fails:
                lines.append(f"  {preset} ({n} sensor{'s' * (n > 1)}), amplitude "
                             f"{100 * r['amplitude']:.0f} %, tempo {r['tempo']:g}x, seed "
                             f"{r['seed']}: {r['count']} reps: " + "; ".join(r["why"]))
    print(table(out, ["preset", "sensors", "sessions", "exact", "",
                      "failures (amplitude/tempo:count)"]))
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one seed (default 3)")
    ap.add_argument("--part", choices=("knee", "regions", "all"), default="all")
    ap.add_argument("--preset", action="append", choices=list(REGION_EXERCISES),
                    help="only these region presets (repeat; default all)")
    ap.add_argument("--reps", type=int, default=1, help="reps in the region template's span")
    ap.add_argument("--seeds", type=int, help="seeds per tempo x amplitude cell (default 3)")
    args = ap.parse_args(argv)
    n_seeds = args.seeds or (1 if args.quick else 3)
    results: dict = {}
    t_start = time.perf_counter()
    if args.part in ("knee", "all"):
        rows = run(seeds=tuple(range(1, n_seeds + 1)))
        out = []
        for ex in EXERCISES:
            for f in AMPLITUDES:
                sel = [r for r in rows if r["exercise"] == ex and r["amplitude"] == f]
                out.append([ex, f"{100 * f:.0f} %", " ".join(f"{r['count']}" for r in sel),
                            f"{sum(r['exact'] for r in sel)}/{len(sel)}"])
        print(table(out, ["exercise", "amplitude",
                          f"counts (tempo {'/'.join(map(str, TEMPOS))})", "exact"]))
        n_exact = sum(r["exact"] for r in rows)
        print(f"knee: exact {n_exact}/{len(rows)} sessions ({100 * n_exact / len(rows):.1f} %)")
        print("exact by tempo:",
              {k: sum(r["exact"] for r in rows if r["tempo"] == k) for k in TEMPOS})
        cost = sum(r["seconds"] for r in rows) / sum(r["samples"] for r in rows)
        print(f"detection cost: {1e6 * cost:.1f} µs per input sample "
              f"(2 IMUs, 1 template x {len(TemplateSettings().scales)} scales)")
        results["knee"] = {"sessions": rows, "exact": n_exact, "total": len(rows)}
    if args.part in ("regions", "all"):
        rows, tpls = run_regions(tuple(args.preset or REGION_EXERCISES), n_seeds, args.reps)
        fails = _report_regions(rows)
        n_exact = sum(r["exact"] for r in rows)
        print(f"regions: exact {n_exact}/{len(rows)} sessions ({100 * n_exact / len(rows):.1f} %); "
              f"{len(rows) // max(1, len(tpls))} sessions per preset and placement, template of "
              f"{args.reps} rep(s)")
        for name, key, vals in (("amplitude", "amplitude", AMPLITUDES), ("tempo", "tempo", TEMPOS)):
            print(f"exact by {name}:", {v: f"{sum(r['exact'] for r in rows if r[key] == v)}/"
                                            f"{sum(r[key] == v for r in rows)}" for v in vals})
        causes: dict[str, int] = {}
        for r in rows:
            if not r["exact"]:
                causes[r["cause"]] = causes.get(r["cause"], 0) + 1
        print("failed sessions by cause:", causes)
        no_chin = [r for r in rows if r["preset"] != "chin_tuck"]
        if len(no_chin) < len(rows):
            print(f"without chin_tuck: exact {sum(r['exact'] for r in no_chin)}/{len(no_chin)} "
                  f"({100 * sum(r['exact'] for r in no_chin) / max(1, len(no_chin)):.1f} %)")
        dr = np.concatenate([r["duration_ratio"] for r in rows])
        ar = np.concatenate([r["amplitude_ratio"] for r in rows])
        print(f"true per-rep duration / template's: {dr.min():.2f}-{dr.max():.2f}x; amplitude: "
              f"{ar.min():.2f}-{ar.max():.2f}x")
        if fails:
            print("failures:\n" + "\n".join(fails))
        results["regions"] = {"sessions": rows, "templates": tpls, "exact": n_exact,
                              "total": len(rows), "template_reps": args.reps}
    print(f"wall time {time.perf_counter() - t_start:.0f} s")
    print("wrote", write_results("templates_sim", results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
