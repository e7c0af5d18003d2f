"""Set and session summaries: the numbers a care team reads."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ._counter import Rep


def _stats(values: Sequence[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0


def _cv(mean: float, sd: float) -> float:
    return sd / mean if mean > 0 and math.isfinite(sd) else math.nan


@dataclass(frozen=True, slots=True)
class SetSummary:
    """Summary of one set of repetitions (durations in s, angles in degrees).

    ``tempo_cv`` is the coefficient of variation of the rep durations and ``cadence_cv``
    that of the start-to-start intervals: 0 is perfectly regular; above ~0.25 is uneven.
    """

    set_index: int
    n_reps: int
    n_partial: int
    n_too_fast: int
    n_too_slow: int
    start_s: float
    end_s: float
    rom_mean_deg: float
    rom_sd_deg: float
    rom_median_deg: float
    rom_min_deg: float
    rom_max_deg: float
    min_angle_deg: float  #: smallest angle reached in the set
    max_angle_deg: float  #: largest angle reached in the set
    duration_mean_s: float
    duration_sd_s: float
    tempo_cv: float
    cadence_mean_s: float  #: mean time from one rep's start to the next
    cadence_cv: float
    hold_mean_s: float
    reps_per_min: float

    def as_dict(self) -> dict[str, float | int]:
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]


def summarize(reps: Iterable[Rep], *, set_index: int | None = None) -> SetSummary:
    """Summarise reps as one set (all of them, whatever their ``set_index``)."""
    reps = sorted(reps, key=lambda r: r.start_s)
    roms = [r.rom_deg for r in reps]
    durs = [r.duration_s for r in reps]
    rom_mean, rom_sd = _stats(roms)
    dur_mean, dur_sd = _stats(durs)
    starts = [r.start_s for r in reps]
    intervals = list(np.diff(starts)) if len(starts) > 1 else []
    cad_mean, cad_sd = _stats(intervals)
    span = (reps[-1].end_s - reps[0].start_s) if reps else 0.0
    return SetSummary(
        set_index=set_index if set_index is not None else (reps[0].set_index if reps else 0),
        n_reps=len(reps),
        n_partial=sum(r.partial for r in reps),
        n_too_fast=sum(r.too_fast for r in reps),
        n_too_slow=sum(r.too_slow for r in reps),
        start_s=reps[0].start_s if reps else math.nan,
        end_s=reps[-1].end_s if reps else math.nan,
        rom_mean_deg=rom_mean,
        rom_sd_deg=rom_sd,
        rom_median_deg=float(np.median(roms)) if roms else math.nan,
        rom_min_deg=min(roms) if roms else math.nan,
        rom_max_deg=max(roms) if roms else math.nan,
        min_angle_deg=min(r.min_deg for r in reps) if reps else math.nan,
        max_angle_deg=max(r.max_deg for r in reps) if reps else math.nan,
        duration_mean_s=dur_mean,
        duration_sd_s=dur_sd,
        tempo_cv=_cv(dur_mean, dur_sd),
        cadence_mean_s=cad_mean,
        cadence_cv=_cv(cad_mean, cad_sd),
        hold_mean_s=_stats([r.hold_s for r in reps])[0],
        reps_per_min=60.0 * len(reps) / span if span > 0 else math.nan,
    )


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """A session: its sets (split where the counter saw a pause at rest) and the total."""

    sets: list[SetSummary]
    total: SetSummary


def summarize_session(reps: Iterable[Rep]) -> SessionSummary:
    """Summarise a session per set (``Rep.set_index``) and overall."""
    reps = list(reps)
    by_set: dict[int, list[Rep]] = {}
    for r in reps:
        by_set.setdefault(r.set_index, []).append(r)
    sets = [summarize(v, set_index=k) for k, v in sorted(by_set.items())]
    return SessionSummary(sets=sets, total=summarize(reps, set_index=-1))
