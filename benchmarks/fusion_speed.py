"""Fusion speed: every motiontrack method against vqf (C++), imufusion (C) and ahrs (Python).

One 200,000-sample input (smooth random motion at 100 Hz, 6D and 9D), measured in one run:

* batch throughput (samples/s) of every motiontrack method (``fuse``), of vqf's C++
  ``VQF.updateBatch`` and ``BasicVQF.updateBatch``, of imufusion's per-sample C calls in a
  Python loop, and of ahrs (timed on a subset, scaled);
* the cost of one streaming ``update`` call for one sample and for a 10-sample block
  (per sample), against imufusion's per-call cost;
* the compile time of each kernel with a cold cache (a fresh subprocess, empty
  ``NUMBA_CACHE_DIR``).

Targets (issue 2): Madgwick batch >= 10 M samples/s and >= 500x ahrs; the default method
(``vqf``) batch >= 1.5x VQF ``updateBatch`` (6D and 9D); one-sample streaming call <=
imufusion's per-call cost; 10-sample block <= 0.2 µs per sample. The machine is shared, so
every figure is the best of several repeats and the targets are judged as ratios within
this run.

Run: ``python benchmarks/fusion_speed.py [--n 200000] [--skip-compile] [--skip-peers]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_time, machine_info, table, write_results  # noqa: E402

import motiontrack.fusion as mtf  # noqa: E402

FS = 100.0
G = 9.80665


def make_input(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Smooth random motion: truth by exact gyroscope integration, consistent acc/mag + noise."""
    from motiontrack.quaternion import rotate

    rng = np.random.default_rng(seed)
    # band-limited angular rate (rad/s): a random walk pulled back to zero
    w = np.zeros((n, 3))
    drive = rng.normal(0, 0.08, (n, 3))
    for k in range(1, n, 10_000):  # cumulative sums in chunks keep the rate bounded
        w[k : k + 10_000] = np.cumsum(drive[k : k + 10_000], axis=0) * 0.3
    w -= w.mean(axis=0)
    truth = mtf.Complementary(fs=FS, tau_acc=0.0, tau_mag=0.0, initialize=False)
    q = truth.update(np.full((n, 3), np.nan), w)  # no accelerometer: pure exp-map integration
    acc = rotate(q, np.array([0.0, 0.0, G]), inverse=True) + rng.normal(0, 0.05, (n, 3))
    mag = rotate(q, np.array([0.0, 20.0, -44.0]), inverse=True) + rng.normal(0, 0.5, (n, 3))
    gyr = w + rng.normal(0, 0.005, (n, 3)) + np.array([0.01, -0.005, 0.003])
    return {"acc": acc, "gyr": gyr, "mag": mag}


def bench_motiontrack(d: dict[str, np.ndarray], repeat: int) -> list[dict]:
    n = len(d["acc"])
    out = []
    for method in mtf.methods():
        for dim, mag in (("6D", None), ("9D", d["mag"])):
            mtf.fuse(d["acc"][:10], d["gyr"][:10], None if mag is None else mag[:10], fs=FS, method=method)
            t = best_time(lambda m=method, mg=mag: mtf.fuse(d["acc"], d["gyr"], mg, fs=FS, method=m), repeat)
            out.append({"impl": f"motiontrack {method}", "dim": dim, "s": t, "samples_per_s": n / t})
    return out


def bench_streaming(d: dict[str, np.ndarray], calls: int, repeat: int) -> list[dict]:
    out = []
    a1 = [np.ascontiguousarray(d["acc"][i]) for i in range(calls)]
    g1 = [np.ascontiguousarray(d["gyr"][i]) for i in range(calls)]
    m1 = [np.ascontiguousarray(d["mag"][i]) for i in range(calls)]
    blocks = 2000
    a10 = [np.ascontiguousarray(d["acc"][10 * i : 10 * i + 10]) for i in range(blocks)]
    g10 = [np.ascontiguousarray(d["gyr"][10 * i : 10 * i + 10]) for i in range(blocks)]
    m10 = [np.ascontiguousarray(d["mag"][10 * i : 10 * i + 10]) for i in range(blocks)]
    for method, cls in sorted(mtf.FILTERS.items()):
        for dim in ("6D", "9D"):
            f = cls(fs=FS)
            upd = f.update
            f.update(a1[0], g1[0], m1[0] if dim == "9D" else None)  # compile/load the entries
            f.update(a10[0], g10[0], m10[0] if dim == "9D" else None)

            if dim == "6D":
                def one(upd=upd):
                    for i in range(calls):
                        upd(a1[i], g1[i])

                def ten(upd=upd):
                    for i in range(blocks):
                        upd(a10[i], g10[i])
            else:
                def one(upd=upd):
                    for i in range(calls):
                        upd(a1[i], g1[i], m1[i])

                def ten(upd=upd):
                    for i in range(blocks):
                        upd(a10[i], g10[i], m10[i])

            t1 = best_time(one, repeat) / calls
            t10 = best_time(ten, repeat) / (10 * blocks)
            out.append({"impl": f"motiontrack {method}", "dim": dim, "one_sample_us": t1 * 1e6,
                        "block10_us_per_sample": t10 * 1e6})
    return out


def bench_vqf(d: dict[str, np.ndarray], repeat: int) -> list[dict]:
    try:
        import vqf
    except ImportError:
        return []
    n = len(d["acc"])
    gyr, acc, mag = (np.ascontiguousarray(d[k]) for k in ("gyr", "acc", "mag"))
    out = []
    for name, cls in (("vqf VQF.updateBatch (C++)", vqf.VQF), ("vqf BasicVQF.updateBatch (C++)", vqf.BasicVQF)):
        for dim, m in (("6D", None), ("9D", mag)):
            if m is None:
                t = best_time(lambda c=cls: c(1.0 / FS).updateBatch(gyr, acc), repeat)
            else:
                t = best_time(lambda c=cls: c(1.0 / FS).updateBatch(gyr, acc, m), repeat)
            out.append({"impl": name, "dim": dim, "s": t, "samples_per_s": n / t})
    return out


def bench_imufusion(d: dict[str, np.ndarray], n_loop: int, calls: int, repeat: int) -> tuple[list[dict], dict]:
    try:
        import imufusion
    except ImportError:
        return [], {}
    # imufusion takes deg/s and g
    gyr = [np.ascontiguousarray(np.degrees(d["gyr"][i])) for i in range(n_loop)]
    acc = [np.ascontiguousarray(d["acc"][i] / G) for i in range(n_loop)]
    mag = [np.ascontiguousarray(d["mag"][i]) for i in range(n_loop)]
    out = []
    per_call = {}
    for dim in ("6D", "9D"):
        a = imufusion.Ahrs()
        a.set_sample_period(1.0 / FS)
        if dim == "6D":
            def loop(k=n_loop, a=a):
                for i in range(k):
                    a.update_no_magnetometer(gyr[i], acc[i])
                    a.get_quaternion()  # fetch the output, as a streaming caller would
        else:
            def loop(k=n_loop, a=a):
                for i in range(k):
                    a.update(gyr[i], acc[i], mag[i])
                    a.get_quaternion()
        t = best_time(loop, repeat)
        out.append({"impl": "imufusion Ahrs per-sample (C)", "dim": dim, "s": t * len(d["acc"]) / n_loop,
                    "samples_per_s": n_loop / t})
        # per-call cost, without and with fetching the quaternion
        if dim == "6D":
            def calls_only(a=a):
                for i in range(calls):
                    a.update_no_magnetometer(gyr[i], acc[i])
        else:
            def calls_only(a=a):
                for i in range(calls):
                    a.update(gyr[i], acc[i], mag[i])
        per_call[dim] = {"update_us": best_time(calls_only, repeat) / calls * 1e6,
                         "update_and_quaternion_us": t / n_loop * 1e6}
    return out, per_call


def bench_ahrs(d: dict[str, np.ndarray], n_sub: int) -> list[dict]:
    try:
        import ahrs.filters as af
    except ImportError:
        return []
    n = len(d["acc"])
    acc, gyr, mag = d["acc"][:n_sub], d["gyr"][:n_sub], d["mag"][:n_sub]
    out = []
    for name, fn in (
        ("Madgwick", lambda m: af.Madgwick(gyr=gyr, acc=acc, mag=m, frequency=FS)),
        ("Mahony", lambda m: af.Mahony(gyr=gyr, acc=acc, mag=m, frequency=FS)),
        ("EKF", lambda m: af.EKF(gyr=gyr, acc=acc, mag=m, frequency=FS, frame="ENU")),
    ):
        for dim, m in (("6D", None), ("9D", mag)):
            t = best_time(lambda fn=fn, m=m: fn(m), 2)
            out.append({"impl": f"ahrs {name} (Python)", "dim": dim, "s": t * n / n_sub,
                        "samples_per_s": n_sub / t, "timed_on": n_sub})
    return out


COMPILE_SNIPPET = """
import json, time, numpy as np
t0 = time.perf_counter()
import motiontrack.fusion as mtf
t_import = time.perf_counter() - t0
acc = np.tile([0.0, 0.0, 9.81], (4, 1)); gyr = np.zeros((4, 3)); mag = np.tile([0.0, 20.0, -40.0], (4, 1))
res = {"import_s": t_import}
for method in mtf.methods():
    t0 = time.perf_counter()
    mtf.fuse(acc, gyr, mag, fs=100.0, method=method)
    res[method + " batch kernel"] = time.perf_counter() - t0
    if method in mtf.FILTERS:
        f = mtf.FILTERS[method](fs=100.0)
        t0 = time.perf_counter()
        f.update(acc[0], gyr[0], mag[0])
        res[method + " one-sample entry"] = time.perf_counter() - t0
print(json.dumps(res))
"""


def compile_times() -> dict[str, dict[str, float]]:
    """Kernel compile times in a fresh process: cold (empty cache) and warm (cache filled)."""
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold", "warm"):
            proc = subprocess.run([sys.executable, "-c", textwrap.dedent(COMPILE_SNIPPET)], env=env,
                                  capture_output=True, text=True, timeout=900)
            if proc.returncode:
                raise RuntimeError(proc.stderr[-2000:])
            out[label] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="samples in the input")
    ap.add_argument("--repeat", type=int, default=5, help="repeats (the best is kept)")
    ap.add_argument("--ahrs-subset", type=int, default=2_000, help="samples ahrs is timed on")
    ap.add_argument("--skip-compile", action="store_true", help="skip the cold-cache compile timing")
    ap.add_argument("--skip-peers", action="store_true", help="only motiontrack")
    args = ap.parse_args(argv)

    info = machine_info()
    print(f"{info['cpu']} ({info['cores']} cores), Python {info['python']}, numpy {info['numpy']}, "
          f"numba {info['numba']}, vqf {info['vqf']}, imufusion {info['imufusion']}, ahrs {info['ahrs']}")
    t0 = time.perf_counter()
    d = make_input(args.n)
    n = args.n
    print(f"input: {n} samples at {FS:g} Hz ({time.perf_counter() - t0:.1f} s to generate)\n")

    batch = bench_motiontrack(d, args.repeat)
    per_call = {}
    if not args.skip_peers:
        batch += bench_vqf(d, args.repeat)
        imu, per_call = bench_imufusion(d, min(n, 50_000), 20_000, args.repeat)
        batch += imu
        batch += bench_ahrs(d, args.ahrs_subset)
    rows = [[r["impl"], r["dim"], r["samples_per_s"] / 1e6, r["s"] * 1e3,
             f"timed on {r['timed_on']}" if "timed_on" in r else ""] for r in batch]
    print(table(rows, ["batch", "dim", "M samples/s", f"ms per {n}", "note"]))

    stream = bench_streaming(d, 20_000, args.repeat)
    srows = [[r["impl"], r["dim"], r["one_sample_us"], r["block10_us_per_sample"]] for r in stream]
    for dim, v in per_call.items():
        srows.append(["imufusion update (C)", dim, v["update_us"], ""])
        srows.append(["imufusion update + get_quaternion", dim, v["update_and_quaternion_us"], ""])
    print()
    print(table(srows, ["streaming", "dim", "µs per 1-sample call", "µs/sample in 10-blocks"]))

    compile_s = {}
    if not args.skip_compile:
        compile_s = compile_times()
        crow = [[k, v, compile_s["warm"].get(k, float("nan"))] for k, v in compile_s["cold"].items()]
        print()
        print(table(crow, ["first call in a fresh process", "cold cache, s", "warm cache, s"]))
        print("(the first kernel row includes numba's one-time target initialisation, ~0.3-0.8 s even from cache)")

    # ---- targets
    def rate(impl: str, dim: str) -> float:
        return next((r["samples_per_s"] for r in batch if r["impl"] == impl and r["dim"] == dim), float("nan"))

    checks = []
    for dim in ("6D", "9D"):
        mg = rate("motiontrack madgwick", dim)
        checks.append((f"Madgwick batch {dim} >= 10 M samples/s", mg / 1e6, mg >= 10e6))
        ah = rate("ahrs Madgwick (Python)", dim)
        if ah == ah:
            checks.append((f"Madgwick batch {dim} >= 500x ahrs", mg / ah, mg >= 500 * ah))
        if "vqf" in mtf.FILTERS:
            v = rate("vqf VQF.updateBatch (C++)", dim)
            if v == v:
                mine = rate("motiontrack vqf", dim)
                checks.append((f"default (vqf) batch {dim} >= 1.5x VQF.updateBatch", mine / v, mine >= 1.5 * v))
    for dim in ("6D", "9D"):
        if dim in per_call:
            ref = per_call[dim]["update_us"]
            for r in stream:
                if r["dim"] == dim and r["impl"] in ("motiontrack madgwick", "motiontrack vqf"):
                    checks.append((f"{r['impl']} one-sample call {dim} <= imufusion update ({ref:.3g} µs)",
                                   r["one_sample_us"], r["one_sample_us"] <= ref))
    for r in stream:
        if r["impl"] in ("motiontrack madgwick", "motiontrack vqf"):
            checks.append((f"{r['impl']} 10-sample block {r['dim']} <= 0.2 µs/sample",
                           r["block10_us_per_sample"], r["block10_us_per_sample"] <= 0.2))
    print()
    print(table([[c[0], c[1], "PASS" if c[2] else "FAIL"] for c in checks], ["target", "value", "result"]))
    path = write_results("fusion_speed", {"n": n, "batch": batch, "streaming": stream, "imufusion_per_call": per_call,
                                          "compile_s": compile_s,
                                          "targets": [{"target": c[0], "value": c[1], "pass": c[2]} for c in checks]})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
