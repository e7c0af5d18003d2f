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
        if est is not None:
            self._fit = (est.device_ref_us * 1e-6, est.host_ref_s, est.rate)
        early = last - (self._t0 or 0.0) < EARLY_S
        self._next_refit = last + (REFIT_EARLY_S if early else REFIT_S)

    def _map(self, t: np.ndarray, last: float, arrival: float) -> np.ndarray:
        if self._fit is None:  # before the first fit: this block's own arrival
            return arrival + (t - last)
        d0, h0, rate = self._fit
        return h0 + (t - d0) * rate

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
        return c
