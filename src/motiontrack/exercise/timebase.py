"""The time base of a session, written once: device time -> host time, per sensor.

Every sensor stamps its samples with its own clock (unwrapped device time, s; done by the
transport or the recording reader). Samples of several sensors are put on one time axis
through the host clock they arrive on: each block of samples gives one pair (device time of
its last sample, host arrival time), and :class:`motiontrack.protocol.clock.ClockSync` fits
offset and drift to the lower envelope of these pairs (SPEC §10.3).

The fit is refreshed at fixed points of the sensor's *own device time* (every
``REFIT_EARLY_S`` during the first ``EARLY_S``, then every ``REFIT_S``), from the pairs seen up
to that point, so the mapping of every sample is a function of that sensor's data alone:
the same live, in a replay and offline, however the blocks are cut or interleaved.

The mapping is continuous and never goes back in host time. A refit moves the fitted line
(by the latency floor's jitter: milliseconds, more on a loaded host or in a fast simulation);
instead of stepping there, the mapping runs linearly from where the last sample was mapped to
the new line over one refresh period (a slew; longer for a large step back, so that host time
keeps moving forward at half the line's rate at least), and a mapped host time is never
earlier than the one before. A step back would break the pairing of two sensors, which looks the partner
up by host time and pops the reference rows its data cover: rows on either side of a step
back came out with no partner data, a one-row hole in the angle that cut the rep under way.

Session time is the reference sensor's device time (for a CSV file: its time column).
Without host arrival times (CSV files, recordings without them) all sensors are taken to
share one clock and the mapping is the identity.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ..protocol.clock import ClockSync, ClockSyncSettings

__all__ = ["HostClock"]

EARLY_S = 20.0  # s of device time during which the fit is refreshed often
REFIT_EARLY_S = 1.0  # s; refresh period then
REFIT_S = 5.0  # s; refresh period afterwards
# A 20 s window: the lowest arrival of each 0.5 s bin carries the clock to well under a
# millisecond, and a rate that changes (a simulation run at a varying speed, a crystal warming
# up) is followed within seconds; the drift term only extrapolates over one refresh period.
_SYNC = ClockSyncSettings(bin_s=0.5, window_s=20.0, min_span_s=1.0)


class HostClock:
    """Device time -> host time of one sensor (identity when the source has no host clock)."""

    def __init__(self) -> None:
        self._sync = ClockSync(_SYNC)
        self._fit: tuple[float, float, float] | None = None  # (device_ref_s, host_ref_s, rate)
        self._next_refit = -math.inf
        self._t0: float | None = None  # device time of the first sample
        self._pending: list[tuple[float, float]] = []
        self.shared = True  # no host times seen: the identity
        self._last: tuple[float, float] | None = None  # (device s, host s) of the last mapping
        self._slew: tuple[float, float, float] | None = None  # (from device s, offset s, span s)

    @property
    def fit(self) -> tuple[float, float, float] | None:
        """(device reference s, host reference s, host s per device s); None before the first
        fit or without host times."""
        return None if self.shared else self._fit

    @property
    def t0(self) -> float | None:
        """Device time of the first sample, s."""
        return self._t0

    def to_host(self, t: np.ndarray, host: np.ndarray) -> np.ndarray:
        """Host times of samples at device times ``t`` (s) that arrived at ``host`` (s, per
        sample; NaN: no host clock). Blocks are the runs of equal arrival time."""
        if t.size == 0:
            return t.copy()
        if self._t0 is None:
            self._t0 = float(t[0])
        if not np.isfinite(host).any():
            return t.copy()
        self.shared = False
        cuts = np.flatnonzero(np.diff(host) != 0) + 1
        edges = np.concatenate([[0], cuts, [t.size]])
        out = np.empty_like(t)
        for a, b in itertools.pairwise(edges):
            last, arrival = float(t[b - 1]), float(host[b - 1])
            if math.isfinite(arrival):
                self._pending.append((last, arrival))
            if last >= self._next_refit and self._pending:
                self._refit(last)
            out[a:b] = self._map(t[a:b], last, arrival)
        return out

    def _refit(self, last: float) -> None:
        dev, host = zip(*self._pending)
        self._pending.clear()
        self._sync.update(np.asarray(dev) * 1e6, np.asarray(host))
        est = self._sync.estimate()
        early = last - (self._t0 or 0.0) < EARLY_S
        period = REFIT_EARLY_S if early else REFIT_S
        self._next_refit = last + period
        if est is None:
            return
        self._fit = (est.device_ref_us * 1e-6, est.host_ref_s, est.rate)
        if self._last is not None:  # slew from the last mapped sample onto the new line
            t_a, h_a = self._last
            off = float(h_a - self._line(np.asarray([t_a]))[0])
            # back in time (the new line is earlier): slowly enough to keep at least half the
            # line's rate (a first fit of a fast simulation moves by most of a second)
            span = max(period, 2.0 * off / est.rate) if est.rate > 0 else period
            self._slew = (t_a, off, span)

    def _line(self, t: np.ndarray) -> np.ndarray:
        assert self._fit is not None
        d0, h0, rate = self._fit
        return h0 + (t - d0) * rate

    def _map(self, t: np.ndarray, last: float, arrival: float) -> np.ndarray:
        if self._fit is None:  # before the first fit: this block's own arrival
            h = arrival + (t - last)
        else:
            h = self._line(t)
            if self._slew is not None:
                t_a, off, span = self._slew
                h = h + off * np.clip(1.0 - (t - t_a) / span, 0.0, 1.0)
        # never back in host time (a slew steeper than the line, blocks mapped on their own
        # arrivals before the first fit): such samples share the previous host time
        floor = self._last[1] if self._last is not None else -math.inf
        h = np.maximum.accumulate(np.maximum(h, floor))
        self._last = (float(t[-1]), float(h[-1]))
        return h

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        """JSON-ready state (see :meth:`motiontrack.exercise.ExerciseEngine.snapshot`)."""
        return {
            "fit": self._fit,
            "next_refit": self._next_refit if math.isfinite(self._next_refit) else None,
            "t0": self._t0,
            "pending": self._pending,
            "shared": self.shared,
            "sync": self._sync.state,
            "last": self._last,
            "slew": self._slew,
        }

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> HostClock:
        c = cls()
        c._fit = tuple(d["fit"]) if d["fit"] is not None else None  # type: ignore[assignment]
        c._next_refit = -math.inf if d["next_refit"] is None else float(d["next_refit"])
        c._t0 = d["t0"]
        c._pending = [tuple(p) for p in d["pending"]]  # type: ignore[misc]
        c.shared = bool(d["shared"])
        c._sync.state = d["sync"]
        last, slew = d.get("last"), d.get("slew")  # (absent from older snapshots: none)
        c._last = None if last is None else (float(last[0]), float(last[1]))
        c._slew = None if slew is None else (float(slew[0]), float(slew[1]), float(slew[2]))
        return c
