"""Sequence and timestamp bookkeeping of one sensor's DATA stream (SPEC §10.1, §10.2).

Why not :class:`motiontrack.protocol.reassembly.StreamReassembler` on the live path: it
is built for batches (vectorised decoding) and measured ~80 µs per single notification
here (after its single-packet fast path; ~220 µs before), against ~25 µs for
:func:`~motiontrack.protocol.decode_data_packet` + ``to_si`` plus this tracker; and the
notifications of one BLE connection arrive in
order (link-layer acknowledged, in-order L2CAP), so its reorder window has nothing to
repair on a live link while it would hold every sample behind a loss for ``window``
packets. Duplicates and stale packets (seen across reconnections on some stacks) are
dropped here as the SPEC asks. Recordings are re-assembled offline with the protocol's
reassembler.

Device timestamps are u32 µs and wrap every 71.6 min; sequence numbers are u16.
:class:`StreamTracker` unwraps timestamps into a continuous device time base
(which survives reconnections: the sensor's clock keeps running), and compares
each packet with the one expected next to report gaps *exactly*: the number of
missing samples from the timestamps, the number of missing packets from the
sequence numbers. Duplicated or stale packets are counted and dropped.

Timestamps are unwrapped by the protocol's :class:`~motiontrack.protocol.clock.TickUnwrapper`
(the one unwrapper of recordings, the reassembler and this tracker). A link down for more
than 2**31 µs (35.8 min) is unwrapped correctly only when the packets' host arrival times
are given to :meth:`StreamTracker.observe` (the live transport does); without them the
nearest candidate is taken.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..protocol.clock import TickUnwrapper

__all__ = ["PacketVerdict", "StreamTracker"]


@dataclass(frozen=True, slots=True)
class PacketVerdict:
    """What the tracker concluded about one packet."""

    accept: bool  # False: duplicate or stale, drop it
    t0_s: float  # continuous device time of the packet's first sample, s
    missing_samples: int  # samples missing before this packet (0 = contiguous; -1 = unknown)
    missing_packets: int  # packets missing before this packet, from sequence numbers
    # (-1: unknown, the sensor restarted its stream in between)
    gap_start_s: float  # time the first missing sample was due, s


class StreamTracker:
    """Unwraps device time and detects gaps for one sensor."""

    def __init__(self) -> None:
        self._origin_us: int | None = None
        self._ticks = TickUnwrapper()  # device µs of the last accepted packet's first sample
        self._last_end_us = 0.0  # unwrapped device µs at which the next sample is expected
        self._last_seq = 0
        self._seq_restarted = False
        self.duplicates = 0
        self.packets = 0
        self.samples = 0

    @property
    def started(self) -> bool:
        return self._origin_us is not None

    def restart_sequence(self) -> None:
        """A START is being sent: the next packet may open a new stream at sequence 0.

        Call it *before* writing START: DATA of the new stream may overtake the
        response. A packet that continues the old sequence clears it.
        """
        self._seq_restarted = True

    def observe_other(self, sequence: int) -> int:
        """Account for a non-DATA packet on the shared counter (MAG, SPEC §5).

        Returns the number of packets missing before it.
        """
        if self._origin_us is None or self._seq_restarted:
            self._last_seq = sequence
            return 0
        seq_delta = (sequence - self._last_seq) & 0xFFFF
        if seq_delta == 0 or seq_delta >= 0x8000:
            self.duplicates += 1
            return 0
        self._last_seq = sequence
        return seq_delta - 1

    def observe(
        self,
        sequence: int,
        timestamp_us: int,
        n_samples: int,
        period_us: float,
        arrival_s: float = math.nan,
    ) -> PacketVerdict:
        """Account for one DATA packet (``timestamp_us`` as on the wire, u32).

        ``arrival_s``: its host arrival time, s (optional; lets silences longer than
        2**31 µs be unwrapped).
        """
        if self._origin_us is None:
            self._origin_us = timestamp_us
            self._seq_restarted = False
            self._accept(sequence, timestamp_us, arrival_s, n_samples, period_us)
            return PacketVerdict(True, 0.0, 0, 0, 0.0)
        unwrapped = self._ticks.peek(timestamp_us, arrival_s)
        seq_delta = (sequence - self._last_seq) & 0xFFFF
        restarted = False
        if self._seq_restarted:
            # A START was sent: the sensor either continues its stream (INVALID_STATE,
            # the sequence goes on) or restarted it at 0 (SPEC §4): time still goes on.
            self._seq_restarted = False
            if not 0 < seq_delta < 0x8000:
                restarted = True
                seq_delta = sequence + 1
                if unwrapped < self._last_end_us - period_us / 2:  # the clock went back
                    self._origin_us += unwrapped - int(self._last_end_us)
                    self._last_end_us = unwrapped
        if seq_delta == 0 or seq_delta >= 0x8000 or unwrapped < self._last_end_us - period_us / 2:
            self.duplicates += 1
            return PacketVerdict(False, (unwrapped - self._origin_us) * 1e-6, 0, 0, 0.0)
        missing = int(round((unwrapped - self._last_end_us) / period_us))
        gap_start = (self._last_end_us - self._origin_us) * 1e-6
        self._accept(sequence, timestamp_us, arrival_s, n_samples, period_us)
        missing = max(0, missing)
        lost_packets = -1 if (restarted and missing) else seq_delta - 1
        return PacketVerdict(
            True, (unwrapped - self._origin_us) * 1e-6, missing, lost_packets, gap_start
        )

    def device_seconds(self, timestamp_us: int) -> float:
        """Continuous device time of a wire timestamp near the stream's current time, s."""
        if self._origin_us is None:
            return 0.0
        return (self._ticks.peek(timestamp_us) - self._origin_us) * 1e-6

    def _accept(self, sequence: int, ts32: int, arrival_s: float, n: int, period_us: float) -> None:
        self._last_seq = sequence
        unwrapped = self._ticks.unwrap(ts32, arrival_s)
        self._last_end_us = unwrapped + n * period_us
        self.packets += 1
        self.samples += n
