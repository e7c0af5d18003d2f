"""Joint angles and repetitions of a calibrated session, in bounded memory: the angle
estimator, the rep counter, and the refinement of each rep's extremes over its whole
movement cycle (:class:`ExtremesRefiner`), kept incrementally instead of as a whole trace."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ..kinematics import JointAngleEstimator, JointSettings
from ..reps import Rep, RepCounter, RepFlags, RepSettings
from .pairing import Paired
from .posture import quiet_mask, segment_start

__all__ = ["ExtremesRefiner", "JointCounter"]


def close_gaps(mask: np.ndarray, n: int) -> np.ndarray:
    """``mask`` with runs of False shorter than ``n`` samples between Trues set True (a noise
    spike does not end a rest)."""
    out = mask.copy()
    idx = np.flatnonzero(mask)
    if idx.size < 2:
        return out
    d = np.diff(idx)
    for g in np.flatnonzero((d > 1) & (d <= n)):
        out[idx[g] : idx[g + 1]] = True
    return out


class ExtremesRefiner:
    """Per-rep ``min_deg``/``max_deg``/``rom_deg`` over the whole movement cycle.

    A rep counter reports a rep as soon as the angle has come back most of the way
    (``RepSettings.return_frac``), before it has settled at rest, so its extremes miss the last
    degrees of the return. Each rep's extremes are taken again over ``[start - settle_s,
    end + settle_s]``, clipped to the neighbouring reps, from the rest before the movement
    (found walking back from the peak over the hold and the movement, on the "at rest" mask)
    to the rest after it: what a goniometer measures.

    Only the last :attr:`KEEP_S` of the trace are kept: a rep is final once the next rep has
    started or :attr:`HORIZON_S` have passed after it (no later rep can start before then,
    since a rep lasts at most ``RepSettings.max_duration_s`` and holds at most ``max_hold_s``).
    """

    KEEP_S = 90.0
    HORIZON_S = 40.0

    def __init__(self, fs: float, settle_s: float = 1.0) -> None:
        self.fs = fs
        self.settle_s = settle_s
        self.t = np.empty(0)
        self.a = np.empty(0)
        self.quiet = np.zeros(0, dtype=bool)
        self.pending: list[Rep] = []
        self.final: list[Rep] = []
        self._prev_end: float | None = None  # end of the last finalised rep (as counted)

    def add_rows(self, t: np.ndarray, angle: np.ndarray, quiet: np.ndarray) -> None:
        """Rows of the counted angle; then the reps they completed (:meth:`add_rep`), then
        :meth:`trim`."""
        self.t = np.concatenate([self.t, t])
        self.a = np.concatenate([self.a, angle])
        self.quiet = np.concatenate([self.quiet, quiet])

    def trim(self) -> None:
        """Finalise the reps no later rep can clip, and forget what no rep needs any more."""
        if self.t.size == 0:
            return
        while self.pending and self.t[-1] > self.pending[0].end_s + self.settle_s + self.HORIZON_S:
            self._finalize(None)
        cut = self.t[-1] - self.KEEP_S
        if self.pending:
            cut = min(cut, self.pending[0].start_s - self.settle_s - self.HORIZON_S)
        if self.t[0] < cut - 10.0:  # trim in steps: not every block
            k = int(np.searchsorted(self.t, cut))
            self.t, self.a, self.quiet = self.t[k:], self.a[k:], self.quiet[k:]

    def add_rep(self, rep: Rep) -> None:
        if self.pending:
            self._finalize(rep.start_s)
        self.pending.append(rep)

    def finish(self) -> None:
        while self.pending:
            self._finalize(None)

    def reps(self) -> list[Rep]:
        """The reps so far: final ones, and the pending one refined on the data so far."""
        out = list(self.final)
        if self.pending:
            out.append(self._refine(self.pending[0], None))
        return out

    def _finalize(self, next_start: float | None) -> None:
        r = self.pending.pop(0)
        self.final.append(self._refine(r, next_start))
        self._prev_end = r.end_s

    def _refine(self, r: Rep, next_start: float | None) -> Rep:
        t, a = self.t, self.a
        if t.size < 2:
            return r
        quiet = close_gaps(self.quiet, max(1, round(0.15 * self.fs)))
        lo, hi = r.start_s - self.settle_s, r.end_s + self.settle_s
        k = min(int(np.searchsorted(t, r.peak_s)), t.size - 1)
        for state in (True, False):  # back over the hold, then the movement
            while k > 0 and quiet[k - 1] == state:
                k -= 1
        lo = max(lo, float(t[k]) - self.settle_s)
        if self._prev_end is not None:
            lo = max(lo, self._prev_end)
        if next_start is not None:
            hi = min(hi, next_start)
        m = (t >= lo) & (t <= hi) & np.isfinite(a)
        if not m.any():
            return r
        mn, mx = float(a[m].min()), float(a[m].max())
        return dataclasses.replace(r, min_deg=mn, max_deg=mx, rom_deg=mx - mn)

    def state(self) -> dict[str, Any]:
        return {
            "t": self.t.tolist(),
            "a": self.a.tolist(),
            "quiet": self.quiet.astype(int).tolist(),
            "pending": [rep_state(r) for r in self.pending],
            "final": [rep_state(r) for r in self.final],
            "prev_end": self._prev_end,
        }

    def restore(self, d: dict[str, Any]) -> None:
        self.t = np.asarray(d["t"], dtype=np.float64)
        self.a = np.asarray(d["a"], dtype=np.float64)
        self.quiet = np.asarray(d["quiet"], dtype=bool)
        self.pending = [rep_from_state(x) for x in d["pending"]]
        self.final = [rep_from_state(x) for x in d["final"]]
        self._prev_end = d["prev_end"]


def rep_state(r: Rep) -> dict[str, Any]:
    d = {f.name: getattr(r, f.name) for f in dataclasses.fields(r)}
    d["flags"] = int(r.flags)
    return d


def rep_from_state(d: dict[str, Any]) -> Rep:
    return Rep(**{**d, "flags": RepFlags(int(d["flags"]))})


class JointCounter:
    """Calibrated paired rows -> joint angles (deg) and reps of the primary angle."""

    def __init__(
        self,
        calibration: Any,
        *,
        joint: str,
        fs: float,
        side: str,
        mode: str,
        rep_settings: RepSettings,
        count_from_t: float | None,
    ) -> None:
        self.estimator = JointAngleEstimator(
            calibration,
            joint=joint,
            fs=fs,
            side=side,  # type: ignore[arg-type]
            settings=JointSettings(mode=mode),
        )  # type: ignore[arg-type]
        self.names = tuple(self.estimator.names)
        self.fs = fs
        self.rep_settings = rep_settings
        self.count_from_t = count_from_t
        self.counter: RepCounter | None = None
        self.refiner = ExtremesRefiner(fs)
        self.mode = mode
        self.counter_t0 = math.nan
        self.last_primary = math.nan  # last finite primary angle, deg (continuity across blocks)

    def angles(self, p: Paired) -> np.ndarray:
        """Joint angles (deg, columns :attr:`names`) of paired rows, not counted. The primary
        angle is continuous: a turn through ±180° (which only a wrong heading or calibration
        produces) goes on past it instead of jumping by 360°, and is then out of range."""
        mags = (p.mp, p.md) if self.mode == "9d" else (None, None)
        vals = self.estimator.update_batch(
            p.qp, p.qd, *mags, gyr_proximal=p.gp, gyr_distal=p.gd, acc_proximal=p.ap, acc_distal=p.ad
        ).values_deg
        x = vals[:, 0]
        ok = np.flatnonzero(np.isfinite(x))
        if ok.size:
            seq = (
                np.concatenate([[self.last_primary], x[ok]])
                if math.isfinite(self.last_primary)
                else x[ok]
            )
            u = np.unwrap(seq, period=360.0)
            x[ok] = u[-ok.size :]
            self.last_primary = float(u[-1])
        return vals

    def start_counter(self, t0: float) -> None:
        self.counter_t0 = t0
        self.counter = RepCounter(fs=self.fs, settings=self.rep_settings, mode="angle", t0=t0)

    def update(self, p: Paired) -> tuple[np.ndarray, list[Rep]]:
        vals = self.angles(p)
        primary = vals[:, 0]
        k0 = 0
        if self.counter is None:
            if self.count_from_t is not None:
                k0 = int(np.searchsorted(p.t, self.count_from_t - 1e-9))
            if k0 >= p.t.size:
                return vals, []
            self.start_counter(float(p.t[k0]))
        assert self.counter is not None
        self.refiner.add_rows(p.t[k0:], primary[k0:], quiet_mask(p.gp[k0:], p.gd[k0:]))
        reps = self.counter.update(primary[k0:])
        for r in reps:
            self.refiner.add_rep(r)
        self.refiner.trim()
        return vals, reps

    def flush(self) -> list[Rep]:
        reps = self.counter.flush() if self.counter is not None else []
        for r in reps:
            self.refiner.add_rep(r)
        return reps

    @property
    def mid_rep(self) -> bool:
        return self.counter is not None and self.counter.diagnostics.phase in ("out", "back")


class SegmentCounter:
    """One sensor: where counting starts (:func:`.posture.segment_start`, judged at fixed
    session times every :attr:`CHECK_S`, so live and offline decide on the same data), then
    reps of the dominant rotation (``RepCounter`` in IMU mode)."""

    CHECK_S = 0.5
    KEEP_S = 90.0  # s of rows kept at most while the start is undecided

    def __init__(
        self, *, fs: float, rep_settings: RepSettings, still_s: float, protocol: bool
    ) -> None:
        self.fs = fs
        self.rep_settings = rep_settings
        self.still_s = still_s
        self.counter: RepCounter | None = None
        self.count_from_t: float | None = None
        self._hist: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = (
            [] if protocol else None
        )
        self._next_check: float | None = None
        self.dropped: list[np.ndarray] = []  # times of rows given up while deciding (no angle)
        self.counter_t0 = math.nan

    def state(self) -> dict[str, Any]:
        """The rep counter (IMU mode: its learnt axis too) once counting (:mod:`.snapshot`)."""
        c = self.counter
        return {"count_from_t": self.count_from_t, "t0": self.counter_t0,
                "counter": None if c is None else c.state.tolist()}

    def restore(self, d: dict[str, Any]) -> None:
        self._hist, self.count_from_t = None, d["count_from_t"]
        if d["counter"] is not None:
            self.counter_t0 = float(d["t0"])
            self.counter = RepCounter(fs=self.fs, settings=self.rep_settings, mode="imu",
                                      t0=self.counter_t0)
            self.counter.state = np.asarray(d["counter"], dtype=np.float64)

    @property
    def deciding(self) -> bool:
        return self._hist is not None

    def update(
        self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, list[Rep]]:
        """Rows in -> (times, counted signal in deg (NaN before counting starts), reps).
        While undecided the rows are held and ``times`` is empty."""
        if self._hist is not None:
            self._hist.append((t, acc, gyr))
            if self._next_check is None:
                self._next_check = float(t[0]) + self.CHECK_S
            k0 = self._decide()
            if k0 is None:
                return np.empty(0), np.empty(0), []
            tt, aa, gg = (np.concatenate([h[i] for h in self._hist]) for i in range(3))
            self._hist = None
            if k0 > 0:
                self.count_from_t = float(tt[k0])
            head = np.full(k0, np.nan)
            times, sig, reps = self._count(tt[k0:], aa[k0:], gg[k0:])
            return np.concatenate([tt[:k0], times]), np.concatenate([head, sig]), reps
        return self._count(t, acc, gyr)

    def _decide(self) -> int | None:
        assert self._hist is not None and self._next_check is not None
        tt = np.concatenate([h[0] for h in self._hist])
        if tt[-1] - tt[0] > self.KEEP_S:  # still standing for minutes: keep its last 10 s
            k = int(np.searchsorted(tt, tt[-1] - 10.0))
            self.dropped.append(tt[:k])
            self._hist = [
                tuple(
                    np.concatenate([h[i] for h in self._hist])[k:]
                    if i == 0
                    else np.vstack([h[i] for h in self._hist])[k:]
                    for i in range(3)
                )
            ]
            tt = tt[k:]
        while tt[-1] >= self._next_check:
            n = int(np.searchsorted(tt, self._next_check, side="right"))
            aa = np.vstack([h[1] for h in self._hist])[:n]
            gg = np.vstack([h[2] for h in self._hist])[:n]
            self._next_check += self.CHECK_S
            k0 = segment_start(aa, gg, self.fs, self.still_s)
            if k0 is not None:
                return k0
        return None

    def finish(self) -> tuple[np.ndarray, np.ndarray, list[Rep]]:
        """End of data: an undecided start counts from the start."""
        out: tuple[np.ndarray, np.ndarray, list[Rep]] = (np.empty(0), np.empty(0), [])
        if self._hist:
            tt, aa, gg = (np.concatenate([h[i] for h in self._hist]) for i in range(3))
            self._hist = None
            out = self._count(tt, aa, gg)
        self._hist = None
        reps = self.counter.flush() if self.counter is not None else []
        return out[0], out[1], out[2] + reps

    def _count(
        self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, list[Rep]]:
        if t.size == 0:
            return t, np.empty(0), []
        if self.counter is None:
            self.counter_t0 = float(t[0])
            self.counter = RepCounter(
                fs=self.fs, settings=self.rep_settings, mode="imu", t0=self.counter_t0
            )
        reps, signal = self.counter.update(gyr, acc, return_signal=True)
        return t, np.asarray(signal), list(reps)

    @property
    def mid_rep(self) -> bool:
        return self.counter is not None and self.counter.diagnostics.phase in ("out", "back")
