"""Packet intake: one sensor's DATA notifications -> sample batches, gaps and counters.

Runs inside bleak's notification callback, so it never awaits and never raises:
:mod:`motiontrack.protocol` decodes the bytes (tens of µs), the
:class:`~.timebase.StreamTracker` judges sequence numbers and timestamps (duplicate,
contiguous, or after a gap of exactly so many samples), and the results go into the
bounded :class:`~.buffer.EventBuffer`. Malformed notifications are counted in
:class:`SensorStats` by ``ProtocolError.code``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .. import protocol
from ..errors import ProtocolError
from .buffer import EventBuffer
from .events import Gap, GapCause, MagBatch, SampleBatch
from .timebase import PacketVerdict, StreamTracker

__all__ = ["PacketIntake", "SensorStats"]

_SATURATED = protocol.DataFlags.ACC_SATURATED | protocol.DataFlags.GYR_SATURATED


@dataclass(slots=True)
class SensorStats:
    """Counters of one sensor link (read any time; never reset)."""

    notifications: int = 0  # DATA notifications received
    packets: int = 0  # DATA packets accepted
    samples: int = 0  # samples delivered to the buffer
    malformed: int = 0  # notifications that failed to decode (never raised)
    malformed_codes: Counter[str] = field(default_factory=Counter)  # ProtocolError.code -> count
    duplicates: int = 0  # duplicated or stale packets dropped
    gaps: int = 0
    missing_samples: int = 0  # total of all gaps
    missing_packets: int = 0
    disconnects: int = 0  # unsolicited
    reconnects: int = 0
    saturated_packets: int = 0  # packets with a saturation flag
    mag_samples: int = 0  # magnetometer samples from MAG packets
    callback_seconds: float = 0.0  # time spent in this library's notification handler, s
    first_rx: float | None = None  # perf_counter of the first packet
    first_t: float | None = None  # sensor time of the first sample delivered, s
    last_rx: float | None = None
    latest: SampleBatch | None = None  # most recent batch

    @property
    def rate_hz(self) -> float:
        """Mean received sample rate over the session, Hz of wall-clock time."""
        if self.first_rx is None or self.last_rx is None or self.last_rx <= self.first_rx:
            return 0.0
        return self.samples / (self.last_rx - self.first_rx)

    @property
    def device_rate_hz(self) -> float:
        """Delivered samples per second of *sensor* time (the sample rate when nothing is lost)."""
        latest = self.latest
        if latest is None or self.first_t is None or self.samples < 2:
            return 0.0
        span = float(latest.t[-1]) - self.first_t
        return (self.samples - 1) / span if span > 0 else 0.0

    @property
    def loss_fraction(self) -> float:
        total = self.samples + self.missing_samples
        return self.missing_samples / total if total else 0.0


_ARANGE_CACHE: dict[int, np.ndarray] = {}


def _arange(n: int) -> np.ndarray:
    """Read-only ``0..n-1`` (float64), cached: one notification's sample offsets."""
    a = _ARANGE_CACHE.get(n)
    if a is None:
        a = np.arange(n, dtype=np.float64)
        a.flags.writeable = False
        _ARANGE_CACHE[n] = a
    return a


class PacketIntake:
    """Decodes one sensor's notifications into events on its continuous device time base.

    Parameters
    ----------
    name : str            sensor name used in events
    buffer : EventBuffer  where batches, gaps and MAG batches go
    stats : SensorStats   counters updated in place
    """

    def __init__(self, name: str, buffer: EventBuffer, stats: SensorStats) -> None:
        self.name = name
        self.buffer = buffer
        self.stats = stats
        self.tracker = StreamTracker()
        #: Set when the link dropped: the next gap is reported as ``GapCause.LINK_LOST``.
        self.link_lost = False

    def feed(
        self, data: bytes | bytearray, arrival: float, config: protocol.SensorConfig | None
    ) -> SampleBatch | None:
        """Account for one DATA-characteristic notification that arrived at ``arrival``
        (host ``perf_counter`` s). Returns the accepted IMU batch, if any."""
        stats = self.stats
        stats.notifications += 1
        try:
            packet = protocol.decode_data_packet(data)
            if config is None:
                raise ProtocolError("data before config", code="value")
            block = packet.to_si(config)
        except ProtocolError as exc:
            stats.malformed += 1
            stats.malformed_codes[exc.code] += 1
            return None
        if block.acc is None:  # a MAG packet (SPEC §5)
            self._feed_mag(packet, block, arrival)
            return None
        n = block.n_samples
        period = block.sample_period_us
        verdict = self.tracker.observe(packet.sequence, packet.timestamp_us, n, period, arrival)
        if not verdict.accept:
            stats.duplicates += 1
            return None
        if verdict.missing_samples or verdict.missing_packets:
            self._report_gap(verdict)
        self.link_lost = False
        t = verdict.t0_s + (period * 1e-6) * _arange(n)
        batch = SampleBatch(
            sensor=self.name,
            sequence=packet.sequence,
            t=t,
            acc=block.acc,
            gyr=block.gyr,  # type: ignore[arg-type]
            mag=block.mag,
            flags=int(block.flags),
            received_at=arrival,
        )
        if block.flags & _SATURATED:
            stats.saturated_packets += 1
        stats.packets += 1
        stats.samples += n
        if stats.first_rx is None:
            stats.first_rx = arrival
            stats.first_t = float(t[0])
        stats.last_rx = arrival
        stats.latest = batch
        self.buffer.put(batch)
        return batch

    def _feed_mag(
        self, packet: protocol.DataPacket, block: protocol.SampleBlock, arrival: float
    ) -> None:
        missing = self.tracker.observe_other(packet.sequence)
        if missing:
            self.stats.missing_packets += missing
        if self.tracker.started and block.mag is not None:
            self.stats.mag_samples += block.n_samples
            t0 = self.tracker.device_seconds(packet.timestamp_us)
            self.buffer.put(
                MagBatch(
                    sensor=self.name,
                    t=t0 + (block.sample_period_us * 1e-6) * _arange(block.n_samples),
                    mag=block.mag,
                    received_at=arrival,
                )
            )

    def _report_gap(self, verdict: PacketVerdict) -> None:
        if self.link_lost or verdict.missing_packets < 0:
            cause = GapCause.LINK_LOST
        elif verdict.missing_packets:
            cause = GapCause.PACKET_LOSS
        else:
            cause = GapCause.DEVICE  # timestamps jump, no sequence number missing
        stats = self.stats
        stats.gaps += 1
        stats.missing_samples += verdict.missing_samples
        stats.missing_packets += max(0, verdict.missing_packets)
        self.buffer.put(
            Gap(
                sensor=self.name,
                cause=cause,
                missing_samples=verdict.missing_samples,
                missing_packets=verdict.missing_packets,
                start_s=verdict.gap_start_s,
                end_s=verdict.t0_s,
            )
        )
