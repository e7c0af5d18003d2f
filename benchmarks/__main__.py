"""``python -m benchmarks [NAME ...] [--quick] [--list]``: run the benchmark suite.

Each benchmark is a script in this directory with a ``main(argv) -> int``; it prints a
table and writes ``results/<name>.json`` with machine info (``_common.write_results``).
They run one after another, each in its own subprocess (a crash or a numba cache
problem in one does not take the others down; memory figures are not polluted), and a
summary table gives the exit code and wall time of each. ``--quick`` passes each script
its own short-run flags (see ``QUICK``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import table, write_results

#: name -> one-line description (the suite, in the order it runs).
BENCHMARKS: dict[str, str] = {
    "startup": "import time, JIT compile time, warm-up",
    "protocol_decode": "packet decoding throughput",
    "protocol_clock": "device->host clock fit accuracy",
    "protocol_fuzz": "decoder fuzzing: bytes -> packet or ProtocolError",
    "fusion_speed": "orientation filters: update latency, batch throughput vs imufusion/vqf",
    "kinematics_accuracy": "joint angles against simulated truth",
    "live_offline": "live Session (replay:) and offline analyze give the same reps (issue 12)",
    "analyze_sim": "analyze on 60 simulated protocol recordings vs truth",
    "hinge_chain": "generic hinge on simulated hand-held chains, no pose, 6D/9D (issue 14)",
    "faults": "fault matrix: 32 damaged simulated sessions, judged against the truth (issue 13)",
    "reps_sim": "rep counting on simulated sessions",
    "reps_latency": "rep detection delay after the movement ends",
    "reps_real": "rep counting on labelled real recordings (skips without data)",
    "broad": "fusion accuracy on the BROAD dataset (skips without data)",
    "templates_sim": "template counting on simulated exercises, tempo 0.5-2x, amplitude 40-120 %",
    "templates_pt": "template counting on the physical-therapy dataset vs MTMM-DTW (skips without data)",
    "templates_live": "live Session with a template on virtual sensors: rep-to-event latency",
    "pt_knee_real": "knee angles on real PT recordings (skips without data)",
    "presets": "every exercise preset (knee, body regions, counters), 6D/9D, one table (issue 14)",
    "regions_real": "body-region presets on real PT recordings (skips without data)",
    "pt_unit3_accelerometer": "PT s2/s3 unit 3: calibration error or fault (skips without data)",
    "ble_throughput": "BLE transport latency/throughput on virtual sensors",
    "link": "firmware link test on virtual sensors with injected loss/drift",
    "e2e_latency": "sample on the device -> rep event in the app (2 x 200 Hz)",
    "soak": "fault-injection endurance run (4 x 200 Hz, 30 min of sensor time)",
    "batch": "motiontrack batch on Dask: 200 five-minute recordings, 1/2 workers, a real cluster",
}

#: Arguments that make a benchmark short (``--quick``); scripts without an entry run as is.
QUICK: dict[str, list[str]] = {
    "batch": ["--n", "6", "--minutes", "0.5"],
    "startup": ["--repeat", "1"],
    "protocol_decode": ["--packets", "2000", "--repeat", "2"],
    "protocol_clock": ["--seeds", "3", "--duration", "30"],
    "protocol_fuzz": ["--count", "20000"],
    "fusion_speed": ["--n", "20000", "--repeat", "2", "--skip-peers"],
    "kinematics_accuracy": ["--sessions", "2"],
    "live_offline": ["--quick"],
    "analyze_sim": ["--seeds", "3"],
    "hinge_chain": ["--seeds", "2", "--stress", "0"],
    "presets": ["--seeds", "2", "--no-anti"],
    "faults": ["--seeds", "1"],
    "reps_sim": ["--sessions", "10"],
    "reps_latency": ["--sessions", "5"],
    "broad": ["--trials", "01", "--skip-peers"],
    "templates_sim": ["--quick"],
    "templates_pt": ["--quick"],
    "templates_live": ["--seconds", "40", "--speed", "4"],
    "ble_throughput": ["--quick"],
    "link": ["--quick"],
    "e2e_latency": ["--quick"],
    "soak": ["--quick"],
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    ap.add_argument("--quick", action="store_true", help="short versions (smoke test of the suite)")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = ap.parse_args(argv)
    available = {n: d for n, d in BENCHMARKS.items() if (HERE / f"{n}.py").exists()}
    available.update({p.stem: "(not described)" for p in sorted(HERE.glob("[!_]*.py"))
                      if p.stem not in available and p.stem != "__main__"})
    if args.list:
        print(table([(n, d) for n, d in available.items()], ["name", "what"]))
        return 0
    unknown = [n for n in args.names if n not in available]
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(unknown)}; see --list")
    names = args.names or list(available)
    rows = []
    for name in names:
        extra = QUICK.get(name, []) if args.quick else []
        cmd = [sys.executable, str(HERE / f"{name}.py"), *extra]
        print(f"\n=== {name} {' '.join(extra)}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call(cmd, cwd=HERE.parent)
        rows.append((name, rc, time.perf_counter() - t0))
    print("\n" + table(rows, ["benchmark", "exit", "wall s"]))
    write_results("suite_quick" if args.quick else "suite",
                  [{"benchmark": n, "exit": rc, "wall_s": w} for n, rc, w in rows])
    return 0 if all(rc == 0 for _, rc, _ in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
