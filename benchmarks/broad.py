"""Orientation accuracy on BROAD: every motiontrack method against vqf, offlineVQF and imufusion.

BROAD (Laidig et al., Data 6(7):72, 2021, doi:10.3390/data6070072), the trials shared in
``../shared/data/broad`` (see its README). Error definition as in BROAD: error quaternion
``q_err = q_est ⊗ q_ref*`` (earth frame); total error = its rotation angle; heading error =
``2 atan(|z / w|)`` (its rotation about the vertical); inclination error =
``2 acos(sqrt(w² + z²))`` (the remaining tilt). RMSE over the ``movement`` samples only,
ignoring NaN reference samples.

Heading offset: the optical reference frame is "magnetic ENU" only to about ±2°, so, as in
the VQF paper's BROAD evaluation, a **constant per-trial heading offset** is removed before
computing the 9D errors: the circular mean over the evaluated samples of the heading angle
``2 atan2(z, w)`` of ``q_err``. The 6D heading is arbitrary, so 6D results are compared on
inclination (which no heading offset changes); the 6D total/heading columns use the same
constant-offset alignment and only show the heading drift. Exactly the same evaluation is
applied to every method. The raw (unaligned) 9D total RMSE is printed as well.

Run: ``python benchmarks/broad.py [--trials 01,06] [--skip-peers]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, table, write_results

import motiontrack.fusion as mtf

DEFAULT = mtf.DEFAULT_METHOD
OFFLINE = "vqf-offline"
#: Our default and the vqf package implement the same algorithm; with the paper's parameters
#: their RMSEs agree to ~1e-12° (our default bias clip, 5 °/s instead of 2, moves the mean 6D
#: inclination by -2e-4°: trial 15 0.4705° -> 0.4686°); a difference below this is round-off,
#: not a ranking.
TIE_DEG = 1e-6


# -- error metrics (BROAD) ---------------------------------------------------------------


def _qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def error_quaternion(q_est: np.ndarray, q_ref: np.ndarray) -> np.ndarray:
    q_est = q_est / np.linalg.norm(q_est, axis=1, keepdims=True)
    q_ref = q_ref / np.linalg.norm(q_ref, axis=1, keepdims=True)
    conj = q_ref * np.array([1.0, -1.0, -1.0, -1.0])
    e = _qmul(q_est, conj)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def heading_offset(q_err: np.ndarray, mask: np.ndarray) -> float:
    """Circular mean (rad) of the heading angle of q_err over ``mask``."""
    e = q_err[mask]
    psi = 2.0 * np.arctan2(e[:, 3], e[:, 0])
    return float(np.arctan2(np.mean(np.sin(psi)), np.mean(np.cos(psi))))


def rmse_deg(
    q_est: np.ndarray, q_ref: np.ndarray, mask: np.ndarray, align: bool
) -> dict[str, float]:
    e = error_quaternion(q_est, q_ref)
    if align:
        off = heading_offset(e, mask)
        rz = np.array([np.cos(-off / 2), 0.0, 0.0, np.sin(-off / 2)])
        e = _qmul(np.broadcast_to(rz, e.shape), e)
    e = e[mask]
    w = np.abs(e[:, 0])
    total = 2.0 * np.arccos(np.clip(w, 0.0, 1.0))
    heading = 2.0 * np.arctan(np.abs(e[:, 3] / e[:, 0]))
    incl = 2.0 * np.arccos(np.clip(np.sqrt(e[:, 0] ** 2 + e[:, 3] ** 2), 0.0, 1.0))

    def r(x: np.ndarray) -> float:
        return float(np.degrees(np.sqrt(np.nanmean(x**2))))

    return {"total": r(total), "heading": r(heading), "inclination": r(incl)}


# -- methods ------------------------------------------------------------------------------


def ours(method: str):
    def run(acc, gyr, mag, fs):
        q9 = mtf.fuse(acc, gyr, mag, fs=fs, method=method)
        q6 = mtf.fuse(acc, gyr, None, fs=fs, method=method)
        return q6, q9

    return run


def peer_vqf(acc, gyr, mag, fs):
    import vqf

    out = vqf.VQF(1.0 / fs).updateBatch(gyr, acc, mag)
    return out["quat6D"], out["quat9D"]


def peer_offline_vqf(acc, gyr, mag, fs):
    import vqf

    out = vqf.offlineVQF(gyr, acc, mag, 1.0 / fs)
    return out["quat6D"], out["quat9D"]


def peer_imufusion(acc, gyr, mag, fs):
    import imufusion

    out = []
    for use_mag in (False, True):
        ahrs = imufusion.Ahrs()
        # the settings of Fusion's own examples (gain 0.5, 10° rejections, 5 s timeout), ENU
        s = imufusion.AhrsSettings()
        s.convention = imufusion.CONVENTION_ENU
        s.gain = 0.5
        s.gyroscope_range = 2000.0
        s.acceleration_rejection = 10.0
        s.magnetic_rejection = 10.0
        s.rejection_timeout = int(5 * fs)
        s.sample_rate = fs
        ahrs.set_settings(s)
        g = np.degrees(gyr)
        a = acc / 9.81
        q = np.empty((len(gyr), 4))
        for i in range(len(gyr)):
            if use_mag:
                ahrs.update(g[i], a[i], mag[i])
            else:
                ahrs.update_no_magnetometer(g[i], a[i])
            q[i] = ahrs.get_quaternion()
        out.append(q)
    return out[0], out[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--trials", default="", help="comma-separated trial number prefixes (default: all)"
    )
    ap.add_argument("--skip-peers", action="store_true", help="only motiontrack methods")
    ap.add_argument(
        "--methods", default="", help="comma-separated motiontrack methods (default: all)"
    )
    args = ap.parse_args(argv)

    d = SHARED_DATA / "broad"
    files = sorted(d.glob("*.npz"))
    if args.trials:
        pre = tuple(args.trials.split(","))
        files = [f for f in files if f.name.startswith(pre)]
    if not files:
        print(f"no BROAD trials found in {d}")
        return 1

    names = args.methods.split(",") if args.methods else mtf.methods()
    runners = {f"mt:{m}": ours(m) for m in names}
    if not args.skip_peers:
        runners["vqf (C++)"] = peer_vqf
        runners["offlineVQF"] = peer_offline_vqf
        runners["imufusion"] = peer_imufusion

    t_compile = time.perf_counter()
    mtf.warmup()
    t_compile = time.perf_counter() - t_compile

    res: dict[str, dict[str, dict[str, dict[str, float]]]] = {
        m: {"6D": {}, "9D": {}, "9D raw": {}} for m in runners
    }
    seconds = dict.fromkeys(runners, 0.0)
    trials = []
    for f in files:
        z = np.load(f)
        fs = float(z["fs_hz"])
        gyr = np.ascontiguousarray(z["gyr_rad_s"], dtype=np.float64)
        acc = np.ascontiguousarray(z["acc_m_s2"], dtype=np.float64)
        mag = np.ascontiguousarray(z["mag_uT"], dtype=np.float64)
        q_ref = z["quat_ref_wxyz"].astype(np.float64)
        mask = z["movement"].astype(bool) & np.all(np.isfinite(q_ref), axis=1)
        q_ref[~np.isfinite(q_ref).all(axis=1)] = [1.0, 0.0, 0.0, 0.0]  # masked out anyway
        trial = f.stem[:2]
        trials.append(trial)
        for name, run in runners.items():
            t0 = time.perf_counter()
            q6, q9 = run(acc, gyr, mag, fs)
            seconds[name] += time.perf_counter() - t0
            res[name]["6D"][trial] = rmse_deg(q6, q_ref, mask, align=True)
            res[name]["9D"][trial] = rmse_deg(q9, q_ref, mask, align=True)
            res[name]["9D raw"][trial] = rmse_deg(q9, q_ref, mask, align=False)
        print(f"  {f.stem}: done", file=sys.stderr)

    def avg(name: str, mode: str, metric: str) -> float:
        return float(np.mean([res[name][mode][t][metric] for t in trials]))

    for mode, metrics in (
        ("9D", ("total", "heading", "inclination")),
        ("6D", ("inclination", "total", "heading")),
    ):
        for metric in metrics:
            rows = [
                [name, *[res[name][mode][t][metric] for t in trials], avg(name, mode, metric)]
                for name in runners
            ]
            title = f"{mode} {metric} RMSE, deg"
            if mode == "6D" and metric != "inclination":
                title += " (6D heading is arbitrary: after a constant per-trial heading alignment)"
            print(f"\n{title}")
            print(table(rows, ["method", *trials, "mean"]))
    rows = [
        [name, *[res[name]["9D raw"][t]["total"] for t in trials], avg(name, "9D raw", "total")]
        for name in runners
    ]
    print("\n9D total RMSE without the heading-offset alignment, deg")
    print(table(rows, ["method", *trials, "mean"]))

    print(
        "\nSummary (mean over trials, deg) and seconds spent per method (all trials, 6D + 9D runs)"
    )
    rows = [
        [name, avg(name, "9D", "total"), avg(name, "9D", "heading"), avg(name, "9D", "inclination"),
         avg(name, "6D", "inclination"), avg(name, "9D raw", "total"), seconds[name]]
        for name in runners
    ]  # fmt: skip
    print(table(rows, ["method", "9D total", "9D head", "9D incl", "6D incl", "9D total raw", "s"]))
    print(f"\nmotiontrack warmup (compile or cache load of all fusion kernels): {t_compile:.2f} s")

    verdicts = []
    if not args.skip_peers and f"mt:{DEFAULT}" in runners:
        me = f"mt:{DEFAULT}"
        verdicts.append(
            (
                "default 9D total <= vqf 9D total",
                avg(me, "9D", "total"),
                avg("vqf (C++)", "9D", "total"),
            )
        )
        verdicts.append(
            ("default 6D inclination <= vqf 6D inclination", avg(me, "6D", "inclination"),
             avg("vqf (C++)", "6D", "inclination"))
        )  # fmt: skip
        if f"mt:{OFFLINE}" in runners:
            off = f"mt:{OFFLINE}"
            verdicts.append(("offline 9D total <= offlineVQF 9D total", avg(off, "9D", "total"),
                             avg("offlineVQF", "9D", "total")))  # fmt: skip
            verdicts.append(("offline 6D inclination <= offlineVQF 6D inclination", avg(off, "6D", "inclination"),
                             avg("offlineVQF", "6D", "inclination")))  # fmt: skip
        print(
            f"\nTargets (PASS when ours <= peer + {TIE_DEG:g}°: equal-to-round-off counts as met)"
        )
        for label, a, b in verdicts:
            print(
                f"  {'PASS' if a <= b + TIE_DEG else 'FAIL'}  {label}: {a:.6f} vs {b:.6f} (ours - peer = {a - b:+.2e}°)"
            )
    path = write_results(
        "broad",
        {"trials": trials, "rmse_deg": res, "seconds": seconds, "warmup_s": t_compile},
        targets=[
            {"label": lab, "ours": a, "peer": b, "pass": a <= b + TIE_DEG} for lab, a, b in verdicts
        ],
    )
    print(f"\nresults written to {path}")
    return 0 if all(a <= b + TIE_DEG for _, a, b in verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
