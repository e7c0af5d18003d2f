"""Start-up cost: the commands a new user runs, cold (first run) and warm, in one table; then
import, first fused sample and kernel compile times, each in a fresh process.

* ``demo`` (``motiontrack demo``, 20 s): first output, streaming (the "streaming from" line),
  wall time, session time streamed and reps counted; cold = an empty ``NUMBA_CACHE_DIR``;
  targets: cold first output < 1 s, streaming < 8 s, the same count cold and warm;
* ``analyze`` of a 5-minute two-sensor recording (``motiontrack analyze --json``), wall;
  target warm <= 1.5 s; also its CPU time (user + sys of the process), less noisy than the
  wall time on a shared machine;
* ``fuse``: ``import motiontrack; fuse(one sample)``, wall; target warm <= 0.6 s.

A first run streams at once: a background process compiles the session's kernels while the
filter (and, until theirs are ready, the calibration and the rep counter) run the same kernel
source as plain Python (``motiontrack.session._warm``); ``fuse`` of a few samples runs as Python
without loading numba at all (``motiontrack._kernels._jit``). The demo rows also give the data
gaps of each run: a machine so busy that the virtual radio loses data changes the result, cold
or warm alike.

Then (``--kernels``) the older detail:

* warm cache: wall time of ``python -c "import motiontrack as mt; mt.fuse(one sample)"``
  (the whole interpreter, measured from outside), after a first run filled the cache;
  target < 1.0 s;
* cold cache: the same command with an empty ``NUMBA_CACHE_DIR`` (compiles the default
  method's kernel), and ``motiontrack.fusion.warmup()`` with an empty cache (compiles every
  fusion kernel), with each kernel's own first-call time;
* that importing motiontrack compiles nothing (numba dispatchers without signatures).

Run: ``python benchmarks/startup.py [--repeat 3] [--kernels]``. Every figure is a whole
process timed from outside, on whatever else the machine is doing at the time: the load
average is printed with the table. The commands of the table run with Python's bytecode cache
allowed (``PYTHONDONTWRITEBYTECODE`` is dropped from their environment): a pip install writes
it, a source checkout on its first run, so "warm" has it; with the variable set, every run
would compile motiontrack's modules from source again (~0.1-0.15 s of CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, table, write_results  # noqa: E402

ONE_SAMPLE = (
    "import motiontrack as mt; import numpy as np; "
    "fuse = getattr(mt, 'fuse', None) or __import__('motiontrack.fusion', fromlist=['fuse']).fuse; "
    "fuse(np.array([[0.0, 0.0, 9.81]]), np.zeros((1, 3)), fs=100.0)"
)

IMPORT_ONLY = """
import json, sys, time
t0 = time.perf_counter()
import motiontrack, motiontrack.fusion
t = time.perf_counter() - t0
numba = "numba" in sys.modules
from motiontrack._kernels._jit import REGISTRY
print(json.dumps({"import_s": t, "kernels": len(REGISTRY), "numba_at_import": numba,
                  "compiled_at_import": [d.__name__ for d in REGISTRY if d.signatures]}))
"""

PER_KERNEL = """
import json, time, numpy as np
import motiontrack.fusion as mtf
acc = np.tile([0.0, 0.0, 9.81], (4, 1)); gyr = np.zeros((4, 3)); mag = np.tile([0.0, 20.0, -40.0], (4, 1))
res = {}
t_all = time.perf_counter()
for method in mtf.methods():
    t0 = time.perf_counter()
    mtf.fuse(acc, gyr, mag, fs=100.0, method=method)
    res[method + ": batch kernel (run)"] = time.perf_counter() - t0
    if method in mtf.FILTERS:
        f = mtf.FILTERS[method](fs=100.0)
        t0 = time.perf_counter()
        f.update(acc[0], gyr[0], mag[0])
        res[method + ": one-sample entry (run1)"] = time.perf_counter() - t0
t0 = time.perf_counter()
mtf.warmup()
res["warmup() after the above"] = time.perf_counter() - t0
res["total"] = time.perf_counter() - t_all
print(json.dumps(res))
"""

WARMUP = """
import json, time
t0 = time.perf_counter()
import motiontrack.fusion as mtf
t1 = time.perf_counter()
s = mtf.warmup()
print(json.dumps({"import_s": t1 - t0, "warmup_s": s}))
"""


def wall(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    t = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    return t, proc.stdout


def wall_cpu(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, user + sys CPU s) of one run of ``cmd``."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t, _ = wall(cmd, env)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return t, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def app_env(numba_cache: Path) -> dict[str, str]:
    """The user-facing commands' environment: their own numba cache, bytecode cache allowed."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(numba_cache))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def py(code: str, env: dict[str, str]) -> tuple[float, dict]:
    t, out = wall([sys.executable, "-c", textwrap.dedent(code)], env)
    return t, json.loads(out.strip().splitlines()[-1])


CLI = [sys.executable, "-m", "motiontrack"]


def timed_lines(cmd: list[str], env: dict[str, str], timeout: float = 900.0) -> tuple[float, list[tuple[float, str]]]:
    """Run ``cmd``; (wall s, [(s since start, line)] of stdout and stderr as they come)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            bufsize=1)
    lines: list[tuple[float, str]] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append((time.perf_counter() - t0, line.rstrip("\n")))
    proc.wait(timeout)
    if proc.returncode:
        raise RuntimeError("\n".join(x for _, x in lines[-30:]))
    return time.perf_counter() - t0, lines


def demo_run(env: dict[str, str]) -> dict[str, float | int | None]:
    wall, lines = timed_lines([*CLI, "demo"], env)
    first = lines[0][0] if lines else None
    streaming = next((t for t, x in lines if x.startswith("streaming from")), None)
    text = "\n".join(x for _, x in lines)
    m = re.search(r"(\d+) reps counted, (\d+) in the simulator", text)
    s = re.search(r"streamed ([\d.]+) s of session time", text)
    g = re.search(r"data gaps (\d+)", text)
    return {"first_output_s": first, "streaming_s": streaming, "wall_s": wall,
            "reps": int(m.group(1)) if m else None, "truth": int(m.group(2)) if m else None,
            "session_s": float(s.group(1)) if s else 20.0, "gaps": int(g.group(1)) if g else 0}


def app_table(repeat: int) -> tuple[dict, bool]:
    """The user-facing table: demo, analyze (5 min), fuse; cold and warm."""
    out: dict = {"load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        rec = Path(tmp) / "five_minutes.csv"
        subprocess.run([sys.executable, "-c",
                        "import motiontrack as mt, sys; "
                        "s = mt.simulate_knee_session('squat', reps=48, seed=3); "
                        "s.to_csv(sys.argv[1]); print(s.t[-1])", str(rec)], check=True,
                       capture_output=True)
        env = app_env(Path(tmp) / "cache")
        analyze = [*CLI, "analyze", str(rec), "--joint", "knee", "--exercise", "squat", "--json"]
        out["demo_cold"] = demo_run(env)
        out["demo_warm"] = [demo_run(env) for _ in range(repeat)]
        out["analyze_cold_s"], out["analyze_cold_cpu_s"] = wall_cpu(analyze, env)
        warm = [wall_cpu(analyze, env) for _ in range(repeat)]
        out["analyze_warm_s"] = [w for w, _ in warm]
        out["analyze_warm_cpu_s"] = [c for _, c in warm]
        fuse = [sys.executable, "-c", ONE_SAMPLE]
        env2 = app_env(Path(tmp) / "cache2")
        out["fuse_cold_s"] = wall(fuse, env2)[0]
        out["fuse_warm_s"] = [wall(fuse, env2)[0] for _ in range(repeat)]
    dc, dw = out["demo_cold"], out["demo_warm"]
    med = statistics.median
    rows = [
        ["demo: first output, s", dc["first_output_s"], med(d["first_output_s"] for d in dw), "cold < 1"],
        ["demo: streaming, s", dc["streaming_s"], med(d["streaming_s"] for d in dw), "cold < 8"],
        ["demo: wall, s", dc["wall_s"], med(d["wall_s"] for d in dw), ""],
        ["demo: session time streamed, s", dc["session_s"], ", ".join(f"{d['session_s']:g}" for d in dw), "same"],
        ["demo: reps counted (truth)", f"{dc['reps']} ({dc['truth']})",
         ", ".join(f"{d['reps']} ({d['truth']})" for d in dw), "same"],
        ["demo: data gaps", dc["gaps"], ", ".join(str(d["gaps"]) for d in dw), "0"],
        ["analyze 5-min recording, wall s", out["analyze_cold_s"], med(out["analyze_warm_s"]), "warm <= 1.5"],
        ["analyze 5-min recording, user+sys s", out["analyze_cold_cpu_s"], med(out["analyze_warm_cpu_s"]), ""],
        ["import + first fuse, wall s", out["fuse_cold_s"], med(out["fuse_warm_s"]), "warm <= 0.6"],
    ]
    out["load_after"] = os.getloadavg()
    print(f"load average (1, 5, 15 min) before: {out['load_before']}, after: {out['load_after']}")
    print(table(rows, ["command", "cold", f"warm (median of {repeat})", "target"]))
    checks = [
        ("cold demo first output < 1 s", dc["first_output_s"] is not None and dc["first_output_s"] < 1.0),
        ("cold demo streaming < 8 s", dc["streaming_s"] is not None and dc["streaming_s"] < 8.0),
        ("cold and warm demo: same count", all(d["reps"] == dc["reps"] for d in dw)),
        ("cold and warm demo: same length", all(d["session_s"] == dc["session_s"] for d in dw)),
        ("analyze 5 min warm <= 1.5 s", med(out["analyze_warm_s"]) <= 1.5),
        ("import + first fuse warm <= 0.6 s", med(out["fuse_warm_s"]) <= 0.6),
    ]
    print(table([[c, "PASS" if ok else "FAIL"] for c, ok in checks], ["target", "result"]))
    return out, all(ok for _, ok in checks)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="warm runs of each command (median reported)")
    ap.add_argument("--kernels", action="store_true", help="also the per-kernel compile times")
    args = ap.parse_args(argv)
    info = machine_info()
    print(f"{info['cpu']} ({info['cores']} cores), Python {info['python']}, numpy {info['numpy']}, "
          f"numba {info['numba']}\n")
    results: dict = {}
    results["commands"], _ok = app_table(args.repeat)
    if not args.kernels:
        path = write_results("startup", results)
        print(f"\nwrote {path}")
        return 0
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        cmd = [sys.executable, "-c", ONE_SAMPLE]
        # bare interpreter + numpy, for reference
        t_py, _ = wall([sys.executable, "-c", "import numpy"], env)
        t_cold, _ = wall(cmd, env)
        warm = [wall(cmd, env)[0] for _ in range(args.repeat)]
        _, imp = py(IMPORT_ONLY, env)
        results["python_import_numpy_s"] = t_py
        results["one_sample_fuse_cold_s"] = t_cold
        results["one_sample_fuse_warm_s"] = warm
        results["import"] = imp
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        t_wall_cold, w_cold = py(WARMUP, env)
        t_wall_warm, w_warm = py(WARMUP, env)
        results["warmup_cold"] = {"process_wall_s": t_wall_cold, **w_cold}
        results["warmup_warm"] = {"process_wall_s": t_wall_warm, **w_warm}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        _, per_cold = py(PER_KERNEL, env)
        _, per_warm = py(PER_KERNEL, env)
        results["per_kernel_cold_s"] = per_cold
        results["per_kernel_warm_s"] = per_warm

    rows = [
        ["python -c 'import numpy' (reference)", t_py],
        ["import motiontrack; fuse(1 sample), cold cache", t_cold],
        ["import motiontrack; fuse(1 sample), warm cache (median)", statistics.median(warm)],
        ["import motiontrack; fuse(1 sample), warm cache (best)", min(warm)],
        ["import motiontrack + fusion (in process)", imp["import_s"]],
        ["warmup(): every fusion kernel, cold cache", w_cold["warmup_s"]],
        ["warmup(): every fusion kernel, warm cache", w_warm["warmup_s"]],
    ]
    print(table(rows, ["fresh process", "s"]))
    print()
    print(table([[k, v, per_warm.get(k, float("nan"))] for k, v in per_cold.items()],
                ["kernel (first call)", "cold cache, s", "warm cache, s"]))
    print("(the first kernel row includes numba's one-time target initialisation, which imports scipy.linalg\n"
          " for its BLAS check: ~0.3-0.8 s even with a warm cache)")
    ok_warm = statistics.median(warm) < 1.0
    ok_import = not imp["compiled_at_import"] and not imp["numba_at_import"]
    print()
    print(table([
        ["one-sample fuse, warm cache < 1.0 s", statistics.median(warm), "PASS" if ok_warm else "FAIL"],
        [f"import compiles nothing, imports no numba ({imp['kernels']} kernels registered)",
         f"{len(imp['compiled_at_import'])} compiled, numba {'imported' if imp['numba_at_import'] else 'not imported'}",
         "PASS" if ok_import else "FAIL"],
    ], ["target", "value", "result"]))
    path = write_results("startup", results)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
