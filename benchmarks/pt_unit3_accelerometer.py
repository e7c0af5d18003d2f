"""What is wrong with unit 3 of subjects 2 and 3 in the physical-therapy data (thigh in the leg
configuration, upper arm in the arm configuration; ``../shared/data/physical_therapy_exercises``),
and can an in-situ accelerometer calibration correct it?

Two measurements, each against a working reference, on unit 3 of s1 (a working unit, the
control) and of s2, s3; test and template sessions of all 8 exercises (same hardware):

1. **Rest poses against an offset-and-scale model.** Every still period (gyroscope and
   accelerometer quiet for 1 s) gives the mean reading at one orientation. A sensor with a
   per-axis offset ``o`` and scale ``s`` reads ``|diag(s)·(r - o)| = g`` at every rest; the six
   parameters are fitted to all rest poses of a subject (least squares) and the RMS residual
   says whether the model holds (a working MTx: a few mm/s²).
2. **Gravity response during movements, with the gyroscope as the reference.** Between two
   quasi-static instants (smoothed rate < 0.25 rad/s) the gyroscope, integrated, gives the
   rotation; the direction of gravity in the sensor frame must turn by the tilt it implies
   (the accelerometer's own first reading rotated by the gyroscope's rotation). The ratio of
   the tilt the accelerometer reads to that tilt, over moves of at least 30°, is 1 for a working
   sensor whatever its offset or scale error up to a few percent. Where a rigidly coupled
   working neighbour exists (the forearm, unit 2, during the straight-arm raise e7) its
   accelerometer's tilt over the same moves is given too: it agrees with unit 3's gyroscope,
   so the gyroscope is the trustworthy half.

A per-axis offset/scale or a fixed 3x3 error (misalignment) would fit measurement 1 and give
a constant ratio in 2; a ratio that changes from move to move within one session (e.g. 0.12 to
0.59) is no calibration model: such a sensor cannot be corrected in situ, only flagged.

3. **Could the gyroscope alone carry the angle?** The unit's tilt from its first reading,
   integrated from the gyroscope alone over the whole session (bias: the median over the
   session's quietest tenth, as ``regions_real.gyro_bias``), at the session's rests (the
   quietest 15 %), per quarter of the session: the segment rests in the same pose between
   reps (leg down, arm hanging; s1_e7 begins with the arm raised), so a usable angle stays
   near its first value. It wanders by tens of degrees, for the working unit of s1 too:
   without the accelerometer there is no absolute tilt, and the engine does not drop it.

    .venv/bin/python benchmarks/pt_unit3_accelerometer.py [--data DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table, write_results
from pt_knee_real import default_data_dir
from regions_real import gyro_bias

from motiontrack import quaternion as quat
from motiontrack.calibration.still import StillnessSettings, find_still_segments
from motiontrack.conventions import GRAVITY

FS = 25.0
UNIT = 2  # index of unit 3
NEIGHBOUR = 1  # index of unit 2 (forearm): moves rigidly with the upper arm in e7
MIN_MOVE_DEG = 30.0


def _sessions(d: dict) -> list[tuple[str, np.ndarray, np.ndarray]]:
    return [(k, d[f"{k}_acc_m_s2"].astype(np.float64), d[f"{k}_gyr_rad_s"].astype(np.float64))
            for k in ("test", "template")]


def rest_means(acc: np.ndarray, gyr: np.ndarray) -> list[np.ndarray]:
    cfg = StillnessSettings(min_duration_s=1.0)
    return [acc[s.slice].mean(axis=0) for s in find_still_segments(gyr, acc, fs=FS, settings=cfg)]


def offset_scale_fit(means: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Offset (3,) m/s², scale (3,) and RMS residual (m/s²) of ``|diag(s)(r - o)| = g``."""
    def res(p: np.ndarray) -> np.ndarray:
        return np.linalg.norm((means - p[:3]) * p[3:], axis=1) - GRAVITY
    f = least_squares(res, np.r_[np.zeros(3), np.ones(3)])
    return f.x[:3], f.x[3:], float(np.sqrt(np.mean(f.fun**2)))


def _quiet_instants(gyr: np.ndarray) -> np.ndarray:
    rate = np.convolve(np.linalg.norm(gyr, axis=1), np.ones(7) / 7, mode="same")
    mid = rate[1:-1]
    k = np.flatnonzero((mid < rate[:-2]) & (mid <= rate[2:]) & (mid < 0.25)) + 1
    keep: list[int] = []
    for i in k:  # local minima at least 0.6 s apart
        if not keep or i - keep[-1] >= 15:
            keep.append(int(i))
    return np.asarray(keep)


def _dir(acc: np.ndarray, k: int) -> np.ndarray:
    v = acc[max(k - 3, 0) : k + 4].mean(axis=0)
    return v / np.linalg.norm(v)


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(a @ b, -1.0, 1.0))))


def moves(acc: np.ndarray, gyr: np.ndarray, ref_acc: np.ndarray | None) -> list[tuple[float, ...]]:
    """(gyroscope tilt, accelerometer tilt, neighbour's accelerometer tilt or NaN) per move of
    at least MIN_MOVE_DEG between consecutive quiet instants shorter than 6 s, deg."""
    out = []
    ks = _quiet_instants(gyr)
    for a, b in zip(ks[:-1], ks[1:]):
        if b - a > 6 * FS:
            continue
        q = quat.identity()
        for k in range(a, b):
            q = quat.multiply(q, quat.from_rotvec(gyr[k] / FS))
        ga = _dir(acc, a)
        g_tilt = _angle(ga, quat.rotate(q, ga, inverse=True))
        if g_tilt < MIN_MOVE_DEG:
            continue
        ref = _angle(_dir(ref_acc, a), _dir(ref_acc, b)) if ref_acc is not None else float("nan")
        out.append((g_tilt, _angle(ga, _dir(acc, b)), ref))
    return out


def gyro_only_rest_tilt(acc: np.ndarray, gyr: np.ndarray) -> list[float]:
    """Median tilt at rest (deg) from the first reading, gyroscope alone, per session quarter."""
    bias = gyro_bias(gyr, FS)
    dq = quat.from_rotvec((gyr - bias) / FS)
    q = np.empty((len(gyr), 4))
    cur = quat.identity()
    for k in range(len(gyr)):
        q[k] = cur
        cur = quat.normalize(quat.multiply(cur, dq[k]))
    u0 = acc[:10].mean(axis=0) / np.linalg.norm(acc[:10].mean(axis=0))
    u = quat.rotate(q, np.tile(u0, (len(gyr), 1)), inverse=True)
    tilt = np.degrees(np.arccos(np.clip(u @ u0, -1.0, 1.0)))
    rate = np.convolve(np.linalg.norm(gyr, axis=1), np.ones(25) / 25, mode="same")
    rest = rate < np.quantile(rate, 0.15)
    quarter = np.arange(len(gyr)) * 4 // len(gyr)
    return [round(float(np.median(tilt[rest & (quarter == i)])), 1) for i in range(4)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=default_data_dir())
    args = p.parse_args(argv)
    files = {s: [args.data / f"{s}_e{e}.npz" for e in range(1, 9)] for s in ("s1", "s2", "s3")}
    if not all(f.exists() for fs in files.values() for f in fs):
        print(f"skipped: physical-therapy sessions not found in {args.data}")
        return 0
    rows, per_session = [], []
    for subj, paths in files.items():
        means, ratios = [], []
        for path in paths:
            d = dict(np.load(path))
            e = int(path.stem.split("_e")[1])
            for kind, acc, gyr in _sessions(d):
                means += rest_means(acc[:, UNIT], gyr[:, UNIT])
                ref = acc[:, NEIGHBOUR] if e == 7 else None
                m = np.asarray(moves(acc[:, UNIT], gyr[:, UNIT], ref))
                if kind != "test" or m.size == 0:
                    continue
                r = m[:, 1] / m[:, 0]
                ratios += r.tolist()
                per_session.append({
                    "session": path.stem, "moves": len(m),
                    "gyro_tilt_deg": round(float(np.median(m[:, 0])), 1),
                    "acc_tilt_deg": round(float(np.median(m[:, 1])), 1),
                    "neighbour_acc_tilt_deg": (round(float(np.median(m[:, 2])), 1)
                                               if e == 7 else None),
                    "ratio_median": round(float(np.median(r)), 2),
                    "ratio_range": [round(float(r.min()), 2), round(float(r.max()), 2)]})
        mm = np.asarray(means)
        n = np.linalg.norm(mm, axis=1)
        off, scale, rms = offset_scale_fit(mm)
        rows.append({"subject": subj, "rest_poses": len(mm),
                     "rest_norm_range": [round(float(n.min()), 2), round(float(n.max()), 2)],
                     "offset_m_s2": np.round(off, 3).tolist(), "scale": np.round(scale, 3).tolist(),
                     "fit_rms_m_s2": round(rms, 3),
                     "ratio_median": round(float(np.median(ratios)), 2),
                     "ratio_range": [round(float(min(ratios)), 2), round(float(max(ratios)), 2)]})
    print(table([(r["subject"], r["rest_poses"], "%.2f-%.2f" % tuple(r["rest_norm_range"]),
                  r["fit_rms_m_s2"], r["ratio_median"], "%.2f-%.2f" % tuple(r["ratio_range"]))
                 for r in rows],
                ["unit 3 of", "rest poses", "|acc| at rest, m/s²", "offset+scale fit RMS, m/s²",
                 "acc tilt / gyro tilt", "range"]))
    print()
    print(table([(s["session"], s["moves"], s["gyro_tilt_deg"], s["acc_tilt_deg"],
                  "-" if s["neighbour_acc_tilt_deg"] is None else s["neighbour_acc_tilt_deg"],
                  s["ratio_median"], "%.2f-%.2f" % tuple(s["ratio_range"])) for s in per_session],
                ["session", "moves >= 30°", "gyro tilt", "acc tilt", "forearm acc tilt",
                 "ratio", "range"]))
    drift = []
    for subj, paths in files.items():
        for path in paths:
            if int(path.stem.split("_e")[1]) in (3, 4, 5, 7):
                d = np.load(path)
                acc = d["test_acc_m_s2"][:, UNIT].astype(np.float64)
                gyr = d["test_gyr_rad_s"][:, UNIT].astype(np.float64)
                drift.append({"session": path.stem, "rest_tilt_by_quarter_deg":
                              gyro_only_rest_tilt(acc, gyr)})
    print()
    print(table([(r["session"], *r["rest_tilt_by_quarter_deg"]) for r in drift],
                ["gyroscope alone", "rest tilt Q1", "Q2", "Q3", "Q4"]))
    write_results("pt_unit3_accelerometer",
                  {"subjects": rows, "sessions": per_session, "gyro_only": drift})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
