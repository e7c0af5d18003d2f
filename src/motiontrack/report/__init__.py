"""Self-contained HTML reports: what a therapist reads, on a phone, a desktop or paper.

One HTML file, no external assets and no scripts (inline SVG and CSS):

- the **session report** (:func:`write_report`): date, side, joint, exercise and target; the
  joint angle over time with the reps, the interrupted reps and the data gaps (no trace
  where no angle is known); ROM per rep; the rep table (cards on a phone); data quality;
  a legend in plain words;
- the **progress report** (:func:`write_progress`): several sessions in time order, their
  ROM, repetitions and quality.

Every number shown is a value of :meth:`motiontrack.analysis.AnalysisResult.to_dict` (the
JSON of ``motiontrack analyze --json``). Charts are drawn once per width band so their text
stays 11-16 px from a 360 px phone to a desktop; print uses one of them. Files are written
owner-only (health data). The live page of a running session is :mod:`motiontrack.report.live`.

>>> from motiontrack.analysis import process_recording
>>> from motiontrack.report import write_report, write_progress
>>> write_report("report.html", process_recording("set1.mtrec"))  # doctest: +SKIP
>>> write_progress("progress.html", [(process_recording(p), None) for p in paths])  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..recording._files import open_private
from ._page import FLAG_TEXT, SessionInfo
from ._progress import render_progress
from ._session import render_session
from .targets import DEFAULT_TARGET_DEG, TargetZone, target_zone

__all__ = [
    "DEFAULT_TARGET_DEG",
    "FLAG_TEXT",
    "SessionInfo",
    "TargetZone",
    "render_progress",
    "render_report",
    "target_zone",
    "write_progress",
    "write_report",
]


def render_report(
    result: Any,
    *,
    title: str | None = None,
    info: SessionInfo | None = None,
    target_deg: float | None = None,
) -> str:
    """HTML text of the report of an :class:`~motiontrack.analysis.AnalysisResult`.

    Parameters
    ----------
    result : AnalysisResult
    title : str, optional
    info : SessionInfo, optional
        Date and side (:meth:`SessionInfo.of` reads them from a recording).
    target_deg : float, optional
        Prescribed angle to reach at each rep's turning point, deg (default: the
        exercise's default goal, :data:`DEFAULT_TARGET_DEG`, if it has one).
    """
    return render_session(result, title=title, info=info, target_deg=target_deg)


def _write(path: str | os.PathLike[str], text: str) -> None:
    with open_private(path, "wb") as f:  # owner-only (0600): health data
        f.write(text.encode("utf-8"))


def write_report(
    path: str | os.PathLike[str],
    result: Any,
    *,
    title: str | None = None,
    info: SessionInfo | None = None,
    target_deg: float | None = None,
) -> None:
    """Write :func:`render_report` to ``path`` (owner-only permissions: health data)."""
    _write(path, render_report(result, title=title, info=info, target_deg=target_deg))


def write_progress(
    path: str | os.PathLike[str],
    sessions: Sequence[tuple[Any, SessionInfo | None]],
    *,
    title: str | None = None,
    target_deg: float | None = None,
) -> None:
    """Write :func:`render_progress` of (AnalysisResult, SessionInfo) pairs to ``path``
    (owner-only permissions)."""
    _write(path, render_progress(sessions, title=title, target_deg=target_deg))
