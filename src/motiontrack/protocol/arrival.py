"""Loss inference for sensors without sequence numbers or timestamps (e.g. WitMotion).

Such a sensor sends one frame per sample at a nominal rate; the host only knows *when*
frames arrive. BLE notifications are acknowledged at the link layer, so frames are not
lost in the air: they are delayed (queued during a bad radio period, then delivered in a
burst) or dropped when a queue overflows. :class:`ArrivalSequencer` gives every frame a
sample index on a virtual device clock and infers a loss only when a frame arrives so
late that the frames received so far cannot account for the elapsed time, even allowing
``latency_bound_s`` of queueing:

    index_next is too small if  t_arrival - t_floor(index_next) > latency_bound_s

where ``t_floor(i)`` is the earliest host time sample ``i`` can arrive: the lower envelope
of (virtual device time, arrival time) estimated by :class:`~.clock.ClockSync`, which also
absorbs the sensor's rate error (MEMS output rates are only accurate to a few %). The
number of missing samples is then taken from the arrival time, as if the late frame had
the usual latency (running mean above the envelope); they are placed just before it. Limits, stated plainly: a gap
shorter than ``latency_bound_s`` is indistinguishable from queueing and is not detected;
a queueing delay longer than it is counted as a loss (and the indices then run ahead by
the excess, which the envelope re-absorbs over ``ClockSyncSettings.window_s``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ConfigurationError, InputError
from .clock import ClockSync, ClockSyncSettings


@dataclass(slots=True)
class ArrivalStats:
    frames: int = 0
    samples: int = 0  # samples received
    lost_samples: int = 0  # samples inferred lost
    gaps: int = 0  # number of inferred gaps


class ArrivalSequencer:
    """Assign sample indices to counter-less frames from their host arrival times.

    Parameters
    ----------
    sample_rate_hz : float
        Nominal output rate of the sensor, Hz.
    latency_bound_s : float
        Largest queueing delay that is *not* taken for a loss, s.
    clock : ClockSyncSettings, optional
        Settings of the envelope estimator.
    """

    def __init__(
        self,
        sample_rate_hz: float,
        *,
        latency_bound_s: float = 0.25,
        clock: ClockSyncSettings | None = None,
    ) -> None:
        if not (
            isinstance(sample_rate_hz, (int, float))
            and math.isfinite(sample_rate_hz)
            and sample_rate_hz > 0
        ):
            raise ConfigurationError("sample_rate_hz must be a positive finite number")
        if not (isinstance(latency_bound_s, (int, float)) and 0 < latency_bound_s < 60):
            raise ConfigurationError("latency_bound_s must be in (0, 60) s")
        self.sample_rate_hz = float(sample_rate_hz)
        self.latency_bound_s = float(latency_bound_s)
        self._clock_settings = clock or ClockSyncSettings()
        self.reset()

    def reset(self) -> None:
        self.stats = ArrivalStats()
        self._sync = ClockSync(self._clock_settings)
        self._next = 0  # index of the next expected sample
        self._last_t = -math.inf
        self._est = None
        self._est_time = -math.inf
        self._typ_latency = 0.0  # s above the envelope, running mean of normal frames

    def device_time_us(self, index: float) -> float:
        """Virtual device time of sample ``index``, µs (nominal period, starts at 0)."""
        return index * 1e6 / self.sample_rate_hz

    def push(self, host_time_s: float, n_samples: int = 1) -> tuple[int, int]:
        """Register a frame of ``n_samples`` that arrived at ``host_time_s``.

        Returns
        -------
        (first_index, lost_before) : (int, int)
            Index of the frame's first sample and the samples inferred lost before it.
        """
        t = float(host_time_s)
        if not math.isfinite(t) or n_samples < 1:
            raise InputError("host_time_s must be finite and n_samples >= 1")
        if t < self._last_t:
            raise InputError("frames must be pushed in arrival order")
        self._last_t = t
        lost = 0
        if t - self._est_time >= 0.5 or self._est is None:  # refit at most twice a second
            self._est = self._sync.estimate()
            self._est_time = t
        est = self._est
        if est is not None:
            # earliest arrival of the frame if it held sample _next .. _next + n - 1
            floor_t = float(est.to_host(self.device_time_us(self._next + n_samples - 1)))
            excess = t - floor_t
            if excess > self.latency_bound_s:
                # Loss. Place the frame where it would be with the usual latency.
                lost = max(1, round((excess - self._typ_latency) * self.sample_rate_hz / est.rate))
            elif excess >= 0:
                self._typ_latency += 0.02 * (excess - self._typ_latency)  # EMA of normal latency
        first = self._next + lost
        self._next = first + n_samples
        # the *last* sample of the frame was acquired just before it was sent
        self._sync.update(self.device_time_us(self._next - 1), t)
        st = self.stats
        st.frames += 1
        st.samples += n_samples
        if lost:
            st.lost_samples += lost
            st.gaps += 1
        return first, lost


__all__ = ["ArrivalSequencer", "ArrivalStats"]
