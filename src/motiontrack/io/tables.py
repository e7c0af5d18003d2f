"""pandas DataFrames of recordings, angles and reps (``pip install "motiontrack[pandas]"``).

>>> import motiontrack as mt
>>> s = mt.simulate_knee_session("squat", reps=2, seed=1)
>>> df = mt.io.to_dataframe(s.to_recording())
>>> list(df.columns[:4]), df["sensor"].unique().tolist()
(['time_s', 'sensor', 'acc_x', 'acc_y'], ['thigh', 'shank'])
>>> rec = mt.io.from_dataframe(df)
>>> sorted(rec.sensors) == ["shank", "thigh"]
True

A recording's table is the long form of the CSV format (``shared/API.md``): one row per
sample per sensor, ``time_s, sensor, acc_x, acc_y, acc_z, gyr_x, gyr_y, gyr_z`` and
``mag_x, mag_y, mag_z`` when a sensor has a magnetometer, ``host_time_s`` when the
recording was made live; SI units (:mod:`motiontrack.conventions`). :func:`from_dataframe`
takes that table back with the checks of :func:`motiontrack.io.read_csv`.

The tables of an analysis (:meth:`motiontrack.analysis.AnalysisResult.to_dataframe`,
``.reps_dataframe()``) are built here too: :func:`angles_frame` and :func:`reps_frame`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .._optional import require
from ..errors import InputError
from ..recording.model import Gap, Recording
from .csv import MAG_COLUMNS, REQUIRED_COLUMNS, recording_from_arrays

__all__ = [
    "REP_COLUMNS", "angles_frame", "from_dataframe", "recording_frame", "rep_row", "reps_frame",
]

#: Columns of :func:`reps_frame`, in order (times in s, angles in degrees).
REP_COLUMNS = (
    "index", "set_index", "start_s", "peak_s", "end_s", "start_deg", "peak_deg", "end_deg",
    "min_deg", "max_deg", "rom_deg", "duration_s", "hold_s", "emitted_s", "flags", "partial",
    "too_fast",
)


def _pd() -> Any:
    return require("pandas", "pandas")


def recording_frame(rec: Recording) -> Any:
    """A recording as one long-form DataFrame, rows sorted by time then sensor (module
    docstring; :func:`motiontrack.io.to_dataframe` takes a file too)."""
    pd = _pd()
    has_mag = any(s.mag is not None for s in rec.sensors.values())
    has_host = any(s.host_t is not None for s in rec.sensors.values())
    parts = []
    for name, s in rec.sensors.items():
        cols: dict[str, Any] = {"time_s": s.t, "sensor": np.full(len(s), name, dtype=object)}
        for j, c in enumerate("xyz"):
            cols[f"acc_{c}"] = s.acc[:, j]
        for j, c in enumerate("xyz"):
            cols[f"gyr_{c}"] = s.gyr[:, j]
        if has_mag:
            mag = s.mag if s.mag is not None else np.full((len(s), 3), np.nan)
            for j, c in enumerate("xyz"):
                cols[f"mag_{c}"] = mag[:, j]
        if has_host:
            cols["host_time_s"] = s.host_t if s.host_t is not None else np.full(len(s), np.nan)
        parts.append(pd.DataFrame(cols))
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=REQUIRED_COLUMNS)
    order = pd.Categorical(df["sensor"], categories=list(rec.sensors), ordered=True)
    df["sensor"] = order
    return df.sort_values(["time_s", "sensor"], kind="stable").reset_index(drop=True)


def from_dataframe(df: Any, *, source: str = "DataFrame") -> Recording:
    """A :class:`Recording` from a long-form table (the columns of :func:`to_dataframe`;
    ``host_time_s`` kept when present), checked as :func:`motiontrack.io.read_csv` checks a
    file.

    Raises
    ------
    InputError
        A missing column, a non-numeric or non-finite time, a sensor with fewer than two
        samples, data in the wrong unit.
    """
    cols = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in cols]
    if missing:
        raise InputError(f"{source}: missing column(s) {', '.join(missing)}")
    df = df.set_axis(cols, axis=1)
    has_mag = all(c in cols for c in MAG_COLUMNS)
    num = [c for c in REQUIRED_COLUMNS if c != "sensor"] + (list(MAG_COLUMNS) if has_mag else [])
    try:
        values = df[num].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{source}: a non-numeric value ({exc})") from None
    if not np.isfinite(values[:, 0]).all():
        raise InputError(f"{source}: time_s must be finite")
    names = df["sensor"].astype(str).to_numpy()
    host = df["host_time_s"].to_numpy(dtype=np.float64) if "host_time_s" in cols else None
    arrays = {n: values[names == n] for n in dict.fromkeys(names)}
    rec = recording_from_arrays(arrays, has_mag, source=source)
    if host is not None:
        for n, s in rec.sensors.items():
            m = names == n
            order = np.argsort(values[m, 0], kind="stable")
            h = host[m][order]
            if h.shape[0] == len(s) and np.isfinite(h).any():
                s.host_t = h
    rec.meta["format"] = "dataframe"
    return rec


def angles_frame(
    t: np.ndarray,
    angles: Mapping[str, np.ndarray],
    gaps: Sequence[Gap] = (),
    orientations: Mapping[str, np.ndarray] | None = None,
    bridged: np.ndarray | None = None,
) -> Any:
    """The angle table of an analysis: ``time_s``, one column per angle (degrees, NaN where
    unknown), ``in_gap`` (a sample inside a data gap of any analysed sensor) and ``bridged``
    (the row's angles rest on data interpolated over a short hole: the engine's own flag
    when given, else in a gap with a known primary angle), then ``<sensor>_qw.._qz`` per
    orientation (q_earth_sensor) when given."""
    pd = _pd()
    cols: dict[str, Any] = {"time_s": t}
    cols.update({k: np.asarray(v, dtype=np.float64) for k, v in angles.items()})
    in_gap = np.zeros(t.shape[0], dtype=bool)
    for g in gaps:
        in_gap |= (t > g.start_s) & (t < g.end_s)
    primary = np.asarray(next(iter(angles.values())), dtype=np.float64) if angles else None
    cols["in_gap"] = in_gap
    if bridged is not None and np.shape(bridged) == t.shape:
        cols["bridged"] = np.asarray(bridged, dtype=bool)
    else:
        cols["bridged"] = in_gap & np.isfinite(primary) if primary is not None else in_gap
    for name, q in (orientations or {}).items():
        q = np.asarray(q, dtype=np.float64).reshape(-1, 4)
        for j, c in enumerate("wxyz"):
            cols[f"{name}_q{c}"] = q[:, j]
    return pd.DataFrame(cols)


def reps_frame(reps: Iterable[Any]) -> Any:
    """One row per rep (:data:`REP_COLUMNS`; full precision, ``flags`` as a comma-separated
    lower-case string) from :class:`motiontrack.reps.Rep` objects."""
    return _pd().DataFrame([rep_row(r) for r in reps], columns=list(REP_COLUMNS))


def rep_row(r: Any) -> dict[str, Any]:
    """One row of :func:`reps_frame`: a :class:`motiontrack.reps.Rep` as plain values."""
    d = r.as_dict()
    d["flags"] = ",".join(str(f).lower() for f in d["flags"])
    d["partial"], d["too_fast"] = bool(r.partial), bool(r.too_fast)
    return {c: d[c] for c in REP_COLUMNS}
