"""Device clock -> host clock: offset and drift from the data stream (SPEC §10.3).

Every notification gives a pair (device time of a sample, host arrival time). Arrival
is *later* than acquisition by a positive, jittery latency: the wait for the next BLE
connection event (0 .. one connection interval), the host stack, OS scheduling spikes.
So ``d = host - device`` lies *above* a line whose slope is the relative rate error of the
two clocks, and only its lower envelope carries the clock (Moon, Skelly & Towsley,
"Estimation and removal of clock skew from network delay measurements", IEEE INFOCOM
1999, DOI 10.1109/INFCOM.1999.752180).

Estimator (:class:`ClockSync`): device time is cut into ``bin_s`` slices and only the
lowest ``d`` of each slice is kept (this discards queueing delay and OS spikes); the slope
through these minima is the weighted median of all pairwise slopes, weights ``dx**2``
(Theil-Sen, Sen 1968, DOI 10.1080/01621459.1968.10480934, weighted so that distant pairs,
whose slopes are precise, dominate). Unlike the single support line of the lower convex
hull (the LP of Moon et al.), which hangs on the two luckiest packets, it averages the
floor noise left by the connection-interval wait; unlike least squares it ignores bins
hit by a stall. The offset is the 10th percentile of the minima's residuals, so it
contains a near-minimum latency, common to sensors on the same radio.

Limitation: if the IMU's sample clock is locked to the BLE connection interval (same
crystal, commensurate periods) the connection-event wait drifts *with* the clock and the
60 s estimate is biased toward 0 ppm; windows must then cover the beat period
(interval gcd / drift), or TIME_SYNC must be used. MEMS output data rates come from the
sensor's own oscillator (percent-level error), which breaks the lock in practice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ConfigurationError, InputError

#: Device timestamps are u32 µs (SPEC §4): they wrap every 2**32 µs (71.6 min).
TICK_WRAP = 1 << 32
_HALF_WRAP = 1 << 31


class TickUnwrapper:
    """Unwraps one stream of u32 µs device timestamps into an unbounded µs counter.

    Each timestamp is placed at the candidate (``ts32 + k * 2**32``) nearest the last
    unwrapped one, so small backward steps (jitter, a duplicate, a reordered packet)
    stay small and negative instead of jumping a whole wrap ahead. That is unambiguous
    as long as consecutive timestamps are less than 2**31 µs (35.8 min) apart. For
    longer silences (a link down that long) pass the host arrival time ``host_s``:
    when the previous timestamp had one too and more than 2**30 µs (17.9 min) of host
    time passed, the candidate nearest to the elapsed host time is taken instead, so
    any number of wraps is counted (host and device clocks agree to far better than
    half a wrap). Shorter silences ignore the host time, so host latency and a clock
    running at another rate (a simulation sped up) cannot mislead the unwrapping.

    Examples
    --------
    >>> u = TickUnwrapper()
    >>> u.unwrap(2**32 - 10), u.unwrap(5), u.unwrap(2)
    (4294967286, 4294967301, 4294967298)
    """

    __slots__ = ("_last", "_last_host")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next timestamp starts the count (e.g. the clock restarted)."""
        self._last: int | None = None
        self._last_host = math.nan

    @property
    def last(self) -> int | None:
        """The last unwrapped timestamp, µs (None before the first)."""
        return self._last

    def peek(self, ts32: int, host_s: float = math.nan) -> int:
        """What :meth:`unwrap` would return, without updating the state."""
        last = self._last
        if last is None:
            return int(ts32)
        elapsed_us = (host_s - self._last_host) * 1e6  # NaN without host times
        if elapsed_us > _HALF_WRAP / 2:  # a long silence: count the wraps by the host clock
            expected = last + elapsed_us
            return int(ts32) + round((expected - int(ts32)) / TICK_WRAP) * TICK_WRAP
        return last + (int(ts32) - last + _HALF_WRAP) % TICK_WRAP - _HALF_WRAP

    def unwrap(self, ts32: int, host_s: float = math.nan) -> int:
        """Unwrapped µs of the wire timestamp ``ts32``; ``host_s`` = its arrival, s (optional)."""
        value = self.peek(ts32, host_s)
        self._last = value
        self._last_host = float(host_s)
        return value


def unwrap_ticks(ts32: npt.ArrayLike, host_s: npt.ArrayLike | None = None) -> npt.NDArray[np.int64]:
    """Unwrap a sequence of u32 µs timestamps (in arrival order) with :class:`TickUnwrapper`.

    >>> unwrap_ticks([2**32 - 1, 0, 1]).tolist()
    [4294967295, 4294967296, 4294967297]
    """
    ts = np.asarray(ts32, dtype=np.int64).reshape(-1)
    host = (
        np.full(ts.shape, np.nan)
        if host_s is None
        else np.asarray(host_s, dtype=np.float64).reshape(-1)
    )
    if host.shape != ts.shape:
        raise InputError("ts32 and host_s must have the same length")
    u = TickUnwrapper()
    return np.array([u.unwrap(t, h) for t, h in zip(ts.tolist(), host.tolist())], dtype=np.int64)


@dataclass(frozen=True, kw_only=True, slots=True)
class ClockSyncSettings:
    """Settings of :class:`ClockSync`.

    window_s : float    device time kept, s; older points are forgotten (tracks slow drift
                        changes with temperature)
    bin_s : float       one (lowest) point kept per this much device time, s
    min_span_s : float  below this span of device time only the offset is estimated
                        (drift held at its last value, initially 0), s
    """

    window_s: float = 120.0
    bin_s: float = 0.5
    min_span_s: float = 5.0

    def __post_init__(self) -> None:
        for name in ("window_s", "bin_s", "min_span_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigurationError(f"{name} must be a positive finite number of seconds")
        if self.bin_s * 4 > self.window_s:
            raise ConfigurationError("window_s must hold at least 4 bins")


@dataclass(frozen=True, slots=True)
class ClockEstimate:
    """host_s = host_ref_s + (device_us - device_ref_us) * 1e-6 * rate.

    ``rate`` is host seconds per device second; ``drift_ppm`` = how fast the device
    clock runs relative to the host, ppm (positive = device fast).
    """

    device_ref_us: float
    host_ref_s: float
    rate: float
    n_points: int
    span_s: float

    @property
    def drift_ppm(self) -> float:
        return (1.0 / self.rate - 1.0) * 1e6

    def to_host(self, device_time_us: npt.ArrayLike) -> np.ndarray:
        """Map unwrapped device time (µs) to host time (s)."""
        d = np.asarray(device_time_us, dtype=np.float64)
        return self.host_ref_s + (d - self.device_ref_us) * 1e-6 * self.rate


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    c = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(c, 0.5 * c[-1])])


class ClockSync:
    """Streaming estimate of one device clock against the host clock.

    Examples
    --------
    >>> sync = ClockSync()                                       # doctest: +SKIP
    >>> sync.update(chunk.packet_times[:, 0], chunk.packet_times[:, 1])  # doctest: +SKIP
    >>> host_s = sync.to_host(chunk.device_time_us)              # doctest: +SKIP
    """

    def __init__(self, settings: ClockSyncSettings | None = None) -> None:
        self.settings = settings or ClockSyncSettings()
        self.reset()

    def reset(self) -> None:
        self._dev0: float | None = None  # device µs of the first point (reference)
        self._host0: float = 0.0
        self._bins: dict[int, tuple[float, float]] = {}  # bin -> (x s, d s), lowest d
        self._xmax = -math.inf
        self._rate = 1.0
        self._estimate: ClockEstimate | None = None
        self._dirty = False

    @property
    def state(self) -> dict[str, Any]:
        """JSON-ready copy of everything the fit depends on (assign it back to restore)."""
        return {
            "dev0": self._dev0,
            "host0": self._host0,
            "bins": [[k, x, d] for k, (x, d) in self._bins.items()],
            "xmax": self._xmax if math.isfinite(self._xmax) else None,
            "rate": self._rate,
        }

    @state.setter
    def state(self, d: dict[str, Any]) -> None:
        self.reset()
        self._dev0, self._host0 = d["dev0"], float(d["host0"])
        self._bins = {int(k): (float(x), float(y)) for k, x, y in d["bins"]}
        self._xmax = -math.inf if d["xmax"] is None else float(d["xmax"])
        self._rate = float(d["rate"])
        self._dirty = bool(self._bins)

    def update(self, device_time_us: npt.ArrayLike, host_time_s: npt.ArrayLike) -> None:
        """Add (device time µs, host arrival s) pairs; NaN pairs are ignored.

        ``device_time_us`` must be unwrapped (as emitted by ``StreamReassembler``).
        """
        dev = np.atleast_1d(np.asarray(device_time_us, dtype=np.float64))
        host = np.atleast_1d(np.asarray(host_time_s, dtype=np.float64))
        if dev.shape != host.shape or dev.ndim != 1:
            raise InputError("device_time_us and host_time_s must be 1-D and of equal length")
        ok = np.isfinite(dev) & np.isfinite(host)
        if not ok.any():
            return
        dev, host = dev[ok], host[ok]
        if self._dev0 is None:
            self._dev0 = float(dev[0])
            self._host0 = float(host[0])
        x = (dev - self._dev0) * 1e-6
        d = (host - self._host0) - x
        bins = np.floor(x / self.settings.bin_s).astype(np.int64)
        # lowest d per bin within this update, then merge
        order = np.lexsort((d, bins))
        b_sorted = bins[order]
        first = np.ones(b_sorted.size, dtype=bool)
        first[1:] = b_sorted[1:] != b_sorted[:-1]
        for k, xi, di in zip(
            b_sorted[first].tolist(), x[order][first].tolist(), d[order][first].tolist()
        ):
            old = self._bins.get(k)
            if old is None or di < old[1]:
                self._bins[k] = (xi, di)
        self._xmax = max(self._xmax, float(x.max()))
        cutoff = math.floor((self._xmax - self.settings.window_s) / self.settings.bin_s)
        if min(self._bins) < cutoff:
            self._bins = {k: v for k, v in self._bins.items() if k >= cutoff}
        self._dirty = True

    def estimate(self) -> ClockEstimate | None:
        """The current fit, or None before the first point."""
        if not self._dirty or self._dev0 is None:
            return self._estimate
        self._dirty = False
        keys = sorted(self._bins)
        pts = np.array([self._bins[k] for k in keys])
        x, d = pts[:, 0], pts[:, 1]
        span = float(x[-1] - x[0])
        if span >= self.settings.min_span_s and x.size >= 3:
            i, j = np.triu_indices(x.size, 1)
            dx = x[j] - x[i]
            b = _weighted_median((d[j] - d[i]) / dx, dx * dx)
            self._rate = 1.0 + b
        else:
            b = self._rate - 1.0
        a = float(np.percentile(d - b * x, 10.0))
        # host = host0 + x + d = host0 + a + (1 + b) x
        self._estimate = ClockEstimate(
            device_ref_us=self._dev0,
            host_ref_s=self._host0 + a,
            rate=1.0 + b,
            n_points=int(x.size),
            span_s=span,
        )
        return self._estimate

    @property
    def drift_ppm(self) -> float:
        """Device clock rate error vs host, ppm (positive = device fast); 0 before a fit."""
        e = self.estimate()
        return 0.0 if e is None else e.drift_ppm

    def floor_points(self) -> tuple[np.ndarray, np.ndarray]:
        """The lower envelope the fit uses: per bin, device time ``x`` (s since the first
        point) and its lowest ``d = host - device`` (s), in time order."""
        keys = sorted(self._bins)
        pts = np.array([self._bins[k] for k in keys], dtype=np.float64).reshape(-1, 2)
        return pts[:, 0].copy(), pts[:, 1].copy()

    def drift_standard_error(self, n_groups: int = 10) -> float:
        """Standard error of :attr:`drift_ppm`, ppm, with ``n_groups - 1`` degrees of freedom.

        A delete-a-group jackknife over the fit's bins (Efron & Tibshirani, *An
        Introduction to the Bootstrap*, 1993, §11.5): the bins (lowest point of each) are
        cut into ``n_groups`` runs of consecutive bins and the weighted Theil-Sen slope is
        refitted without each run in turn; ``se**2 = (g - 1) / g * sum((fit_k - mean)**2)``.
        Whole runs are left out, not single bins, because the latency floor wanders
        slowly with the host's load; that wander then shows in the spread instead of being
        averaged away (a delete-one jackknife is also unreliable for medians). The pairwise
        slopes are sorted once; each refit only reweights them. A *linear* trend of the
        latency floor is indistinguishable from drift and is not covered. NaN below
        ``min_span_s`` or with fewer bins than ``2 * n_groups``.
        """
        e = self.estimate()
        x, d = self.floor_points()
        g = int(n_groups)
        if e is None or g < 3 or x.size < 2 * g or float(x[-1] - x[0]) < self.settings.min_span_s:
            return math.nan
        i, j = np.triu_indices(x.size, 1)
        dx = x[j] - x[i]
        raw = (d[j] - d[i]) / dx
        order = np.argsort(raw)
        slopes = raw[order]
        i, j, w2 = i[order], j[order], (dx * dx)[order]
        group = np.arange(x.size) * g // x.size
        fits = np.empty(g)
        for k in range(g):
            cw = np.cumsum(np.where((group[i] != k) & (group[j] != k), w2, 0.0))
            b = slopes[min(int(np.searchsorted(cw, 0.5 * cw[-1])), slopes.size - 1)]
            fits[k] = (1.0 / (1.0 + b) - 1.0) * 1e6
        return math.sqrt((g - 1) / g * float(np.sum((fits - fits.mean()) ** 2)))

    def drift_interval(
        self, confidence: float = 0.95, *, n_groups: int = 10
    ) -> tuple[float, float]:
        """Confidence interval of :attr:`drift_ppm`, ppm: ``(low, high)``, from
        :meth:`drift_standard_error`: ``drift ± t(confidence, n_groups - 1) * se``.
        ``(nan, nan)`` when the standard error is NaN."""
        if not 0 < confidence < 1:
            raise InputError("confidence must be in (0, 1)")
        se = self.drift_standard_error(n_groups)
        if not math.isfinite(se):
            return math.nan, math.nan
        # lazily: scipy.stats takes ~0.5 s to import, and only the bench's interval needs it,
        # not every session and analysis that maps a clock
        from scipy.stats import t as student_t

        half = float(student_t.ppf(0.5 + 0.5 * confidence, int(n_groups) - 1)) * se
        drift = self.drift_ppm
        return drift - half, drift + half

    def to_host(self, device_time_us: npt.ArrayLike) -> np.ndarray:
        """Map unwrapped device time (µs) to host time (s) with the current fit."""
        e = self.estimate()
        if e is None:
            raise InputError("ClockSync has no data yet")
        return e.to_host(device_time_us)


def time_sync_offset(
    host_send_s: float, host_receive_s: float, device_time_us: int
) -> tuple[float, float]:
    """Coarse offset from one TIME_SYNC exchange (SPEC §7), NTP-style.

    The device stamped ``device_time_us`` when the write arrived, somewhere between the
    host's send and receive times; the midpoint is the best single guess.

    Returns
    -------
    (offset_s, uncertainty_s) : host_s ≈ device_time_us * 1e-6 + offset_s, ± half the
        round trip.
    """
    rtt = float(host_receive_s) - float(host_send_s)
    if not (math.isfinite(rtt) and rtt >= 0):
        raise InputError("host_receive_s must not precede host_send_s")
    return 0.5 * (host_send_s + host_receive_s) - device_time_us * 1e-6, 0.5 * rtt


class SharedTimeBase:
    """One :class:`ClockSync` per sensor, so that several sensors share the host time base.

    Examples
    --------
    >>> tb = SharedTimeBase()                                            # doctest: +SKIP
    >>> tb.update("thigh", chunk.packet_times[:, 0], chunk.packet_times[:, 1])  # doctest: +SKIP
    >>> t_thigh = tb.to_host("thigh", chunk.device_time_us)              # doctest: +SKIP
    """

    def __init__(self, settings: ClockSyncSettings | None = None) -> None:
        self.settings = settings or ClockSyncSettings()
        self._syncs: dict[str, ClockSync] = {}

    def sensor(self, name: str) -> ClockSync:
        if name not in self._syncs:
            self._syncs[name] = ClockSync(self.settings)
        return self._syncs[name]

    def update(self, name: str, device_time_us: npt.ArrayLike, host_time_s: npt.ArrayLike) -> None:
        self.sensor(name).update(device_time_us, host_time_s)

    def to_host(self, name: str, device_time_us: npt.ArrayLike) -> np.ndarray:
        if name not in self._syncs:
            raise InputError(f"no clock data for sensor {name!r}")
        return self._syncs[name].to_host(device_time_us)

    def drift_ppm(self) -> dict[str, float]:
        return {k: s.drift_ppm for k, s in self._syncs.items()}


__all__ = [
    "TICK_WRAP",
    "ClockEstimate",
    "ClockSync",
    "ClockSyncSettings",
    "SharedTimeBase",
    "TickUnwrapper",
    "time_sync_offset",
    "unwrap_ticks",
]
