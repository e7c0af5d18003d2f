"""Acceptance 1 of issue 12: live equals offline.

Each case is a simulated session written as a live recording (``.mtrec``: every sensor on its
own drifting device clock, notifications of a few samples arriving after a random latency,
dropped samples; or a CSV on one shared clock), with sensors strapped at random orientations.
The same file is then

* replayed at full speed through a live :class:`motiontrack.Session` (``replay:`` sources),
* analysed offline with :func:`motiontrack.analyze`,

and the two must give the same rep count, the same calibration pose, and per-rep
min/max/ROM within 0.5°. The cases cover every exercise preset (two sensors for the knee
exercises, one sensor for the others), 6D and 9D, a standing start and a start in the
exercise's posture, recordings begun mid-set, a 2 s outage of one sensor, and CSV files.

    python benchmarks/live_offline.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_results

from motiontrack.analysis import process_recording
from motiontrack.errors import CalibrationError
from motiontrack.exercise import ExerciseSettings
from motiontrack.kinematics import SegmentCalibration
from motiontrack.reps import PRESETS
from motiontrack.session import Session
from motiontrack.simulation import LiveClocks, simulate_knee_session, write_live_recording

TOLERANCE_DEG = 0.5  # the criterion; the engine is the same, so 0 is expected


@dataclass(frozen=True)
class Case:
    name: str
    exercise: str
    seed: int
    mag: bool = False  # 9D
    start_pose: str | None = "standing"
    segment: str | None = None  # one-sensor case
    preset: str | None = None  # the rep preset (default: the exercise)
    mid_set: bool = False
    outage: bool = False  # 2 s without the shank
    csv: bool = False
    given_calibration: bool = False
    options: dict[str, Any] = field(default_factory=dict)


def cases(quick: bool = False) -> list[Case]:
    out: list[Case] = []
    knee = ("seated_knee_extension", "squat", "heel_slide")
    seeds = (1, 2) if not quick else (1,)
    for ex in knee:
        for mag in (False, True):
            for start in ("standing", None):
                for seed in seeds:
                    out.append(
                        Case(
                            f"{ex} {'9D' if mag else '6D'} {start or 'own-posture'} s{seed}",
                            ex,
                            seed,
                            mag=mag,
                            start_pose=start,
                        )
                    )
    for mag in (False, True):
        out.append(
            Case(
                f"straight_leg_raise {'9D' if mag else '6D'} given-cal",
                "straight_leg_raise",
                3,
                mag=mag,
                given_calibration=True,
            )
        )
        out.append(
            Case(
                f"seated mid-set {'9D' if mag else '6D'}",
                "seated_knee_extension",
                11,
                mag=mag,
                start_pose=None,
                mid_set=True,
                options={"hold_s": 2.5, "pause_s": 2.0},
            )
        )
        out.append(
            Case(
                f"squat 2 s shank outage {'9D' if mag else '6D'}", "squat", 5, mag=mag, outage=True
            )
        )
    out.append(Case("squat mid-set 6D", "squat", 12, start_pose=None, mid_set=True))
    out.append(Case("squat CSV", "squat", 4, csv=True))
    out.append(Case("heel_slide CSV 9D", "heel_slide", 6, csv=True, mag=True))
    single = {
        "straight_leg_raise": "thigh",
        "leg_raise": "thigh",
        "heel_slide": "shank",
        "squat": "thigh",
        "knee_extension": "shank",
        "seated_knee_extension": "shank",
    }
    for preset in sorted(PRESETS):  # every preset, counted from one sensor
        ex = (
            preset
            if preset in ("straight_leg_raise", "heel_slide", "squat", "seated_knee_extension")
            else ("straight_leg_raise" if preset == "leg_raise" else "seated_knee_extension")
        )
        out.append(
            Case(
                f"one sensor, preset {preset}",
                ex,
                21 + len(out) % 7,
                segment=single.get(preset, "shank"),
                preset=preset,
                start_pose="standing" if preset != "pendulum" else None,
            )
        )
    return out if not quick else out[::3]


def make_recording(c: Case, folder: Path) -> tuple[Path, Any]:
    s = simulate_knee_session(
        c.exercise,
        reps=4,
        seed=c.seed,
        drop_rate=0.012,
        max_mount_deg=180.0,
        start_pose=c.start_pose,
        **c.options,
    )
    if c.outage:  # the shank sends nothing for 2 s in the middle of the exercise
        r = s.truth.reps[1]
        s.sensors["shank"].valid[(s.t > r.start_s) & (s.t < r.start_s + 2.0)] = False
    start = s.truth.reps[0].peak_s - 1.0 if c.mid_set else 0.0
    if c.csv:
        path = folder / f"{abs(hash(c.name))}.csv"
        s.to_csv(path)
    else:
        path = folder / f"{abs(hash(c.name))}.mtrec"
        rng = np.random.default_rng(c.seed)
        clocks = LiveClocks(
            offset_s=(float(rng.uniform(-50, 50)), float(rng.uniform(-50, 50))),
            drift_ppm=(float(rng.uniform(-80, 80)), float(rng.uniform(-80, 80))),
            samples_per_packet=int(rng.integers(2, 9)),
        )
        write_live_recording(s, path, clocks=clocks, start_s=start, seed=c.seed, with_mag=c.mag)
    return path, s


def _kwargs(c: Case, s: Any) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "exercise": c.preset or c.exercise,
        "settings": ExerciseSettings(magnetometer=c.mag),
    }
    if c.segment:
        kw["segment"] = c.segment
    else:
        kw.update(joint="knee", proximal="thigh", distal="shank")
        if c.given_calibration:
            kw["calibration"] = SegmentCalibration.from_mounting(
                s.sensors["thigh"].q_segment_sensor, s.sensors["shank"].q_segment_sensor
            )
    return kw


async def _live(path: Path, kw: dict[str, Any]) -> tuple[list[Any], list[Any], str | None]:
    names = [kw["segment"]] if "segment" in kw else [kw["proximal"], kw["distal"]]
    session = Session({n: f"replay:{path}" for n in names}, replay_speed=0, **kw)
    async with session:
        await session.wait()
    cal = session.calibration
    return session.final_reps(), session.interrupted_reps, (cal.pose if cal is not None else None)


def compare(c: Case, folder: Path) -> dict[str, Any]:
    path, s = make_recording(c, folder)
    kw = _kwargs(c, s)
    t0 = time.perf_counter()
    live, live_cut, live_pose = asyncio.run(_live(path, kw))
    t1 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = process_recording(path, **kw)
            off, off_cut, off_pose = (
                res.reps,
                res.interrupted_reps,
                (res.calibration.pose if res.calibration is not None else None),
            )
        except CalibrationError:
            off, off_cut, off_pose = [], [], None
    t2 = time.perf_counter()
    same_count = len(live) == len(off) and len(live_cut) == len(off_cut)
    worst = 0.0
    if same_count:
        for a, b in zip(live, off):
            worst = max(
                worst,
                abs(a.min_deg - b.min_deg),
                abs(a.max_deg - b.max_deg),
                abs(a.rom_deg - b.rom_deg),
            )
    if c.segment is None and not c.given_calibration:
        pose_ok = live_pose == off_pose
    else:
        pose_ok = True
    return {
        "case": c.name,
        "live_reps": len(live),
        "offline_reps": len(off),
        # the true reps the outage does not cut (those it cuts are interrupted, not counted)
        "truth_reps": sum(not _cut(c, s, r) for r in s.truth.reps) if not c.mid_set else None,
        "interrupted": (len(live_cut), len(off_cut)),
        "live_pose": live_pose,
        "offline_pose": off_pose,
        "max_diff_deg": worst if same_count else math.inf,
        "ok": same_count and pose_ok and worst <= TOLERANCE_DEG,
        "live_s": round(t1 - t0, 2),
        "offline_s": round(t2 - t1, 2),
    }


def _cut(c: Case, s: Any, r: Any) -> bool:
    """Whether the case's outage (see :func:`make_recording`) overlaps true rep ``r``."""
    if not c.outage:
        return False
    a = s.truth.reps[1].start_s
    return r.start_s < a + 2.0 and r.end_s > a


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="every third case")
    a = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for c in cases(a.quick):
            rows.append(compare(c, Path(d)))
            r = rows[-1]
            print(
                f"{r['case']:<44} live {r['live_reps']:>2} offline {r['offline_reps']:>2} truth "
                f"{r['truth_reps']!s:>4}  pose {r['live_pose']!s:>9}/{r['offline_pose']!s:<9} "
                f"max diff {r['max_diff_deg']:.3g}°  {'OK' if r['ok'] else 'FAIL'}",
                flush=True,
            )
    n_ok = sum(r["ok"] for r in rows)
    print(
        f"\n{n_ok}/{len(rows)} recordings: same rep count, same calibration pose, per-rep "
        f"min/max/ROM within {TOLERANCE_DEG}° (worst {max(r['max_diff_deg'] for r in rows):.3g}°)"
    )
    write_results("live_offline", rows)
    return 0 if n_ok == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
