"""``motiontrack calibrate``: sensor calibration (gyroscope bias, accelerometer six-face,
magnetometer hard/soft iron), written as versioned JSON.

* ``motiontrack calibrate FILE --gyro|--six-face|--mag``: from a recording.
* ``motiontrack calibrate --live SOURCE --gyro|--six-face|--mag``: guided, live: prompts on
  stdout, progress on stderr, fed by a sensor (``ble:ADDRESS``, ``sim:NAME``) or a replayed
  recording (``replay:PATH``) through the session layer's sources and
  :mod:`motiontrack.calibration.procedures`.

The procedures are described in the repository's ``calibration/`` folder.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..calibration import (
    GyroBiasProcedure,
    MagnetometerProcedure,
    SensorCalibration,
    SixFaceProcedure,
    StillnessSettings,
    calibrate_sensor,
    load_calibrations,
    save_calibrations,
)
from ..errors import CalibrationError, CalibrationWarning, InputError
from ..io import load
from ..transport import open_source
from ..transport import SampleBatch
from ._common import print_json, write_stdout


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
    if args.field_ut is not None and not (np.isfinite(args.field_ut) and args.field_ut > 0):
        raise InputError(f"--field-ut must be a positive field magnitude in µT, got {args.field_ut}")
    gyro = args.gyro or not (args.six_face or args.mag)
    if (args.file is None) == (args.live is None):
        raise InputError("give a recording FILE, or --live SOURCE for a guided calibration (not both)")
    if args.live is not None:
        return _run_live(args, gyro)
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


# ---- live, guided --------------------------------------------------------------------------------
def _run_live(args: argparse.Namespace, gyro: bool) -> int:
    if args.sensor and len(args.sensor) > 1:
        raise InputError("--live calibrates one sensor: give at most one --sensor")
    if not (np.isfinite(args.step_timeout) and args.step_timeout > 0):
        raise InputError(f"--step-timeout must be > 0 s, got {args.step_timeout}")
    if not (np.isfinite(args.rest_s) and args.rest_s >= MIN_REST_S):
        raise InputError(f"--rest-s must be at least {MIN_REST_S:.0f} s, got {args.rest_s}")
    source_str = args.live
    kind = source_str.split(":", 1)[0] if ":" in source_str else ""
    if kind not in ("ble", "sim", "replay"):
        raise InputError(f"--live {source_str!r}: use ble:ADDRESS, sim:NAME or replay:PATH")
    rec = load(source_str.split(":", 1)[1]) if kind == "replay" else None
    if args.sensor:
        name = args.sensor[0]
    elif rec is not None:
        names = list(rec.sensors)
        if len(names) != 1:
            raise InputError(f"{source_str} holds sensors {', '.join(names)}: choose one with --sensor")
        name = names[0]
    else:
        name = source_str.split(":", 1)[1] or "sensor"
    if rec is not None and gyro and name in rec.sensors:
        args.rest_s = _rest_that_fits(args.rest_s, source_str, name, len(rec.sensors[name]), rec.sensors[name].fs)
    out_path = Path(args.output) if args.output else Path("calibration.json")
    existing = load_calibrations(out_path) if (args.update and out_path.exists()) else {}
    cal = asyncio.run(_live(args, name, gyro))
    merged = existing[name].merged(cal) if name in existing else cal
    save_calibrations(out_path, {**existing, name: merged})
    if args.json:
        print_json({"output": str(out_path), "sensors": {name: _summary(merged)}, "warnings": []})
    else:
        write_stdout(_format_text(out_path, {name: merged}, []) + "\n")
    return 0


#: --live --gyro: the shortest rest asked for, s (also when a replayed recording is short)
MIN_REST_S = 3.0


def _rest_that_fits(rest_s: float, source: str, name: str, n: int, fs: float) -> float:
    """The rest asked of a replayed recording: ``rest_s``, or, when the recording is shorter,
    all the stillness it can show (its length less the settling margin trimmed from the
    start of a still stretch), rounded down to 0.1 s, and at least :data:`MIN_REST_S`."""
    if not (n > 0 and fs > 0):
        return rest_s
    margin_s = StillnessSettings().margin_s
    margin = int(margin_s * fs)
    available = math.floor((n - margin) / fs * 10.0 + 1e-9) / 10.0
    if available >= rest_s:
        return rest_s
    if available < MIN_REST_S:
        raise InputError(
            f"{source}: sensor {name!r} has {n / fs:.1f} s of data; the gyroscope bias needs at "
            f"least {MIN_REST_S:.0f} s of rest (plus {margin_s:g} s to settle)"
        )
    print(
        f"note: {source} holds {n / fs:.1f} s of sensor {name!r}: asking for {available:.1f} s "
        f"of rest instead of {rest_s:g} s (the most it can show; at least {MIN_REST_S:.0f} s)",
        file=sys.stderr,
    )
    return available


#: --live: a source that delivers nothing for this long (wall-clock s) is an error
_DATA_TIMEOUT_S = 10.0


async def _live(args: argparse.Namespace, name: str, gyro: bool) -> SensorCalibration:
    source = open_source({name: args.live}, replay_speed=0.0)
    await source.open()
    try:
        fs = float(source.rates()[name])
        procedures = []
        if gyro:
            procedures.append(GyroBiasProcedure(fs=fs, sensor=name, duration_s=args.rest_s))
        if args.six_face:
            procedures.append(SixFaceProcedure(fs=fs, sensor=name))
        if args.mag:
            procedures.append(MagnetometerProcedure(fs=fs, sensor=name, field_ut=args.field_ut))
        events = source.events().__aiter__()
        result: SensorCalibration | None = None
        for proc in procedures:
            for prompt in proc:
                write_stdout(f"> {prompt.instruction}\n")
                t_step: float | None = None
                last = ""
                while True:
                    try:
                        ev = await asyncio.wait_for(events.__anext__(), timeout=_DATA_TIMEOUT_S)
                    except TimeoutError:
                        raise CalibrationError(
                            f"sensor {name!r}: no data from {args.live} for {_DATA_TIMEOUT_S:.0f} s"
                        ) from None
                    except StopAsyncIteration:
                        raise CalibrationError(
                            f"sensor {name!r}: the source ended before the step {prompt.key!r} was done"
                            + (f" ({last})" if last else "")
                        ) from None
                    if not isinstance(ev, SampleBatch) or ev.sensor != name:
                        continue
                    t_step = float(ev.t[0]) if t_step is None else t_step
                    status = proc.update(ev.acc, ev.gyr, ev.mag)
                    if status.message != last:
                        print(f"  {status.message}", file=sys.stderr)
                        last = status.message
                    if status.done:
                        break
                    if float(ev.t[-1]) - t_step > args.step_timeout:
                        raise CalibrationError(
                            f"sensor {name!r}: step {prompt.key!r} not completed in {args.step_timeout:.0f} s ({last})"
                        )
            part = proc.result()
            result = part if result is None else result.merged(part)
        if result is None:  # pragma: no cover - at least one procedure always runs
            raise CalibrationError("nothing to calibrate")
        return result
    finally:
        await source.close()
