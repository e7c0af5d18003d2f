"""The fault matrix: simulated knee sessions with ground truth, damaged one way each, analysed
as a user would (the long-form CSV through ``analyze``), and judged.

Every case is a squat session (or, for the transitions, a seated or supine one) with the session protocol's standing start (the simulator's
truth: knee flexion and every rep), written as the long-form CSV of ``shared/API.md`` and
damaged in one way: outages of one sensor, both sensors, a sensor that stops for good, NaN and
inf values, duplicated, unsorted and interleaved rows, wrong units, a 180° body turn, clock
jumps, saturated gyroscope bursts, a recording that starts or ends mid-rep, a calibration pose
held crooked. The verdict asks of every case:

* **no invented rep**: every counted rep matches a true rep that no unknown span touches;
* **no invented angle**: no finite angle more than the bridge (0.25 s) inside a span where a
  segment's data are missing;
* **exact count outside the interrupted spans**: counted reps = true reps untouched by an
  unknown span (those it overlaps may be reported as interrupted, never counted; those within
  ``NEAR_S`` of one either way);
* **a clear message** for every degraded case: a typed error naming the problem, or a warning.

``benchmarks/faults.py`` prints the table; ``tests/test_faults.py`` runs the same matrix.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import math
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis import AnalysisResult, process_recording
from ..conventions import GRAVITY
from ..errors import MotionTrackError
from ..io.csv import MAG_COLUMNS, REQUIRED_COLUMNS
from ..simulation import simulate_knee_session

__all__ = ["CASES", "FaultCase", "Verdict", "run_case", "run_matrix"]

BRIDGE_S = 0.25  #: ExerciseSettings.max_interp_s: holes up to this are interpolated
#: a true rep this close to an unknown span, without overlapping it, may be counted or
#: reported as interrupted (whether the counter saw enough rest beside the gap)
NEAR_S = 0.5


@dataclass
class Table:
    """The long-form rows of a session: ``t``, ``sensor`` index, acc, gyr, mag (9 values)."""

    names: list[str]
    t: np.ndarray  # (n,)
    sensor: np.ndarray  # (n,) int
    values: np.ndarray  # (n, 9)
    unknown: list[tuple[float, float]] = field(default_factory=list)  # true unknown spans, s
    rows_in_file_order: np.ndarray | None = None  # permutation, when the file is not sorted
    jump: tuple[float, float] | None = None  # the file's clock jumps by [1] s after [0] s

    def file_time(self, t: np.ndarray) -> np.ndarray:
        """True time -> the file's time."""
        if self.jump is None:
            return t
        return np.where(t > self.jump[0], t + self.jump[1], t)

    def truth_reps(self, s: Any) -> list[Any]:
        """The true reps on the file's time axis."""
        if self.jump is None:
            return list(s.truth.reps)
        def f(x: float) -> float:
            return float(self.file_time(np.asarray(x)))

        return [dataclasses.replace(r, start_s=f(r.start_s), peak_s=f(r.peak_s), end_s=f(r.end_s))
                for r in s.truth.reps]

    def rows_of(self, name: str) -> np.ndarray:
        return self.sensor == self.names.index(name)

    def drop(self, mask: np.ndarray) -> None:
        keep = ~mask
        self.t, self.sensor, self.values = self.t[keep], self.sensor[keep], self.values[keep]

    def write(self, path: Path) -> None:
        order = (
            self.rows_in_file_order
            if self.rows_in_file_order is not None
            else np.lexsort((self.sensor, self.t))
        )
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow([*REQUIRED_COLUMNS, *MAG_COLUMNS])
            for i in order:
                w.writerow([repr(float(self.t[i])), self.names[self.sensor[i]],
                            *(repr(float(v)) for v in self.values[i])])


@dataclass(frozen=True)
class FaultCase:
    name: str
    what: str
    damage: Callable[[Table, Any], None]
    sim: dict[str, Any] = field(default_factory=dict)
    #: an InputError is the right answer; its message must contain this
    error: str | None = None
    clean: bool = False  # the undamaged baseline: no message needed
    exercise: str = "squat"


@dataclass
class Verdict:
    case: str
    reported: str
    truth: str
    ok: bool
    problems: list[str]
    rmse_deg: float = math.nan


# ---------------------------------------------------------------------------- damage
def _table(s: Any) -> Table:
    names = list(s.sensors)
    ts, ss, vs = [], [], []
    for k, n in enumerate(names):
        imu = s.sensors[n]
        v = imu.valid
        ts.append(s.t[v])
        ss.append(np.full(int(v.sum()), k))
        vs.append(np.hstack([imu.acc[v], imu.gyr[v], imu.mag[v]]))
    return Table(names, np.concatenate(ts), np.concatenate(ss), np.vstack(vs))


def _rest_time(s: Any, i: int) -> float:
    """The middle of the pause after true rep ``i``."""
    reps = s.truth.reps
    return 0.5 * (reps[i].end_s + reps[i + 1].start_s)


def _outage(sensors: tuple[str, ...], dur: float, where: str) -> Callable[[Table, Any], None]:
    def damage(tab: Table, s: Any) -> None:
        t0 = _rest_time(s, 2) - 0.5 * dur if where == "rest" else s.truth.reps[3].peak_s
        if where == "rest" and dur > 3.0:
            t0 = _rest_time(s, 2)
        hole = (tab.t > t0) & (tab.t < t0 + dur)
        tab.drop(hole & np.isin(tab.sensor, [tab.names.index(n) for n in sensors]))
        if dur > BRIDGE_S:
            tab.unknown.append((t0, t0 + dur))

    return damage


def _stops(tab: Table, s: Any) -> None:
    t_stop = s.truth.reps[6].peak_s
    tab.drop(tab.rows_of("shank") & (tab.t > t_stop))
    tab.unknown.append((t_stop, math.inf))


def _values(col: slice, value: float, burst: bool) -> Callable[[Table, Any], None]:
    def damage(tab: Table, s: Any) -> None:
        rng = np.random.default_rng(5)
        idx = np.flatnonzero(tab.rows_of("shank"))
        single = rng.choice(idx, 25, replace=False)
        tab.values[single, col] = value
        if burst:  # and one run of 0.5 s in the middle of rep 4
            t0 = s.truth.reps[3].peak_s
            run = idx[(tab.t[idx] > t0) & (tab.t[idx] < t0 + 0.5)]
            tab.values[run, col] = value
            tab.unknown.append((t0, t0 + 0.5))

    return damage


def _duplicated(tab: Table, s: Any) -> None:
    idx = np.flatnonzero(tab.rows_of("thigh"))[500:520]
    tab.t = np.r_[tab.t, tab.t[idx]]
    tab.sensor = np.r_[tab.sensor, tab.sensor[idx]]
    tab.values = np.vstack([tab.values, tab.values[idx]])


def _unsorted(tab: Table, s: Any) -> None:
    order = np.lexsort((tab.sensor, tab.t))
    rng = np.random.default_rng(2)
    for i in rng.choice(order.size - 2, 30, replace=False):  # 30 rows of a sensor swapped
        order[i], order[i + 2] = order[i + 2], order[i]  # with its next one
    tab.rows_in_file_order = order


def _interleaved(tab: Table, s: Any) -> None:
    tab.rows_in_file_order = np.random.default_rng(3).permutation(tab.t.size)


def _scale(col: slice, factor: float) -> Callable[[Table, Any], None]:
    def damage(tab: Table, s: Any) -> None:
        tab.values[:, col] *= factor

    return damage


def _time_ms(tab: Table, s: Any) -> None:
    tab.t = tab.t * 1000.0


def _clock_jump(step: float) -> Callable[[Table, Any], None]:
    """The recorder's clock jumps by ``step`` s for both sensors after rep 4's peak."""
    def damage(tab: Table, s: Any) -> None:
        t0 = s.truth.reps[3].peak_s
        order = np.lexsort((tab.sensor, tab.t))
        tab.t = np.where(tab.t > t0, tab.t + step, tab.t)
        tab.rows_in_file_order = order  # rows stay in their recording order
        tab.jump = (t0, step)
        if step > 0:  # nothing is lost, but the file has a hole of `step` s there
            tab.unknown.append((t0, t0 + step))

    return damage


def _saturated(tab: Table, s: Any) -> None:
    limit = math.radians(90.0)  # a gyroscope set to a ±90 °/s range, clipped on fast strokes
    tab.values[:, 3:6] = np.clip(tab.values[:, 3:6], -limit, limit)


def _start_mid_rep(tab: Table, s: Any) -> None:
    tab.drop(tab.t < s.truth.reps[0].peak_s)


def _end_mid_rep(tab: Table, s: Any) -> None:
    tab.drop(tab.t > s.truth.reps[-1].peak_s)


def _none(tab: Table, s: Any) -> None:
    pass


ACC, GYR, MAG = slice(0, 3), slice(3, 6), slice(6, 9)
CASES: tuple[FaultCase, ...] = (
    FaultCase("clean", "no fault (baseline)", _none, clean=True),
    *(
        FaultCase(f"shank_out_{d:g}s_{w}", f"shank silent {d:g} s, starting {w.replace('_', ' ')}",
                  _outage(("shank",), d, w))
        for w in ("rest", "mid_rep")
        for d in (0.1, 0.3, 2.0, 10.0, 60.0)
    ),
    FaultCase("shank_stops", "shank stops for good at rep 7", _stops),
    FaultCase("both_out_2s", "both sensors silent 2 s mid-rep", _outage(("thigh", "shank"), 2.0, "mid_rep")),
    FaultCase("nan_rows", "25 NaN rows and a 0.5 s NaN run (shank)", _values(slice(0, 9), math.nan, True)),
    FaultCase("inf_values", "25 rows with an inf gyroscope value (shank)", _values(GYR, math.inf, False)),
    FaultCase("duplicated_rows", "20 thigh rows stored twice", _duplicated),
    FaultCase("unsorted_rows", "30 rows swapped with their sensor's next", _unsorted),
    FaultCase("interleaved_rows", "all rows in random order", _interleaved),
    FaultCase("gyro_deg_s", "gyroscope in deg/s", _scale(GYR, 180.0 / math.pi), error="deg/s"),
    FaultCase("acc_g", "acceleration in g", _scale(ACC, 1.0 / GRAVITY), error=" g"),
    FaultCase("acc_mg", "acceleration in mg", _scale(ACC, 1000.0 / GRAVITY), error="mg"),
    FaultCase("mag_nT", "magnetometer in nT", _scale(MAG, 1000.0), error="nT"),
    FaultCase("time_ms", "timestamps in ms", _time_ms, error="ms"),
    FaultCase("body_turn_180", "a 180° body turn between reps", _none,
              sim={"turn_deg": 180.0}, clean=True),
    FaultCase("clock_jump_fwd", "the clock jumps 5 s forward mid-rep", _clock_jump(5.0)),
    FaultCase("clock_jump_back", "the clock jumps 3 s back mid-rep", _clock_jump(-3.0),
              error="time goes back"),
    FaultCase("gyro_saturated", "gyroscope clipped at ±90 °/s", _saturated, sim={"fast_reps": 3}),
    FaultCase("starts_mid_rep", "the recording starts mid-rep", _start_mid_rep),
    FaultCase("ends_mid_rep", "the recording ends mid-rep", _end_mid_rep),
    FaultCase("crooked_pose", "standing pose held with the knee flexed 15°", _none,
              sim={"stand_flexion_deg": 15.0}),
    FaultCase("sit_down", "seated knee extensions after sitting down from the standing pose",
              _none, clean=True, exercise="seated_knee_extension"),
    FaultCase("lie_down", "heel slides after lying down from the standing pose", _none,
              clean=True, exercise="heel_slide"),
)


# ---------------------------------------------------------------------------- running
def simulate(case: FaultCase, seed: int, reps: int) -> Any:
    """The case's session (cases with the same simulator options share one: the damage
    works on a copy of its rows)."""
    return _simulate(case.exercise, seed, reps, tuple(sorted(case.sim.items())))


@functools.lru_cache(maxsize=4)
def _simulate(exercise: str, seed: int, reps: int, sim: tuple[tuple[str, Any], ...]) -> Any:
    opts: dict[str, Any] = {"pause_s": 3.0, "max_mount_deg": 90.0, "start_pose": "standing"}
    opts.update(sim)
    return simulate_knee_session(exercise, reps=reps, seed=seed, **opts)


def run_case(case: FaultCase, seed: int = 0, reps: int = 16, folder: Path | None = None) -> Verdict:
    """Simulate, damage, write, analyse, judge."""
    s = simulate(case, seed, reps)
    tab = _table(s)
    case.damage(tab, s)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(folder or tmp) / f"{case.name}.csv"
        tab.write(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = process_recording(path, exercise=case.exercise)
            except MotionTrackError as exc:
                return _judge_error(case, s, exc)
    return _judge(case, s, tab, res)


def _judge_error(case: FaultCase, s: Any, exc: Exception) -> Verdict:
    msg = str(exc).split(": ", 1)[-1] if str(exc).startswith("/") else str(exc)
    truth = f"{len(s.truth.reps)} reps"
    if case.error is not None and case.error in str(exc):
        return Verdict(case.name, f"{type(exc).__name__}: {msg[:90]}", truth, True, [])
    return Verdict(case.name, f"{type(exc).__name__}: {msg[:90]}", truth, False,
                   ["an error where an analysis was expected" if case.error is None
                    else f"the error does not name {case.error!r}"])


def _touched(r: Any, spans: list[tuple[float, float]], margin: float = 0.0) -> bool:
    return any(r.start_s - margin < b and r.end_s + margin > a for a, b in spans)


def _judge(case: FaultCase, s: Any, tab: Table, res: AnalysisResult) -> Verdict:
    problems: list[str] = []
    spans = tab.unknown
    t_end = float(tab.t.max())
    t_start = float(tab.t.min())
    # true reps the recording holds whole and no unknown span touches
    whole = [r for r in tab.truth_reps(s) if r.start_s >= t_start and r.end_s <= t_end]
    expected = [r for r in whole if not _touched(r, spans, NEAR_S)]
    near = [r for r in whole if _touched(r, spans, NEAR_S) and not _touched(r, spans)]
    cut = len(s.truth.reps) - len(expected) - len(near)
    unmatched = _match(res.reps, expected + near)
    if unmatched:
        problems.append(f"{len(unmatched)} counted rep(s) match no true rep outside the gaps")
    if not len(expected) <= res.rep_count <= len(expected) + len(near):
        want = f"{len(expected)}" + (f"-{len(expected) + len(near)}" if near else "")
        problems.append(f"counted {res.rep_count}, expected {want}")
    for a, b in spans:
        inside = (res.t > a + BRIDGE_S + 0.05) & (res.t < b - 0.05)
        if np.isfinite(res.primary_deg[inside]).any():
            problems.append(f"finite angles inside the unknown span {a:.1f}-{min(b, t_end):.1f} s")
    degraded = not case.clean
    if case.error is not None:
        problems.append(f"no error naming {case.error!r}")
    if degraded and not res.warnings:
        problems.append("no message")
    rmse = _rmse(s, tab, res)
    reported = (f"{res.rep_count} reps, {len(res.interrupted_reps)} interrupted, "
                f"{len(res.gaps)} gaps, {len(res.warnings)} msg")
    truth = (f"{len(expected)}" + (f"(+{len(near)})" if near else "")
             + f" countable of {len(s.truth.reps)}" + (f" ({cut} cut)" if cut else ""))
    return Verdict(case.name, reported, truth, not problems, problems, rmse)


def _match(counted: list[Any], expected: list[Any]) -> list[Any]:
    """Counted reps whose peak lies in no expected rep (each expected rep used once)."""
    free = list(expected)
    out = []
    for r in counted:
        hit = next((e for e in free if e.start_s - 0.5 <= r.peak_s <= e.end_s + 0.5), None)
        if hit is None:
            out.append(r)
        else:
            free.remove(hit)
    return out


def _rmse(s: Any, tab: Table, res: AnalysisResult) -> float:
    """Flexion RMSE over the counted reps' spans (the truth on the result's time axis)."""
    if not res.reps:
        return math.nan
    truth = np.interp(res.t, tab.file_time(s.t), s.truth.flexion_deg)
    m = np.zeros(res.t.size, dtype=bool)
    for r in res.reps:
        m |= (res.t >= r.start_s) & (res.t <= r.end_s)
    m &= np.isfinite(res.primary_deg)
    if not m.any():
        return math.nan
    return float(np.sqrt(np.mean((res.primary_deg[m] - truth[m]) ** 2)))


def run_matrix(seed: int = 0, reps: int = 16,
               cases: tuple[FaultCase, ...] = CASES) -> list[Verdict]:
    return [run_case(c, seed, reps) for c in cases]
