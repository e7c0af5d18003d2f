"""Knee angles on real recordings: seated knee extension of the Physical Therapy Exercises
dataset (Yurtman & Barshan 2014, DOI 10.1016/j.cmpb.2014.07.003; see ../shared/data/README.md).

Subjects s1, s2, s3, exercise 1 (test session, ~4 min, 30 repetitions: 10 correct, 10 fast,
10 low-amplitude). Thigh = unit 3 (index 2), shank = unit 2 (index 1), 25 Hz, Xsens MTx.
The magnetometer is in arbitrary units and indoor, so the angles are computed in **6D**
(the magnetometers only choose the branch of an ambiguous relative heading at calibration).
There is no angle reference: the checks are plausibility checks.

Pipeline (library calls only): ``motiontrack.fusion.fuse(method="vqf")`` 6D per sensor ->
``calibrate_joint(pose="seated")`` on the first resting still window and the whole session ->
``joint_angles(mode="6d")``.

Which still windows are *rest* (shank hanging) and which are holds at full extension is not
labelled. The script finds the shank's long axis in the shank sensor frame from the swing
itself (the centripetal and tangential acceleration of a sensor rotating about a fixed knee:
``a_lin = (K(dw) + K(w)^2) r``, least squares for the lever arm ``r``) and calls a still
window *rest* when that axis is within 35° of vertical.

Checks per subject (printed):
1. range: the 0.5-99.5 percentile of the flexion trace lies within [0°, 110°] (min/max shown);
2. reps visible: ``motiontrack.reps.count_reps`` on the flexion trace must find 30 +- 2
   repetitions (the protocol has 30: 10 correct, 10 fast, 10 low-amplitude) and every rep's
   ROM must exceed 8°; for s1 the third-party rep boundaries are also used: the ROM inside
   each labelled rep must exceed 8°;
3. no drift: the median flexion of the first and the last rest windows. The subjects do not
   always come back to the same resting posture (their hanging shank settles a few degrees
   differently), so the change of the resting angle is compared with a drift-free reference:
   the change of the two segments' inclinations about the hinge axis measured by the
   accelerometers alone at rest (gravity only, no integration, no heading). Drift = trace
   change - accelerometer change, must be <= 3°. The raw start/end difference is printed too.
   Stronger, printed per subject: the trace minus the gravity-only angle at *every* still
   period (rests and extension holds), its spread and its linear trend over the session
   (a drift would show as a trend).

Run: ``python benchmarks/pt_knee_real.py [--data DIR] [--plot-ascii]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motiontrack import quaternion as mq
from motiontrack.errors import CalibrationWarning
from motiontrack.fusion import fuse
from motiontrack.kinematics import calibrate_joint, joint_angles
from motiontrack.reps import count_reps

THIGH, SHANK = 2, 1  # unit 3, unit 2
SUBJECTS = ("s1", "s2", "s3")
REP_MIN_DEG = 8.0
DRIFT_MAX_DEG = 3.0
RANGE = (0.0, 110.0)


def default_data_dir() -> Path:
    repo = Path(__file__).resolve().parents[1]
    return (
        Path(os.environ.get("MOTIONTRACK_DATA", repo.parent / "shared" / "data"))
        / "physical_therapy_exercises"
    )


def _still_windows(
    gt: np.ndarray, gs: np.ndarray, fs: float, min_s: float = 0.5, thr: float = 0.1
) -> list[slice]:
    quiet = (np.linalg.norm(gt, axis=1) < thr) & (np.linalg.norm(gs, axis=1) < thr)
    out, i, n = [], 0, quiet.size
    while i < n:
        if quiet[i]:
            j = i
            while j < n and quiet[j]:
                j += 1
            if j - i >= min_s * fs:
                out.append(slice(i, j))
            i = j
        else:
            i += 1
    return out


def _skew(v: np.ndarray) -> np.ndarray:
    z = np.zeros(v.shape[0])
    return np.stack(
        [
            np.stack([z, -v[:, 2], v[:, 1]], 1),
            np.stack([v[:, 2], z, -v[:, 0]], 1),
            np.stack([-v[:, 1], v[:, 0], z], 1),
        ],
        axis=1,
    )


def shank_long_axis(acc: np.ndarray, gyr: np.ndarray, q: np.ndarray, fs: float) -> np.ndarray:
    """Unit vector from the shank sensor towards the (fixed) knee, shank sensor frame."""
    a_lin = acc - mq.rotate(q, np.array([0.0, 0.0, 9.81]), inverse=True)
    dw = np.gradient(gyr, 1.0 / fs, axis=0)
    k = _skew(dw) + np.einsum("nij,njk->nik", _skew(gyr), _skew(gyr))
    moving = np.linalg.norm(gyr, axis=1) > 0.5
    r, *_ = np.linalg.lstsq(k[moving].reshape(-1, 3), a_lin[moving].reshape(-1), rcond=None)
    return -r / np.linalg.norm(r)  # r points from the knee to the sensor


@dataclass
class SubjectResult:
    name: str
    p_lo: float
    p_hi: float
    vmin: float
    vmax: float
    n_reps: int
    rep_rom_min: float
    rep_rom_median: float
    rest_start: float
    rest_end: float
    t_start: float
    t_end: float
    labelled_rom_min: float | None
    calibration_note: str
    reference_change: float  # accelerometer-only change of the resting angle, deg
    residual_spread: float  # max - min over all still periods of (trace - gravity-only), deg
    residual_trend: float  # linear trend of that residual over the session, deg (end - start)
    n_still: int  # still periods compared

    @property
    def raw_change(self) -> float:
        return self.rest_end - self.rest_start

    @property
    def drift(self) -> float:
        return abs(self.raw_change - self.reference_change)

    @property
    def range_ok(self) -> bool:
        return self.p_lo >= RANGE[0] and self.p_hi <= RANGE[1]

    @property
    def reps_ok(self) -> bool:
        ok = abs(self.n_reps - 30) <= 2 and self.rep_rom_min > REP_MIN_DEG
        if self.labelled_rom_min is not None:
            ok &= self.labelled_rom_min > REP_MIN_DEG
        return ok

    @property
    def drift_ok(self) -> bool:
        return self.drift <= DRIFT_MAX_DEG


def inclination_deg(acc_mean: np.ndarray, j: np.ndarray, ref: np.ndarray) -> float:
    """Angle of the gravity direction about the hinge ``j`` (sensor frame), from ``ref``."""
    u = acc_mean / np.linalg.norm(acc_mean)
    u = u - np.dot(u, j) * j
    x = ref - np.dot(ref, j) * j
    x /= np.linalg.norm(x)
    y = np.cross(j, x)
    return float(np.degrees(np.arctan2(np.dot(u, y), np.dot(u, x))))


def analyse(path: Path) -> tuple[SubjectResult, np.ndarray, float]:
    d = np.load(path)
    fs = float(d["fs_hz"])
    acc = d["test_acc_m_s2"].astype(np.float64)
    gyr = d["test_gyr_rad_s"].astype(np.float64)
    mag = d["test_mag_au"].astype(np.float64)
    at, gt, mt = acc[:, THIGH], gyr[:, THIGH], mag[:, THIGH]
    as_, gs, ms = acc[:, SHANK], gyr[:, SHANK], mag[:, SHANK]
    qt = np.asarray(fuse(at, gt, fs=fs, method="vqf"))
    qs = np.asarray(fuse(as_, gs, fs=fs, method="vqf"))

    long_axis = shank_long_axis(as_, gs, qs, fs)
    windows = _still_windows(gt, gs, fs)
    rest = []
    for w in windows:
        up = as_[w].mean(axis=0)
        ang = np.degrees(np.arccos(np.clip(np.dot(up / np.linalg.norm(up), long_axis), -1, 1)))
        if ang < 35.0:
            rest.append(w)
    if len(rest) < 2:
        raise RuntimeError(f"{path.name}: fewer than two resting still windows found")
    still = next((w for w in rest if w.stop - w.start >= fs), rest[0])  # first rest of >= 1 s
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CalibrationWarning)
        cal = calibrate_joint(
            acc_proximal=at,
            gyr_proximal=gt,
            acc_distal=as_,
            gyr_distal=gs,
            q_proximal=qt,
            q_distal=qs,
            fs=fs,
            still=still,
            motion=slice(0, at.shape[0]),
            pose="seated",
            mode="6d",
            mag_proximal=mt,
            mag_distal=ms,
        )
    note = (
        f"confidence {cal.confidence:.2f}, rom {cal.rom_deg:.0f}°"
        + ("; " + "; ".join(cal.notes) if cal.notes else "")
        + ("; warned: " + "; ".join(str(w.message) for w in caught) if caught else "")
    )
    res = joint_angles(qt, qs, joint="knee", calibration=cal, fs=fs, mode="6d")
    flex = res.flexion_deg
    rest_start = float(np.nanmedian(flex[rest[0]]))
    rest_end = float(np.nanmedian(flex[rest[-1]]))
    j1, j2 = cal.hinge_axis_proximal, cal.hinge_axis_distal
    ref1, ref2 = at[still].mean(axis=0), as_[still].mean(axis=0)

    def knee_from_gravity(w: slice) -> float:
        # gravity turns the opposite way in a segment frame: flexion = -(-d_shank + d_thigh)
        return inclination_deg(as_[w].mean(axis=0), j2, ref2) - inclination_deg(
            at[w].mean(axis=0), j1, ref1
        )

    reference_change = knee_from_gravity(rest[-1]) - knee_from_gravity(rest[0])
    # every still period (rests and holds alike): the trace minus the drift-free gravity-only
    # angle is constant up to the filters' tilt error and soft tissue; drift would be a trend
    tc = np.array([(w.start + w.stop) / 2 / fs for w in windows])
    resid = np.array([float(np.nanmedian(flex[w])) - knee_from_gravity(w) for w in windows])
    slope = np.polyfit(tc, resid, 1)[0] if len(windows) > 2 else 0.0
    residual_trend = float(slope * (at.shape[0] / fs))
    reps = count_reps(flex, fs=fs)
    labelled = None
    if "test_reps_thirdparty_num_type_start_end" in d.files:
        roms = []
        for _, _, s, e in d["test_reps_thirdparty_num_type_start_end"]:
            w = slice(int(s) - 1, int(e))
            roms.append(float(np.nanmax(flex[w]) - np.nanmin(flex[w])))
        labelled = min(roms)
    r = SubjectResult(
        name=path.stem,
        p_lo=float(np.nanpercentile(flex, 0.5)),
        p_hi=float(np.nanpercentile(flex, 99.5)),
        vmin=float(np.nanmin(flex)),
        vmax=float(np.nanmax(flex)),
        n_reps=len(reps),
        rep_rom_min=min((x.rom_deg for x in reps), default=0.0),
        rep_rom_median=float(np.median([x.rom_deg for x in reps])) if reps else 0.0,
        rest_start=rest_start,
        rest_end=rest_end,
        t_start=rest[0].start / fs,
        t_end=rest[-1].stop / fs,
        labelled_rom_min=labelled,
        calibration_note=note,
        reference_change=reference_change,
        residual_spread=float(np.ptp(resid)),
        residual_trend=residual_trend,
        n_still=len(windows),
    )
    return r, flex, fs


def ascii_plot(flex: np.ndarray, width: int = 100, height: int = 12) -> str:
    n = flex.size
    cols = np.array_split(np.arange(n), width)
    lo, hi = 0.0, 110.0
    grid = [[" "] * width for _ in range(height)]
    for c, idx in enumerate(cols):
        v = flex[idx]
        for val in (np.nanmin(v), np.nanmax(v)):
            row = round((hi - float(np.clip(val, lo, hi))) / (hi - lo) * (height - 1))
            grid[row][c] = "*"
    lines = [f"{hi - r * (hi - lo) / (height - 1):6.0f} |" + "".join(g) for r, g in enumerate(grid)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data_dir())
    ap.add_argument("--plot-ascii", action="store_true")
    args = ap.parse_args(argv)
    if not any(args.data.glob("s*_e1.npz")):
        print(f"no data in {args.data}", file=sys.stderr)
        return 2
    print(
        f"{'subject':<8} {'p0.5':>6} {'p99.5':>6} {'min':>6} {'max':>6} | {'reps':>4} {'ROM min/med':>11} {'lab. min':>8} | "
        f"{'rest start (t)':>16} {'rest end (t)':>16} {'change':>6} {'acc ref':>7} {'drift':>5} | range reps drift"
    )
    ok_all = True
    for subj in SUBJECTS:
        path = args.data / f"{subj}_e1.npz"
        r, flex, _ = analyse(path)
        lab = f"{r.labelled_rom_min:8.1f}" if r.labelled_rom_min is not None else f"{'-':>8}"
        print(
            f"{r.name:<8} {r.p_lo:6.1f} {r.p_hi:6.1f} {r.vmin:6.1f} {r.vmax:6.1f} | {r.n_reps:>4} {r.rep_rom_min:5.0f}/{r.rep_rom_median:<5.0f} {lab} | "
            f"{r.rest_start:6.1f} ({r.t_start:5.0f} s) {r.rest_end:6.1f} ({r.t_end:5.0f} s) {r.raw_change:6.1f} {r.reference_change:7.1f} {r.drift:5.1f} | {r.range_ok!s:<5} {r.reps_ok!s:<4} {r.drift_ok}"
        )
        print(
            f"         trace - gravity-only angle at all {r.n_still} still periods: spread {r.residual_spread:.1f}°, "
            f"trend over the session {r.residual_trend:+.1f}°"
        )
        print(f"         calibration: {r.calibration_note}")
        if args.plot_ascii:
            print(ascii_plot(flex))
        ok_all &= r.range_ok and r.reps_ok and r.drift_ok
    print(f"# all checks pass: {ok_all}")
    return 0 if ok_all else 1


if __name__ == "__main__":
    raise SystemExit(main())
