"""Plain CSV: the long-form sample format of ``shared/API.md`` (import and export), and
CSV exports of orientations and joint angles.

Input format, one row per sample per sensor, header required::

    time_s,sensor,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z[,mag_x,mag_y,mag_z]

in s, m/s², rad/s and µT (:mod:`motiontrack.conventions`). Each sensor has its own
timestamps and rate; missing rows are gaps.

Checks (:mod:`motiontrack.checks`, the same as :func:`motiontrack.fuse`'s): a sensor's
data in the wrong unit (acceleration in g or mg, angular rate in deg/s, magnetic field in
nT or gauss, time in ms or µs) raise :class:`~motiontrack.errors.InputError` with
``<file>: sensor '<name>': `` and then the message ``fuse`` gives for the same arrays.
Rows need not be sorted: each sensor's rows are sorted by time (sensors may be
interleaved or written one after another); when a sensor's rows were out of order,
``Recording.warnings`` says how many steps went back. Two rows of one sensor with the
same ``time_s`` are an error naming how many (which one is right cannot be known). An
empty or non-finite value is a gap (NaN), except in ``time_s``, which must be finite.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

from ..checks import check_imu
from ..errors import InputError, RecordingError
from ..recording._files import open_private
from ..recording.model import Recording, SensorSamples

__all__ = [
    "MAG_COLUMNS",
    "REQUIRED_COLUMNS",
    "read_csv",
    "recording_from_arrays",
    "write_angles_csv",
    "write_orientations_csv",
    "write_samples_csv",
]

REQUIRED_COLUMNS = ("time_s", "sensor", "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
MAG_COLUMNS = ("mag_x", "mag_y", "mag_z")


def read_csv(path: str | os.PathLike[str]) -> Recording:
    """Read a long-form CSV recording.

    Returns
    -------
    Recording
        One :class:`SensorSamples` per sensor name, in order of first appearance, sorted
        by time; rates estimated from the median sample period.

    Raises
    ------
    InputError
        Missing header or columns, a non-numeric value (with its line number), a sensor
        with fewer than two samples, duplicated timestamps, data in the wrong unit
        (module docstring).
    RecordingError
        The file cannot be read.
    """
    p = Path(path)
    with _open(p) as f:
        plain = _read_plain(f)
    if plain is None:  # anything unusual, or an error to report: the row-by-row reader
        with _open(p) as f:
            plain = _read_rows(f, p)
    arrays, has_mag = plain
    rec = recording_from_arrays(arrays, has_mag, source=str(p))
    rec.meta["format"] = "csv"
    return rec


def _open(p: Path) -> TextIO:
    try:
        return open(p, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise RecordingError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise RecordingError(f"{p} is a directory, not a recording") from None
    except OSError as exc:
        raise RecordingError(f"cannot read {p}: {exc.strerror}") from None


def _columns(header: list[str], p: Path) -> tuple[list[str], list[int], int, bool]:
    """(numeric columns, their indices, index of ``sensor``, has_mag) of a header row."""
    header = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"{p}: missing column(s) {', '.join(missing)}; the header must be "
            f"{','.join(REQUIRED_COLUMNS)}[,{','.join(MAG_COLUMNS)}]"
        )
    has_mag = all(c in header for c in MAG_COLUMNS)
    num_cols = [c for c in REQUIRED_COLUMNS if c != "sensor"]
    num_cols += list(MAG_COLUMNS) if has_mag else []
    return num_cols, [header.index(c) for c in num_cols], header.index("sensor"), has_mag


def _read_plain(f: TextIO) -> tuple[dict[str, np.ndarray], bool] | None:
    """The rows of a plain file, parsed in bulk by ``numpy.loadtxt`` (C; the same correctly
    rounded string-to-double conversion as ``float``), or None for anything :func:`_read_rows`
    might read differently or has to report: quotes, NUL characters, a carriage return not
    followed by a line feed, a bad header, a row with another number of fields (a blank line
    too), a value loadtxt does not parse (an empty magnetometer field, ...), a blank sensor
    name, a non-finite time."""
    try:
        text = f.read()
    except (UnicodeDecodeError, OSError):
        return None
    if '"' in text or "\0" in text:
        return None
    sep = "\n"
    n_cr = text.count("\r")
    if n_cr:  # csv.writer ends rows with CRLF; a lone CR would end a row too
        n_crlf = text.count("\r\n")
        if n_cr != n_crlf:
            return None
        if n_crlf == text.count("\n"):
            sep = "\r\n"
        else:
            text = text.replace("\r\n", "\n")
    lines = text.split(sep)
    if lines[-1] == "":
        lines.pop()
    if not any(line.strip() for line in lines[1:]):  # (stops at the first row)
        return None  # no rows: the row reader says so (loadtxt would warn)
    header = lines[0].split(",")
    try:
        _, idx, isens, has_mag = _columns(header, Path())
    except InputError:
        return None
    fields: dict[str, int] = {}  # sensor field -> its number, in order of first appearance

    def sensor(field: str) -> int:
        return fields.setdefault(field, len(fields))

    converters: dict[int | str, Callable[[str], Any]] = {isens: sensor}
    converters.update({j: _zero for j in range(len(header)) if j not in idx and j != isens})
    try:  # loadtxt also refuses a row with another number of fields than the first
        table = np.loadtxt(lines[1:], delimiter=",", dtype=np.float64, comments=None, ndmin=2,
                           converters=converters)
    except ValueError:
        return None
    if table.shape[1] != len(header) or not np.isfinite(table[:, idx[0]]).all():
        return None
    names: dict[str, int] = {}  # stripped name -> its number, in order of first appearance
    for field in fields:
        name = field.strip()
        if not name:
            return None
        names.setdefault(name, len(names))
    code = np.array([names[field.strip()] for field in fields])[table[:, isens].astype(np.intp)]
    nums = table[:, idx]
    return {name: nums[code == k] for name, k in names.items()}, has_mag


def _zero(_field: str) -> float:
    return 0.0


def _read_rows(f: TextIO, p: Path) -> tuple[dict[str, np.ndarray], bool]:
    """Row by row with :mod:`csv`, every check with its line number."""
    rows: dict[str, list[list[float]]] = {}
    reader = csv.reader(f)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{p} is empty; expected a header {','.join(REQUIRED_COLUMNS)}") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InputError(f"{p} is not a CSV text file ({exc})") from None
    num_cols, idx, isens, has_mag = _columns(header, p)
    width = len(header)
    try:
        for line, row in enumerate(reader, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) < width:
                raise InputError(f"{p}, line {line}: {len(row)} fields, expected {width}")
            name = row[isens].strip()
            if not name:
                raise InputError(f"{p}, line {line}: empty sensor name")
            vals = []
            for j, c in zip(idx, num_cols):
                s = row[j].strip()
                if not s and c.startswith("mag"):
                    vals.append(math.nan)
                    continue
                try:
                    vals.append(float(s))
                except ValueError:
                    raise InputError(f"{p}, line {line}: {c} = {s!r} is not a number") from None
            if not math.isfinite(vals[0]):
                raise InputError(f"{p}, line {line}: time_s must be finite")
            rows.setdefault(name, []).append(vals)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InputError(f"{p} is not a valid CSV file ({exc})") from None
    if not rows:
        raise InputError(f"{p} has a header but no samples")
    return {name: np.asarray(r, dtype=np.float64) for name, r in rows.items()}, has_mag


def recording_from_arrays(
    rows: Mapping[str, np.ndarray], has_mag: bool, *, source: str
) -> Recording:
    """A :class:`Recording` from one array per sensor of columns ``time_s, acc_x..gyr_z
    [, mag_x..mag_z]`` (rows in any order), with the checks of :func:`read_csv` (shared by
    the CSV reader and :func:`motiontrack.io.from_dataframe`)."""
    rec = Recording(source=source)
    for name, r in rows.items():
        a, dropped = _drop_repeated_rows(np.asarray(r, dtype=np.float64))
        if dropped:
            rec.warnings.append(
                f"sensor {name!r}: {dropped} row(s) repeated exactly (same time and values); "
                "each kept once"
            )
        if a.shape[0] < 2:
            raise InputError(f"{source}: sensor {name!r} has only {a.shape[0]} sample")
        mag = a[:, 7:10] if has_mag else None
        if mag is not None and np.isnan(mag).all():
            mag = None
        back = _backward_steps(a[:, 0], f"{source}: sensor {name!r}")
        check_imu(
            a[:, 1:4], a[:, 4:7], mag, timestamps=np.sort(a[:, 0]), require_increasing=True,
            where=f"{source}: sensor {name!r}",
        )
        if back:
            rec.warnings.append(
                f"sensor {name!r}: rows out of time order ({back} steps back in the file); sorted"
            )
        s = SensorSamples(a[:, 0], a[:, 1:4], a[:, 4:7], mag).sorted()
        if s.fs <= 0:
            raise InputError(f"{source}: sensor {name!r} has no increasing timestamps")
        rec.sensors[name] = s
        rec.sensor_info[name] = {"name": name, "fs": s.fs, "has_mag": mag is not None}
    return rec


def _drop_repeated_rows(a: np.ndarray) -> tuple[np.ndarray, int]:
    """Rows equal in every field to an earlier row (a packet stored twice) go; rows that share
    a time but not their values stay (the timestamp check reports them: which is right is
    unknowable)."""
    keyed = np.where(np.isnan(a), np.inf, a)  # NaN == NaN for this purpose
    t = np.sort(keyed[:, 0])
    if not np.any(t[1:] == t[:-1]):  # no time twice: no row twice (the common case, fast)
        return a, 0
    _, first = np.unique(keyed, axis=0, return_index=True)
    if first.size == a.shape[0]:
        return a, 0
    keep = np.sort(first)
    return a[keep], a.shape[0] - keep.size


def _backward_steps(t: np.ndarray, where: str) -> int:
    """Steps back in file order. Rows merely out of order are sorted by the caller; one to three
    large steps back in otherwise ordered rows, followed by over a second of rows at times
    already covered, are a clock that jumped back (or two recordings joined), which sorting
    would interleave into nonsense: an error."""
    d = np.diff(t)
    back = np.flatnonzero(d < 0)
    forward = d[d > 0]
    if 0 < back.size <= 3 and forward.size:
        period = float(np.median(forward))
        worst = int(back[np.argmin(d[back])])
        # over a second of rows going on at times already covered: two interleaving streams
        overlap = int(np.count_nonzero(t[worst + 1 :] < t[worst]))
        if -d[worst] > 10.0 * period and overlap > max(10, 1.0 / period):
            raise InputError(
                f"{where}: time goes back by {-d[worst]:.3f} s after {t[worst]:.3f} s (the "
                f"{worst + 1}th sample) while the rest is in order: a clock that jumped back, or "
                "two recordings joined; split the file there or fix its time column"
            )
    return int(back.size)


def _fmt(x: float) -> str:
    return "" if not math.isfinite(x) else repr(float(x))


def write_samples_csv(path: str | os.PathLike[str], recording: Recording) -> None:
    """Write a recording's samples in the long-form input format (time-sorted)."""
    has_mag = any(s.mag is not None for s in recording.sensors.values())
    header = list(REQUIRED_COLUMNS) + (list(MAG_COLUMNS) if has_mag else [])
    rows = []
    for name, s in recording.sensors.items():
        for i in range(len(s)):
            r = [s.t[i], name, *s.acc[i], *s.gyr[i]]
            if has_mag:
                r += list(s.mag[i]) if s.mag is not None else [math.nan] * 3
            rows.append(r)
    rows.sort(key=lambda r: r[0])
    with open_private(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            w.writerow([_fmt(r[0]), r[1], *(_fmt(v) for v in r[2:])])


def write_angles_csv(
    path: str | os.PathLike[str],
    t: npt.ArrayLike,
    angles: Mapping[str, npt.ArrayLike],
    *,
    decimals: int = 4,
    bridged: npt.ArrayLike | None = None,
) -> None:
    """CSV with ``time_s`` then one column per angle, in the mapping's order (put the
    primary angle first). NaN (no data: a gap longer than the bridge) is written as an empty
    field. With ``bridged`` (N,) bool, a last column ``bridged`` holds 1 where the angles rest
    on data interpolated over a short hole, else 0."""
    tt = np.asarray(t, dtype=np.float64)
    cols = [np.asarray(v, dtype=np.float64) for v in angles.values()]
    for name, c in zip(angles, cols):
        if c.shape != tt.shape:
            raise InputError(f"angle {name!r} has shape {c.shape}, time has {tt.shape}")
    flag = None if bridged is None else np.asarray(bridged, dtype=bool)
    if flag is not None and flag.shape != tt.shape:
        raise InputError(f"bridged has shape {flag.shape}, time has {tt.shape}")
    with open_private(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["time_s", *angles, *(["bridged"] if flag is not None else [])])
        for i in range(tt.shape[0]):
            w.writerow(
                [
                    f"{tt[i]:.6f}",
                    *("" if not math.isfinite(c[i]) else f"{c[i]:.{decimals}f}" for c in cols),
                    *([str(int(flag[i]))] if flag is not None else []),
                ]
            )


def write_orientations_csv(
    path: str | os.PathLike[str], t: npt.ArrayLike, orientations: Mapping[str, npt.ArrayLike]
) -> None:
    """CSV with ``time_s`` and ``<name>_qw, <name>_qx, <name>_qy, <name>_qz`` per sensor
    (q_earth_sensor, scalar first, ENU; see :mod:`motiontrack.conventions`)."""
    tt = np.asarray(t, dtype=np.float64)
    qs = {k: np.asarray(v, dtype=np.float64).reshape(-1, 4) for k, v in orientations.items()}
    for k, q in qs.items():
        if q.shape[0] != tt.shape[0]:
            raise InputError(f"orientation {k!r} has {q.shape[0]} rows, time has {tt.shape[0]}")
    header: Sequence[str] = ["time_s"] + [f"{k}_q{c}" for k in qs for c in "wxyz"]
    with open_private(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i in range(tt.shape[0]):
            w.writerow(
                [
                    f"{tt[i]:.6f}",
                    *(_fmt(v) if math.isfinite(v) else "" for q in qs.values() for v in q[i]),
                ]
            )
