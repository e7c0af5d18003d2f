"""Acceptance 1 of issue 14: every exercise preset on simulated sessions with truth, one table.

Presets: every name ``exercise=`` accepts (:func:`motiontrack.exercise.exercise_names`, the
library's registry; ``tests/test_presets_bench.py`` checks that :data:`PLANS` covers exactly
it, so a new preset cannot be left out). Each name is one of:

* a knee preset (``motiontrack.simulation.simulate_knee_session``; ``long_arc_quad`` and
  ``knee_extension`` are aliases of the seated knee extension, run on seeds offset by 1000 and
  2000 so that they are new evidence): thigh and shank sensors, 6D and 9D, 8 reps per session
  following the session protocol (stand still, take the exercise position, exercise). The
  standing knee bend is refused by the engine in 6D (its vertical, still thigh leaves the
  knee axis unobservable without magnetometers): one 6D session checks that the refusal
  happens and names ``--magnetometer``; its row says "refused by design (6D)".
* a body-region preset (``motiontrack.simulation.regions.simulate_region_session``): the
  distal sensor alone (``1s``: its angle against gravity / the start heading) or with the
  proximal one (``2s``: the joint angle), 6D and 9D, 8 reps; plus, in a table of their own,
  two sensors with the proximal segment tilting against the region's rhythm (``-anti``, tilt
  presets: 6D assumes the rhythm where the relative direction is unobservable and must warn,
  "rhythm warned"; "unwarned miss" is a miss without that warning).
* a rep-counter preset without an anatomical angle (``biceps_curl``, ``trunk_lean``, ...):
  one sensor, reps counted on its dominant rotation; simulated with the matching motion
  (:data:`COUNTER`, seeds offset by 3000), the count is judged, the angle criteria do not
  apply (the counted signal has no anatomical definition to compare with): "counts only".
* not simulated, with the reason (:data:`NOT_SIMULATED`): the default counter (``generic``,
  no exercise) and the pendulum (no motion model of arm circles).

Every session: ``--seeds`` (default 20) seeded sessions per row; sensors at uniformly random
orientations on their segments (any rotation) and at random places along them (knee: thigh
sensor at 45-65 %, shank at 25-45 % of the segment's length; regions: 0.6-1.4 x the nominal
distance, both sensors), soft-tissue shift and 8-14 Hz wobble, white noise and bias walk,
and a constant gyroscope bias uniform in ±2 °/s per axis; whole-body turns of 20-120° between
reps (knee: every session; regions: standing and seated poses, except a one-sensor rotation
angle, which is measured from the start heading, so that a turn is part of it); open and
closed chains (knee: squat, sit-to-stand and wall slide keep the foot on the floor, heel
slides it on the bed; regions: bridge and cat-cow move the joint itself). Each session goes
through ``motiontrack.analyze`` (the one session engine) with the preset as ``exercise``.

Criteria per session: primary-angle RMSE <= 2° (knee: from 0.5 s before the first rep to the
end; regions: after the still pose), per-rep extreme (min and max) error <= 3°, rep count
exact; a row passes when all its sessions meet all three. The table gives how many sessions
pass each and the worst values. ``--markdown PATH`` also writes the table as markdown
(benchmarks/presets.md is the committed full run).

    .venv/bin/python benchmarks/presets.py [--seeds 20] [--exercise NAME ...] [--markdown PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, table, write_results

from motiontrack._progress import track
from motiontrack.analysis import process_recording
from motiontrack.errors import ConfigurationError, InputError
from motiontrack.exercise import ExerciseSettings, exercise_names
from motiontrack.exercise.posture import THIGH_STILL
from motiontrack.exercise.regions import REGION_EXERCISES
from motiontrack.simulation import EXERCISES, ImuErrorModel, simulate_knee_session
from motiontrack.simulation.knee import ALIASES
from motiontrack.simulation.regions import simulate_region_session

RMSE_MAX, EXTREME_MAX = 2.0, 3.0  # deg: the acceptance's criteria
BIAS_DPS = 2.0  # °/s: constant gyroscope bias, uniform in ± this per axis


@dataclass(frozen=True)
class Plan:
    """How a preset is simulated: ``kind`` "knee", "region" or "counter"; ``motion`` the
    simulator's exercise; ``sensor`` (counter) the one sensor counted from; ``seed_offset``."""

    kind: str
    motion: str
    sensor: str = ""
    seed_offset: int = 0


#: knee presets -> the knee simulator's motion (aliases: the motion they name)
KNEE = {e: e for e in EXERCISES if e != "straight_leg_raise"}
KNEE.update(ALIASES)
KNEE["knee_extension"] = "seated_knee_extension"  # reps.PRESETS: the same preset object
_KNEE_SEED = {"long_arc_quad": 1000, "knee_extension": 2000}
#: rep-counter presets without an anatomical angle -> (simulator, motion, sensor)
COUNTER = {
    "biceps_curl": ("region", "elbow_curl", "forearm"),
    "trunk_lean": ("region", "trunk_flexion", "chest"),
    "arm_raise": ("region", "shoulder_flexion", "upper_arm"),
    "leg_raise": ("region", "standing_hip_flexion", "thigh"),
    "straight_leg_raise": ("knee", "straight_leg_raise", "thigh"),
}
#: presets with no simulation, and why
NOT_SIMULATED = {
    "generic": "no exercise: the counter's default when none is given",
    "pendulum": "no motion model of pendulum arm circles in motiontrack.simulation",
}
PLANS: dict[str, Plan] = {
    **{n: Plan("knee", m, seed_offset=_KNEE_SEED.get(n, 0)) for n, m in KNEE.items()},
    **{n: Plan("region", n) for n in REGION_EXERCISES},
    **{n: Plan("counter", m, s, 3000) for n, (_, m, s) in COUNTER.items()},
}
#: table order: the knee presets (each alias after its twin), regions, counters, not simulated
ORDER = [*sorted(KNEE, key=lambda n: (list(EXERCISES).index(KNEE[n]), n != KNEE[n])),
         *REGION_EXERCISES, *COUNTER, *NOT_SIMULATED]
MODES = {"knee": ("6D", "9D"), "region": ("1s-6D", "1s-9D", "2s-6D", "2s-9D"),
         "counter": ("1s-6D", "1s-9D")}
ANTI = ("2s-6D-anti", "2s-9D-anti")


def group(name: str) -> str:
    """The table's first column: knee, the body region, or "counter"."""
    if name in REGION_EXERCISES:
        return REGION_EXERCISES[name].region
    return "counter" if name in COUNTER else "knee" if name in KNEE else "-"


def refused(name: str, mode: str) -> bool:
    """The engine refuses this preset in this mode by design (the standing knee bend in 6D)."""
    return PLANS[name].kind == "knee" and mode == "6D" and name in THIGH_STILL


def _analyze(rec, mag: bool, **kw):  # noqa: ANN001, ANN202
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return process_recording(rec, settings=ExerciseSettings(magnetometer=mag), **kw)


def _knee_session(motion: str, seed: int, mag: bool):  # noqa: ANN202
    """A knee session with the constant gyroscope bias of ±BIAS_DPS per axis (replacing the
    simulator's own 0.5 °/s; its bias walk stays)."""
    s = simulate_knee_session(motion, reps=8, seed=seed, max_mount_deg=180.0,
                              start_pose="standing", with_mag=mag,
                              errors=ImuErrorModel(gyr_bias_std=0.0))
    rng = np.random.default_rng([seed, 14])
    for imu in s.sensors.values():
        imu.gyr[:] += np.radians(rng.uniform(-BIAS_DPS, BIAS_DPS, 3))
    return s


def _region_session(motion: str, seed: int, two: bool, mag: bool,  # noqa: ANN202
                    anti: bool = False, reps: int = 8):
    one_sensor_twist = not two and REGION_EXERCISES[motion].axis == "y"
    return simulate_region_session(motion, reps=reps, seed=seed, proximal=two, with_mag=mag,
                                   bias_dps=BIAS_DPS, against_rhythm=anti,
                                   body_turns=not one_sensor_twist, sensor_position=True,
                                   closed_chain=True)


def _row(name: str, seed: int, mode: str, rmse: float, ext: list[float], count: int,
         true_count: int, **extra: object) -> dict[str, object]:
    return {"exercise": name, "seed": seed, "mode": mode, "rmse_deg": rmse,
            "rep_extreme_err_deg": float(max(ext)) if ext else float("nan"),
            "count": count, "true_count": true_count, **extra}


def _rmse(err: np.ndarray) -> float:
    return float(np.sqrt(np.mean(err**2))) if err.size else float("nan")


def evaluate_knee(name: str, seed: int, mode: str) -> dict[str, object]:
    """One knee session through ``analyze``: RMSE, worst per-rep extreme error, count."""
    p = PLANS[name]
    s = _knee_session(p.motion, seed + p.seed_offset, mode == "9D")
    r = _analyze(s.to_recording(), mode == "9D", joint="knee", proximal="thigh", distal="shank",
                 exercise=name)
    est = np.interp(s.t, r.t, r.primary_deg, left=np.nan, right=np.nan)
    m = np.isfinite(est) & (s.t >= s.truth.reps[0].start_s - 0.5)
    ext = [max(abs(a.min_deg - b.min_deg), abs(a.max_deg - b.max_deg))
           for a, b in zip(r.reps, s.truth.reps)]
    return _row(name, seed + p.seed_offset, mode, _rmse(est[m] - s.truth.flexion_deg[m]), ext,
                r.rep_count, len(s.truth.reps))


def evaluate_region(name: str, seed: int, mode: str, reps: int = 8) -> dict[str, object]:
    """One body-region session through ``analyze``: RMSE, worst per-rep extreme error, counts."""
    two, mag, anti = mode.startswith("2s"), "9D" in mode, mode.endswith("-anti")
    s = _region_session(name, seed, two, mag, anti, reps)
    r = _analyze(s.to_recording(), mag, exercise=name)
    truth = s.truth.joint_deg if two else s.truth.segment_deg
    est = np.interp(s.t, r.t, r.primary_deg, left=np.nan, right=np.nan)
    m = np.isfinite(est) & (s.t > s.truth.calib_s)
    ext = []
    for a, b in s.truth.reps:
        w = (s.t >= a - 0.5) & (s.t <= b + 0.5)
        near = [rep for rep in r.reps if rep.start_s < b and rep.end_s > a]
        if near:
            ext.append(max(abs(near[0].min_deg - truth[w].min()),
                           abs(near[0].max_deg - truth[w].max())))
    return _row(name, seed, mode, _rmse(est[m] - truth[m]), ext, r.rep_count, len(s.truth.reps),
                rhythm_assumed=any("not observable in this movement" in w for w in r.warnings))


def evaluate_counter(name: str, seed: int, mode: str) -> dict[str, object]:
    """One sensor counting a rep-counter preset: the count (no anatomical angle to judge)."""
    sim, motion, sensor = COUNTER[name]
    mag, seed = mode.endswith("9D"), seed + PLANS[name].seed_offset
    if sim == "knee":
        s = _knee_session(motion, seed, mag)
        n_true = len(s.truth.reps)
    else:
        s = _region_session(motion, seed, False, mag)
        n_true = len(s.truth.reps)
    r = _analyze(s.to_recording(), mag, segment=sensor, exercise=name)
    return _row(name, seed, mode, float("nan"), [], r.rep_count, n_true)


def evaluate(name: str, seed: int, mode: str) -> dict[str, object]:
    kind = PLANS[name].kind
    fn = {"knee": evaluate_knee, "region": evaluate_region, "counter": evaluate_counter}[kind]
    try:
        return fn(name, seed, mode)
    except Exception as exc:  # noqa: BLE001 - a failed session is a row, not a crash
        return _row(name, seed, mode, float("nan"), [], -1, 8,
                    error=f"{type(exc).__name__}: {exc}")


def check_refusal(name: str) -> tuple[bool, str]:
    """(refused with a message naming --magnetometer, the message) of one 6D session."""
    s = _knee_session(PLANS[name].motion, 0, False)
    try:
        _analyze(s.to_recording(), False, joint="knee", proximal="thigh", distal="shank",
                 exercise=name)
    except (ConfigurationError, InputError) as exc:  # analyze: InputError, the engine's message
        return "--magnetometer" in str(exc), str(exc)
    return False, "not refused: analyze ran in 6D"


def _ok(r: dict) -> bool:
    if PLANS[r["exercise"]].kind == "counter":
        return r["count"] == r["true_count"]
    return bool(r["rmse_deg"] <= RMSE_MAX and r["rep_extreme_err_deg"] <= EXTREME_MAX
                and r["count"] == r["true_count"])


def summarize(rows: list[dict], names: list[str], refusals: dict[str, tuple[bool, str]],
              modes_of=None) -> list[tuple]:  # noqa: ANN001
    """One line per preset and mode (refused and not simulated presets included)."""
    out = []
    for name in names:
        if name in NOT_SIMULATED:
            out.append((group(name), name, "-", 0, *[""] * 7,
                        "not simulated: " + NOT_SIMULATED[name]))
            continue
        for mode in (modes_of or (lambda n: MODES[PLANS[n].kind]))(name):
            if refused(name, mode):
                ok, _ = refusals.get(name, (False, "not checked"))
                out.append((group(name), name, mode, 0, *[""] * 7,
                            f"refused by design ({mode})" if ok else "FAIL: not refused"))
                continue
            rs = [r for r in rows if r["exercise"] == name and r["mode"] == mode]
            if rs:
                out.append(_line(name, mode, rs))
    return out


def _line(name: str, mode: str, rs: list[dict]) -> tuple:
    n = len(rs)
    cnt = sum(r["count"] == r["true_count"] for r in rs)
    ok = sum(_ok(r) for r in rs)
    if PLANS[name].kind == "counter":
        return (group(name), name, mode, n, "n/a", "", "", "n/a", "", f"{cnt}/{n}", f"{ok}/{n}",
                "pass (counts only)" if ok == n else "FAIL")
    rm = np.array([r["rmse_deg"] for r in rs])
    ee = np.array([r["rep_extreme_err_deg"] for r in rs])
    return (group(name), name, mode, n, f"{np.sum(rm <= RMSE_MAX)}/{n}",
            round(float(np.nanmedian(rm)), 2), round(float(np.nanmax(rm)), 2),
            f"{np.sum(ee <= EXTREME_MAX)}/{n}", round(float(np.nanmax(ee)), 2), f"{cnt}/{n}",
            f"{ok}/{n}", "pass" if ok == n else "FAIL")


HEADER = ("group", "preset", "mode", "sessions", "RMSE<=2", "RMSE med", "RMSE max", "ext<=3",
          "ext max", "count exact", "all ok", "result")


def markdown(lines: list[tuple], header=HEADER) -> str:  # noqa: ANN001
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(v) for v in line) + " |" for line in lines]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--exercise", nargs="*", default=list(exercise_names()),
                   choices=list(exercise_names()))
    p.add_argument("--no-anti", action="store_true", help="skip the against-the-rhythm table")
    p.add_argument("--markdown", type=Path, help="also write the tables here as markdown")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    unplanned = sorted(set(exercise_names()) - set(ORDER))
    if unplanned:  # (tests/test_presets_bench.py says so first)
        p.error(f"presets without a plan in benchmarks/presets.py: {', '.join(unplanned)}")
    names = [n for n in ORDER if n in args.exercise]
    refusals = {n: check_refusal(n) for n in names
                if any(refused(n, m) for m in MODES.get(getattr(PLANS.get(n), "kind", ""), ()))}
    jobs = [(n, s, m) for n in names if n in PLANS for m in MODES[PLANS[n].kind]
            for s in range(args.seeds) if not refused(n, m)]
    anti_names = [] if args.no_anti else [n for n in names if PLANS.get(n, Plan("", "")).kind
                                           == "region" and REGION_EXERCISES[n].axis != "y"]
    jobs += [(n, s, m) for n in anti_names for m in ANTI for s in range(args.seeds)]
    rows = [evaluate(n, s, m) for n, s, m in track(jobs, desc="presets")]
    main_rows = [r for r in rows if r["mode"] not in ANTI]
    summary = summarize(main_rows, names, refusals)
    print(table(summary, HEADER))
    anti = _anti_table(rows, anti_names)
    if anti:
        print("\nAgainst the rhythm (two sensors, the proximal segment tilting the other way; "
              "tilt presets): 6D must warn where it assumed the rhythm")
        print(table(anti, ANTI_HEADER))
    misses = [f"{r['exercise']} {r['mode']} seed {r['seed']}: RMSE {r['rmse_deg']:.2f}°, "
              f"extreme {r['rep_extreme_err_deg']:.2f}°, count {r['count']}/{r['true_count']}"
              for r in main_rows if "error" not in r and not _ok(r)]
    for m in misses:
        print("miss:", m)
    for r in [r for r in rows if "error" in r][:10]:
        print("failed:", r["exercise"], r["mode"], r["seed"], r["error"])
    for n, (ok, msg) in refusals.items():
        print(f"{n} 6D: {'refused' if ok else 'NOT REFUSED'}: {msg[:120]}")
    wall = time.perf_counter() - t0
    passed = sum(s[-1].startswith(("pass", "refused", "not simulated")) for s in summary)
    print(f"rows: {len(summary)}, passing or refused by design or not simulated: {passed}; "
          f"sessions: {len(rows)}; wall {wall:.0f} s")
    write_results("presets", rows, summary=[dict(zip(HEADER, s)) for s in summary],
                  anti=[dict(zip(ANTI_HEADER, s)) for s in anti], wall_s=wall,
                  seeds=args.seeds, refusals=refusals)
    if args.markdown:
        _write_markdown(args, summary, anti, wall, len(rows), misses)
    return 0


ANTI_HEADER = ("group", "preset", "mode", "sessions", "RMSE max", "ext max", "count exact",
               "all ok", "rhythm warned", "unwarned miss")


def _anti_table(rows: list[dict], names: list[str]) -> list[tuple]:
    out = []
    for name in names:
        for mode in ANTI:
            rs = [r for r in rows if r["exercise"] == name and r["mode"] == mode]
            if not rs:
                continue
            n = len(rs)
            out.append((group(name), name, mode, n,
                        round(float(np.nanmax([r["rmse_deg"] for r in rs])), 2),
                        round(float(np.nanmax([r["rep_extreme_err_deg"] for r in rs])), 2),
                        f"{sum(r['count'] == r['true_count'] for r in rs)}/{n}",
                        f"{sum(_ok(r) for r in rs)}/{n}",
                        f"{sum(bool(r.get('rhythm_assumed')) for r in rs)}/{n}",
                        sum(not _ok(r) and not r.get("rhythm_assumed") for r in rs)))
    return out


def _write_markdown(args: argparse.Namespace, summary: list[tuple], anti: list[tuple],
                    wall: float, n_sessions: int, misses: list[str]) -> None:
    info = machine_info()
    text = (f"# Every exercise preset, simulated (issue 14, acceptance 1)\n\n"
            f"`benchmarks/presets.py --seeds {args.seeds}` ({n_sessions} sessions, "
            f"{wall / 60:.1f} min wall on {info['cores']} shared cores, {info['timestamp']}); "
            "the setup and the criteria are in the script's docstring.\n\n"
            + markdown(summary) + "\n")
    if anti:
        text += ("\n## Against the rhythm\n\nTwo sensors, the proximal segment tilting against "
                 "the region's rhythm (tilt presets); 6D must warn where it assumed the rhythm "
                 "(\"rhythm warned\"); an \"unwarned miss\" is a miss without that warning.\n\n"
                 + markdown(anti, ANTI_HEADER) + "\n")
    if misses:
        text += ("\n## Sessions that miss a criterion\n\n"
                 + "\n".join(f"* {m}" for m in misses) + "\n")
    args.markdown.write_text(text)


if __name__ == "__main__":
    raise SystemExit(main())
