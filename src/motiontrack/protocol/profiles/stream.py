"""Device time and loss for third-party sensors without sequence numbers.

:class:`ProfileStream` wraps a :class:`~.base.SensorProfile` and gives every sample a
device time, unwrapped, with gaps counted:

- sensors with a device timestamp but no counter (Movella DOT: u32 µs) -> the timestamp is
  unwrapped modulo 2**32 and a step larger than 1.5 sample periods is a gap of
  ``round(step / period) - 1`` samples; a step backwards is counted as an anomaly and the
  sample is dropped (duplicates and reordering cannot be repaired without a counter);
- sensors with neither (WitMotion) -> :class:`~motiontrack.protocol.arrival.ArrivalSequencer`
  infers the sample index from host arrival times; device time is index / rate.

Native motiontrack sensors have sequence numbers: use
:class:`~motiontrack.protocol.reassembly.StreamReassembler` instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ...errors import ConfigurationError, InputError, ProtocolError
from ..arrival import ArrivalSequencer
from .base import ProfileSamples, SensorProfile

_TS_MOD = 1 << 32


@dataclass(slots=True)
class ProfileStreamStats:
    notifications: int = 0
    samples: int = 0
    lost_samples: int = 0
    gaps: int = 0
    malformed: int = 0
    anomalies: int = 0  # timestamps going backwards (dropped)


class ProfileStream:
    """Per-sensor stream state for a counter-less :class:`SensorProfile`.

    Parameters
    ----------
    profile : SensorProfile
    sample_rate_hz : float
        Configured output rate of the sensor, Hz.
    latency_bound_s : float
        For sensors without device time: see :class:`ArrivalSequencer`.
    """

    def __init__(
        self, profile: SensorProfile, sample_rate_hz: float, *, latency_bound_s: float = 0.25
    ) -> None:
        if profile.has_sequence:
            raise ConfigurationError(f"{profile.name} has sequence numbers: use StreamReassembler")
        if not (
            isinstance(sample_rate_hz, (int, float))
            and math.isfinite(sample_rate_hz)
            and sample_rate_hz > 0
        ):
            raise ConfigurationError("sample_rate_hz must be a positive finite number")
        self.profile = profile
        self.period_us = 1e6 / sample_rate_hz
        self._arrival = (
            None
            if profile.has_device_time
            else ArrivalSequencer(sample_rate_hz, latency_bound_s=latency_bound_s)
        )
        self.stats = ProfileStreamStats()
        self._last_ts: float | None = None  # unwrapped µs of the last sample

    def push(
        self,
        data: bytes | bytearray | memoryview,
        host_time_s: float,
        *,
        characteristic: str | None = None,
    ) -> tuple[ProfileSamples | None, int]:
        """Decode one notification; return (samples with ``device_time_us`` set, samples lost
        before them). Malformed notifications are counted and give ``(None, 0)``."""
        st = self.stats
        st.notifications += 1
        try:
            s = self.profile.decode(data, characteristic=characteristic)
        except ProtocolError:
            st.malformed += 1
            return None, 0
        if s.n == 0:
            return s, 0
        if self._arrival is not None:
            first, lost = self._arrival.push(host_time_s, s.n)
            t = (first + np.arange(s.n)) * self.period_us
        else:
            if s.device_time_us is None:
                raise InputError(f"{self.profile.name} promised device time but sent none")
            raw = np.asarray(s.device_time_us, dtype=np.float64)
            if self._last_ts is None:
                base = float(raw[0])
            else:
                delta = ((raw[0] - self._last_ts) + _TS_MOD / 2) % _TS_MOD - _TS_MOD / 2
                base = self._last_ts + delta
            t = base + (raw - raw[0])
            lost = 0
            if self._last_ts is not None:
                step = t[0] - self._last_ts
                if step <= 0.5 * self.period_us:
                    st.anomalies += 1
                    return None, 0
                if step > 1.5 * self.period_us:
                    lost = round(step / self.period_us) - 1
        if lost:
            st.lost_samples += lost
            st.gaps += 1
        st.samples += s.n
        self._last_ts = float(t[-1])
        return replace(s, device_time_us=t), lost


__all__ = ["ProfileStream", "ProfileStreamStats"]
