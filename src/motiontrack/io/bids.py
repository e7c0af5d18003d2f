"""BIDS-motion export and import (``motiontrack export --bids``, :func:`to_bids`,
:func:`read_bids`).

A recording becomes one session of a BIDS dataset (BIDS-motion, the motion extension of the
Brain Imaging Data Structure)::

    DIR/dataset_description.json  README  participants.tsv
    DIR/sub-S/[ses-X/]sub-S[_ses-X]_scans.tsv
    DIR/sub-S/[ses-X/]motion/sub-S[_ses-X]_task-T[_run-R]_tracksys-<sensor>_motion.tsv|.json
                                                          _tracksys-<sensor>_channels.tsv
                                                          _tracksys-motiontrack_motion.tsv|...
                                                          _events.tsv|.json

Tracking systems (``tracksys``): one per sensor (its name reduced to letters and digits),
holding its samples as recorded: ``LATENCY`` (s since the recording's onset), ``ACCEL``
x/y/z (m/s^2), ``GYRO`` x/y/z (rad/s), ``MAGN`` x/y/z (uT) when present; the sensor's
nominal rate is ``SamplingFrequency``, the real one ``SamplingFrequencyEffective``; missing
samples are simply absent (their times are in ``LATENCY`` and in ``data_gap`` events). With
an analysis, a ``motiontrack`` tracking system holds what motiontrack computed on the
session grid: ``LATENCY``, ``ORNT`` quat_w/x/y/z per sensor (q_earth_sensor, ENU, unitless)
and ``JNTANG`` per angle (degrees, tracked point = the joint or the segment; NaN = ``n/a``).
Units and frames are :mod:`motiontrack.conventions`'s; values are written with full
precision, so reading back gives the same numbers.

The recording's onset (``LATENCY`` 0) is its first sample's time in motiontrack's time
base; that time is kept in each ``*_motion.json`` as ``MotiontrackTimeOriginS``, so that
:func:`read_bids` gives back the original timestamps.

Events (``*_events.tsv``, ``trial_type`` vocabulary, described in ``*_events.json``):

``rep``
    one counted repetition: onset = its start, duration = its length; ``rep_index``,
    ``set_index``, ``peak_time`` and ``emitted_time`` (s since onset), ``start_deg``,
    ``peak_deg``, ``end_deg``, ``min_deg``, ``max_deg``, ``rom_deg`` (of ``angle``),
    ``hold_s``, ``flags`` (comma-separated, lower case).
``calibration``
    the sensor-to-segment calibration (onset = the first analysed sample, duration n/a):
    ``calibration`` holds its JSON (:meth:`SegmentCalibration.to_json`).
``sensor_calibration``
    a sensor calibration recorded in the file (gyroscope bias, accelerometer,
    magnetometer): ``sensor`` and its record as JSON in ``calibration``.
``data_gap``
    samples missing from ``sensor`` between onset and onset + duration (``missing_samples``).
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import _progress
from .._version import __version__
from ..errors import InputError, RecordingError
from ..recording._files import open_private
from ..recording.model import Recording, SensorSamples

__all__ = ["BIDS_VERSION", "BidsMotion", "TRIAL_TYPES", "read_bids", "to_bids"]

BIDS_VERSION = "1.10.0"
#: ``trial_type`` values written to ``*_events.tsv`` (module docstring).
TRIAL_TYPES = ("rep", "calibration", "sensor_calibration", "data_gap")
DERIVED_TRACKSYS = "motiontrack"
_EVENT_COLUMNS = (
    "onset", "duration", "trial_type", "rep_index", "set_index", "angle", "peak_time",
    "emitted_time", "start_deg", "peak_deg", "end_deg", "min_deg", "max_deg", "rom_deg",
    "hold_s", "flags", "sensor", "missing_samples", "calibration",
)
_EVENT_DESCRIPTIONS = {
    "trial_type": {
        "Description": "What happened (motiontrack.io.bids)",
        "Levels": {
            "rep": "one counted repetition, from its start to its end",
            "calibration": "the sensor-to-segment calibration (JSON in 'calibration')",
            "sensor_calibration": "a sensor's calibration (JSON in 'calibration')",
            "data_gap": "samples of 'sensor' missing between onset and onset + duration",
        },
    },
    "rep_index": {"Description": "0-based rep count since the session started"},
    "set_index": {"Description": "0-based set (a new set starts after a pause at rest)"},
    "angle": {"Description": "the angle the rep was counted on (a JNTANG channel's name)"},
    "peak_time": {"Description": "turning point of the rep", "Units": "s"},
    "emitted_time": {"Description": "when the rep was reported live", "Units": "s"},
    **{f"{k}_deg": {"Description": f"{k} angle of the rep", "Units": "deg"}
       for k in ("start", "peak", "end", "min", "max")},
    "rom_deg": {"Description": "range of motion of the rep (max - min)", "Units": "deg"},
    "hold_s": {"Description": "time within 10 % of the ROM from the turning point", "Units": "s"},
    "flags": {"Description": "quality flags: partial_set, partial_target, too_fast, too_slow, "
                             "implausible (comma-separated)"},
    "sensor": {"Description": "the sensor (tracked point) the event is about"},
    "missing_samples": {"Description": "samples missing in the gap at the nominal rate"},
    "calibration": {"Description": "the calibration as JSON (motiontrack's own record)"},
}
_CHANNEL_TYPES = ("ACCEL", "ANGACCEL", "GYRO", "JNTANG", "LATENCY", "MAGN", "MISC", "ORNT", "POS",
                  "VEL")
_ENTITY = re.compile(r"^[A-Za-z0-9]+$")


@dataclass
class BidsMotion:
    """What :func:`read_bids` reads back: the samples as a :class:`Recording` (original
    timestamps; segment and sensor calibrations in ``recording.calibration``), and the
    ``motiontrack`` tracking system's angles and orientations if present."""

    recording: Recording
    t: np.ndarray = field(default_factory=lambda: np.empty(0))
    angles: dict[str, np.ndarray] = field(default_factory=dict)
    orientations: dict[str, np.ndarray] = field(default_factory=dict)
    reps: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def to_bids(
    recording: Recording,
    root: str | os.PathLike[str],
    *,
    subject: str,
    task: str,
    session: str | None = None,
    run: int | None = None,
    analysis: Any = None,
    overwrite: bool = False,
    quiet: bool = False,
) -> list[Path]:
    """Write ``recording`` as one BIDS-motion session under ``root`` (module docstring),
    creating the dataset or adding to it. Every file is owner-only (0600), every new folder
    0700.

    Parameters
    ----------
    recording : Recording
        The samples (:func:`motiontrack.io.load`).
    subject, task, session : str
        BIDS labels (letters and digits).
    run : int, optional
        Run index, for several recordings of one task in one session.
    analysis : AnalysisResult, optional
        :func:`motiontrack.analyze`'s result for this recording: adds the ``motiontrack``
        tracking system (orientations, joint angles) and the rep and calibration events.
    overwrite : bool
        Replace this session/task/run's files if they exist (else an error).
    quiet : bool
        No progress bar (``--json``; bars show only on a terminal anyway).

    Returns
    -------
    list of Path
        The files written.
    """
    for name, label in (("subject", subject), ("task", task), ("session", session)):
        if label is not None and not _ENTITY.match(label):
            raise InputError(f"BIDS {name} label {label!r}: use letters and digits only")
    if not recording.sensors:
        raise InputError("the recording has no samples to export")
    root = Path(root)
    sub = f"sub-{subject}"
    base = root / sub / (f"ses-{session}" if session else "")
    prefix = "_".join([sub] + ([f"ses-{session}"] if session else []) + [f"task-{task}"]
                      + ([f"run-{run}"] if run is not None else []))
    mdir = base / "motion"
    t0 = recording.start_s
    systems = _sensor_systems(recording, t0)
    if analysis is not None:
        systems.append(_derived_system(analysis, t0))
    files = [mdir / f"{prefix}_tracksys-{s['label']}_motion.tsv" for s in systems]
    clash = [f for f in files if f.exists()]
    if clash and not overwrite:
        raise RecordingError(f"{clash[0]} exists; choose another session/run or overwrite")
    for d in (root, root / sub, base, mdir):
        d.mkdir(mode=0o700, exist_ok=True)
    written = _dataset_files(root, subject)
    for s in systems:
        stem = mdir / f"{prefix}_tracksys-{s['label']}"
        written += _write_system(stem, s, task, t0, quiet)
    written += _write_events(mdir / f"{prefix}_events", recording, analysis, t0)
    scans = base / f"{sub}{'_ses-' + session if session else ''}_scans.tsv"
    _append_rows(scans, ["filename", "acq_time"],
                 [[f.relative_to(base).as_posix(), "n/a"] for f in files], key="filename")
    return written + [scans]


def _sensor_systems(rec: Recording, t0: float) -> list[dict[str, Any]]:
    out, labels = [], set()
    for name, s in rec.sensors.items():
        label = re.sub(r"[^A-Za-z0-9]", "", name) or "sensor"
        while label in labels or label == DERIVED_TRACKSYS:
            label += "x"
        labels.add(label)
        chans: list[tuple[str, str, str, str, str, np.ndarray]] = [
            (f"{name}_latency", "n/a", "LATENCY", name, "s", s.t - t0)]
        for typ, unit, arr, short in (("ACCEL", "m/s^2", s.acc, "acc"),
                                      ("GYRO", "rad/s", s.gyr, "gyr"),
                                      ("MAGN", "uT", s.mag, "mag")):
            if arr is not None:
                chans += [(f"{name}_{short}_{c}", c, typ, name, unit, arr[:, j])
                          for j, c in enumerate("xyz")]
        out.append({"label": label, "fs": float(s.fs), "chans": chans, "name": f"IMU {name}",
                    "n": len(s)})
    return out


def _derived_system(res: Any, t0: float) -> dict[str, Any]:
    t = np.asarray(res.t, dtype=np.float64)
    chans: list[tuple[str, str, str, str, str, np.ndarray]] = [
        ("latency", "n/a", "LATENCY", "n/a", "s", t - t0)]
    for name, q in res.orientations.items():
        q = np.asarray(q, dtype=np.float64).reshape(-1, 4)
        chans += [(f"{name}_q{c}", f"quat_{c}", "ORNT", name, "n/a", q[:, j])
                  for j, c in enumerate("wxyz")]
    point = res.joint if res.joint is not None else res.sensors[0]
    for name, v in res.angles.items():
        chans.append((name, "n/a", "JNTANG", point, "deg", np.asarray(v, dtype=np.float64)))
    return {"label": DERIVED_TRACKSYS, "fs": float(res.fs_hz), "chans": chans,
            "name": f"motiontrack {__version__} ({res.fusion_method} fusion)", "n": t.size}


def _write_system(stem: Path, s: Mapping[str, Any], task: str, t0: float,
                  quiet: bool) -> list[Path]:
    chans = s["chans"]
    data = np.column_stack([c[5] for c in chans]) if s["n"] else np.empty((0, len(chans)))
    tsv = stem.with_name(stem.name + "_motion.tsv")
    rows = _progress.track(data, desc=f"BIDS {s['label']}", unit="row", quiet=quiet)
    with open_private(tsv, "w", newline="", encoding="utf-8") as f:
        for row in rows:
            f.write("\t".join(_num(v) for v in row) + "\n")
    ch = stem.with_name(stem.name + "_channels.tsv")
    _write_tsv(ch, ["name", "component", "type", "tracked_point", "units"],
               [list(c[:5]) for c in chans])
    lat = data[:, 0] if s["n"] else np.empty(0)
    counts: dict[str, int] = {}
    for c in chans:
        counts[c[2]] = counts.get(c[2], 0) + 1
    dur = float(lat[-1] - lat[0]) if lat.size > 1 else 0.0
    meta = {
        "TaskName": task,
        "SamplingFrequency": s["fs"],
        "SamplingFrequencyEffective": round((lat.size - 1) / dur, 6) if dur > 0 else "n/a",
        "TrackingSystemName": s["name"],
        "RecordingDuration": round(dur, 6),
        "SoftwareVersions": f"motiontrack {__version__}",
        "MotionChannelCount": len(chans),
        **{f"{k}ChannelCount": counts.get(k, 0) for k in _CHANNEL_TYPES},
        "TrackedPointsCount": len({c[3] for c in chans if c[2] != "LATENCY"}),
        "MissingValues": "n/a",
        "MotiontrackTimeOriginS": t0,
    }
    js = stem.with_name(stem.name + "_motion.json")
    _write_json(js, meta)
    return [tsv, ch, js]


def _write_events(stem: Path, rec: Recording, res: Any, t0: float) -> list[Path]:
    rows: list[dict[str, Any]] = []
    if res is not None:
        for r in res.reps:
            rows.append({
                "onset": r.start_s - t0, "duration": r.duration_s, "trial_type": "rep",
                "rep_index": r.index, "set_index": r.set_index, "angle": res.primary,
                "peak_time": r.peak_s - t0, "emitted_time": r.emitted_s - t0,
                "start_deg": r.start_deg, "peak_deg": r.peak_deg, "end_deg": r.end_deg,
                "min_deg": r.min_deg, "max_deg": r.max_deg, "rom_deg": r.rom_deg,
                "hold_s": r.hold_s,
                "flags": ",".join(str(f.name).lower() for f in type(r.flags) if f and f in r.flags),
            })
        if res.calibration is not None:
            onset = float(res.t[0]) - t0 if len(res.t) else 0.0
            rows.append({"onset": onset, "duration": None, "trial_type": "calibration",
                         "calibration": json.dumps(json.loads(res.calibration.to_json()))})
        gaps = res.gaps
    else:
        gaps = rec.gaps()
    for c in rec.calibration:
        if c.get("kind") != "segment":
            rows.append({"onset": 0.0, "duration": None, "trial_type": "sensor_calibration",
                         "sensor": c.get("sensor"), "calibration": json.dumps(c)})
    for g in gaps:
        rows.append({"onset": g.start_s - t0, "duration": g.duration_s, "trial_type": "data_gap",
                     "sensor": g.sensor, "missing_samples": g.missing})
    rows.sort(key=lambda r: r["onset"])
    tsv = stem.with_name(stem.name + ".tsv")
    _write_tsv(tsv, list(_EVENT_COLUMNS),
               [[r.get(c) for c in _EVENT_COLUMNS] for r in rows])
    js = stem.with_name(stem.name + ".json")
    _write_json(js, _EVENT_DESCRIPTIONS)
    return [tsv, js]


def _dataset_files(root: Path, subject: str) -> list[Path]:
    out = []
    desc = root / "dataset_description.json"
    if not desc.exists():
        _write_json(desc, {
            "Name": "motiontrack export", "BIDSVersion": BIDS_VERSION, "DatasetType": "raw",
            "GeneratedBy": [{"Name": "motiontrack", "Version": __version__}],
        })
        out.append(desc)
    readme = root / "README"
    if not readme.exists():
        with open_private(readme, "w", encoding="utf-8") as f:
            f.write("IMU recordings exported by motiontrack (BIDS-motion).\n"
                    "Events: rep, calibration, sensor_calibration, data_gap "
                    "(see *_events.json).\n")
        out.append(readme)
    parts = root / "participants.tsv"
    _append_rows(parts, ["participant_id"], [[f"sub-{subject}"]], key="participant_id")
    return out + [parts]


def _append_rows(
    path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]], key: str
) -> None:
    """Rows added to a TSV (created if missing); a row whose ``key`` is there replaces it."""
    old: list[list[str]] = []
    if path.exists():
        with open(path, newline="", encoding="utf-8") as f:
            r = list(csv.reader(f, delimiter="\t"))
        if r and list(r[0]) == list(header):
            old = [list(x) for x in r[1:]]
    k = list(header).index(key)
    new = [[_cell(v) for v in row] for row in rows]
    keys = {row[k] for row in new}
    _write_tsv(path, header, [row for row in old if row[k] not in keys] + new)


def _write_tsv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with open_private(path, "w", newline="", encoding="utf-8") as f:
        f.write("\t".join(header) + "\n")
        for row in rows:
            f.write("\t".join(_cell(v) for v in row) + "\n")


def _write_json(path: Path, obj: Any) -> None:
    with open_private(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def _num(v: float) -> str:
    return repr(float(v)) if math.isfinite(v) else "n/a"


def _cell(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, (float, np.floating)):
        return _num(float(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return str(v)


# -- reading back ---------------------------------------------------------------------------


def read_bids(
    root: str | os.PathLike[str],
    *,
    subject: str,
    task: str,
    session: str | None = None,
    run: int | None = None,
) -> BidsMotion:
    """Read a BIDS-motion recording written by :func:`to_bids` (or any BIDS-motion IMU data
    with ``LATENCY``/``ACCEL``/``GYRO`` channels) back into motiontrack.

    Raises
    ------
    RecordingError
        No such recording in ``root``, or a file that cannot be read.
    InputError
        A tracking system without ACCEL and GYRO x/y/z channels.
    """
    sub = f"sub-{subject}"
    mdir = Path(root) / sub / (f"ses-{session}" if session else "") / "motion"
    prefix = "_".join([sub] + ([f"ses-{session}"] if session else []) + [f"task-{task}"]
                      + ([f"run-{run}"] if run is not None else []))
    tsvs = _in_scan_order(mdir, sorted(mdir.glob(f"{prefix}_tracksys-*_motion.tsv")))
    if not tsvs:
        raise RecordingError(f"no {prefix}_tracksys-*_motion.tsv in {mdir}")
    rec = Recording(source=str(mdir / prefix), meta={"format": "bids-motion"})
    out = BidsMotion(recording=rec)
    for tsv in tsvs:
        stem = str(tsv)[: -len("_motion.tsv")]
        chans = _read_tsv(Path(stem + "_channels.tsv"))
        meta = json.loads(Path(stem + "_motion.json").read_text(encoding="utf-8"))
        data = _read_motion(tsv, len(chans))
        t0 = float(meta.get("MotiontrackTimeOriginS", 0.0))
        fs = float(meta["SamplingFrequency"])
        if any(c["type"] in ("ACCEL", "GYRO") for c in chans):
            _read_sensors(rec, chans, data, fs, t0, tsv)
        _read_derived(out, chans, data, t0)
    _read_events(out, mdir / f"{prefix}_events.tsv")
    return out


def _in_scan_order(mdir: Path, files: list[Path]) -> list[Path]:
    """``files`` in the order of the session's ``*_scans.tsv`` (the recording's sensor order)."""
    scans = sorted(mdir.parent.glob("*_scans.tsv"))
    if not scans:
        return files
    order = {row["filename"]: i for i, row in enumerate(_read_tsv(scans[0]))}
    return sorted(files, key=lambda f: order.get(f"motion/{f.name}", len(order)))


def _read_motion(path: Path, ncols: int) -> np.ndarray:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                cells = line.rstrip("\n").split("\t")
                rows.append([math.nan if v == "n/a" else float(v) for v in cells])
    a = np.asarray(rows, dtype=np.float64).reshape(-1, ncols)
    return a


def _read_tsv(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f, delimiter="\t"))
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror}") from None


def _columns(chans: list[dict[str, str]], point: str, typ: str, comps: str) -> list[int] | None:
    idx = []
    for c in comps:
        hit = [i for i, ch in enumerate(chans)
               if ch["tracked_point"] == point and ch["type"] == typ and ch["component"] == c]
        if not hit:
            return None
        idx.append(hit[0])
    return idx


_TO_SI = {"m/s^2": 1.0, "g": 9.80665, "rad/s": 1.0, "deg/s": math.pi / 180.0, "uT": 1.0,
          "T": 1e6, "nT": 1e-3, "mT": 1e3}


def _read_sensors(rec: Recording, chans: list[dict[str, str]], data: np.ndarray, fs: float,
                  t0: float, where: Path) -> None:
    for point in dict.fromkeys(c["tracked_point"] for c in chans if c["type"] == "ACCEL"):
        acc, gyr = _columns(chans, point, "ACCEL", "xyz"), _columns(chans, point, "GYRO", "xyz")
        if acc is None or gyr is None:
            raise InputError(f"{where}: {point} needs ACCEL and GYRO x/y/z channels")
        mag = _columns(chans, point, "MAGN", "xyz")
        lat = [i for i, c in enumerate(chans) if c["type"] == "LATENCY"
               and c["tracked_point"] in (point, "n/a")]
        t = data[:, lat[0]] + t0 if lat else t0 + np.arange(data.shape[0]) / fs

        def si(cols: list[int]) -> np.ndarray:
            unit = chans[cols[0]]["units"]
            return data[:, cols] * _TO_SI.get(unit, 1.0)

        rec.sensors[point] = SensorSamples(t, si(acc), si(gyr), si(mag) if mag else None, fs)
        rec.sensor_info[point] = {"name": point, "fs": fs, "has_mag": mag is not None}


def _read_derived(
    out: BidsMotion, chans: list[dict[str, str]], data: np.ndarray, t0: float
) -> None:
    types = {c["type"] for c in chans}
    if not types & {"ORNT", "JNTANG"}:
        return
    lat = [i for i, c in enumerate(chans) if c["type"] == "LATENCY"]
    out.t = data[:, lat[0]] + t0 if lat else np.arange(data.shape[0], dtype=np.float64)
    for point in dict.fromkeys(c["tracked_point"] for c in chans if c["type"] == "ORNT"):
        cols = _columns(chans, point, "ORNT", ["quat_w", "quat_x", "quat_y", "quat_z"])
        if cols is not None:
            out.orientations[point] = data[:, cols]
    for i, c in enumerate(chans):
        if c["type"] == "JNTANG":
            out.angles[c["name"]] = data[:, i]


def _read_events(out: BidsMotion, path: Path) -> None:
    if not path.exists():
        return
    t0 = out.recording.start_s if out.recording.sensors else 0.0
    for row in _read_tsv(path):
        ev: dict[str, Any] = {k: _value(v) for k, v in row.items() if v != "n/a"}
        kind = ev.get("trial_type")
        out.events.append(ev)
        if kind == "rep":
            out.reps.append({
                "index": int(ev["rep_index"]), "set_index": int(ev["set_index"]),
                "start_s": ev["onset"] + t0, "peak_s": ev["peak_time"] + t0,
                "end_s": ev["onset"] + ev["duration"] + t0, "emitted_s": ev["emitted_time"] + t0,
                **{k: ev[k] for k in ("start_deg", "peak_deg", "end_deg", "min_deg", "max_deg",
                                      "rom_deg", "hold_s")},
                "duration_s": ev["duration"], "flags": str(ev.get("flags", "")),
            })
        elif kind == "calibration":
            out.recording.calibration.append({"kind": "segment", **json.loads(ev["calibration"])})
        elif kind == "sensor_calibration":
            out.recording.calibration.append(json.loads(ev["calibration"]))


def _value(v: str) -> Any:
    try:
        return int(v)
    except ValueError:
        pass
    try:
        return float(v)
    except ValueError:
        return v
