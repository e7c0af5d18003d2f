"""``motiontrack batch`` / ``analyze_many`` throughput on Dask (issue 16).

200 simulated five-minute two-sensor squat sessions (CSV, 100 Hz, ~1 % dropped samples) and
one damaged ``.mtrec`` among them (200 files in all). Runs:

1. a local cluster of 1 worker process, then of 2 (speed-up; target >= 1.7x on two cores);
2. a real distributed cluster: ``dask scheduler`` and two ``dask worker`` processes started
   by this script on 127.0.0.1, reached by its address (as a user reaches their own cluster);
3. the same batch again on the 2-worker output: the finished recordings are skipped;
4. ``motiontrack.analyze`` one by one in this process: the batch's rows must be identical.

    python benchmarks/batch.py [--n 200] [--minutes 5] [--check 200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from distributed import Client

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table, write_results

import motiontrack as mt
from motiontrack.batch import analyze_many, local_cluster
from motiontrack.recording import RecordingWriter
from motiontrack.simulation import simulate_knee_session

REPS_PER_MINUTE = 8  # squats of this simulator: ~7.5 s per rep with 2 s pauses


def make_study(folder: Path, n: int, minutes: float) -> float:
    """``n - 1`` CSV sessions and one damaged .mtrec; returns the hours of data."""
    total_s = 0.0
    for i in range(n - 1):
        s = simulate_knee_session("squat", reps=int(REPS_PER_MINUTE * minutes), seed=1000 + i,
                                  pause_s=2.0, drop_rate=0.01)
        s.to_csv(folder / f"session_{i:04d}.csv")
        total_s += float(s.t[-1])
    s = simulate_knee_session("squat", reps=3, seed=1)
    p = folder / "damaged.mtrec"
    with RecordingWriter(p) as w:
        for name in ("thigh", "shank"):
            w.add_sensor(name, fs=s.fs)
        for name in ("thigh", "shank"):
            w.write_samples(name, s.t, s.sensors[name].acc, s.sensors[name].gyr)
    b = bytearray(p.read_bytes())
    b[len(b) // 2 : len(b) // 2 + 64] = b"\xff" * 64
    p.write_bytes(bytes(b))
    return total_s / 3600.0


def timed(paths: list[str], out: Path, client: Client) -> tuple[float, object]:
    """Seconds of the batch on a running, warmed-up cluster (start-up timed apart)."""
    t0 = time.perf_counter()
    recs, _ = analyze_many(paths, client, out=out, exercise="squat", quiet=True)
    return time.perf_counter() - t0, recs


def warm_client(address_or_cluster: object) -> tuple[Client, float]:
    """A client on the cluster, every worker's kernels loaded (``mt.warmup``); start-up s."""
    t0 = time.perf_counter()
    c = Client(address_or_cluster)
    c.run(mt.warmup)
    return c, time.perf_counter() - t0


class DaskCluster:
    """``dask scheduler`` + ``dask worker`` x n as separate processes on 127.0.0.1."""

    def __init__(self, folder: Path, workers: int) -> None:
        dask = str(Path(sys.executable).with_name("dask"))
        self.file = folder / "scheduler.json"
        common = ["--no-dashboard"]
        self.procs = [subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
             "--scheduler-file", str(self.file), *common],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        deadline = time.monotonic() + 60
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
        self.address = json.loads(self.file.read_text())["address"]
        for _ in range(workers):
            self.procs.append(subprocess.Popen(
                [dask, "worker", self.address, "--nthreads", "1", "--nworkers", "1",
                 "--host", "127.0.0.1", *common],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with Client(self.address) as c:
            c.wait_for_workers(workers, timeout=120)

    def close(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            p.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="recordings (one of them damaged)")
    ap.add_argument("--minutes", type=float, default=5.0, help="length of each recording")
    ap.add_argument("--check", type=int, default=None,
                    help="recordings compared with analyze one by one (default all)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        study = d / "study"
        study.mkdir()
        t0 = time.perf_counter()
        hours = make_study(study, args.n, args.minutes)
        print(f"{args.n} recordings, {hours:.2f} h of data, made in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
        paths = sorted(str(p) for p in study.iterdir())
        rows, runs = [], {}

        def add(label: str, secs: float, recs: object, analysed: int) -> None:
            ok = int((recs["status"] == "ok").sum())
            runs[label] = {"seconds": secs, "analysed": analysed, "ok": ok,
                           "failed": int((recs["status"] == "error").sum())}
            rows.append([label, f"{secs:.1f}", analysed, ok, runs[label]["failed"],
                         f"{60 * analysed / secs:.1f}", f"{60 * hours * analysed / args.n / secs:.2f}"])
            print(rows[-1], flush=True)

        startup = {}
        for label, n in (("local, 1 worker", 1), ("local, 2 workers", 2)):
            t0 = time.perf_counter()
            with local_cluster(n) as cl:
                c, warm = warm_client(cl)
                startup[label] = time.perf_counter() - t0
                with c:
                    secs, recs = timed(paths, d / f"w{n}.parquet", c)
            add(label, secs, recs, args.n)
            if n == 1:
                s1 = secs
            else:
                s2, recs2 = secs, recs
        t0 = time.perf_counter()
        cluster = DaskCluster(d, 2)
        try:
            c, _ = warm_client(cluster.address)
            startup["dask scheduler + 2 dask worker"] = time.perf_counter() - t0
            with c:
                s3, recs3 = timed(paths, d / "dist.parquet", c)
            add("dask scheduler + 2 dask worker", s3, recs3, args.n)
        finally:
            cluster.close()
        t0 = time.perf_counter()
        recs4, _ = analyze_many(paths, out=d / "w2.parquet", workers=2, exercise="squat",
                                quiet=True)
        s4 = time.perf_counter() - t0
        redone = int((recs4["elapsed_s"] != recs2.set_index("sha256").loc[recs4["sha256"],
                                                                         "elapsed_s"].to_numpy()).sum())
        add("resume, 2 workers (start-up included)", s4, recs4, redone)
        print("cluster start-up + warm-up, s:", {k: round(v, 1) for k, v in startup.items()})
        check = paths[: args.check] if args.check else paths
        t0 = time.perf_counter()
        same = 0
        compared = 0
        by_path = recs2.set_index("path")
        for p in check:
            try:
                res = mt.analyze(p, exercise="squat")
            except mt.MotionTrackError:
                same += by_path.loc[p, "status"] == "error"
                compared += 1
                continue
            row = by_path.loc[p]
            compared += 1
            same += bool(row["rep_count"] == res.rep_count and row["rom_deg"] == res.rom()["rom_deg"]
                         and row["duration_s"] == res.duration_s)
        seq = time.perf_counter() - t0
        print(table(rows, ["run", "s", "analysed", "ok", "failed", "rec/min", "h data/min"]))
        speedup = s1 / s2
        print(f"speed-up 2 vs 1 worker: {speedup:.2f}x; resume re-analysed {redone} "
              f"(the damaged one); identical to analyze one by one: {same}/{compared} "
              f"(one by one in this process: {seq:.0f} s)")
        same_dist = bool((recs3[["sha256", "rep_count", "rom_deg"]].fillna(-1).to_numpy()
                          == recs2[["sha256", "rep_count", "rom_deg"]].fillna(-1).to_numpy()).all())
        write_results("batch", runs, recordings=args.n, hours_of_data=hours, speedup=speedup,
                      resume_reanalysed=redone, startup_s=startup, identical=f"{same}/{compared}",
                      one_by_one_s=seq, distributed_same_as_local=same_dist,
                      cores=os.cpu_count(), load_average=os.getloadavg())
    return 0 if same == compared else 1


if __name__ == "__main__":
    sys.exit(main())
