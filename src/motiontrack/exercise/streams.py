"""One sensor's stream, written once: input checks, sensor calibration, time base, the one
resampler (a uniform grid at the sensor's nominal rate, short gaps bridged, long gaps left
as gaps), the one gap detector, and streaming fusion.

A gap is a gap: a grid row inside a hole longer than the bridge has NaN samples *and* a NaN
orientation (the filter only holds its state there). Rows inside a shorter hole are
interpolated linearly and flagged ``bridged``.

The filter's start: the first :attr:`SensorStream.START_S` of rows are held back until they
are all there. When the sensor was still through them (:func:`motiontrack.calibration.still_mask`),
their mean gyroscope reading is its offset (bias), taken out of every reading the filter gets
from then on (the rows keep the raw readings), unless it looks like a slow steady turn rather
than an offset (:func:`_steady_is_offset`). Without it the filter integrates the whole
bias until its own rest detection learns it (VQF: after 1.5 s at rest) and carries the tilt
collected meanwhile for several of its accelerometer time constants: with a 2 °/s bias,
0.5-1° of tilt into the first repetition, which no zero taken in the calibration pose can
remove. A session that begins moving is fused as before (offset zero).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import fusion
from ..calibration.still import still_mask
from ..checks import SaturationWatch, TiltAgreementWatch
from ..conventions import GRAVITY
from ..errors import ConfigurationError
from .timebase import HostClock

__all__ = ["GapReport", "Rows", "SensorStream"]

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Rows:
    """Grid rows of one sensor. ``t``: device time, s; ``host``: host time, s; ``q``:
    q_earth_sensor (NaN inside gaps); ``mag`` None without a magnetometer."""

    t: np.ndarray
    host: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray
    mag: np.ndarray | None
    q: np.ndarray
    bridged: np.ndarray

    def __len__(self) -> int:
        return int(self.t.shape[0])


@dataclass(frozen=True, slots=True)
class GapReport:
    """Samples missing from a sensor between ``start_s`` (last sample before) and ``end_s``
    (first sample after), device time; ``bridged`` when short enough to be interpolated."""

    sensor: str
    start_s: float
    end_s: float
    missing: int
    bridged: bool


def lerp_rows(
    t_src: np.ndarray, x: np.ndarray, t_dst: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Linear interpolation of rows ``x`` between the brackets ``lo``/``hi`` of ``t_dst``."""
    w = _weights(t_src, t_dst, lo, hi)
    return x[lo] * (1.0 - w)[:, None] + x[hi] * w[:, None]


def _weights(t_src: np.ndarray, t_dst: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    span = t_src[hi] - t_src[lo]
    return np.where(span > 0, (t_dst - t_src[lo]) / np.where(span > 0, span, 1.0), 0.0)


def nlerp_rows(
    t_src: np.ndarray, q: np.ndarray, t_dst: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Normalised linear interpolation of quaternion rows (shortest arc)."""
    q0, q1 = q[lo], q[hi]
    q1 = np.where((np.sum(q0 * q1, axis=1) < 0)[:, None], -q1, q1)
    w = _weights(t_src, t_dst, lo, hi)
    out = q0 * (1.0 - w)[:, None] + q1 * w[:, None]
    return out / np.linalg.norm(out, axis=1, keepdims=True)


class SensorStream:
    """Samples of one sensor in, fused grid rows out (see the module docstring).

    Parameters
    ----------
    name : str
    fs : float
        Nominal sample rate, Hz: the grid's.
    method : str
        Streaming fusion method (:data:`motiontrack.fusion.FILTERS`).
    use_mag : bool
        9D fusion (the magnetometer is used when the samples carry it).
    calibration : SensorCalibration, optional
        Applied to every sample first.
    bridge_s : float
        Holes up to this long are interpolated, s.
    """

    def __init__(
        self,
        name: str,
        fs: float,
        *,
        method: str = "vqf",
        use_mag: bool = False,
        calibration: Any = None,
        bridge_s: float = 0.25,
    ) -> None:
        if not (isinstance(fs, (int, float)) and math.isfinite(fs) and fs > 0):
            raise ConfigurationError(f"sensor {name!r}: sample rate must be > 0 Hz, got {fs!r}")
        if method not in fusion.FILTERS:
            raise ConfigurationError(
                f"fusion method {method!r} has no streaming filter; choose one of "
                f"{', '.join(sorted(fusion.FILTERS))}"
            )
        self.name = name
        self.fs = float(fs)
        self.method = method
        self.use_mag = use_mag
        self.calibration = calibration
        self.bridge_s = float(bridge_s)
        self.filter = fusion.FILTERS[method](fs=self.fs)
        self.clock = HostClock()
        self._prev: dict[str, Any] | None = None  # last accepted sample (t, host, acc, gyr, mag)
        self._anchor: float | None = None  # device time of grid row 0
        self._k = 0  # index of the next grid row
        self.samples = 0  # accepted samples
        self.dropped_stale = 0  # duplicated or out-of-order samples dropped
        self.invalid = 0  # samples with NaN/inf values (become gaps)
        self.mag_seen = False  # magnetometer samples arrived (9D fusion)
        # clipped at full scale (said once each): floors well above any still or slow reading
        self.clip = {"gyroscope": SaturationWatch(math.radians(60.0)),
                     "accelerometer": SaturationWatch(2.0 * GRAVITY)}
        self.clip_said: set[str] = set()
        # gyroscope and accelerometer disagreeing at rest: one is faulty (said once)
        self.tilt = TiltAgreementWatch(self.fs)
        self.tilt_said = False
        self.gyr_offset: np.ndarray | None = None  # rad/s, taken out before the filter (start)
        self._head: list[dict[str, Any]] = []  # grid rows held back until the offset is known

    # ------------------------------------------------------------------ input
    RESTART_S = 1.0  #: s; a longer hole restarts the orientation filter (:meth:`_fuse`)
    START_S = 1.0  #: s of rows held back at the start to learn the gyroscope's offset

    def feed(
        self,
        t: np.ndarray,
        acc: np.ndarray,
        gyr: np.ndarray,
        mag: np.ndarray | None,
        host: np.ndarray,
    ) -> tuple[Rows | None, list[GapReport]]:
        """A block of samples (device time ``t`` s, SI units, host arrival per sample) ->
        the grid rows it completes and the holes it revealed."""
        t = np.asarray(t, dtype=np.float64).reshape(-1)
        acc = np.asarray(acc, dtype=np.float64).reshape(-1, 3)
        gyr = np.asarray(gyr, dtype=np.float64).reshape(-1, 3)
        mag = (
            None
            if (mag is None or not self.use_mag)
            else np.asarray(mag, dtype=np.float64).reshape(-1, 3)
        )
        host = np.broadcast_to(np.asarray(host, dtype=np.float64), t.shape)
        keep = np.isfinite(t)
        last = self._prev["t"] if self._prev is not None else -math.inf
        # samples must move forward in device time (duplicates, stale packets: dropped)
        fwd = keep & (t > last)
        if fwd.any():
            run = np.maximum.accumulate(np.where(fwd, t, -math.inf))
            fwd &= np.concatenate([[True], t[1:] > run[:-1]])
        self.dropped_stale += int(keep.sum() - fwd.sum())
        good = np.isfinite(acc).all(axis=1) & np.isfinite(gyr).all(axis=1)
        if mag is not None:
            good &= np.isfinite(mag).all(axis=1)
        self.invalid += int((fwd & ~good).sum())
        sel = fwd & good
        if not sel.any():
            return None, []
        t, acc, gyr, host = t[sel], acc[sel], gyr[sel], host[sel]
        mag = mag[sel] if mag is not None else None
        if self.calibration is not None:
            acc, gyr, mag = self.calibration.apply(acc, gyr, mag)
        self.mag_seen |= mag is not None
        self.clip["gyroscope"].update(gyr)
        self.clip["accelerometer"].update(acc)
        self.samples += t.size
        h = self.clock.to_host(t, host.copy())
        return self._grid(t, h, acc, gyr, mag)

    # ------------------------------------------------------------------ resampling
    def _grid(
        self, t: np.ndarray, h: np.ndarray, acc: np.ndarray, gyr: np.ndarray, mag: np.ndarray | None
    ) -> tuple[Rows | None, list[GapReport]]:
        per = 1.0 / self.fs
        p = self._prev
        if p is None:
            self._anchor = float(t[0])
            tt, hh, aa, gg = t, h, acc, gyr
            mm = mag
        else:
            tt = np.concatenate([[p["t"]], t])
            hh = np.concatenate([[p["host"]], h])
            aa = np.vstack([p["acc"], acc])
            gg = np.vstack([p["gyr"], gyr])
            mm = None if mag is None or p["mag"] is None else np.vstack([p["mag"], mag])
        gaps = self._gaps(tt)
        self._prev = {
            "t": float(t[-1]),
            "host": float(h[-1]),
            "acc": acc[-1].copy(),
            "gyr": gyr[-1].copy(),
            "mag": None if mag is None else mag[-1].copy(),
        }
        assert self._anchor is not None
        k_last = math.floor((float(tt[-1]) - self._anchor) * self.fs + 1e-6)
        if k_last < self._k:
            return None, gaps
        k = np.arange(self._k, k_last + 1)
        self._k = int(k_last) + 1
        g = self._anchor + k * per
        hi = np.clip(np.searchsorted(tt, g - 1e-6 * per, side="left"), 0, tt.size - 1)
        lo = np.clip(hi - 1, 0, tt.size - 1)
        exact = np.abs(tt[hi] - g) <= 1e-6 * per
        lo = np.where(exact, hi, lo)
        span = tt[hi] - tt[lo]
        gap = ~exact & (span > self.bridge_s + _EPS)
        bridged = ~exact & ~gap & (span > 1.5 * per)
        host = lerp_rows(tt, hh[:, None], g, lo, hi)[:, 0]
        a = lerp_rows(tt, aa, g, lo, hi)
        w = lerp_rows(tt, gg, g, lo, hi)
        m = lerp_rows(tt, mm, g, lo, hi) if mm is not None else None
        a[gap] = np.nan
        w[gap] = np.nan
        if m is not None:
            m[gap] = np.nan
        raw = {"t": g, "host": host, "acc": a, "gyr": w, "mag": m, "gap": gap,
               "span": tt[hi] - tt[lo], "bridged": bridged}
        if self.gyr_offset is None:  # the start: held back until START_S of rows
            self._head.append(raw)
            if sum(r["t"].size for r in self._head) < round(self.START_S * self.fs):
                return None, gaps
            return self.flush(), gaps
        return self._rows(raw), gaps

    def flush(self) -> Rows | None:
        """The rows held back at the start (None if none): fused now, with the gyroscope's
        offset learnt from them when the sensor was still throughout (else none). The end of
        the data calls it too (a session shorter than :attr:`START_S`)."""
        if self.gyr_offset is not None or not self._head:
            return None
        h = {k: (None if any(r[k] is None for r in self._head) else
                 np.concatenate([r[k] for r in self._head])) for k in self._head[0]}
        self._head = []
        n = min(h["t"].size, round(self.START_S * self.fs))  # its first START_S
        g, a = h["gyr"][:n], h["acc"][:n]
        still = n >= 2 and bool(still_mask(g, a, fs=self.fs).all())
        off = g.mean(axis=0) if still else np.zeros(3)
        self.gyr_offset = off if still and _steady_is_offset(off, a) else np.zeros(3)
        return self._rows(h)

    def _rows(self, r: dict[str, Any]) -> Rows:
        w = r["gyr"] - self.gyr_offset
        q = self._fuse(r["acc"], w, r["mag"], r["gap"], r["span"])
        q[r["gap"]] = np.nan  # the filter held its state there: no orientation is known
        rows = Rows(r["t"], r["host"], r["acc"], r["gyr"], r["mag"], q, r["bridged"])
        self.tilt.update(rows.acc, rows.gyr, rows.q)
        return rows

    def _fuse(
        self, a: np.ndarray, w: np.ndarray, m: np.ndarray | None, gap: np.ndarray, span: np.ndarray
    ) -> np.ndarray:
        """Orientations of grid rows. After a hole longer than :attr:`RESTART_S` the filter
        starts afresh on the first row after it, as at the start of a session: its state from
        before is stale (the segment moved meanwhile) and would take seconds to converge."""
        long = np.flatnonzero(gap & (span > self.RESTART_S))
        cuts = [0] + sorted({int(i) + 1 for i in long if i + 1 < gap.size and not gap[i + 1]})
        cuts.append(gap.size)
        out = []
        for i0, i1 in itertools.pairwise(cuts):
            if i0 > 0:
                self.filter.reset()
            mm = m[i0:i1] if m is not None else None
            out.append(np.asarray(self.filter.update(a[i0:i1], w[i0:i1], mm)).reshape(-1, 4))
        return np.vstack(out).astype(np.float64, copy=True)

    def newly_clipped(self) -> list[tuple[str, float]]:
        """(sensor kind, clipped magnitude in SI units) of what became known to be clipped
        at its full scale since the last call."""
        out = [(k, w.level) for k, w in self.clip.items() if w.clipped and k not in self.clip_said]
        self.clip_said.update(k for k, _ in out)
        return out

    def newly_disagreeing(self) -> bool:
        """The gyroscope and accelerometer became known to disagree since the last call."""
        if self.tilt.disagrees and not self.tilt_said:
            self.tilt_said = True
            return True
        return False

    def _gaps(self, tt: np.ndarray) -> list[GapReport]:
        d = np.diff(tt)
        idx = np.flatnonzero(d > 1.5 / self.fs)
        return [
            GapReport(
                self.name,
                float(tt[i]),
                float(tt[i + 1]),
                max(round(float(d[i]) * self.fs) - 1, 1),
                bool(d[i] <= self.bridge_s + _EPS),
            )
            for i in idx
        ]

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        p = self._prev
        return {
            "prev": None
            if p is None
            else {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in p.items()},
            "anchor": self._anchor,
            "k": self._k,
            "filter": self.filter.state.tolist(),
            "clock": self.clock.state(),
            "counts": [self.samples, self.dropped_stale, self.invalid],
            "mag_seen": self.mag_seen,
            "gyr_offset": None if self.gyr_offset is None else self.gyr_offset.tolist(),
            "head": [{k: (None if v is None else v.tolist()) for k, v in r.items()}
                     for r in self._head],
        }

    def restore(self, d: dict[str, Any]) -> None:
        p = d["prev"]
        self._prev = (
            None
            if p is None
            else {
                k: (np.asarray(v, dtype=np.float64) if isinstance(v, list) else v)
                for k, v in p.items()
            }
        )
        self._anchor = d["anchor"]
        self._k = int(d["k"])
        self.filter.state = np.asarray(d["filter"], dtype=np.float64)
        self.clock = HostClock.from_state(d["clock"])
        self.samples, self.dropped_stale, self.invalid = (int(x) for x in d["counts"])
        self.mag_seen = bool(d["mag_seen"])
        off = d.get("gyr_offset", [0.0, 0.0, 0.0])  # a state from before the offset: none
        self.gyr_offset = None if off is None else np.asarray(off, dtype=np.float64)
        self._head = [{k: (None if v is None else np.asarray(v, dtype=bool if k in
                                                             ("gap", "bridged") else np.float64))
                       for k, v in r.items()} for r in d.get("head", [])]


#: rad/s; the largest steady gyroscope reading taken for an offset at the start: a MEMS
#: gyroscope's zero-rate offset (BMI160: ±3 °/s), VQF's bias clip (5 °/s); a steady reading
#: beyond it is a slow turn, which the still mask (variances) does not see
MAX_START_OFFSET = math.radians(5.0)
#: deg; the accelerometer's direction may turn this much over the start and still be still
#: (a steady 1.5 °/s turn about a horizontal axis turns it by 1.5° in the second)
MAX_START_TILT_DEG = 1.0


def _steady_is_offset(off: np.ndarray, acc: np.ndarray) -> bool:
    """Whether a steady gyroscope reading ``off`` over the start is an offset, not a slow
    turn: within :data:`MAX_START_OFFSET`, and the accelerometer's direction the same at the
    start's beginning and end (its first and last fifths) within :data:`MAX_START_TILT_DEG`."""
    if not float(np.linalg.norm(off)) <= MAX_START_OFFSET:
        return False
    k = max(1, acc.shape[0] // 5)
    u, v = acc[:k].mean(axis=0), acc[-k:].mean(axis=0)
    c = float(u @ v) / max(float(np.linalg.norm(u) * np.linalg.norm(v)), 1e-12)
    return math.degrees(math.acos(min(1.0, max(-1.0, c)))) <= MAX_START_TILT_DEG

