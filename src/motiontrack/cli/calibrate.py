"""``motiontrack calibrate FILE``: sensor calibration (gyroscope bias, accelerometer six-face,
magnetometer hard/soft iron) from a recording, written as versioned JSON.

The procedures to record are described in the repository's ``calibration/`` folder. A live,
guided mode uses :mod:`motiontrack.calibration.procedures` through the session layer.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..calibration import SensorCalibration, calibrate_sensor, load_calibrations, save_calibrations
from ..errors import CalibrationError, CalibrationWarning, InputError
from ._common import print_json, write_stdout


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "calibrate",
        help="sensor calibration (gyro bias, accelerometer six-face, magnetometer) from a recording",
        description=(
            "Estimate sensor calibrations from a recording (.mtrec or long-form CSV) and write them "
            "as JSON. --gyro: the sensor lay still (>= 3 s; the longest still stretch is used). "
            "--six-face: the sensor rested still on each of its six faces (>= 2 s each). "
            "--mag: the sensor was rotated through all orientations. Without a choice, --gyro. "
            "See calibration/*.md for the procedures."
        ),
    )
    p.add_argument("file", help="recording: .mtrec or CSV (time_s,sensor,acc_x..gyr_z[,mag_x..mag_z])")
    p.add_argument("--sensor", action="append", metavar="NAME",
                   help="calibrate this sensor (repeatable; default: every sensor in the file)")
    p.add_argument("--gyro", action="store_true", help="gyroscope bias from the still part")
    p.add_argument("--six-face", action="store_true", dest="six_face", help="accelerometer six-face")
    p.add_argument("--mag", action="store_true", help="magnetometer hard and soft iron")
    p.add_argument("--field-ut", type=float, metavar="UT",
                   help="local magnetic field magnitude in µT (e.g. from WMM); default: fitted")
    p.add_argument("-o", "--output", metavar="JSON",
                   help="calibration file to write (default: FILE with suffix .calibration.json)")
    p.add_argument("--update", action="store_true",
                   help="merge into an existing output file (keep other sensors and parts)")
    p.add_argument("--json", action="store_true", help="print one JSON summary object on stdout")
    return p


def _summary(cal: SensorCalibration) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if cal.has_gyroscope:
        out["gyr_bias_dps"] = np.round(np.degrees(np.asarray(cal.gyr_bias)), 4).tolist()
    if cal.has_accelerometer:
        out["acc_offset_ms2"] = np.round(np.asarray(cal.acc_offset), 4).tolist()
        out["acc_scale"] = np.round(np.asarray(cal.acc_scale), 5).tolist()
        mis = np.asarray(cal.acc_misalignment)
        out["acc_misalignment_max_deg"] = round(float(np.degrees(np.max(np.abs(mis - np.eye(3))))), 3)
    if cal.has_magnetometer:
        out["mag_hard_iron_ut"] = np.round(np.asarray(cal.mag_hard_iron), 3).tolist()
        out["mag_soft_iron"] = np.round(np.asarray(cal.mag_soft_iron), 4).tolist()
        out["mag_field_ut"] = None if cal.mag_field_ut is None else round(cal.mag_field_ut, 3)
    out["quality"] = {k: round(float(v), 6) for k, v in cal.quality.items()}
    return out


def _format_text(path: Path, results: dict[str, SensorCalibration], warned: list[str]) -> str:
    lines = []
    for name, cal in results.items():
        s = _summary(cal)
        lines.append(f"{name}:")
        if "gyr_bias_dps" in s:
            q = cal.quality.get("gyr_bias_uncertainty_dps")
            lines.append(f"  gyroscope bias      {s['gyr_bias_dps']} °/s" + (f"  (± {q:.4f} °/s)" if q is not None else ""))
        if "acc_offset_ms2" in s:
            lines.append(f"  accelerometer offset {s['acc_offset_ms2']} m/s²   scale {s['acc_scale']}")
            lines.append(f"  misalignment (max)  {s['acc_misalignment_max_deg']}°   residual "
                         f"{cal.quality.get('acc_residual_ms2', float('nan')):.4f} m/s²")
        if "mag_hard_iron_ut" in s:
            lines.append(f"  magnetometer hard iron {s['mag_hard_iron_ut']} µT   field {s['mag_field_ut']} µT")
            lines.append(f"  fit residual {100 * cal.quality.get('mag_residual', float('nan')):.2f} %   "
                         f"coverage {100 * cal.quality.get('mag_coverage', float('nan')):.0f} % of directions")
    for w in warned:
        lines.append(f"warning: {w}")
    lines.append(f"wrote {path}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..io import load

    if args.field_ut is not None and not (np.isfinite(args.field_ut) and args.field_ut > 0):
        raise InputError(f"--field-ut must be a positive field magnitude in µT, got {args.field_ut}")
    gyro = args.gyro or not (args.six_face or args.mag)
    rec = load(args.file)
    names = args.sensor or list(rec.sensors)
    unknown = [n for n in names if n not in rec.sensors]
    if unknown:
        raise InputError(f"{args.file} has no sensor {', '.join(map(repr, unknown))} (it has {', '.join(rec.sensors)})")
    out_path = Path(args.output) if args.output else Path(args.file).with_suffix(".calibration.json")
    existing: dict[str, SensorCalibration] = {}
    if args.update and out_path.exists():
        existing = load_calibrations(out_path)

    results: dict[str, SensorCalibration] = {}
    warned: list[str] = []
    for name in names:
        s = rec.sensors[name]
        if args.mag and (s.mag is None or not np.isfinite(s.mag).any()):
            raise CalibrationError(f"sensor {name!r}: --mag needs magnetometer data; the recording has none")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CalibrationWarning)
            try:
                cal = calibrate_sensor(
                    s.acc, s.gyr, s.mag, fs=s.fs, gyroscope=gyro, six_face=args.six_face,
                    magnetometer=args.mag, field_ut=args.field_ut, sensor=name,
                )
            except CalibrationError as exc:
                raise CalibrationError(f"sensor {name!r}: {exc}") from None
        warned += [f"sensor {name!r}: {w.message}" for w in caught if issubclass(w.category, CalibrationWarning)]
        results[name] = existing[name].merged(cal) if name in existing else cal
    save_calibrations(out_path, {**existing, **results})
    if args.json:
        print_json({
            "output": str(out_path),
            "sensors": {n: _summary(c) for n, c in results.items()},
            "warnings": warned,
        })
    else:
        write_stdout(_format_text(out_path, results, warned) + "\n")
    return 0
