"""Knee-angle accuracy on simulated sessions: the acceptance table of issue 5.

For every exercise of :mod:`motiontrack.simulation` and each fusion mode (6D: no
magnetometer; 9D: magnetometer, clean field), ``--sessions`` seeded sessions (8 reps) with
both sensors strapped at uniformly random orientations (``max_mount_deg=180``) are

1. fused into ``q_earth_sensor`` (motiontrack's own VQF when it is available, else the
   ``vqf`` PyPI package as a stand-in; the table says which),
2. calibrated with :func:`motiontrack.kinematics.calibrate_joint` (still pose = the
   session's first 1.5 s; functional motion = the rest of the session; the straight-leg
   raise barely moves the knee, so its calibration comes from a separate 4-rep heel-slide
   recording with the same mounting and the same start, the protocol a user would follow;
   in 6D the calibration re-fuses its recording offline for the relative heading, see
   :mod:`motiontrack.kinematics.calibration`),
3. turned into knee angles by :func:`motiontrack.kinematics.joint_angles` in the same mode.

Criteria (issue 5): knee flexion RMSE <= 2°, per-rep peak flexion error <= 3°, hinge axis
within 3° of the truth (both sensors). Three variants, in two tables:

* ``protocol`` (THE acceptance table): the documented session protocol
  (``docs/session-protocol.md``): the session starts standing still with the legs straight
  (``start_pose="standing"``), which defines 0°, then the subject sits down / lies down /
  stays standing and exercises. Still pose "standing", motion window including the
  transition, nothing else given.
* ``nominal`` (sensitivity): the session starts directly in the exercise's posture
  (``start_pose=None``), taken as its nominal flexion (0° standing/supine, 90° seated). The
  simulated resting posture is not nominal (standing/supine rest 0-5°, seated 80-95° with a
  ±5° seat tilt): a constant offset no inertial method can see. This is what a patient who
  skips the standing pose gets.
* ``measured`` (sensitivity): the same start, its true mean flexion given (as a goniometer
  reading would be). The 6D thigh axis of the seated extension then stays unobservable
  (the thigh barely moves: a 0-5° lift per rep, one body turn).

``--drop-rate`` simulates dropped samples (fusion gets them held, the calibration
interpolates over them). The exit status is 0 when every protocol row passes in every
session.

Run: ``python benchmarks/kinematics_accuracy.py [--sessions 20] [--exercises ...] [--protocol-only] [--drop-rate 0.02]``
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings

import numpy as np

from motiontrack.errors import CalibrationWarning
from motiontrack.kinematics import calibrate_joint, joint_angles
from motiontrack.simulation import EXERCISES, simulate_knee_session

FS = 100.0
STILL_S = 1.5
POSE = {
    "seated_knee_extension": "seated",
    "squat": "standing",
    "heel_slide": "supine",
    "straight_leg_raise": "supine",
    "short_arc_quad": "supine",
    "long_arc_quad": "seated",
    "sit_to_stand": "seated",
    "standing_knee_bend": "standing",
    "knee_wall_slide": "standing",
}
RMSE_MAX, PEAK_MAX, AXIS_MAX = 2.0, 3.0, 3.0


def _fuse_motiontrack(acc, gyr, mag):
    from motiontrack.fusion import fuse

    return np.asarray(fuse(acc, gyr, mag, fs=FS, method="vqf"))


def _fuse_pypi(acc, gyr, mag):
    from vqf import offlineVQF  # stand-in only, never used by the library

    out = offlineVQF(
        np.ascontiguousarray(gyr, dtype=np.float64),
        np.ascontiguousarray(acc, dtype=np.float64),
        None if mag is None else np.ascontiguousarray(mag, dtype=np.float64),
        1.0 / FS,
    )
    return out["quat6D" if mag is None else "quat9D"]


def pick_fusion(name: str):
    if name == "vqf-pypi":
        return "vqf PyPI (stand-in)", _fuse_pypi
    try:
        s = simulate_knee_session("squat", reps=1, fs=FS, seed=0)
        imu = s.sensors["thigh"]
        q = _fuse_motiontrack(imu.acc, imu.gyr, None)
        if q.shape != (imu.acc.shape[0], 4) or not np.all(np.isfinite(q[10:])):
            raise ValueError("unexpected output")
        return "motiontrack.fusion.fuse(method='vqf')", _fuse_motiontrack
    except Exception as exc:
        if name == "motiontrack":
            raise
        print(
            f"# motiontrack fusion unavailable ({type(exc).__name__}: {exc}); using the vqf package",
            file=sys.stderr,
        )
        return "vqf PyPI (stand-in)", _fuse_pypi


def _fill(x):
    """Fusion gets gap-free input: hold the last valid sample over dropped rows."""
    x = np.array(x, dtype=np.float64)
    bad = ~np.all(np.isfinite(x), axis=1)
    for i in np.flatnonzero(bad):
        x[i] = x[i - 1] if i > 0 else 0.0
    return x


def _axis_err(est, true):
    return math.degrees(math.atan2(np.linalg.norm(np.cross(est, true)), float(np.dot(est, true))))


def run_session(
    exercise: str,
    seed: int,
    mode: str,
    fuse,
    variants=("protocol", "nominal", "measured"),
    mag_hint=False,
    **sim_kw,
):
    """Figures of one seeded session for each calibration variant (see the module notes).

    ``protocol``: the session starts standing (``start_pose="standing"``), the still pose is
    "standing" (0° by definition) and the calibration motion includes the transition into
    the exercise posture. ``nominal``/``measured``: the session starts in the exercise's own
    posture, whose flexion is taken as nominal or given."""
    out = {}
    sims: dict[str | None, tuple] = {}
    for variant in variants:
        start_pose = "standing" if variant == "protocol" else None
        if start_pose not in sims:
            sim = simulate_knee_session(
                exercise, reps=8, fs=FS, seed=seed, max_mount_deg=180.0, start_pose=start_pose, **sim_kw
            )
            cal_sim = sim
            if exercise == "straight_leg_raise":
                # the knee barely moves in a straight-leg raise: calibrate on a separate short
                # heel-slide recording with the same straps (and the same start)
                cal_sim = simulate_knee_session(
                    "heel_slide", reps=4, fs=FS, seed=seed, max_mount_deg=180.0, start_pose=start_pose, **sim_kw
                )
            qt, qs = _fused(sim, mode, fuse)
            qt_c, qs_c = (qt, qs) if cal_sim is sim else _fused(cal_sim, mode, fuse)
            sims[start_pose] = (sim, cal_sim, qt, qs, qt_c, qs_c)
        sim, cal_sim, qt, qs, qt_c, qs_c = sims[start_pose]
        th, sh = cal_sim.sensors["thigh"], cal_sim.sensors["shank"]
        still = slice(0, int(STILL_S * FS))
        pose_flex = (
            float(np.mean(cal_sim.truth.flexion_deg[still])) if variant == "measured" else None
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CalibrationWarning)
            cal = calibrate_joint(
                acc_proximal=th.acc,
                gyr_proximal=th.gyr,
                acc_distal=sh.acc,
                gyr_distal=sh.gyr,
                q_proximal=qt_c,
                q_distal=qs_c,
                fs=FS,
                still=still,
                pose="standing" if variant == "protocol" else POSE[cal_sim.exercise],
                pose_flexion_deg=pose_flex,
                mode=mode,
                mag_proximal=th.mag if mag_hint else None,
                mag_distal=sh.mag if mag_hint else None,
            )
        res = joint_angles(
            qt,
            qs,
            joint="knee",
            calibration=cal,
            fs=FS,
            mode=mode,
            mag_proximal=sim.sensors["thigh"].mag if mode == "9d" else None,
            mag_distal=sim.sensors["shank"].mag if mode == "9d" else None,
        )
        est = res.flexion_deg
        tru = sim.truth.flexion_deg
        ok = np.isfinite(est)
        rmse = float(np.sqrt(np.mean((est[ok] - tru[ok]) ** 2)))
        peaks = []
        for rep in sim.truth.reps:
            w = (sim.t >= rep.start_s) & (sim.t <= rep.end_s) & ok
            if not w.any():
                continue
            if exercise in ("seated_knee_extension", "long_arc_quad", "short_arc_quad", "sit_to_stand"):
                peaks.append(abs(float(np.min(est[w]) - np.min(tru[w]))))
            else:
                peaks.append(abs(float(np.max(est[w]) - np.max(tru[w]))))
        out[variant] = {
            "rmse": rmse,
            "peak": max(peaks) if peaks else float("nan"),
            "ax_t": _axis_err(cal.hinge_axis_proximal, cal_sim.truth.hinge_axis_thigh_sensor),
            "ax_s": _axis_err(cal.hinge_axis_distal, cal_sim.truth.hinge_axis_shank_sensor),
            "abd_rmse": float(
                np.sqrt(np.nanmean((res.abduction_deg - sim.truth.abduction_deg) ** 2))
            ),
            "rot_rmse": float(
                np.sqrt(np.nanmean((res.rotation_deg - sim.truth.rotation_deg) ** 2))
            ),
            "conf": cal.confidence,
            "rest": float(np.mean(cal_sim.truth.flexion_deg[still])),
        }
    return out


def _fused(s, mode, fuse):
    th, sh = s.sensors["thigh"], s.sensors["shank"]
    use_mag = mode == "9d"
    return (
        fuse(_fill(th.acc), _fill(th.gyr), _fill(th.mag) if use_mag else None),
        fuse(_fill(sh.acc), _fill(sh.gyr), _fill(sh.mag) if use_mag else None),
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--exercises", nargs="+", default=list(EXERCISES), choices=list(EXERCISES))
    ap.add_argument("--modes", nargs="+", default=["6d", "9d"], choices=["6d", "9d"])
    ap.add_argument("--fusion", default="auto", choices=["auto", "motiontrack", "vqf-pypi"])
    ap.add_argument(
        "--mag-hint",
        action="store_true",
        help="6D calibration may use the magnetometers to pick the relative-heading branch (angles stay 6D)",
    )
    ap.add_argument(
        "--drop-rate", type=float, default=0.0, help="fraction of dropped samples (simulator)"
    )
    ap.add_argument("--verbose", action="store_true", help="one line per session")
    ap.add_argument(
        "--protocol-only", action="store_true", help="only the documented-protocol table"
    )
    args = ap.parse_args(argv)

    fusion_name, fuse = pick_fusion(args.fusion)
    print(
        f"# fusion: {fusion_name}; {args.sessions} sessions per row, seeds {args.first_seed}..{args.first_seed + args.sessions - 1}"
    )
    if args.mag_hint:
        print("# 6D calibration uses the magnetometers only to choose an ambiguous heading branch")
    print(
        f"# sensors at random orientations (max_mount_deg=180); criteria: RMSE<={RMSE_MAX}°, peak<={PEAK_MAX}°, axis<={AXIS_MAX}°"
    )
    if args.drop_rate > 0:
        print(f"# dropped samples: {args.drop_rate:.1%}")
    variants = ["protocol"] if args.protocol_only else ["protocol", "nominal", "measured"]
    t0 = time.perf_counter()
    table: dict[tuple[str, str], dict[str, list[dict]]] = {}
    for ex in args.exercises:
        for mode in args.modes:
            rows: dict[str, list[dict]] = {k: [] for k in variants}
            for seed in range(args.first_seed, args.first_seed + args.sessions):
                r = run_session(
                    ex,
                    seed,
                    mode,
                    fuse,
                    variants=tuple(variants),
                    mag_hint=args.mag_hint,
                    drop_rate=args.drop_rate,
                )
                for k, lst in rows.items():
                    lst.append(r[k])
                if args.verbose:
                    print(
                        f"  {ex} {mode} seed {seed}: "
                        + "; ".join(
                            f"{k} rmse {m['rmse']:.2f} peak {m['peak']:.2f} axes {m['ax_t']:.2f}/{m['ax_s']:.2f}"
                            for k, m in r.items()
                        ),
                        flush=True,
                    )
            table[(ex, mode)] = rows
    header = (
        f"{'exercise':<22} {'mode':<4} {'variant':<8} | {'RMSE med':>8} {'max':>6} {'pass':>5} | "
        f"{'peak max':>8} {'pass':>5} | {'ax thigh':>8} {'ax shank':>8} {'pass':>5} | {'all':>5} | {'abd':>5} {'rot':>5}"
    )
    all_pass = True
    titles = {
        "protocol": "Documented protocol (docs/session-protocol.md): stand still with the legs straight "
        "(defines 0°), then take the exercise position; no pose angle given. THE ACCEPTANCE TABLE.",
        "nominal": "Sensitivity: the recording starts in the exercise's own posture, taken as its nominal "
        "angle (0° standing/supine, 90° seated): what a patient who skips the standing pose gets.",
        "measured": "Sensitivity: the recording starts in the exercise's own posture whose true angle is "
        "given (as a goniometer reading would be).",
    }
    for k in variants:
        print()
        print(f"## {titles[k]}")
        print(header)
        print("-" * len(header))
        for (ex, mode), rows in table.items():
            rs = rows[k]
            rm = np.array([x["rmse"] for x in rs])
            pk = np.array([x["peak"] for x in rs])
            at = np.array([x["ax_t"] for x in rs])
            ash = np.array([x["ax_s"] for x in rs])
            n = len(rs)
            p_r = int(np.sum(rm <= RMSE_MAX))
            p_p = int(np.sum(pk <= PEAK_MAX))
            p_a = int(np.sum((at <= AXIS_MAX) & (ash <= AXIS_MAX)))
            p_all = int(np.sum((rm <= RMSE_MAX) & (pk <= PEAK_MAX) & (at <= AXIS_MAX) & (ash <= AXIS_MAX)))
            if k == "protocol":
                all_pass &= p_all == n
            print(
                f"{ex:<22} {mode:<4} {k:<8} | {np.median(rm):8.2f} {rm.max():6.2f} {p_r:>2}/{n:<2} | "
                f"{pk.max():8.2f} {p_p:>2}/{n:<2} | {np.max(at):8.2f} {np.max(ash):8.2f} {p_a:>2}/{n:<2} | {p_all:>2}/{n:<2} | "
                f"{np.median([x['abd_rmse'] for x in rs]):5.2f} {np.median([x['rot_rmse'] for x in rs]):5.2f}"
            )
    print()
    print(
        "# columns: RMSE median/max over sessions (deg), sessions passing; worst per-rep peak error (deg);"
    )
    print(
        "# worst hinge-axis error thigh/shank (deg); sessions passing all three; median ab/adduction and rotation RMSE (deg, not criteria)"
    )
    print(f"# total {time.perf_counter() - t0:.0f} s; every protocol row passes in every session: {all_pass}")
    return 0 if all_pass else 1


if __name__ == "__main__":
    raise SystemExit(main())
