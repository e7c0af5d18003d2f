"""Many recordings in parallel on Dask (``motiontrack batch``, :func:`analyze_many`).

>>> import motiontrack as mt
>>> recs, reps = mt.analyze_many(["a.mtrec", "b.csv"], out="results.parquet")  # doctest: +SKIP

Each recording is analysed by :func:`motiontrack.analyze` (the one engine; nothing is
computed a second way) in a Dask worker: a local cluster of ``workers`` processes on
127.0.0.1 by default, or any cluster given as a ``distributed.Client`` or a scheduler
address (``tcp://HOST:8786``: ``dask scheduler`` on one machine, ``dask worker tcp://HOST:8786``
on each of the others, the recordings on storage every worker reads at the same path).

Output: two Parquet tables, owner-only (0600)
----------------------------------------------
``OUT`` (e.g. ``results.parquet``), one row per recording (:data:`RECORDING_COLUMNS`):
``path``, ``sha256`` (of the file's bytes), ``options`` (the analysis options as JSON),
``status`` (``"ok"`` or ``"error"``), ``error_type`` and ``error`` (the exception's class
and message, empty when ok), then the analysis: joint, segment, sensors, exercise,
``fs_hz``, ``duration_s``, ``rep_count``, ``rom_min_deg``/``rom_max_deg``/``rom_deg``
(:meth:`AnalysisResult.rom`), ``gap_count``, ``missing_samples``, ``warnings`` (joined by
newlines), ``fusion_method``, ``elapsed_s`` (worker time) and ``motiontrack_version``.

``OUT`` with ``.reps.parquet`` for ``.parquet`` (e.g. ``results.reps.parquet``), one row per
rep (:data:`REP_TABLE_COLUMNS`): ``path``, ``sha256``, ``options``, then
:data:`motiontrack.io.tables.REP_COLUMNS` (times in s, angles in degrees). Join the tables
on (``sha256``, ``options``).

Resuming: a recording whose ``sha256`` and ``options`` already have an ``ok`` row in ``OUT``
is skipped (renamed or moved files are recognised by content); failed ones are tried again
and their rows replaced. The tables are rewritten (atomically) every ``flush_s`` seconds, so
an interrupted batch keeps what it finished. A recording that fails (unreadable, corrupt,
too short, no calibration, ...) gets its error in its row and never stops the batch.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import _progress
from ._optional import require
from ._version import __version__
from .analysis import AnalysisSettings, process_recording
from .io.tables import REP_COLUMNS, rep_row
from .recording._files import open_private
from .template_analysis import analyze_templates

__all__ = ["RECORDING_COLUMNS", "REP_TABLE_COLUMNS", "analyze_many", "local_cluster", "reps_path"]

#: Columns of the per-recording table, in order.
RECORDING_COLUMNS = (
    "path", "sha256", "options", "status", "error_type", "error", "joint", "segment", "sensors",
    "exercise", "fs_hz", "duration_s", "rep_count", "rom_min_deg", "rom_max_deg", "rom_deg",
    "gap_count", "missing_samples", "warnings", "fusion_method", "elapsed_s",
    "motiontrack_version",
)
#: Columns of the rep table, in order (the last four: reps found by templates, else empty).
REP_TABLE_COLUMNS = ("path", "sha256", "options", *REP_COLUMNS, "label", "score",
                     "duration_ratio", "amplitude_ratio")
#: Options :func:`analyze_many` passes to :func:`motiontrack.analyze` (JSON values only, so
#: that they are recorded in the table and compared on resume).
OPTION_NAMES = ("joint", "proximal", "distal", "segment", "exercise", "fusion_method", "pose",
                "pose_flexion_deg", "side", "templates")
_HASH_CHUNK = 1 << 20


def reps_path(out: str | os.PathLike[str]) -> Path:
    """The rep table beside ``out``: ``results.parquet`` -> ``results.reps.parquet``."""
    p = Path(out)
    stem = p.name[: -len(".parquet")] if p.name.endswith(".parquet") else p.name
    return p.with_name(stem + ".reps.parquet")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (hex); ``""`` when it cannot be read (the worker reports why)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_HASH_CHUNK):
                h.update(chunk)
    except OSError:
        return ""
    return h.hexdigest()


def analyze_one(path: str, sha256: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Analyse one recording (what a worker runs): ``{"recording": row, "reps": [rows]}``;
    any failure becomes an ``error`` row."""
    t0 = time.perf_counter()
    row: dict[str, Any] = dict.fromkeys(RECORDING_COLUMNS)
    row.update(path=path, sha256=sha256, options=_options_key(options),
               motiontrack_version=__version__, error_type="", error="")
    reps: list[dict[str, Any]] = []
    try:
        if options.get("templates"):
            found = analyze_templates(path, options["templates"])
        else:
            res = process_recording(path, **_analysis_kwargs(options))
    except Exception as exc:  # noqa: BLE001 - every failure is reported in its row
        row.update(status="error", error_type=type(exc).__name__, error=str(exc) or repr(exc))
    else:
        if options.get("templates"):
            row.update(status="ok", sensors=",".join(found.sensors), fs_hz=float(found.fs_hz),
                       duration_s=found.duration_s, rep_count=found.rep_count,
                       warnings="\n".join(found.warnings))
            reps = [{"path": path, "sha256": sha256, "options": row["options"],
                     **_template_rep_row(r)} for r in found.reps]
            row["elapsed_s"] = time.perf_counter() - t0
            return {"recording": row, "reps": reps}
        rom = res.rom()
        row.update(
            status="ok", joint=res.joint, segment=res.sensors[0] if res.joint is None else None,
            sensors=",".join(res.sensors), exercise=res.exercise, fs_hz=float(res.fs_hz),
            duration_s=res.duration_s, rep_count=res.rep_count, rom_min_deg=rom["min_deg"],
            rom_max_deg=rom["max_deg"], rom_deg=rom["rom_deg"], gap_count=len(res.gaps),
            missing_samples=int(sum(g.missing for g in res.gaps)),
            warnings="\n".join(res.warnings), fusion_method=res.fusion_method,
        )
        reps = [{"path": path, "sha256": sha256, "options": row["options"], **rep_row(r)}
                for r in res.reps]
    row["elapsed_s"] = time.perf_counter() - t0
    return {"recording": row, "reps": reps}


def analyze_many(
    paths: Iterable[str | os.PathLike[str]],
    client: Any = None,
    *,
    out: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    quiet: bool = False,
    flush_s: float = 30.0,
    **options: Any,
) -> tuple[Any, Any]:
    """Analyse many recordings in parallel on Dask; returns the two tables (module docstring)
    as pandas DataFrames.

    Parameters
    ----------
    paths : iterable of paths
        ``.mtrec`` or CSV recordings (duplicates by content are analysed once).
    client : distributed.Client, optional
        A running cluster's client. Default: ``scheduler`` if given, else a local cluster of
        ``workers`` processes (default 2, one thread each) on 127.0.0.1, closed at the end.
    out : path, optional
        The recording table (``.parquet``); the rep table goes beside it (:func:`reps_path`).
        When the file exists the batch resumes: done recordings are skipped.
    quiet : bool
        No progress bar (``--json``).
    flush_s : float
        Seconds between rewrites of the tables while the batch runs.
    **options
        For :func:`motiontrack.analyze`: :data:`OPTION_NAMES`; ``templates`` (a list of
        template JSON paths, readable by the workers) counts reps by example instead
        (:func:`motiontrack.template_analysis.analyze_templates`).

    Raises
    ------
    MissingDependencyError
        Dask, pandas or pyarrow is not installed (``pip install "motiontrack[batch]"``).
    """
    pd = require("pandas", "batch")
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise TypeError(f"analyze_many got unknown option(s) {', '.join(unknown)}")
    opts = {k: v for k, v in options.items() if v is not None}
    key = _options_key(opts)
    old_recs, old_reps = _read_tables(out) if out is not None else (_empty(RECORDING_COLUMNS),
                                                                     _empty(REP_TABLE_COLUMNS))
    done = set(old_recs.loc[(old_recs["status"] == "ok") & (old_recs["options"] == key), "sha256"])
    todo: dict[str, str] = {}
    for p in paths:
        sha = file_sha256(p)
        if sha and sha in done:
            continue
        todo.setdefault(sha or f"unreadable:{p}", str(p))
    redo = old_recs["sha256"].isin(set(todo)) & (old_recs["options"] == key)
    keep_recs = old_recs[~redo]
    gone = set(old_recs.loc[redo, "sha256"])
    keep_reps = old_reps[~(old_reps["sha256"].isin(gone) & (old_reps["options"] == key))]
    results: list[dict[str, Any]] = []
    dist = require("distributed", "batch")
    own = None
    if client is None and todo:
        own = _start_client(dist, workers, scheduler)
        client = own
    try:
        futures = [client.submit(analyze_one, p, sha if not sha.startswith("unreadable:") else "",
                                 opts, key=f"motiontrack-{sha[:16]}-{i}", pure=False)
                   for i, (sha, p) in enumerate(todo.items())]
        last = time.monotonic()
        with _progress.progress(total=len(futures), desc="batch", unit="rec", quiet=quiet) as bar:
            for fut in dist.as_completed(futures):
                results.append(fut.result())
                fut.release()
                bar.update(1)
                if out is not None and time.monotonic() - last > flush_s:
                    _write_tables(out, *_tables(pd, keep_recs, keep_reps, results))
                    last = time.monotonic()
    finally:
        if own is not None:
            _close_client(own)
    recs, reps = _tables(pd, keep_recs, keep_reps, results)
    if out is not None:
        _write_tables(out, recs, reps)
    return recs, reps


def _template_rep_row(r: Any) -> dict[str, Any]:
    """A rep found by a template (:class:`motiontrack.reps.TemplateRep`) as a rep-table row:
    its times, label, score and ratios; no angles (a template matches features, not a joint
    angle)."""
    flags = [n for n in ("low_amplitude", "too_fast", "too_slow") if getattr(r, n)]
    return {"index": r.index, "start_s": r.start_s, "peak_s": r.peak_s, "end_s": r.end_s,
            "duration_s": r.duration_s, "hold_s": r.hold_s, "emitted_s": r.emitted_s,
            "flags": ",".join(flags), "too_fast": bool(r.too_fast), "label": r.label,
            "score": r.score, "duration_ratio": r.duration_ratio,
            "amplitude_ratio": r.amplitude_ratio}


def _analysis_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`motiontrack.analyze` keywords from the batch options (settings gathered)."""
    kw = {k: options[k] for k in ("joint", "proximal", "distal", "segment", "exercise")
          if options.get(k) is not None}
    st = {k: options[k] for k in ("fusion_method", "pose", "pose_flexion_deg", "side")
          if options.get(k) is not None}
    if st:
        kw["settings"] = AnalysisSettings(**st)
    return kw


def _options_key(options: Mapping[str, Any]) -> str:
    return json.dumps({k: options[k] for k in sorted(options) if options[k] is not None},
                      sort_keys=True)


def _empty(columns: Sequence[str]) -> Any:
    pd = require("pandas", "batch")
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _tables(
    pd: Any, keep_recs: Any, keep_reps: Any, results: list[dict[str, Any]]
) -> tuple[Any, Any]:
    new_recs = pd.DataFrame([r["recording"] for r in results], columns=list(RECORDING_COLUMNS))
    new_reps = pd.DataFrame([x for r in results for x in r["reps"]],
                            columns=list(REP_TABLE_COLUMNS))
    recs = pd.concat([df for df in (keep_recs, new_recs) if len(df)], ignore_index=True) \
        if len(keep_recs) or len(new_recs) else new_recs
    reps = pd.concat([df for df in (keep_reps, new_reps) if len(df)], ignore_index=True) \
        if len(keep_reps) or len(new_reps) else new_reps
    recs = recs.sort_values("path", kind="stable").reset_index(drop=True)
    reps = reps.sort_values(["path", "index"], kind="stable").reset_index(drop=True)
    return recs.astype({c: "string" for c in ("path", "sha256", "options", "status",
                                                 "error_type", "error")}), reps


def _read_tables(out: str | os.PathLike[str]) -> tuple[Any, Any]:
    pd = require("pandas", "batch")
    p, pr = Path(out), reps_path(out)
    recs = pd.read_parquet(p) if p.exists() else _empty(RECORDING_COLUMNS)
    reps = pd.read_parquet(pr) if pr.exists() else _empty(REP_TABLE_COLUMNS)
    return recs, reps


def _write_tables(out: str | os.PathLike[str], recs: Any, reps: Any) -> None:
    """Both tables, each written to a temporary owner-only file then renamed over the old."""
    for df, path in ((recs, Path(out)), (reps, reps_path(out))):
        tmp = path.with_name(path.name + ".tmp")
        with open_private(tmp, "wb") as f:
            df.to_parquet(f, index=False)
        os.replace(tmp, path)


def _start_client(dist: Any, workers: int | None, scheduler: str | None) -> Any:
    if scheduler:
        return dist.Client(scheduler)
    return dist.Client(local_cluster(workers or 2))


def local_cluster(workers: int = 2) -> Any:
    """A ``distributed.LocalCluster`` of ``workers`` single-threaded processes, every server
    on 127.0.0.1 (the scheduler's HTTP endpoint on a free port, no dashboard)."""
    dist = require("distributed", "batch")
    return dist.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False},
        worker_dashboard_address=None, silence_logs=40,
    )


def _close_client(client: Any) -> None:
    cluster = client.cluster
    client.close()
    if cluster is not None:
        cluster.close()
